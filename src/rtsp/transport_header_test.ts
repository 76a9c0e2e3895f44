import assert from "node:assert/strict";
import { parseTransportHeader, serializeTransport, type TransportSpec } from "./transport_header.ts";
import { assertRoundTrip, fuzzSteps } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases: { name: string; input: string; parsed: TransportSpec[]; canonical: string[] }[] = [
  {
    name: "ffmpeg publish over TCP",
    input: "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1], mode: "record" }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"],
  },
  {
    name: "ffmpeg publish over UDP",
    input: "RTP/AVP/UDP;unicast;client_port=20000-20001;mode=record",
    parsed: [{
      protocol: "RTP/AVP",
      lower: "UDP",
      delivery: "unicast",
      clientPort: [20000, 20001],
      mode: "record",
    }],
    canonical: ["RTP/AVP;unicast;client_port=20000-20001;mode=record"],
  },
  {
    name: "GStreamer TCP",
    input: "RTP/AVP/TCP;unicast;interleaved=0-1",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1] }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=0-1"],
  },
  {
    name: "GStreamer multi-candidate",
    input: "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=0-1",
    parsed: [
      { protocol: "RTP/AVP", lower: "UDP", delivery: "unicast", clientPort: [5000, 5001] },
      { protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1] },
    ],
    canonical: ["RTP/AVP;unicast;client_port=5000-5001", "RTP/AVP/TCP;unicast;interleaved=0-1"],
  },
  {
    name: "VLC UDP",
    input: "RTP/AVP;unicast;client_port=51234-51235",
    parsed: [{ protocol: "RTP/AVP", lower: "UDP", delivery: "unicast", clientPort: [51234, 51235] }],
    canonical: ["RTP/AVP;unicast;client_port=51234-51235"],
  },
  {
    name: "server reply with ssrc",
    input: "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0000ABCD;mode=record",
    parsed: [{
      protocol: "RTP/AVP",
      lower: "UDP",
      delivery: "unicast",
      clientPort: [5000, 5001],
      serverPort: [8000, 8001],
      ssrc: 0xabcd,
      mode: "record",
    }],
    canonical: ["RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0000ABCD;mode=record"],
  },
  {
    name: "lower case, mode=receive alias",
    input: "rtp/avp/tcp;unicast;interleaved=2-3;mode=receive",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [2, 3], mode: "record" }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=2-3;mode=record"],
  },
  {
    name: "quoted upper-case mode",
    input: 'RTP/AVP/TCP;unicast;interleaved=0-1;mode="PLAY"',
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1], mode: "play" }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=0-1;mode=play"],
  },
  {
    name: "upper-case RECORD",
    input: "RTP/AVP/TCP;interleaved=0-1;mode=RECORD",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", interleaved: [0, 1], mode: "record" }],
    canonical: ["RTP/AVP/TCP;interleaved=0-1;mode=record"],
  },
  {
    name: "single client_port means n, n+1",
    input: "RTP/AVP;unicast;client_port=5000",
    parsed: [{ protocol: "RTP/AVP", lower: "UDP", delivery: "unicast", clientPort: [5000, 5001] }],
    canonical: ["RTP/AVP;unicast;client_port=5000-5001"],
  },
  {
    name: "single interleaved means n, n+1",
    input: "RTP/AVP/TCP;unicast;interleaved=4",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [4, 5] }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=4-5"],
  },
  {
    name: "odd-length ssrc",
    input: "RTP/AVP;unicast;client_port=5000-5001;ssrc=ABC",
    parsed: [{
      protocol: "RTP/AVP",
      lower: "UDP",
      delivery: "unicast",
      clientPort: [5000, 5001],
      ssrc: 0xabc,
    }],
    canonical: ["RTP/AVP;unicast;client_port=5000-5001;ssrc=00000ABC"],
  },
  {
    name: "8-digit ssrc above 2^31",
    input: "RTP/AVP/TCP;interleaved=0-1;ssrc=fedcba98",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", interleaved: [0, 1], ssrc: 0xfedcba98 }],
    canonical: ["RTP/AVP/TCP;interleaved=0-1;ssrc=FEDCBA98"],
  },
  {
    name: "client_port=0-0 parses, the caller decides",
    input: "RTP/AVP;unicast;client_port=0-0",
    parsed: [{ protocol: "RTP/AVP", lower: "UDP", delivery: "unicast", clientPort: [0, 0] }],
    canonical: ["RTP/AVP;unicast;client_port=0-0"],
  },
  {
    name: "unknown parameters ignored",
    input: "RTP/AVP/TCP;unicast;interleaved=0-1;x-dynamic-rate=1;append;layers=1",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1] }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=0-1"],
  },
  {
    name: "SAVP over UDP and TCP",
    input: "RTP/SAVP;unicast;client_port=6000-6001, RTP/SAVP/TCP;unicast;interleaved=0-1",
    parsed: [
      { protocol: "RTP/SAVP", lower: "UDP", delivery: "unicast", clientPort: [6000, 6001] },
      { protocol: "RTP/SAVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1] },
    ],
    canonical: ["RTP/SAVP;unicast;client_port=6000-6001", "RTP/SAVP/TCP;unicast;interleaved=0-1"],
  },
  {
    name: "multicast with destination, ttl and port",
    input: "RTP/AVP;multicast;destination=224.2.0.1;port=3456-3457;ttl=16;source=10.0.0.1",
    parsed: [{
      protocol: "RTP/AVP",
      lower: "UDP",
      delivery: "multicast",
      destination: "224.2.0.1",
      ttl: 16,
      source: "10.0.0.1",
    }],
    canonical: ["RTP/AVP;multicast;destination=224.2.0.1;source=10.0.0.1;ttl=16"],
  },
  {
    name: "spaces around parameters",
    input: " RTP/AVP/TCP ; unicast ; interleaved = 0-1 ",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", delivery: "unicast", interleaved: [0, 1] }],
    canonical: ["RTP/AVP/TCP;unicast;interleaved=0-1"],
  },
  {
    name: "unsupported protocols skipped, the next kept",
    input: "RAW/RAW/UDP;unicast;client_port=5000-5001,MP2T/H2221/UDP;unicast,RTP/AVP/TCP;interleaved=0-1",
    parsed: [{ protocol: "RTP/AVP", lower: "TCP", interleaved: [0, 1] }],
    canonical: ["RTP/AVP/TCP;interleaved=0-1"],
  },
  {
    name: "invalid known values skip their spec",
    input: "RTP/AVP/TCP;interleaved=x,RTP/AVP;client_port=70000,RTP/AVP;client_port=5000-5001;mode=pause," +
      "RTP/AVP;ssrc=123456789,RTP/AVP;ssrc=XYZ,RTP/AVP/TCP;interleaved=255,RTP/AVP;ttl=300,RTP/AVP;client_port=6000",
    parsed: [{ protocol: "RTP/AVP", lower: "UDP", clientPort: [6000, 6001] }],
    canonical: ["RTP/AVP;client_port=6000-6001"],
  },
];

Deno.test("parseTransportHeader() parses the golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.deepEqual(parseTransportHeader(c.input), c.parsed));
  }
});

Deno.test("serializeTransport() writes the golden cases canonically", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(c.parsed.map(serializeTransport), c.canonical);
      assert.deepEqual(parseTransportHeader(c.canonical.join(",")), c.parsed);
    });
  }
});

Deno.test("parseTransportHeader() returns [] when nothing is usable", async (t) => {
  const inputs = [
    "",
    "   ",
    "RAW/RAW/UDP;unicast",
    "RTP/AVP/SCTP;unicast",
    "RTP",
    "RTP/AVP/TCP/X",
    "garbage;;,",
  ];
  for (const input of inputs) {
    await t.step(JSON.stringify(input), () => assert.deepEqual(parseTransportHeader(input), []));
  }
});

Deno.test("parseTransportHeader() fuzz: mutated inputs never throw and reparse canonically", () => {
  let seed = 4239;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const alphabet = 'RTP/AVTCUDP;=-,0123456789" abcdefmoxintrlvsp';
  for (let i = 0; i < 3000; i++) {
    const chars = [...(cases[rand(cases.length)] as { input: string }).input];
    for (let k = rand(4); k >= 0; k--) chars[rand(chars.length)] = alphabet[rand(alphabet.length)] as string;
    const specs = parseTransportHeader(chars.join(""));
    for (const spec of specs) assert.deepEqual(parseTransportHeader(serializeTransport(spec)), [spec]);
  }
});

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** The Transport parser's convention: never throws; every spec it keeps round-trips alone and in the list. */
function checkTransport(input: Uint8Array): void {
  const specs = parseTransportHeader(dec(input));
  const one = (text: string) => {
    const again = parseTransportHeader(text);
    assert.equal(again.length, 1, `${JSON.stringify(text)} reparses to ${again.length} specs`);
    return again[0] as TransportSpec;
  };
  for (const spec of specs) assertRoundTrip(spec, serializeTransport, one);
  assertRoundTrip(specs, (list) => list.map(serializeTransport).join(","), parseTransportHeader);
}

Deno.test("parseTransportHeader() fuzz: corpus and mutated headers never throw and round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "transport_header",
    label: "parseTransportHeader()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical.join(",")]),
    check: checkTransport,
    count: 5000,
    seed: 4239,
    kind: "text",
    dictionary: [
      "RTP/AVP/TCP",
      "RTP/SAVP",
      ";interleaved=",
      ";client_port=",
      ";ssrc=",
      ";mode=",
      ";destination=",
      '"',
    ],
  });
});

import assert from "node:assert/strict";
import type { AccessUnit } from "./access_unit.ts";
import type { Mpeg4GenericConfig } from "./aac.ts";
import { AacDepacketizer, aacFrameSamples } from "./aac_depacketizer.ts";
import { AacPacketizer } from "./aac_packetizer.ts";
import { fuzzSteps } from "../testing/fuzz.ts";
import { goldenParseSteps, goldenSeeds } from "../testing/golden.ts";
import { Prng } from "../testing/prng.ts";
import {
  checkDepacketizer,
  concat,
  depacketize,
  goldenPacketizeSteps,
  joinPackets,
  type PacketCase,
  PT,
  rtp,
  SSRC,
} from "./testdata/depacketizer_harness.ts";
import { ffmpegAacFrames } from "./testdata/ffmpeg_elementary.ts";
import { hex } from "./testdata/hex.ts";

/** The configs parseMpeg4GenericFmtp() gives for ffmpeg's AAC-hbr, an AAC-lbr camera, and none. */
const hbr: Mpeg4GenericConfig = {
  mode: "AAC-hbr",
  sizeLength: 13,
  indexLength: 3,
  indexDeltaLength: 3,
  config: hex("1190"),
};
const hbr960: Mpeg4GenericConfig = { ...hbr, config: hex("1194") };
const lbr: Mpeg4GenericConfig = {
  mode: "AAC-lbr",
  sizeLength: 6,
  indexLength: 2,
  indexDeltaLength: 2,
  config: hex("1588"),
};
const bare: Mpeg4GenericConfig = {
  mode: "generic",
  sizeLength: 0,
  indexLength: 0,
  indexDeltaLength: 0,
  config: hex("1190"),
};

/** AU-headers-length, the AU-headers bit-packed from [size, index] pairs, padding, then the data. */
function payload(
  config: Mpeg4GenericConfig,
  headers: [size: number, index: number][],
  ...data: Uint8Array[]
): Uint8Array {
  const widths = headers.map((
    _,
    i,
  ) => [config.sizeLength, i === 0 ? config.indexLength : config.indexDeltaLength]);
  const bits = widths.reduce((n, [s, x]) => n + s + x, 0);
  const section = new Uint8Array(Math.ceil(bits / 8));
  let bit = 0;
  const put = (value: number, width: number) => {
    for (let i = width - 1; i >= 0; i--, bit++) if ((value >> i) & 1) section[bit >> 3] |= 0x80 >> (bit & 7);
  };
  headers.forEach(([size, index], i) => {
    put(size, widths[i][0]);
    put(index, widths[i][1]);
  });
  return concat([bits >> 8, bits & 0xff], section, ...data);
}

const frame = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
const a = frame(200, 1);
const b = frame(210, 2);
const c = frame(190, 3);
const large = frame(3000, 4);
const small = [frame(20, 5), frame(30, 6), frame(40, 7)];

const au = (pts: number, data: Uint8Array): AccessUnit => ({ pts, units: [data], random: true });

interface Input {
  config: Mpeg4GenericConfig;
  packets: Uint8Array[];
  clockRate?: number;
  maxFrameBytes?: number;
}

/** `canonical`: the packetizer's maxPayloadBytes and first sequence number with which it writes the input. */
type Case = PacketCase<Input, { sequence: number; maxPayloadBytes?: number }>;

const cases: Case[] = [
  {
    name: "one AU per packet (ffmpeg)",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 0]], a)),
        rtp(1, 1024, true, payload(hbr, [[210, 0]], b)),
      ],
    },
    parsed: { units: [au(0, a), au(1024, b)], drops: {} },
    canonical: { sequence: 0, maxPayloadBytes: 300 },
  },
  {
    name: "three AUs in one packet, 1024 ticks apart",
    input: {
      config: hbr,
      packets: [rtp(9, 5000, true, payload(hbr, [[200, 0], [210, 0], [190, 0]], a, b, c))],
    },
    parsed: { units: [au(5000, a), au(6024, b), au(7048, c)], drops: {} },
    canonical: { sequence: 9 },
  },
  {
    name: "960-sample frames (frameLengthFlag 1)",
    input: { config: hbr960, packets: [rtp(0, 0, true, payload(hbr960, [[200, 0], [210, 0]], a, b))] },
    parsed: { units: [au(0, a), au(960, b)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "HE-AAC at a 48 kHz clock over a 24 kHz core: 2048 ticks per AU",
    input: {
      config: { ...hbr, config: hex("2B118800") },
      clockRate: 48000,
      packets: [rtp(0, 0, true, payload(hbr, [[200, 0], [210, 0]], a, b))],
    },
    parsed: { units: [au(0, a), au(2048, b)], drops: {} },
  },
  {
    name: "fragmented AU, each fragment's AU-size the whole AU's (RFC 3640 §3.2.1.1)",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, false, payload(hbr, [[3000, 0]], large.subarray(0, 1196))),
        rtp(1, 0, false, payload(hbr, [[3000, 0]], large.subarray(1196, 2392))),
        rtp(2, 0, true, payload(hbr, [[3000, 0]], large.subarray(2392))),
        rtp(3, 1024, true, payload(hbr, [[200, 0]], a)),
      ],
    },
    parsed: { units: [au(0, large), au(1024, a)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "fragmented AU, each fragment's AU-size its own (gortsplib, MediaMTX)",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, false, payload(hbr, [[1500, 0]], large.subarray(0, 1500))),
        rtp(1, 0, true, payload(hbr, [[1500, 0]], large.subarray(1500))),
        rtp(2, 1024, true, payload(hbr, [[200, 0]], a)),
      ],
    },
    parsed: { units: [au(0, large), au(1024, a)], drops: {} },
  },
  {
    name: "a sender without marker bits: each AU ends at the next timestamp",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, false, payload(hbr, [[200, 0]], a)),
        rtp(1, 1024, false, payload(hbr, [[210, 0]], b)),
        rtp(2, 2048, false, payload(hbr, [[190, 0], [200, 0]], c, a)),
      ],
    },
    parsed: { units: [au(0, a), au(1024, b), au(2048, c), au(3072, a)], drops: {} },
  },
  {
    name: "loss in the middle of a fragmented AU drops it once, and its last fragment",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, false, payload(hbr, [[3000, 0]], large.subarray(0, 1196))),
        // 1 lost
        rtp(2, 0, true, payload(hbr, [[3000, 0]], large.subarray(2392))),
        rtp(3, 1024, true, payload(hbr, [[200, 0]], a)),
      ],
    },
    parsed: { units: [au(1024, a)], drops: { packetsLost: 1, framesDropped: 1, framesDamaged: 1 } },
  },
  {
    name: "loss of a first fragment: the rest is short at the marker",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 0]], a)),
        // 1 lost
        rtp(2, 1024, false, payload(hbr, [[3000, 0]], large.subarray(1196, 2392))),
        rtp(3, 1024, true, payload(hbr, [[3000, 0]], large.subarray(2392))),
        rtp(4, 2048, true, payload(hbr, [[210, 0]], b)),
      ],
    },
    parsed: { units: [au(0, a), au(2048, b)], drops: { packetsLost: 1, framesDropped: 1, framesDamaged: 1 } },
  },
  {
    name: "loss between whole AUs loses nothing else",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 0]], a)),
        rtp(5, 5120, true, payload(hbr, [[210, 0]], b)),
      ],
    },
    parsed: { units: [au(0, a), au(5120, b)], drops: { packetsLost: 4 } },
  },
  {
    name: "AAC-lbr: two AUs, one byte per header",
    input: {
      config: lbr,
      clockRate: 8000,
      packets: [rtp(0, 0, true, payload(lbr, [[20, 0], [30, 0]], small[0], small[1]))],
    },
    parsed: { units: [au(0, small[0]), au(1024, small[1])], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "AAC-lbr: three AUs, headers padded to a byte",
    input: {
      config: { ...lbr, sizeLength: 6, indexLength: 2, indexDeltaLength: 0 },
      clockRate: 8000,
      packets: [
        rtp(0, 0, true, payload({ ...lbr, indexDeltaLength: 0 }, [[20, 0], [30, 0], [40, 0]], ...small)),
      ],
    },
    parsed: { units: [au(0, small[0]), au(1024, small[1]), au(2048, small[2])], drops: {} },
  },
  {
    name: "no AU-header fields: one AU per packet, fragments until the marker",
    input: {
      config: bare,
      packets: [
        rtp(0, 0, true, a),
        rtp(1, 1024, false, large.subarray(0, 1200)),
        rtp(2, 1024, false, large.subarray(1200, 2400)),
        rtp(3, 1024, true, large.subarray(2400)),
      ],
    },
    parsed: { units: [au(0, a), au(1024, large)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "sequence number and timestamp wrap",
    input: {
      config: hbr,
      packets: [
        rtp(65535, 2 ** 32 - 1024, true, payload(hbr, [[200, 0], [210, 0]], a, b)),
        rtp(0, 2 ** 32 + 1024, true, payload(hbr, [[190, 0]], c)), // rtp() writes the timestamp modulo 2^32
      ],
    },
    parsed: { units: [au(2 ** 32 - 1024, a), au(2 ** 32, b), au(2 ** 32 + 1024, c)], drops: {} },
    canonical: { sequence: 65535, maxPayloadBytes: 420 },
  },
  {
    name: "interleaving (AU-Index or AU-Index-delta not 0) is refused",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 2]], a)),
        rtp(1, 1024, true, payload(hbr, [[200, 0], [210, 1]], a, b)),
        rtp(2, 2048, true, payload(hbr, [[210, 0]], b)),
      ],
    },
    parsed: { units: [au(2048, b)], drops: { packetsUnsupported: 2 } },
  },
  {
    name: "malformed AU-header sections are invalid",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 0], [210, 0]], a, b.subarray(1))), // sizes past the data
        rtp(1, 1, true, payload(hbr, [[200, 0]], a, b)), // data past the sizes
        rtp(2, 2, true, payload(hbr, [[0, 0], [200, 0]], a)), // an empty AU
        rtp(3, 3, true, hex("00 00 01 02")), // AU-headers-length 0
        rtp(4, 4, true, hex("00")),
        rtp(5, 5, true, new Uint8Array()),
        rtp(6, 6, true, payload(hbr, [[190, 0]], c)),
      ],
    },
    parsed: { units: [au(6, c)], drops: { packetsInvalid: 6 } },
  },
  {
    name: "a fragment marked last while the AU is short, or a fragment of another size, drops the AU",
    input: {
      config: hbr,
      packets: [
        rtp(0, 0, false, payload(hbr, [[3000, 0]], large.subarray(0, 1196))),
        rtp(1, 0, true, payload(hbr, [[3000, 0]], large.subarray(1196, 2392))),
        rtp(2, 1024, false, payload(hbr, [[3000, 0]], large.subarray(0, 1196))),
        rtp(3, 1024, false, payload(hbr, [[2999, 0]], large.subarray(1196, 2392))),
        rtp(4, 1024, true, payload(hbr, [[2999, 0]], large.subarray(2392, 2999))),
        rtp(5, 2048, true, payload(hbr, [[200, 0]], a)),
      ],
    },
    parsed: {
      units: [au(2048, a)],
      drops: { framesDropped: 3, framesDamaged: 3 },
    },
  },
  {
    name: "AUs over maxFrameBytes are dropped",
    input: {
      config: hbr,
      maxFrameBytes: 205,
      packets: [
        rtp(0, 0, true, payload(hbr, [[200, 0], [210, 0], [190, 0]], a, b, c)),
        rtp(1, 3072, false, payload(hbr, [[3000, 0]], large.subarray(0, 1196))),
        rtp(2, 3072, true, payload(hbr, [[3000, 0]], large.subarray(1196, 2392))),
        rtp(3, 4096, false, payload(hbr, [[190, 0]], c)),
        rtp(4, 4096, true, payload(hbr, [[190, 0]], c)),
        rtp(5, 5120, true, payload(hbr, [[190, 0]], c)),
      ],
    },
    parsed: { units: [au(0, a), au(2048, c), au(5120, c)], drops: { framesDropped: 3, framesTooLarge: 3 } },
  },
];

const make = (input: Input) => (onUnit: (au: AccessUnit) => void) =>
  new AacDepacketizer({
    clockRate: input.clockRate ?? 48000,
    config: input.config,
    onUnit,
    maxFrameBytes: input.maxFrameBytes,
  });
const parse = (input: Input) => depacketize(make(input), input.packets);

Deno.test("AacDepacketizer: golden packets to access units", async (t) => {
  await goldenParseSteps(t, cases, parse);
});

Deno.test("AacPacketizer: writes the golden packets for their units", async (t) => {
  await goldenPacketizeSteps(t, cases, (k, options) => {
    const packetizer = new AacPacketizer({
      payloadType: PT,
      ssrc: SSRC,
      clockRate: k.input.clockRate ?? 48000,
      config: k.input.config,
      ...options,
    });
    return packetizer.packetize(k.parsed.units);
  });
});

Deno.test("aacFrameSamples() reads the frame length an AudioSpecificConfig says", async (t) => {
  const table = [
    { name: "AAC LC 48 kHz", config: "1190", samples: 1024 },
    { name: "AAC LC, ffmpeg's sync extension", config: "121056E500", samples: 1024 },
    { name: "AAC LC frameLengthFlag 1", config: "1194", samples: 960 },
    { name: "HE-AAC hierarchical: the core's 1024", config: "2B118800", samples: 1024 },
    { name: "ER AAC-LD frameLengthFlag 1", config: "B98C", samples: 480 },
    { name: "ER AAC-LD frameLengthFlag 0", config: "B988", samples: 512 },
    { name: "USAC (not parsed): 1024", config: "F94840", samples: 1024 },
  ];
  for (const c of table) await t.step(c.name, () => assert.equal(aacFrameSamples(hex(c.config)), c.samples));
  assert.throws(() => aacFrameSamples(hex("12")), SyntaxError);
});

Deno.test("AacDepacketizer: options it cannot work with throw at construction", () => {
  const onUnit = () => {};
  assert.throws(() => new AacDepacketizer({ clockRate: 0, config: hbr, onUnit }), /clock rate/);
  assert.throws(
    () => new AacDepacketizer({ clockRate: 48000, config: { ...hbr, sizeLength: 0 }, onUnit }),
    /constantSize/,
  );
  assert.throws(
    () => new AacDepacketizer({ clockRate: 48000, config: { ...hbr, config: hex("12") }, onUnit }),
    SyntaxError,
  );
  assert.throws(
    () => new AacDepacketizer({ clockRate: 48000, config: hbr, onUnit, maxFrameBytes: -1 }),
    /maxFrameBytes/,
  );
});

Deno.test("AacPacketizer refuses AUs it cannot carry", () => {
  const pk = new AacPacketizer({ payloadType: PT, ssrc: SSRC, clockRate: 8000, config: lbr });
  assert.throws(() => pk.packetize([au(0, frame(64, 1))]), /at most 63 bytes/);
  assert.throws(() => pk.packetize([au(0, new Uint8Array())]), /non-empty/);
  assert.throws(() => pk.packetize([{ pts: 0, units: [a, b], random: true }]), /one non-empty frame/);
});

Deno.test("AacPacketizer then AacDepacketizer: random AUs come back as they were", () => {
  const rng = new Prng(3640);
  const configs = [hbr, hbr960, lbr, bare, { ...hbr, sizeLength: 16, indexLength: 0, indexDeltaLength: 0 }];
  for (let run = 0; run < 60; run++) {
    const config = rng.pick(configs);
    const packetizer = new AacPacketizer({
      payloadType: PT,
      ssrc: SSRC,
      sequence: rng.int(65536),
      clockRate: 48000,
      config,
      maxPayloadBytes: 8 + rng.int(1500),
    });
    const aus: AccessUnit[] = [];
    let pts = rng.next();
    const maxSize = config.sizeLength === 6 ? 63 : 4000;
    for (let i = 0, n = 1 + rng.int(20); i < n; i++) {
      aus.push(au(pts, frame(1 + rng.int(rng.chance(0.2) ? maxSize : Math.min(maxSize, 300)), rng.int(256))));
      pts += rng.chance(0.9) ? packetizer.frameDuration : 1 + rng.int(5000);
    }
    const packets = packetizer.packetize(aus);
    const out = depacketize(make({ config, packets }), packets);
    assert.deepStrictEqual(out, { units: aus, drops: {} }, `run ${run}`);
  }
});

Deno.test("AacDepacketizer fuzz: corpus and mutated packet lists never throw and stay in bounds", async (t) => {
  const maxFrameBytes = 2048;
  const configs = [hbr, lbr, bare];
  await fuzzSteps(t, {
    corpus: "aac_depacketizer",
    label: "AacDepacketizer.push()",
    // The first byte picks the config (mod 3), the rest is the packet list.
    seeds: goldenSeeds(
      cases,
      (k) => [concat([Math.max(0, configs.indexOf(k.input.config))], joinPackets(k.input.packets))],
    ),
    check: (input) => {
      if (input.length === 0) return;
      const config = configs[input[0] % configs.length];
      checkDepacketizer(input.subarray(1), make({ config, packets: [], maxFrameBytes }), {
        maxFrameBytes,
        audio: true,
      });
    },
    count: 3000,
    seed: 3640,
    kind: "binary",
    maxBytes: 8192,
  });
});

Deno.test("AacDepacketizer: ffmpeg's AAC frames, packetized, come back AU by AU", async () => {
  const frames = await ffmpegAacFrames();
  assert.ok(frames.length >= 40, `${frames.length} frames`);
  const config = { ...hbr, config: hex("1188") };
  const aus = frames.map((f, i) => au(7 + i * 1024, f));
  // ~400-byte AUs: three to a packet at 1400 bytes, each in two fragments at 300.
  for (const maxPayloadBytes of [1400, 300]) {
    const packetizer = new AacPacketizer({
      payloadType: PT,
      ssrc: SSRC,
      clockRate: 48000,
      config,
      maxPayloadBytes,
    });
    const packets = packetizer.packetize(aus);
    assert.ok(maxPayloadBytes > 1000 ? packets.length < frames.length / 2 : packets.length > frames.length);
    assert.deepStrictEqual(depacketize(make({ config, packets }), packets), { units: aus, drops: {} });
  }
});

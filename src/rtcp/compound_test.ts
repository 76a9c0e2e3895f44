import assert from "node:assert/strict";
import { parseRtcpCompound, type RtcpPacket } from "./compound.ts";
import { senderReportBytes, writeSenderReport } from "./sender_report.ts";
import { receiverReportBytes, writeReceiverReport } from "./receiver_report.ts";
import { SDES_ITEM, sdesBytes, writeSdes } from "./sdes.ts";
import { byeBytes, writeBye } from "./bye.ts";
import { assertRoundTrip, fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

const block = {
  ssrc: 0x71de0,
  fractionLost: 3,
  cumulativeLost: 12,
  highestSeq: 0x10010,
  jitter: 45,
  lastSr: 0x1234abcd,
  delaySinceLastSr: 999,
};

/** SR + SDES, then RR + APP + SDES + BYE: what senders and receivers send. */
function compound(): { bytes: Uint8Array; packets: RtcpPacket[] } {
  const buf = new Uint8Array(512);
  const sr = {
    ssrc: 5,
    ntpSeconds: 3,
    ntpFraction: 4,
    rtpTimestamp: 5,
    packetCount: 6,
    octetCount: 7,
    reports: [],
  };
  const rr = { ssrc: 9, reports: [block] };
  const chunks = [{ ssrc: 5, items: [{ type: SDES_ITEM.CNAME, text: "cam" }] }];
  let n = writeSenderReport(sr, buf, 0);
  n += writeSdes(chunks, buf, n);
  n += writeReceiverReport(rr, buf, n);
  buf.set([0x80, 204, 0, 2, 0, 0, 0, 5, 0x61, 0x62, 0x63, 0x64], n); // APP "abcd": skipped
  n += 12;
  n += writeBye({ ssrcs: [5], reason: "done" }, buf, n);
  return {
    bytes: buf.slice(0, n),
    packets: [
      { type: "sr", report: sr },
      { type: "sdes", chunks },
      { type: "rr", report: rr },
      { type: "bye", bye: { ssrcs: [5], reason: "done" } },
    ],
  };
}

Deno.test("parseRtcpCompound() reads SR, SDES, RR and BYE in order and skips APP by its length", () => {
  const { bytes, packets } = compound();
  assert.deepEqual(parseRtcpCompound(bytes, 0, bytes.length), packets);
  // At an offset inside a larger buffer, as in a read buffer.
  const wrapped = new Uint8Array(bytes.length + 10);
  wrapped.set(bytes, 7);
  assert.deepEqual(parseRtcpCompound(wrapped, 7, 7 + bytes.length), packets);
});

Deno.test("parseRtcpCompound() gives null for bytes that are not RTCP", async (t) => {
  const { bytes } = compound();
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["version 1", Uint8Array.from(bytes, (b, i) => (i === 0 ? 0x40 : b))],
    ["a length past the end", Uint8Array.from(bytes, (b, i) => (i === 3 ? 200 : b))],
    ["trailing bytes", Uint8Array.of(...bytes, 0x80, 201)],
    ["an RTP packet", Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1)],
  ];
  for (const [name, b] of cases) {
    await t.step(name, () => assert.equal(parseRtcpCompound(b, 0, b.length), null));
  }
});

Deno.test("parseRtcpCompound() skips a malformed packet and keeps the rest", () => {
  // An RR whose count claims 2 blocks in a packet with room for 1, then a good RR.
  const buf = new Uint8Array(64);
  let n = writeReceiverReport({ ssrc: 1, reports: [block] }, buf, 0);
  buf[0] = 0x82;
  n += writeReceiverReport({ ssrc: 2, reports: [] }, buf, n);
  assert.deepEqual(parseRtcpCompound(buf, 0, n), [{ type: "rr", report: { ssrc: 2, reports: [] } }]);
});

Deno.test("parseRtcpCompound() never throws on mutated input; what it reads re-serializes to the same", () => {
  const { bytes } = compound();
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const b = bytes.slice(0, 1 + rand(bytes.length));
    for (let k = 1 + rand(4); k > 0; k--) b[rand(b.length)] = rand(256);
    const out = parseRtcpCompound(b, 0, b.length);
    if (out === null) continue;
    parsed++;
    for (const p of out) {
      if (p.type !== "sr" && p.type !== "rr") continue;
      const again = new Uint8Array(600);
      const n = p.type === "sr"
        ? writeSenderReport(p.report, again, 0)
        : writeReceiverReport(p.report, again, 0);
      assert.deepEqual(parseRtcpCompound(again, 0, n), [p]);
    }
  }
  assert.ok(parsed > 0, "some mutations are still RTCP");
});

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

/** The compound packet of these packets, each written by its own writer, back to back. */
function writeCompound(packets: RtcpPacket[]): Uint8Array {
  const size = (p: RtcpPacket) =>
    p.type === "sr"
      ? senderReportBytes(p.report)
      : p.type === "rr"
      ? receiverReportBytes(p.report)
      : p.type === "sdes"
      ? sdesBytes(p.chunks)
      : byeBytes(p.bye);
  const out = new Uint8Array(packets.reduce((n, p) => n + size(p), 0));
  let at = 0;
  for (const p of packets) {
    if (p.type === "sr") at += writeSenderReport(p.report, out, at);
    else if (p.type === "rr") at += writeReceiverReport(p.report, out, at);
    else if (p.type === "sdes") at += writeSdes(p.chunks, out, at);
    else at += writeBye(p.bye, out, at);
  }
  return out;
}

const GST_COMPOUND = hex(
  "81c900075d51a11bbd8cf83300000000000006a30000103c05adc51e0001e8a981ca000c5d51a11b011c757365723238343732363739363640686f73742d613032663239626106094753747265616d6572000000",
);
const compoundCases: GoldenCase<Uint8Array, RtcpPacket[] | null>[] = [
  { name: "SR, SDES, RR, APP, BYE", input: compound().bytes, parsed: compound().packets },
  {
    name: "ffmpeg 5.1 publisher: SR alone",
    input: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
    parsed: [{
      type: "sr",
      report: {
        ssrc: 3180132403,
        ntpSeconds: 4005234093,
        ntpFraction: 3307124817,
        rtpTimestamp: 1109523515,
        packetCount: 0,
        octetCount: 0,
        reports: [],
      },
    }],
    canonical: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
  },
  {
    name: "GStreamer 1.22 player: RR and SDES",
    input: GST_COMPOUND,
    parsed: [
      {
        type: "rr",
        report: {
          ssrc: 1565630747,
          reports: [{
            ssrc: 3180132403,
            fractionLost: 0,
            cumulativeLost: 0,
            highestSeq: 1699,
            jitter: 4156,
            lastSr: 95274270,
            delaySinceLastSr: 125097,
          }],
        },
      },
      {
        type: "sdes",
        chunks: [{
          ssrc: 1565630747,
          items: [{ type: SDES_ITEM.CNAME, text: "user2847267966@host-a02f29ba" }, {
            type: SDES_ITEM.TOOL,
            text: "GStreamer",
          }],
        }],
      },
    ],
    canonical: GST_COMPOUND,
  },
  { name: "an RTP packet is not RTCP", input: hex("8060000100000000000000010a0b"), parsed: null },
];

const readCompound = (b: Uint8Array) => parseRtcpCompound(b, 0, b.length);

Deno.test("parseRtcpCompound() reads the golden compounds", (t) =>
  goldenParseSteps(t, compoundCases, readCompound));

Deno.test("the RTCP writers write the golden compounds", (t) =>
  goldenSerializeSteps(
    t,
    compoundCases.filter((c) => c.parsed !== null),
    (p) => writeCompound(p!),
    readCompound,
  ));

Deno.test("parseRtcpCompound() fuzz: corpus and mutated compounds give null or packets that rewrite, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtcp_compound",
    label: "parseRtcpCompound()",
    seeds: goldenSeeds(compoundCases, (c) => [c.input]),
    check: (input) => {
      const packets = readsOnlyItsBytes(input, parseRtcpCompound);
      // Only APP/unknown packets read as []; written back they are no bytes, which is not RTCP (null).
      if (packets !== null) assertRoundTrip(packets, writeCompound, (b) => readCompound(b) ?? []);
    },
    count: 3000,
    seed: 3551,
    kind: "binary",
    maxBytes: 1500,
  });
});

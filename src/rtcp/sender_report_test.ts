import assert from "node:assert/strict";
import {
  parseSenderReport,
  type SenderReport,
  senderReportBytes,
  writeSenderReport,
} from "./sender_report.ts";
import { rtcpPacketBytes } from "./rtcp_header.ts";
import { assertWrittenRoundTrip, fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

/** An SR with one report block, written out field by field from RFC 3550 §6.4.1. */
const GOLDEN = new Uint8Array([
  0x81,
  200,
  0x00,
  12, // V=2 P=0 RC=1, PT=200, length 12 words (52 bytes)
  0x12,
  0x34,
  0x56,
  0x78, // SSRC of sender
  0xe8,
  0xb1,
  0xc2,
  0xd3, // NTP seconds
  0x80,
  0x00,
  0x00,
  0x00, // NTP fraction: half a second
  0x00,
  0x01,
  0x5f,
  0x90, // RTP timestamp 90000
  0x00,
  0x00,
  0x00,
  0x64, // packet count 100
  0x00,
  0x00,
  0x27,
  0x10, // octet count 10000
  0xde,
  0xad,
  0xbe,
  0xef, // report block: source SSRC
  0x40,
  0xff,
  0xff,
  0xf9, // fraction lost 64/256, cumulative lost -7
  0x00,
  0x01,
  0xff,
  0xff, // extended highest sequence: 1 cycle, 65535
  0x00,
  0x00,
  0x03,
  0x84, // jitter 900
  0xc2,
  0xd3,
  0x80,
  0x00, // LSR
  0x00,
  0x01,
  0x00,
  0x00, // DLSR: 1 s
]);

const PARSED: SenderReport = {
  ssrc: 0x12345678,
  ntpSeconds: 0xe8b1c2d3,
  ntpFraction: 0x80000000,
  rtpTimestamp: 90000,
  packetCount: 100,
  octetCount: 10000,
  reports: [{
    ssrc: 0xdeadbeef,
    fractionLost: 64,
    cumulativeLost: -7,
    highestSeq: 0x1ffff,
    jitter: 900,
    lastSr: 0xc2d38000,
    delaySinceLastSr: 65536,
  }],
};

Deno.test("parseSenderReport() reads every field of RFC 3550's layout", () => {
  assert.equal(rtcpPacketBytes(GOLDEN, 0, GOLDEN.length), 52);
  assert.deepEqual(parseSenderReport(GOLDEN, 0, GOLDEN.length), PARSED);
});

Deno.test("writeSenderReport() writes the same bytes, at an offset, and reports its size", () => {
  const buf = new Uint8Array(60).fill(0xee);
  assert.equal(senderReportBytes(PARSED), 52);
  assert.equal(writeSenderReport(PARSED, buf, 5), 52);
  assert.deepEqual(buf.subarray(5, 57), GOLDEN);
  assert.equal(buf[4], 0xee, "nothing before the offset");
  assert.equal(buf[57], 0xee, "nothing after the packet");
});

Deno.test("an SR without report blocks is 28 bytes and round-trips; uint32 fields keep their top bit", () => {
  const sr: SenderReport = {
    ssrc: 0xffffffff,
    ntpSeconds: 0x80000001,
    ntpFraction: 0xffffffff,
    rtpTimestamp: 0xfffffffe,
    packetCount: 0x80000000,
    octetCount: 0xffffffff,
    reports: [],
  };
  const buf = new Uint8Array(28);
  assert.equal(writeSenderReport(sr, buf, 0), 28);
  assert.deepEqual([...buf.subarray(0, 4)], [0x80, 200, 0, 6]);
  assert.deepEqual(parseSenderReport(buf, 0, 28), sr);
});

Deno.test("parseSenderReport() refuses what is not a whole SR", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["an RR's type", Uint8Array.from(GOLDEN, (b, i) => (i === 1 ? 201 : b))],
    ["shorter than 28 bytes", GOLDEN.slice(0, 24)],
    ["a report count past the length", Uint8Array.from(GOLDEN, (b, i) => (i === 0 ? 0x82 : b))],
    ["padding that eats the blocks", Uint8Array.from(GOLDEN, (b, i) => (i === 0 ? 0xa1 : i === 51 ? 40 : b))],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => assert.equal(parseSenderReport(bytes, 0, bytes.length), null));
  }
});

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

const srCases: GoldenCase<Uint8Array, SenderReport | null>[] = [
  { name: "RFC 3550 layout with one report block", input: GOLDEN, parsed: PARSED, canonical: GOLDEN },
  {
    name: "ffmpeg 5.1 publisher's SR, no blocks",
    input: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
    parsed: {
      ssrc: 3180132403,
      ntpSeconds: 4005234093,
      ntpFraction: 3307124817,
      rtpTimestamp: 1109523515,
      packetCount: 0,
      octetCount: 0,
      reports: [],
    },
    canonical: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
  },
  {
    name: "an RR is not an SR",
    input: hex("81c900075d51a11bbd8cf83300000000000006a30000103c05adc51e0001e8a9"),
    parsed: null,
  },
];

const readSr = (b: Uint8Array) => parseSenderReport(b, 0, b.length);
const writeSr = (sr: SenderReport) => {
  const out = new Uint8Array(senderReportBytes(sr));
  writeSenderReport(sr, out, 0);
  return out;
};

Deno.test("parseSenderReport() reads the golden packets", (t) => goldenParseSteps(t, srCases, readSr));

Deno.test("writeSenderReport() writes the golden packets", (t) =>
  goldenSerializeSteps(t, srCases.filter((c) => c.parsed !== null), (sr) => writeSr(sr!), readSr));

Deno.test("parseSenderReport() fuzz: corpus and mutated packets give null or a report that rewrites, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtcp_sr",
    label: "parseSenderReport()",
    seeds: goldenSeeds(srCases, (c) => [c.input]),
    check: (input) => {
      const sr = readsOnlyItsBytes(input, parseSenderReport);
      if (sr !== null) assertWrittenRoundTrip(sr, senderReportBytes, writeSenderReport, parseSenderReport);
    },
    count: 3000,
    seed: 200,
    kind: "binary",
    maxBytes: 1024,
  });
});

import assert from "node:assert/strict";
import {
  parseReceiverReport,
  type ReceiverReport,
  receiverReportBytes,
  writeReceiverReport,
} from "./receiver_report.ts";
import { parseReportBlock, writeReportBlock } from "./report_block.ts";
import { assertWrittenRoundTrip, fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

/** An RR with two report blocks, as RFC 3550 §6.4.2 lays it out. */
const GOLDEN = new Uint8Array([
  0x82,
  201,
  0x00,
  13, // V=2 P=0 RC=2, PT=201, length 13 words (56 bytes)
  0x0b,
  0xad,
  0xf0,
  0x0d, // SSRC of the receiver
  0x00,
  0x00,
  0x00,
  0x01, // block 1: source 1
  0x80,
  0x00,
  0x01,
  0x00, // fraction 128/256, cumulative 256
  0x00,
  0x00,
  0x12,
  0x34, // highest sequence 0x1234, no cycle
  0x00,
  0x00,
  0x00,
  0x00, // jitter 0
  0x00,
  0x00,
  0x00,
  0x00, // no SR received yet
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x02, // block 2: source 2
  0x00,
  0x7f,
  0xff,
  0xff, // fraction 0, cumulative at its largest (2^23 - 1)
  0x00,
  0x02,
  0x00,
  0x05,
  0x00,
  0x00,
  0x10,
  0x00,
  0x12,
  0x34,
  0x56,
  0x78,
  0x00,
  0x00,
  0x80,
  0x00, // DLSR 0.5 s
]);

const PARSED: ReceiverReport = {
  ssrc: 0x0badf00d,
  reports: [
    {
      ssrc: 1,
      fractionLost: 128,
      cumulativeLost: 256,
      highestSeq: 0x1234,
      jitter: 0,
      lastSr: 0,
      delaySinceLastSr: 0,
    },
    {
      ssrc: 2,
      fractionLost: 0,
      cumulativeLost: 0x7fffff,
      highestSeq: 0x20005,
      jitter: 4096,
      lastSr: 0x12345678,
      delaySinceLastSr: 32768,
    },
  ],
};

Deno.test("parseReceiverReport() reads the receiver and each report block", () => {
  assert.deepEqual(parseReceiverReport(GOLDEN, 0, GOLDEN.length), PARSED);
});

Deno.test("writeReceiverReport() writes the same bytes; an empty RR is 8 bytes", () => {
  const buf = new Uint8Array(56);
  assert.equal(writeReceiverReport(PARSED, buf, 0), 56);
  assert.deepEqual(buf, GOLDEN);
  const empty = new Uint8Array(8);
  assert.equal(writeReceiverReport({ ssrc: 7, reports: [] }, empty, 0), 8);
  assert.deepEqual([...empty], [0x80, 201, 0, 1, 0, 0, 0, 7]);
  assert.deepEqual(parseReceiverReport(empty, 0, 8), { ssrc: 7, reports: [] });
});

Deno.test("parseReceiverReport() refuses another type or a report count past the length", () => {
  assert.equal(parseReceiverReport(Uint8Array.from(GOLDEN, (b, i) => (i === 1 ? 200 : b)), 0, 56), null);
  assert.equal(parseReceiverReport(GOLDEN, 0, 55), null);
  assert.equal(parseReceiverReport(Uint8Array.from(GOLDEN, (b, i) => (i === 0 ? 0x83 : b)), 0, 56), null);
});

Deno.test("report blocks keep cumulative loss as signed 24 bits and clamp what does not fit", () => {
  const buf = new Uint8Array(24);
  const block = {
    ssrc: 9,
    fractionLost: 1,
    cumulativeLost: -1,
    highestSeq: 0,
    jitter: 0,
    lastSr: 0,
    delaySinceLastSr: 0,
  };
  writeReportBlock(block, buf, 0);
  assert.deepEqual([...buf.subarray(4, 8)], [1, 0xff, 0xff, 0xff]);
  assert.equal(parseReportBlock(buf, 0).cumulativeLost, -1);
  writeReportBlock({ ...block, cumulativeLost: 1e9 }, buf, 0);
  assert.equal(parseReportBlock(buf, 0).cumulativeLost, 0x7fffff);
  writeReportBlock({ ...block, cumulativeLost: -1e9 }, buf, 0);
  assert.equal(parseReportBlock(buf, 0).cumulativeLost, -0x800000);
});

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

const rrCases: GoldenCase<Uint8Array, ReceiverReport | null>[] = [
  { name: "RFC 3550 layout with two report blocks", input: GOLDEN, parsed: PARSED, canonical: GOLDEN },
  {
    name: "GStreamer 1.22 player's RR on ffmpeg's stream",
    input: hex("81c900075d51a11bbd8cf83300000000000006a30000103c05adc51e0001e8a9"),
    parsed: {
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
    canonical: hex("81c900075d51a11bbd8cf83300000000000006a30000103c05adc51e0001e8a9"),
  },
  {
    name: "rtspclientsink's RR without blocks",
    input: hex("80c9000162ab6868"),
    parsed: { ssrc: 0x62ab6868, reports: [] },
  },
  {
    name: "an SR is not an RR",
    input: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
    parsed: null,
  },
];

const readRr = (b: Uint8Array) => parseReceiverReport(b, 0, b.length);
const writeRr = (rr: ReceiverReport) => {
  const out = new Uint8Array(receiverReportBytes(rr));
  writeReceiverReport(rr, out, 0);
  return out;
};

Deno.test("parseReceiverReport() reads the golden packets", (t) => goldenParseSteps(t, rrCases, readRr));

Deno.test("writeReceiverReport() writes the golden packets", (t) =>
  goldenSerializeSteps(t, rrCases.filter((c) => c.parsed !== null), (rr) => writeRr(rr!), readRr));

Deno.test("parseReceiverReport() fuzz: corpus and mutated packets give null or a report that rewrites, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtcp_rr",
    label: "parseReceiverReport()",
    seeds: goldenSeeds(rrCases, (c) => [c.input]),
    check: (input) => {
      const rr = readsOnlyItsBytes(input, parseReceiverReport);
      if (rr !== null) {
        assertWrittenRoundTrip(rr, receiverReportBytes, writeReceiverReport, parseReceiverReport);
      }
    },
    count: 3000,
    seed: 201,
    kind: "binary",
    maxBytes: 1024,
  });
});

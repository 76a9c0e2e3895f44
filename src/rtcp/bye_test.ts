import assert from "node:assert/strict";
import { type Bye, byeBytes, parseBye, writeBye } from "./bye.ts";
import { assertWrittenRoundTrip, fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

/** Two sources leaving with a reason, as RFC 3550 §6.6 lays it out. */
const GOLDEN = new Uint8Array([
  0x82,
  203,
  0x00,
  4, // V=2 SC=2, PT=203, length 4 words (20 bytes)
  0x00,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  0x02,
  5,
  0x62,
  0x79,
  0x65,
  0x21,
  0x21,
  0,
  0, // reason "bye!!", padded
]);

Deno.test("parseBye() reads the sources and the reason; writeBye() writes the same bytes", () => {
  const bye: Bye = { ssrcs: [1, 2], reason: "bye!!" };
  assert.deepEqual(parseBye(GOLDEN, 0, GOLDEN.length), bye);
  assert.equal(byeBytes(bye), 20);
  const buf = new Uint8Array(20);
  assert.equal(writeBye(bye, buf, 0), 20);
  assert.deepEqual(buf, GOLDEN);
});

Deno.test("a BYE without a reason round-trips; one whose reason runs past the packet is refused", () => {
  const buf = new Uint8Array(8);
  assert.equal(writeBye({ ssrcs: [0xfeedface], reason: "" }, buf, 0), 8);
  assert.deepEqual(parseBye(buf, 0, 8), { ssrcs: [0xfeedface], reason: "" });
  const bad = Uint8Array.from(GOLDEN, (b, i) => (i === 12 ? 9 : b));
  assert.equal(parseBye(bad, 0, bad.length), null);
  assert.equal(parseBye(GOLDEN, 0, 8), null, "sources past the end");
});

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

const byeCases: GoldenCase<Uint8Array, Bye | null>[] = [
  {
    name: "RFC 3550 layout, two sources and a reason",
    input: GOLDEN,
    parsed: { ssrcs: [1, 2], reason: "bye!!" },
    canonical: GOLDEN,
  },
  {
    name: "GStreamer 1.22 rtspclientsink leaving, no reason",
    input: hex("81cb000162ab6868"),
    parsed: { ssrcs: [0x62ab6868], reason: "" },
    canonical: hex("81cb000162ab6868"),
  },
  {
    name: "an SR is not a BYE",
    input: hex("80c80006bd8cf833eebb05adc51eb8514221fc3b0000000000000000"),
    parsed: null,
  },
];

const readBye = (b: Uint8Array) => parseBye(b, 0, b.length);
const writeOne = (bye: Bye) => {
  const out = new Uint8Array(byeBytes(bye));
  writeBye(bye, out, 0);
  return out;
};

Deno.test("parseBye() reads the golden packets", (t) => goldenParseSteps(t, byeCases, readBye));

Deno.test("writeBye() writes the golden packets", (t) =>
  goldenSerializeSteps(t, byeCases.filter((c) => c.parsed !== null), (b) => writeOne(b!), readBye));

Deno.test("parseBye() fuzz: corpus and mutated packets give null or a BYE that rewrites, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtcp_bye",
    label: "parseBye()",
    seeds: goldenSeeds(byeCases, (c) => [c.input]),
    check: (input) => {
      const bye = readsOnlyItsBytes(input, parseBye);
      if (bye !== null) assertWrittenRoundTrip(bye, byeBytes, writeBye, parseBye);
    },
    count: 3000,
    seed: 203,
    kind: "binary",
    maxBytes: 1024,
  });
});

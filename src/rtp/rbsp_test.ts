import assert from "node:assert/strict";
import {
  addEmulationPrevention,
  BitReader,
  BitWriter,
  RbspError,
  removeEmulationPrevention,
  removeEmulationPreventionInto,
} from "./rbsp.ts";
import { fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";
import { hex } from "./testdata/hex.ts";

/** input: a NAL unit payload; parsed: its RBSP; canonical: what addEmulationPrevention() writes. */
const escapeCases: GoldenCase<Uint8Array, Uint8Array>[] = [
  {
    name: "nothing to escape",
    input: hex("67 64 00 1f ac"),
    parsed: hex("67 64 00 1f ac"),
    canonical: hex("67 64 00 1f ac"),
  },
  {
    name: "00 00 00 (H.264 §7.4.1)",
    input: hex("aa 00 00 03 00 bb"),
    parsed: hex("aa 00 00 00 bb"),
    canonical: hex("aa 00 00 03 00 bb"),
  },
  { name: "00 00 01", input: hex("00 00 03 01"), parsed: hex("00 00 01"), canonical: hex("00 00 03 01") },
  { name: "00 00 02", input: hex("00 00 03 02"), parsed: hex("00 00 02"), canonical: hex("00 00 03 02") },
  { name: "00 00 03", input: hex("00 00 03 03"), parsed: hex("00 00 03"), canonical: hex("00 00 03 03") },
  {
    name: "00 00 04 needs none",
    input: hex("00 00 04"),
    parsed: hex("00 00 04"),
    canonical: hex("00 00 04"),
  },
  {
    name: "x264 SPS: 00 00 03 00 10 twice",
    input: hex("64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1"),
    parsed: hex("64 00 1f ac d9 40 50 05 bb 01 10 00 00 00 10 00 00 03 20 f1"),
    canonical: hex("64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1"),
  },
  {
    name: "a run of zeros escapes every third byte",
    input: hex("00 00 03 00 00 03 00 00 03 00"),
    parsed: hex("00 00 00 00 00 00 00"),
    canonical: hex("00 00 03 00 00 03 00 00 03 00"),
  },
  {
    name: "cabac_zero_word ending gets a final 03",
    input: hex("aa 00 00 03"),
    parsed: hex("aa 00 00"),
    canonical: hex("aa 00 00 03"),
  },
  {
    name: "03 after one zero is data",
    input: hex("00 03 00"),
    parsed: hex("00 03 00"),
    canonical: hex("00 03 00"),
  },
  { name: "empty", input: hex(""), parsed: hex(""), canonical: hex("") },
];

Deno.test("removeEmulationPrevention() drops every 03 after two zero bytes", async (t) => {
  await goldenParseSteps(t, escapeCases, (nal) => removeEmulationPrevention(nal).slice());
});

Deno.test("addEmulationPrevention() escapes what removeEmulationPrevention() drops", async (t) => {
  await goldenSerializeSteps(
    t,
    escapeCases,
    addEmulationPrevention,
    (nal) => removeEmulationPrevention(nal).slice(),
  );
});

Deno.test("removeEmulationPrevention() reads [start, end) and returns a view when nothing is escaped", () => {
  const buf = hex("ff 41 9a 00 00 03 01 ff");
  assert.deepEqual(removeEmulationPrevention(buf, 1, 7), hex("41 9a 00 00 01"));
  const plain = hex("ee 67 42 ee");
  const view = removeEmulationPrevention(plain, 1, 3);
  assert.equal(view.buffer, plain.buffer);
  assert.deepEqual(view, hex("67 42"));
});

Deno.test("removeEmulationPreventionInto() stops when its output is full", () => {
  const out = new Uint8Array(3);
  assert.equal(removeEmulationPreventionInto(hex("00 00 03 01 02 03"), 0, 6, out), 3);
  assert.deepEqual(out, hex("00 00 01"));
});

/** Exp-Golomb codes (H.264 Table 9-2), as bit strings. */
const golombCases: { name: string; bits: string; ue: number; se: number }[] = [
  { name: "1", bits: "1", ue: 0, se: 0 },
  { name: "010", bits: "010", ue: 1, se: 1 },
  { name: "011", bits: "011", ue: 2, se: -1 },
  { name: "00100", bits: "00100", ue: 3, se: 2 },
  { name: "00111", bits: "00111", ue: 6, se: -3 },
  { name: "0001000", bits: "0001000", ue: 7, se: 4 },
  { name: "16 zeros", bits: "0".repeat(16) + "1" + "0".repeat(16), ue: 65535, se: 32768 },
  {
    name: "31 zeros: the largest code",
    bits: "0".repeat(31) + "1".repeat(32),
    ue: 2 ** 32 - 2,
    se: -(2 ** 31 - 1),
  },
];

function bitsToBytes(bits: string): Uint8Array {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, "0");
  return Uint8Array.from(padded.match(/.{8}/g) ?? [], (b) => parseInt(b, 2));
}

Deno.test("BitReader ue() and se() read Exp-Golomb codes (H.264 §9.1)", async (t) => {
  for (const c of golombCases) {
    await t.step(c.name, () => {
      const r = new BitReader(bitsToBytes(c.bits));
      assert.equal(r.ue(), c.ue);
      assert.equal(r.bitsLeft, bitsToBytes(c.bits).length * 8 - c.bits.length);
      assert.equal(new BitReader(bitsToBytes(c.bits)).se(), c.se);
      const w = new BitWriter().ue(c.ue).se(c.se).finish();
      const back = new BitReader(w);
      assert.deepEqual([back.ue(), back.se()], [c.ue, c.se]);
    });
  }
});

Deno.test("BitReader throws RbspError past its end and on a code longer than 32 bits", async (t) => {
  const cases: { name: string; bytes: string; read: (r: BitReader) => unknown; message: RegExp }[] = [
    { name: "u(9) of one byte", bytes: "ff", read: (r) => r.u(9), message: /ends inside a 9-bit field/ },
    { name: "ue with no stop bit", bytes: "00 00", read: (r) => r.ue(), message: /ends inside/ },
    { name: "ue whose value is cut", bytes: "01", read: (r) => r.ue(), message: /ends inside a 7-bit field/ },
    {
      name: "32 leading zeros",
      bytes: "00 00 00 00 ff ff ff ff ff",
      read: (r) => r.ue(),
      message: /longer than 32 bits/,
    },
    { name: "skip past the end", bytes: "ff", read: (r) => r.skip(9), message: /ends inside 9 skipped bits/ },
    {
      name: "ueMax above the maximum",
      bytes: "08 00",
      read: (r) => r.ueMax(6, "x_minus1"),
      message: /x_minus1 is 15, above its maximum 6/,
    },
    {
      name: "seRange outside",
      bytes: "1e",
      read: (r) => r.seRange(-3, 3, "d"),
      message: /d is -7, outside -3..3/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => c.read(new BitReader(hex(c.bytes))),
        (e) => e instanceof RbspError && c.message.test(e.message),
      );
    });
  }
  assert.ok(new RbspError("x") instanceof SyntaxError, "RbspError is a SyntaxError (docs/wire-parsers.md)");
});

Deno.test("BitReader reads only [start, end) and reset() reuses it", () => {
  const buf = hex("00 80 ff");
  const r = new BitReader(buf, 1, 2);
  assert.equal(r.ue(), 0);
  assert.equal(r.u(7), 0);
  assert.throws(() => r.u(1), RbspError);
  r.reset(buf, 2, 3);
  assert.equal(r.u(8), 0xff);
  assert.equal(new BitReader(hex("ff ff ff ff")).u(32), 0xffffffff);
});

Deno.test("BitWriter refuses values that do not fit", () => {
  assert.throws(() => new BitWriter().u(3, 8), RangeError);
  assert.throws(() => new BitWriter().ue(-1), RangeError);
  assert.throws(() => new BitWriter().ue(2 ** 32 - 1), RangeError);
  assert.deepEqual(new BitWriter().u(3, 5).finish(), hex("b0"));
});

/**
 * The convention: removal never throws and addEmulationPrevention() inverts it; reading fields from
 * any bytes throws nothing but RbspError.
 */
function checkRbsp(input: Uint8Array): void {
  const rbsp = removeEmulationPrevention(input).slice();
  assert.deepEqual(removeEmulationPrevention(addEmulationPrevention(rbsp)), rbsp);
  assert.deepEqual(removeEmulationPrevention(addEmulationPrevention(input)), input);
  const r = new BitReader(rbsp);
  const read = parseOrRefuse(() => {
    const values: number[] = [];
    for (let i = 0; i < 64; i++) values.push(i % 3 === 0 ? r.ue() : i % 3 === 1 ? r.se() : r.u(i % 33));
    return values;
  }, (e) => e instanceof RbspError);
  if (read !== REFUSED) assert.ok(read.every(Number.isInteger));
}

Deno.test("RBSP fuzz: corpus and mutated NAL payloads unescape, re-escape and read as declared", async (t) => {
  await fuzzSteps(t, {
    corpus: "rbsp",
    label: "removeEmulationPrevention() / BitReader",
    seeds: goldenSeeds(escapeCases, (c) => [c.input, c.canonical]).filter((s) => s.length > 0),
    check: checkRbsp,
    count: 3000,
    seed: 1401,
    kind: "binary",
    maxBytes: 256,
  });
});

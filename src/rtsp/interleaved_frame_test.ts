import assert from "node:assert/strict";
import {
  INTERLEAVED_HEADER_BYTES,
  INTERLEAVED_MAGIC,
  readInterleavedChannel,
  readInterleavedLength,
  writeInterleavedHeader,
} from "./interleaved_frame.ts";
import { fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases = [
  { name: "RTP on channel 0", channel: 0, length: 1400, bytes: [0x24, 0, 0x05, 0x78] },
  { name: "RTCP on channel 1", channel: 1, length: 28, bytes: [0x24, 1, 0, 28] },
  { name: "odd pair chosen by a client", channel: 169, length: 0, bytes: [0x24, 169, 0, 0] },
  { name: "largest frame", channel: 255, length: 65535, bytes: [0x24, 255, 0xff, 0xff] },
] as const;

Deno.test("writeInterleavedHeader() and read*() agree on the golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const buf = new Uint8Array(8);
      writeInterleavedHeader(buf, 2, c.channel, c.length);
      assert.deepEqual([...buf.subarray(2, 2 + INTERLEAVED_HEADER_BYTES)], [...c.bytes]);
      assert.equal(buf[2], INTERLEAVED_MAGIC);
      assert.equal(readInterleavedChannel(buf, 2), c.channel);
      assert.equal(readInterleavedLength(buf, 2), c.length);
    });
  }
});

Deno.test("writeInterleavedHeader() refuses values the header cannot carry", () => {
  const buf = new Uint8Array(4);
  assert.throws(() => writeInterleavedHeader(buf, 0, 256, 1), RangeError);
  assert.throws(() => writeInterleavedHeader(buf, 0, -1, 1), RangeError);
  assert.throws(() => writeInterleavedHeader(buf, 0, 0, 65536), RangeError);
  assert.throws(() => writeInterleavedHeader(buf, 0, 0, 1.5), RangeError);
  assert.throws(() => writeInterleavedHeader(buf, 1, 0, 1), RangeError);
});

Deno.test("readInterleavedChannel(), readInterleavedLength() fuzz: corpus and mutated headers read in bounds and rewrite", async (t) => {
  await fuzzSteps(t, {
    corpus: "interleaved_frame",
    label: "readInterleaved*()",
    seeds: goldenSeeds(cases, (c) => [Uint8Array.from(c.bytes)]),
    check: (input) => {
      // The readers' precondition: the caller saw `$` and four bytes.
      if (input.length < INTERLEAVED_HEADER_BYTES || input[0] !== INTERLEAVED_MAGIC) return;
      const [channel, length] = readsOnlyItsBytes(
        input.subarray(0, INTERLEAVED_HEADER_BYTES),
        (b, s) => [readInterleavedChannel(b, s), readInterleavedLength(b, s)],
      );
      const again = new Uint8Array(INTERLEAVED_HEADER_BYTES);
      writeInterleavedHeader(again, 0, channel, length);
      assert.deepEqual(again, input.subarray(0, INTERLEAVED_HEADER_BYTES));
    },
    count: 2000,
    seed: 11,
    kind: "binary",
  });
});

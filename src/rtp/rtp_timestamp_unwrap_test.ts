import assert from "node:assert/strict";
import { RtpTimestampUnwrapper } from "./rtp_timestamp_unwrap.ts";

const cases: { name: string; input: number[]; unwrapped: number[] }[] = [
  { name: "starts where the stream starts", input: [123456, 126456], unwrapped: [123456, 126456] },
  {
    name: "wraps forward past 2^32",
    input: [0xffff_f000, 0x0000_0000, 0x0000_1000],
    unwrapped: [0xffff_f000, 0x1_0000_0000, 0x1_0000_1000],
  },
  {
    name: "a small step back is a negative delta, not a wrap",
    input: [90000, 93000, 87000, 96000],
    unwrapped: [90000, 93000, 87000, 96000],
  },
  {
    name: "a step back across the wrap goes below 2^32 again",
    input: [0xffff_ff00, 0x0000_0100, 0xffff_ff80, 0x0000_0200],
    unwrapped: [0xffff_ff00, 0x1_0000_0100, 0xffff_ff80, 0x1_0000_0200],
  },
  {
    name: "a step back from near 0 goes negative",
    input: [100, 0xffff_ff9c],
    unwrapped: [100, -100],
  },
  { name: "repeated timestamps stay", input: [5, 5, 5], unwrapped: [5, 5, 5] },
  {
    name: "a step of 2^31 - 1 forward is forward",
    input: [0, 0x7fff_ffff],
    unwrapped: [0, 0x7fff_ffff],
  },
  {
    name: "a step of 2^31 reads as the shorter way, backward",
    input: [0x8000_0000, 0],
    unwrapped: [0x8000_0000, 0],
  },
  {
    name: "wraps twice",
    input: [0xc000_0000, 0x0000_0000, 0x4000_0000, 0x8000_0000 - 1, 0xc000_0000, 0x0000_0010],
    unwrapped: [0xc000_0000, 0x1_0000_0000, 0x1_4000_0000, 0x1_7fff_ffff, 0x1_c000_0000, 0x2_0000_0010],
  },
];

Deno.test("RtpTimestampUnwrapper.unwrap() grows past 2^32 and keeps small steps back", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const u = new RtpTimestampUnwrapper();
      assert.deepStrictEqual(c.input.map((ts) => u.unwrap(ts)), c.unwrapped);
    });
  }
});

Deno.test("RtpTimestampUnwrapper.reset() starts over at the next timestamp", () => {
  const u = new RtpTimestampUnwrapper();
  assert.equal(u.started, false);
  u.unwrap(0xffff_ffff);
  assert.equal(u.unwrap(1), 0x1_0000_0001);
  assert.equal(u.started, true);
  u.reset();
  assert.equal(u.started, false);
  assert.equal(u.unwrap(7), 7);
});

Deno.test("RtpTimestampUnwrapper.unwrap() follows a stream of 90 kHz frames across 3 wraps", () => {
  const u = new RtpTimestampUnwrapper();
  const start = 0xffff_0000;
  const step = 3003;
  const frames = Math.ceil((3 * 2 ** 32) / step);
  for (let i = 0; i <= frames; i += 1) {
    const time = start + i * step;
    assert.equal(u.unwrap(time % 2 ** 32), time);
  }
});

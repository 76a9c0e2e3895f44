import assert from "node:assert/strict";
import { limitOption, newDepacketizerCounters, SEQUENCE, SequenceCheck } from "./depacketizer.ts";

Deno.test("SequenceCheck.step() tells in order, gaps and steps back, modulo 2^16", async (t) => {
  const cases: { name: string; seqs: number[]; steps: number[]; lost: number; behind: number }[] = [
    { name: "first packet and successors", seqs: [17, 18, 19], steps: [0, 0, 0], lost: 0, behind: 0 },
    { name: "wrap is in order", seqs: [65534, 65535, 0, 1], steps: [0, 0, 0, 0], lost: 0, behind: 0 },
    { name: "a gap counts the missing", seqs: [10, 13, 14], steps: [0, 1, 0], lost: 2, behind: 0 },
    { name: "a gap across the wrap", seqs: [65535, 2], steps: [0, 1], lost: 2, behind: 0 },
    { name: "largest gap: 32767 missing", seqs: [0, 32768], steps: [0, 1], lost: 32767, behind: 0 },
    { name: "a duplicate is behind", seqs: [5, 5, 6], steps: [0, 2, 0], lost: 0, behind: 1 },
    { name: "half the circle ahead is behind", seqs: [0, 32769], steps: [0, 2], lost: 0, behind: 1 },
    {
      name: "a restart behind resynchronizes",
      seqs: [40000, 39000, 39001],
      steps: [0, 2, 0],
      lost: 0,
      behind: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const check = new SequenceCheck();
      const counters = newDepacketizerCounters();
      assert.deepStrictEqual(c.seqs.map((s) => check.step(s, counters)), c.steps);
      assert.equal(counters.packetsLost, c.lost);
      assert.equal(counters.packetsOutOfOrder, c.behind);
    });
  }
  const check = new SequenceCheck();
  const counters = newDepacketizerCounters();
  check.step(1, counters);
  check.reset();
  assert.equal(check.step(900, counters), SEQUENCE.IN_ORDER);
});

Deno.test("limitOption() takes a positive integer or the default, else RangeError naming it", () => {
  assert.equal(limitOption("maxUnits", undefined, 7), 7);
  assert.equal(limitOption("maxUnits", 3, 7), 3);
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => limitOption("maxUnits", bad, 7), /'maxUnits' must be a positive integer/);
  }
});

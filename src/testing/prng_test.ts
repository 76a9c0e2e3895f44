import assert from "node:assert/strict";
import { Prng } from "./prng.ts";

Deno.test("Prng.next() is xorshift32: the same seed gives the same words on every run", () => {
  const a = new Prng(1);
  // xorshift32 from state 1 (Marsaglia 2003, shifts 13, 17, 5).
  assert.deepEqual([a.next(), a.next(), a.next()], [270369, 67634689, 2647435461]);
  const b = new Prng(0x2326);
  const c = new Prng(0x2326);
  for (let i = 0; i < 100; i++) assert.equal(b.next(), c.next());
});

Deno.test("Prng() replaces seed 0, which xorshift cannot leave", () => {
  const p = new Prng(0);
  assert.notEqual(p.next(), 0);
});

Deno.test("Prng.int(), chance() and pick() stay in range", () => {
  const p = new Prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const n = p.int(10);
    assert.ok(Number.isInteger(n) && n >= 0 && n < 10);
    seen.add(n);
  }
  assert.equal(seen.size, 10, "every value of a small range comes up");
  assert.equal(p.int(0), 0);
  assert.equal(p.chance(0), false);
  assert.equal(p.chance(1), true);
  assert.equal(p.pick(["x"]), "x");
  assert.throws(() => p.pick([]), RangeError);
});

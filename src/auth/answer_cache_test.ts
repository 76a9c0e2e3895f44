import assert from "node:assert/strict";
import { AnswerCache } from "./answer_cache.ts";

Deno.test("AnswerCache: an entry lives its TTL on the injected clock, then is gone", () => {
  let now = 1000;
  const c = new AnswerCache<string>(10, () => now);
  c.set("a", "allow", 500);
  assert.equal(c.get("a"), "allow");
  now = 1499;
  assert.equal(c.get("a"), "allow");
  now = 1500;
  assert.equal(c.get("a"), undefined);
  assert.equal(c.size, 0, "an expired entry is dropped when looked up");
});

Deno.test("AnswerCache: a TTL of 0 keeps nothing, and replaces what was kept", () => {
  const c = new AnswerCache<string>(10, () => 0);
  c.set("a", "x", 0);
  assert.equal(c.get("a"), undefined);
  c.set("b", "x", 100);
  c.set("b", "y", 0);
  assert.equal(c.get("b"), undefined);
  assert.equal(c.size, 0);
});

Deno.test("AnswerCache: past maxEntries the least recently used goes, a hit counting as a use", () => {
  const c = new AnswerCache<number>(3, () => 0);
  c.set("a", 1, 1000);
  c.set("b", 2, 1000);
  c.set("c", 3, 1000);
  assert.equal(c.get("a"), 1); // a is now the most recent; b the least
  c.set("d", 4, 1000);
  assert.equal(c.size, 3);
  assert.equal(c.get("b"), undefined);
  assert.deepEqual([c.get("a"), c.get("c"), c.get("d")], [1, 3, 4]);
  for (let i = 0; i < 100; i++) c.set(`k${i}`, i, 1000);
  assert.equal(c.size, 3, "never more than maxEntries");
  assert.deepEqual([c.get("k97"), c.get("k98"), c.get("k99")], [97, 98, 99]);
});

Deno.test("AnswerCache: needs room for one entry", () => {
  assert.throws(() => new AnswerCache(0), RangeError);
});

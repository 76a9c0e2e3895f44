import assert from "node:assert/strict";
import { NonceCounter, parseNonceCount } from "./nonce_counter.ts";

Deno.test("NonceCounter accepts increasing counts and refuses repeats and lower ones", () => {
  const c = new NonceCounter();
  assert.equal(c.advance("a", 1), true);
  assert.equal(c.advance("a", 1), false);
  assert.equal(c.advance("a", 2), true);
  assert.equal(c.advance("a", 5), true); // gaps are fine: requests may fail on the way
  assert.equal(c.advance("a", 3), false);
  assert.equal(c.advance("b", 1), true); // counted per nonce
  assert.equal(c.advance("a", 6), true);
});

Deno.test("NonceCounter keeps the most recently used nonces", () => {
  const c = new NonceCounter();
  c.advance("keep", 5);
  for (let i = 0; i < 7; i++) c.advance(`n${i}`, 1);
  c.advance("keep", 6); // now the most recent
  c.advance("n7", 1); // evicts n0, the least recent
  assert.equal(c.advance("keep", 6), false);
  assert.equal(c.advance("n1", 1), false);
  assert.equal(c.advance("n0", 1), true); // forgotten: bounded memory, the nonce TTL still applies
});

Deno.test("parseNonceCount() reads 1 to 8 hex digits", () => {
  assert.equal(parseNonceCount("00000001"), 1);
  assert.equal(parseNonceCount("0000000A"), 10);
  assert.equal(parseNonceCount("ffffffff"), 0xffffffff);
  assert.equal(parseNonceCount("1"), 1);
  for (const bad of ["", "000000001", "0x1", "-1", "00 1", "g"]) {
    assert.equal(parseNonceCount(bad), null, bad);
  }
});

import assert from "node:assert/strict";
import { NONCE_SLOTS, NONCE_TABLE_BYTES, NonceTable } from "./nonce_table.ts";

Deno.test("NonceTable takes rising counts per nonce, refuses a count seen before, reuses expired slots", () => {
  const t = new NonceTable(new SharedArrayBuffer(NONCE_TABLE_BYTES));
  assert.equal(t.advance("n1", 1, 100, 400), "ok");
  assert.equal(t.advance("n1", 1, 100, 400), "replay");
  assert.equal(t.advance("n1", 2, 100, 400), "ok");
  assert.equal(t.advance("n1", 1, 100, 400), "replay", "lower counts too");
  assert.equal(t.advance("n2", 1, 100, 400), "ok", "another nonce has its own count");
});

Deno.test("NonceTable in shared memory: another worker's view sees the same counts; a full neighbourhood says so", () => {
  const buf = new SharedArrayBuffer(NONCE_TABLE_BYTES);
  const a = new NonceTable(buf);
  const b = new NonceTable(buf);
  assert.equal(a.advance("shared", 5, 100, 400), "ok");
  assert.equal(b.advance("shared", 5, 100, 400), "replay");
  assert.equal(b.advance("shared", 6, 100, 400), "ok");
  // Fill the table with live nonces: new ones cannot all be tracked, and say so rather than forget.
  let full = 0;
  for (let i = 0; i < NONCE_SLOTS * 2; i++) if (a.advance(`n${i}`, 1, 100, 400) === "full") full++;
  assert.ok(full >= NONCE_SLOTS, `${full} refused as untracked`);
  assert.equal(a.advance("shared", 6, 100, 400), "replay", "what is tracked stays tracked");
  // Once they expire, their slots take new nonces.
  assert.equal(a.advance("late", 1, 500, 800), "ok");
});

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { issueNonce, verifyNonce } from "./nonce.ts";

const key = new Uint8Array(32).fill(1);
const otherKey = new Uint8Array(32).fill(2);
const T = 1_700_000_000_000;
const TTL = 300_000;

Deno.test("issueNonce() makes a 38-character base64url token that verifies for its peer", () => {
  const n = issueNonce(key, "10.0.0.1", T);
  assert.match(n, /^[A-Za-z0-9_-]{38}$/);
  assert.equal(verifyNonce(key, n, "10.0.0.1", T, TTL), "fresh");
  assert.equal(verifyNonce(key, n, "10.0.0.1", T + TTL, TTL), "fresh");
  assert.notEqual(issueNonce(key, "10.0.0.1", T + 1), n);
  assert.notEqual(issueNonce(key, "10.0.0.2", T), n);
});

Deno.test("verifyNonce() refuses a nonce issued to another address", () => {
  const n = issueNonce(key, "10.0.0.1", T);
  assert.equal(verifyNonce(key, n, "10.0.0.2", T, TTL), "other-address");
  assert.equal(verifyNonce(key, issueNonce(key, "::1", T), "127.0.0.1", T, TTL), "other-address");
});

Deno.test("verifyNonce() says stale past the TTL and refuses future dates", () => {
  const n = issueNonce(key, "10.0.0.1", T);
  assert.equal(verifyNonce(key, n, "10.0.0.1", T + TTL + 1, TTL), "stale");
  assert.equal(verifyNonce(key, n, "10.0.0.1", T - 1, TTL), "future");
});

Deno.test("verifyNonce() calls forged anything not signed with the key", () => {
  const n = issueNonce(key, "10.0.0.1", T);
  assert.equal(verifyNonce(otherKey, n, "10.0.0.1", T, TTL), "forged");
  // Changing the time (to dodge the TTL) breaks both HMACs.
  const raw = Buffer.from(n, "base64url");
  raw.writeBigUInt64BE(BigInt(T + 1), 0);
  assert.equal(verifyNonce(key, raw.toString("base64url"), "10.0.0.1", T + 1, TTL), "forged");
  // A flipped mac bit with the tag intact: ours by the tag, but not for this address.
  const flipped = Buffer.from(n, "base64url");
  flipped[27] = flipped[27]! ^ 1;
  assert.equal(verifyNonce(key, flipped.toString("base64url"), "10.0.0.1", T, TTL), "other-address");
  for (
    const bad of ["", "abc", n.slice(1), n + "A", n.replace(/^./, "+"), "dcd98b7102dd2f0e8b11d0f600bfb0c093"]
  ) {
    assert.equal(verifyNonce(key, bad, "10.0.0.1", T, TTL), "forged", bad);
  }
});

/**
 * Stateless Digest nonces (RFC 7616 §3.3 leaves their form to the server). Any worker can check a
 * nonce another worker issued, with no table: it carries its issue time and is signed with the
 * shared key over that time and the peer address, so it is only good for that address and TTL.
 *
 *   0        8        12                      28 bytes, then base64url (38 characters)
 *   +--------+--------+-----------------------+
 *   | time   | tag    | mac                   |
 *   +--------+--------+-----------------------+
 *   time: issue time, ms since the epoch, big-endian
 *   tag:  HMAC-SHA256(key, 0x01 time)[0..4]       ours or not, whatever the address (for the log)
 *   mac:  HMAC-SHA256(key, 0x02 time peer)[0..16] ours for this address
 *
 * The tag only tells "forged" apart from "issued to another address" in the log; acceptance rests on
 * the 128-bit mac alone.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** What a presented nonce is; only "fresh" is accepted, "stale" and "future" ask for a retry. */
export type NonceVerdict = "fresh" | "stale" | "future" | "other-address" | "forged";

const TIME_BYTES = 8;
const TAG_BYTES = 4;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + TAG_BYTES + MAC_BYTES;
const NONCE_RE = /^[A-Za-z0-9_-]{38}$/;

function hmac(key: Uint8Array, domain: number, time: Uint8Array, peer: string, bytes: number): Buffer {
  const h = createHmac("sha256", key).update(Uint8Array.of(domain)).update(time);
  if (peer !== "") h.update(peer, "utf8");
  return h.digest().subarray(0, bytes);
}

/** A nonce for `peer` (pass the canonical address text, see formatIp) issued at `nowMs`. */
export function issueNonce(key: Uint8Array, peer: string, nowMs: number): string {
  const out = Buffer.alloc(NONCE_BYTES);
  out.writeBigUInt64BE(BigInt(Math.floor(nowMs)), 0);
  const time = out.subarray(0, TIME_BYTES);
  hmac(key, 1, time, "", TAG_BYTES).copy(out, TIME_BYTES);
  hmac(key, 2, time, peer, MAC_BYTES).copy(out, TIME_BYTES + TAG_BYTES);
  return out.toString("base64url");
}

/**
 * Checks a nonce presented by `peer` at `nowMs`: "forged" (not ours), "other-address" (ours, for
 * another peer), "future" (ours but dated after now: the clock went back), "stale" (older than
 * `ttlMs`), else "fresh".
 */
export function verifyNonce(
  key: Uint8Array,
  nonce: string,
  peer: string,
  nowMs: number,
  ttlMs: number,
): NonceVerdict {
  if (!NONCE_RE.test(nonce)) return "forged";
  const raw = Buffer.from(nonce, "base64url");
  if (raw.length !== NONCE_BYTES) return "forged";
  const time = raw.subarray(0, TIME_BYTES);
  const tag = raw.subarray(TIME_BYTES, TIME_BYTES + TAG_BYTES);
  const mac = raw.subarray(TIME_BYTES + TAG_BYTES);
  if (!timingSafeEqual(tag, hmac(key, 1, time, "", TAG_BYTES))) return "forged";
  if (!timingSafeEqual(mac, hmac(key, 2, time, peer, MAC_BYTES))) return "other-address";
  const issued = Number(raw.readBigUInt64BE(0));
  if (issued > nowMs) return "future";
  if (nowMs - issued > ttlMs) return "stale";
  return "fresh";
}

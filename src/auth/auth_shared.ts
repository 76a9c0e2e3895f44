/**
 * Authentication state every worker shares: the key that signs Digest nonces (so a nonce issued by
 * one worker verifies on another) and the per-address failure table (so the rate limit counts an
 * address's failures on all workers, whichever worker the kernel hands its connections to).
 */

import { NONCE_TABLE_BYTES } from "./nonce_table.ts";

/** Slots of the failure table; addresses hash into it, a collision only makes the limit stricter. */
export const FAILURE_SLOTS = 4096;
/** Int32 fields per slot: address hash, window start (s since the epoch, low 31 bits), failures. */
export const FAILURE_SLOT_FIELDS = 3;

export interface AuthShared {
  /** HMAC key for nonces; random per server start, so a restart invalidates old nonces. */
  nonceKey: Uint8Array;
  /** FAILURE_SLOTS * FAILURE_SLOT_FIELDS Int32 values, updated with Atomics. */
  failures: SharedArrayBuffer;
  /** Digest nonce counts of every worker (nonce_table.ts). */
  nonces: SharedArrayBuffer;
}

/** Fresh shared state, made once by main.ts and handed to every worker. */
export function newAuthShared(): AuthShared {
  const nonceKey = new Uint8Array(32);
  crypto.getRandomValues(nonceKey);
  return {
    nonceKey,
    failures: new SharedArrayBuffer(FAILURE_SLOTS * FAILURE_SLOT_FIELDS * Int32Array.BYTES_PER_ELEMENT),
    nonces: new SharedArrayBuffer(NONCE_TABLE_BYTES),
  };
}

/**
 * Authentication state every worker shares: the key that signs Digest nonces (so a nonce issued by
 * one worker verifies on another) and the per-address failure table with its hash key (so the rate limit counts an
 * address's failures on all workers, whichever worker the kernel hands its connections to).
 */

import { FAILURE_TABLE_WORDS } from "./failure_limiter.ts";
import { NONCE_TABLE_BYTES } from "./nonce_table.ts";

export interface AuthShared {
  /** HMAC key for nonces; random per server start, so a restart invalidates old nonces. */
  nonceKey: Uint8Array;
  /** Keys the failure table's hash (random per start), so peers cannot aim at a victim's slots. */
  failureSecret: Uint8Array;
  /** The failure table (failure_limiter.ts): FAILURE_TABLE_WORDS Int32 values. */
  failures: SharedArrayBuffer;
  /** Digest nonce counts of every worker (nonce_table.ts). */
  nonces: SharedArrayBuffer;
}

/** Fresh shared state, made once by main.ts and handed to every worker. */
export function newAuthShared(): AuthShared {
  const nonceKey = new Uint8Array(32);
  crypto.getRandomValues(nonceKey);
  const failureSecret = crypto.getRandomValues(new Uint8Array(8));
  return {
    nonceKey,
    failureSecret,
    failures: new SharedArrayBuffer(FAILURE_TABLE_WORDS * Int32Array.BYTES_PER_ELEMENT),
    nonces: new SharedArrayBuffer(NONCE_TABLE_BYTES),
  };
}

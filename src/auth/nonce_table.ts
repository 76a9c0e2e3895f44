/**
 * Digest nonce counts shared by every worker (RFC 7616 §3.4: a client increments `nc` for each
 * request it answers with one nonce), so a captured qop=auth answer cannot be replayed, on the
 * same connection or another one, on any worker, while its nonce lives. A bounded table in shared
 * memory: NONCE_SLOTS entries, each (nonce hash, highest nc, expiry); when every slot a nonce may
 * take holds a live nonce, the caller makes the client take a fresh nonce (stale) rather than
 * forget a count.
 */

import { lockWord, unlockWord } from "./shared_lock.ts";

/** Nonces tracked at once over all workers. */
export const NONCE_SLOTS = 8192;
/** Int32 fields per slot: hash (2 words), highest nc, expiry (s, low 31 bits of the epoch). */
export const NONCE_SLOT_FIELDS = 4;
/** Slots a nonce may take (linear probing from its hash). */
const PROBES = 16;
/** Word 0 is the table's lock; slots follow. */
const HEADER_WORDS = 1;

/** Bytes of the shared buffer a NonceTable uses. */
export const NONCE_TABLE_BYTES = (HEADER_WORDS + NONCE_SLOTS * NONCE_SLOT_FIELDS) *
  Int32Array.BYTES_PER_ELEMENT;

/** Two FNV-1a hashes of the nonce (with different offsets): 62 bits against collisions. */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5 | 0;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  // 0 marks an empty slot.
  return [a | 1, b];
}

export type NonceAdvance = "ok" | "replay" | "full";

export class NonceTable {
  readonly #w: Int32Array;

  /** buf: NONCE_TABLE_BYTES of shared memory, zeroed (newAuthShared makes it). */
  constructor(buf: SharedArrayBuffer) {
    this.#w = new Int32Array(buf);
  }

  /**
   * Takes `nc` for `nonce` if it is higher than every count seen with it; `expiresSec` is when the
   * nonce stops being accepted (then its slot may be reused). "replay" for a count seen before,
   * "full" when the nonce cannot be tracked.
   */
  advance(nonce: string, nc: number, nowSec: number, expiresSec: number): NonceAdvance {
    const w = this.#w;
    const [h1, h2] = hashes(nonce);
    const now = nowSec & 0x7fffffff;
    lockWord(w, 0);
    try {
      let free = -1;
      const start = (h1 >>> 0) % NONCE_SLOTS;
      for (let k = 0; k < PROBES; k++) {
        const i = HEADER_WORDS + ((start + k) % NONCE_SLOTS) * NONCE_SLOT_FIELDS;
        if (w[i] === h1 && w[i + 1] === h2) {
          if (nc <= w[i + 2]) return "replay";
          w[i + 2] = nc;
          return "ok";
        }
        const dead = w[i] === 0 || ((w[i + 3] - now) | 0) < 0;
        if (dead && free < 0) free = i;
      }
      if (free < 0) return "full";
      w[free] = h1;
      w[free + 1] = h2;
      w[free + 2] = nc;
      w[free + 3] = expiresSec & 0x7fffffff;
      return "ok";
    } finally {
      unlockWord(w, 0);
    }
  }
}

/**
 * Per-address failure counting over the table every worker shares (AuthShared.failures), so an
 * address is limited however the kernel spreads its connections over workers.
 *
 * Each slot is one address's own: [kind, id0, id1, window start (s, low 31 bits), failures], the id
 * being the address itself (IPv4: its 32 bits; IPv6: its /64 prefix, the unit a host controls), so
 * two addresses never share a count or a block. A keyed hash (AuthShared.failureSecret, random
 * per start) picks where an address's PROBES slots begin, so a peer cannot choose
 * addresses that crowd a victim's slots; when all of them hold open windows of other addresses,
 * the one whose window opened first is evicted (its address starts over: laxer, never merged).
 *
 * Concurrency: a lock word in front of the slots (shared_lock.ts).
 */
import { isV4Mapped, parseIp } from "./ip_address.ts";
import { lockWord, unlockWord } from "./shared_lock.ts";

/** Slots of the table: addresses with an open window tracked at once, over all workers. */
export const FAILURE_SLOTS = 4096;
/** Int32 fields per slot: kind, id0, id1, window start (s), failures. */
export const FAILURE_SLOT_FIELDS = 5;
/** Word 0 is the lock; slots follow. */
const HEADER_WORDS = 1;
/** Int32 words of the shared buffer. */
export const FAILURE_TABLE_WORDS = HEADER_WORDS + FAILURE_SLOTS * FAILURE_SLOT_FIELDS;
/** Slots an address may take, from its hash on. */
const PROBES = 8;

const KIND = 0;
const ID0 = 1;
const ID1 = 2;
const START = 3;
const COUNT = 4;

/** KIND values; 0 marks a slot no address has used. */
const KIND_V4 = 1;
const KIND_V6_64 = 2;
/** A peer text that is no IP address (never from a socket): two keyed hashes of it. */
const KIND_TEXT = 3;

/** Limits for a FailureLimiter (AuthSettings' names). */
export interface FailureLimits {
  /** Failures within a window after which the address is blocked; 0 or less disables the limit. */
  maxFailures: number;
  failureWindowMs: number;
}

/** murmur3's 32-bit finalizer: every input bit moves every output bit. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Counts failures per address in a shared table; one instance per worker over the same buffer. */
export class FailureLimiter {
  readonly #t: Int32Array;
  readonly #limits: FailureLimits;
  readonly #k0: number;
  readonly #k1: number;
  /** The key being looked up: kind, id0, id1 (one per instance, so a lookup allocates nothing). */
  #kind = 0;
  #id0 = 0;
  #id1 = 0;
  readonly #addr = new Uint8Array(16);

  /**
   * Wraps the shared table (AuthShared.failures, or an Int32Array view of all of it); `secret` keys
   * the hash (AuthShared.failureSecret: random per start, the same in every worker).
   */
  constructor(table: SharedArrayBuffer | Int32Array, limits: FailureLimits, secret: Uint8Array) {
    this.#t = table instanceof Int32Array ? table : new Int32Array(table);
    if (this.#t.length !== FAILURE_TABLE_WORDS) {
      throw new RangeError(`Failure table needs ${FAILURE_TABLE_WORDS} Int32 values`);
    }
    if (secret.length < 8) throw new RangeError("Failure table secret needs 8 bytes or more");
    this.#limits = limits;
    const dv = new DataView(secret.buffer, secret.byteOffset, secret.byteLength);
    this.#k0 = dv.getInt32(secret.length - 8);
    this.#k1 = dv.getInt32(secret.length - 4);
  }

  /** Records one failed attempt by `key` (an address, or an IPv6 prefix `x::/64`) at `nowMs`. */
  recordFailure(key: string, nowMs: number): void {
    this.#identify(key);
    const nowSec = Math.floor(nowMs / 1000) & 0x7fffffff;
    const t = this.#t;
    lockWord(t, 0);
    try {
      let at = this.#find();
      if (at < 0) {
        at = this.#claim(nowSec);
        t[at + KIND] = this.#kind;
        t[at + ID0] = this.#id0;
        t[at + ID1] = this.#id1;
        t[at + START] = nowSec;
        t[at + COUNT] = 0;
      } else if (!this.#open(t[at + START], nowSec)) {
        t[at + START] = nowSec;
        t[at + COUNT] = 0;
      }
      t[at + COUNT]++;
    } finally {
      unlockWord(t, 0);
    }
  }

  /** Failures of `key` in its open window (0 when it has none). */
  failures(key: string, nowMs: number): number {
    this.#identify(key);
    const nowSec = Math.floor(nowMs / 1000) & 0x7fffffff;
    const t = this.#t;
    lockWord(t, 0);
    try {
      const at = this.#find();
      return at >= 0 && this.#open(t[at + START], nowSec) ? t[at + COUNT] : 0;
    } finally {
      unlockWord(t, 0);
    }
  }

  /** Whether `key` has reached maxFailures in its open window; a new window starts unblocked. */
  isBlocked(key: string, nowMs: number): boolean {
    return this.#limits.maxFailures > 0 && this.failures(key, nowMs) >= this.#limits.maxFailures;
  }

  /** Sets the key fields from an address text (IPv6 to its /64), or keyed hashes of other text. */
  #identify(key: string): void {
    const slash = key.indexOf("/");
    const a = parseIp(slash < 0 ? key : key.slice(0, slash), this.#addr);
    if (a !== null && isV4Mapped(a)) {
      this.#kind = KIND_V4;
      this.#id0 = 0;
      this.#id1 = (a[12] << 24) | (a[13] << 16) | (a[14] << 8) | a[15];
    } else if (a !== null) {
      this.#kind = KIND_V6_64;
      this.#id0 = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
      this.#id1 = (a[4] << 24) | (a[5] << 16) | (a[6] << 8) | a[7];
    } else {
      let h0 = this.#k0;
      let h1 = this.#k1 ^ 0x5bd1e995;
      for (let i = 0; i < key.length; i++) {
        h0 = Math.imul(h0 ^ key.charCodeAt(i), 0x01000193);
        h1 = Math.imul(h1 ^ key.charCodeAt(i), 0x01000193) ^ (h1 >>> 15);
      }
      this.#kind = KIND_TEXT;
      this.#id0 = mix(h0);
      this.#id1 = mix(h1);
    }
  }

  /** First slot index of the key's probes (keyed, so peers cannot aim at a victim's). */
  #home(): number {
    const h = mix(mix(mix(this.#id1 ^ this.#k0) ^ this.#id0 ^ this.#k1) ^ this.#kind);
    return (h >>> 0) & (FAILURE_SLOTS - 1);
  }

  #slotAt(home: number, k: number): number {
    return HEADER_WORDS + ((home + k) & (FAILURE_SLOTS - 1)) * FAILURE_SLOT_FIELDS;
  }

  /** The key's slot (its window may have ended), or -1. */
  #find(): number {
    const t = this.#t;
    const home = this.#home();
    for (let k = 0; k < PROBES; k++) {
      const at = this.#slotAt(home, k);
      if (t[at + KIND] === this.#kind && t[at + ID0] === this.#id0 && t[at + ID1] === this.#id1) return at;
    }
    return -1;
  }

  /** A slot for a key that has none: a free or ended one, else the one whose window opened first. */
  #claim(nowSec: number): number {
    const t = this.#t;
    const home = this.#home();
    let oldest = -1;
    let oldestAge = -1;
    for (let k = 0; k < PROBES; k++) {
      const at = this.#slotAt(home, k);
      if (t[at + KIND] === 0 || !this.#open(t[at + START], nowSec)) return at;
      const age = (nowSec - t[at + START]) & 0x7fffffff;
      if (age > oldestAge) {
        oldestAge = age;
        oldest = at;
      }
    }
    return oldest;
  }

  /** Whether a window opened at `start` is still open at `nowSec` (both 31-bit seconds; wraps safely). */
  #open(start: number, nowSec: number): boolean {
    return ((nowSec - start) & 0x7fffffff) * 1000 < this.#limits.failureWindowMs;
  }
}

/**
 * Per-address failure counting over the table every worker shares (AuthShared.failures), so an
 * address is limited however the kernel spreads its connections over workers.
 *
 * Slot layout (auth_shared.ts): [address hash, window start (s, low 31 bits), failures]. An address
 * hashes to one slot. A window opens at a failure in a slot whose window has ended and lasts
 * failureWindowMs; the hash field records which address opened it. Two addresses that hash to the
 * same slot while its window is open share its count and its block: stricter, never uncounted.
 *
 * Concurrency, Atomics only: failures are added with Atomics.add, so none is lost. The window start
 * doubles as the slot's version: the worker whose Atomics.compareExchange moves it to now opens the
 * window and subtracts the count it read before, keeping failures other workers added meanwhile;
 * a worker that loses the race sees the open window and adds to it.
 */
import { FAILURE_SLOT_FIELDS, FAILURE_SLOTS } from "./auth_shared.ts";

const HASH = 0;
const START = 1;
const COUNT = 2;

/** FNV-1a of the key; never 0, which marks a slot no address has used. */
export function failureKeyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h | 0;
}

/** Limits for a FailureLimiter (AuthSettings' names). */
export interface FailureLimits {
  /** Failures within a window after which the address is blocked; 0 or less disables the limit. */
  maxFailures: number;
  failureWindowMs: number;
}

/** Counts failures per address in a shared table; one instance per worker over the same buffer. */
export class FailureLimiter {
  readonly #t: Int32Array;
  readonly #limits: FailureLimits;

  /** Wraps the shared table (AuthShared.failures, or an Int32Array view of all of it). */
  constructor(table: SharedArrayBuffer | Int32Array, limits: FailureLimits) {
    this.#t = table instanceof Int32Array ? table : new Int32Array(table);
    if (this.#t.length !== FAILURE_SLOTS * FAILURE_SLOT_FIELDS) {
      throw new RangeError(`Failure table needs ${FAILURE_SLOTS * FAILURE_SLOT_FIELDS} Int32 values`);
    }
    this.#limits = limits;
  }

  /** Index of the slot of `hash`. */
  #slot(hash: number): number {
    return (hash & (FAILURE_SLOTS - 1)) * FAILURE_SLOT_FIELDS;
  }

  /** Whether a window opened at `start` is still open at `nowSec` (both 31-bit seconds; wraps safely). */
  #open(start: number, nowSec: number): boolean {
    return ((nowSec - start) & 0x7fffffff) * 1000 < this.#limits.failureWindowMs;
  }

  /** Records one failed attempt by `key` (the address, see Authenticator) at `nowMs`. */
  recordFailure(key: string, nowMs: number): void {
    const t = this.#t;
    const hash = failureKeyHash(key);
    const at = this.#slot(hash);
    const nowSec = Math.floor(nowMs / 1000) & 0x7fffffff;
    for (;;) {
      const start = Atomics.load(t, at + START);
      if (this.#open(start, nowSec)) {
        Atomics.add(t, at + COUNT, 1);
        return;
      }
      // Read the ended window's count before the exchange: only adds can happen to it after that.
      const old = Atomics.load(t, at + COUNT);
      if (Atomics.compareExchange(t, at + START, start, nowSec) === start) {
        Atomics.store(t, at + HASH, hash);
        Atomics.add(t, at + COUNT, 1 - old);
        return;
      }
      // Another worker opened the window first: loop to add to it.
    }
  }

  /** Failures counted on `key`'s slot in its open window (0 when the window has ended). */
  failures(key: string, nowMs: number): number {
    const t = this.#t;
    const at = this.#slot(failureKeyHash(key));
    const nowSec = Math.floor(nowMs / 1000) & 0x7fffffff;
    return this.#open(Atomics.load(t, at + START), nowSec) ? Atomics.load(t, at + COUNT) : 0;
  }

  /** Whether `key` has reached maxFailures in the open window; a new window starts unblocked. */
  isBlocked(key: string, nowMs: number): boolean {
    return this.#limits.maxFailures > 0 && this.failures(key, nowMs) >= this.#limits.maxFailures;
  }
}

/**
 * A seeded pseudo-random generator for tests (xorshift32, Marsaglia 2003): the same seed gives the
 * same sequence on every machine, so a fuzz failure replays from its seed and iteration.
 *
 * Test-only: imported by `*_test.ts` files and by the rest of src/testing, never by a server module.
 *
 * @module
 */

/** Deterministic xorshift32 generator; not for anything that needs real randomness. */
export class Prng {
  #state: number;

  /** Any integer seeds it; 0 (which xorshift cannot leave) is replaced by a fixed non-zero word. */
  constructor(seed: number) {
    this.#state = (seed >>> 0) || 0x9e3779b9;
  }

  /** Next value in 0..2^32-1. */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** An integer in 0..n-1 (0 when n <= 0). */
  int(n: number): number {
    if (n <= 0) return 0;
    // Scaling instead of `% n` keeps the low bits' bias out for any n below 2^32.
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Prng.pick() needs a non-empty list");
    return items[this.int(items.length)] as T;
  }
}

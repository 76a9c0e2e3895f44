/**
 * A lock in one Int32 word of shared memory, for the auth tables every worker updates (nonce counts,
 * failure counts). Held for a few dozen array accesses; a thread that finds it taken waits on the
 * word (Atomics.wait, allowed in workers and in Deno's main thread) until it is let go.
 */

/** Takes the lock in word `at` of `w` (0 free, 1 held). */
export function lockWord(w: Int32Array, at: number): void {
  while (Atomics.compareExchange(w, at, 0, 1) !== 0) Atomics.wait(w, at, 1, 1);
}

/** Lets the lock in word `at` go and wakes one waiter. */
export function unlockWord(w: Int32Array, at: number): void {
  Atomics.store(w, at, 0);
  Atomics.notify(w, at, 1);
}

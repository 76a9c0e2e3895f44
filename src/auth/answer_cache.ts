/**
 * The answers of an external auth server kept for reuse: a map of at most `maxEntries` keys, each
 * with its own expiry, the least recently used dropped first when full. Keys are hashes (the
 * caller's: never a password), so what the cache holds tells nothing of the credentials.
 */

/** Milliseconds on a clock that never steps back (performance.now by default); injectable for tests. */
export type Clock = () => number;

export class AnswerCache<V> {
  readonly #max: number;
  readonly #now: Clock;
  /** Insertion order is recency order: a hit moves its key to the end. */
  readonly #map = new Map<string, { value: V; expiresAt: number }>();

  constructor(maxEntries: number, now: Clock = () => performance.now()) {
    if (!(maxEntries >= 1)) throw new RangeError("AnswerCache needs room for one entry or more");
    this.#max = maxEntries;
    this.#now = now;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#map.size;
  }

  /** The value under `key` while it has not expired; an expired one is dropped. */
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    this.#map.delete(key);
    if (this.#now() >= e.expiresAt) return undefined;
    this.#map.set(key, e);
    return e.value;
  }

  /** Keeps `value` for `ttlMs` (nothing when it is 0 or less); past maxEntries the least recently used go. */
  set(key: string, value: V, ttlMs: number): void {
    this.#map.delete(key);
    if (!(ttlMs > 0)) return;
    this.#map.set(key, { value, expiresAt: this.#now() + ttlMs });
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }

  clear(): void {
    this.#map.clear();
  }
}

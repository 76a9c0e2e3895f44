/**
 * Buffers of ended rings kept for new ones, instead of leaving them to the garbage collector (which
 * frees a SharedArrayBuffer only once every worker's isolate has collected its wrapper: minutes, in
 * a server that allocates little). Bounded by `ring.poolBytes`. When a buffer does not fit, the
 * largest class goes first (the oldest of it), and a buffer larger than every pooled one is not
 * kept: every stream starts in the smallest class and grows through the next ones, so small rings
 * are the ones new streams take (a flood of 100 streams growing to 1 MiB reused 26 rings a round
 * with oldest-first, which filled the pool with the 1 MiB rings that ended last). main.ts's ring
 * directory is its only user (one owner: no locking).
 *
 * A buffer enters the pool only when no worker reads it any more (cluster/ring_directory.ts), and
 * leaves it through SharedRing.init, which clears its header and slot index: nothing of its last
 * stream is reachable by the next one's readers. Where the process may call libc (FFI), the pages
 * of a pooled or dropped buffer are also given back to the system (ring_memory.ts): they read as
 * zeros when used again, and cost no resident memory meanwhile.
 *
 * @module
 */
import type { RingClass } from "./ring_classes.ts";

/** A pooled buffer and the class it was made for. */
interface Pooled {
  readonly sab: SharedArrayBuffer;
  readonly ringClass: RingClass;
}

/** What the pool did, for /metrics and the API. */
export interface RingPoolCounters {
  /** Rings handed out from the pool. */
  reused: number;
  /** Rings put in the pool. */
  pooled: number;
  /** Rings not kept (the pool full, or its bound 0) or pushed out by newer ones: left to the GC. */
  dropped: number;
}

export class RingPool {
  /** Per class (data bytes), oldest first. */
  readonly #free = new Map<number, Pooled[]>();
  #bytes = 0;
  #rings = 0;
  readonly #maxBytes: () => number;
  readonly counters: RingPoolCounters = { reused: 0, pooled: 0, dropped: 0 };
  /** Told of every buffer that enters the pool or leaves the server's hands (page release). */
  readonly #onIdle: (sab: SharedArrayBuffer) => void;

  /** maxBytes: ring.poolBytes, asked at each put; onIdle: called with each buffer pooled or dropped. */
  constructor(maxBytes: () => number, onIdle: (sab: SharedArrayBuffer) => void = () => {}) {
    this.#maxBytes = maxBytes;
    this.#onIdle = onIdle;
  }

  /** Bytes and buffers in the pool now. */
  get bytes(): number {
    return this.#bytes;
  }
  get rings(): number {
    return this.#rings;
  }

  /** A pooled buffer of class c (to be SharedRing.init'ed), or null when there is none. */
  take(c: RingClass): SharedArrayBuffer | null {
    const list = this.#free.get(c.dataBytes);
    // Newest first: its pages are the likeliest still mapped.
    const p = list?.pop();
    if (p === undefined) return null;
    if (p.ringClass.slotCount !== c.slotCount) {
      // A class of another slot count (not made by this config): not this one.
      list!.push(p);
      return null;
    }
    this.#bytes -= p.sab.byteLength;
    this.#rings--;
    this.counters.reused++;
    return p.sab;
  }

  /**
   * An ended ring no worker reads: kept if the bound allows (pushing out the oldest pooled ones),
   * else dropped. Returns whether it was kept.
   */
  put(sab: SharedArrayBuffer, c: RingClass): boolean {
    const max = this.#maxBytes();
    this.#onIdle(sab);
    while (this.#bytes + sab.byteLength > max) {
      const victim = this.#largest();
      if (victim === undefined || victim[0].ringClass.dataBytes < c.dataBytes) {
        this.counters.dropped++;
        return false;
      }
      this.#drop(victim);
    }
    let list = this.#free.get(c.dataBytes);
    if (list === undefined) this.#free.set(c.dataBytes, list = []);
    list.push({ sab, ringClass: c });
    this.#bytes += sab.byteLength;
    this.#rings++;
    this.counters.pooled++;
    return true;
  }

  /** Bytes and count per class, smallest first (the API). */
  classes(): { dataBytes: number; rings: number; bytes: number }[] {
    return [...this.#free.entries()]
      .filter(([, l]) => l.length > 0)
      .sort(([a], [b]) => a - b)
      .map(([dataBytes, l]) => ({
        dataBytes,
        rings: l.length,
        bytes: l.reduce((n, p) => n + p.sab.byteLength, 0),
      }));
  }

  /** Lets go of every pooled buffer. */
  clear(): void {
    for (let v = this.#largest(); v !== undefined; v = this.#largest()) this.#drop(v);
  }

  /** The list of the largest class with a pooled buffer (oldest first), or undefined when empty. */
  #largest(): Pooled[] | undefined {
    let best: Pooled[] | undefined;
    for (const l of this.#free.values()) {
      if (l.length > 0 && (best === undefined || l[0].ringClass.dataBytes > best[0].ringClass.dataBytes)) {
        best = l;
      }
    }
    return best;
  }

  /** Drops the oldest buffer of the list. */
  #drop(list: Pooled[]): void {
    const p = list.shift()!;
    this.#bytes -= p.sab.byteLength;
    this.#rings--;
    this.counters.dropped++;
  }
}

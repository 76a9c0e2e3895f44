/**
 * The sizes a stream's ring comes in: powers of two of data bytes from `ring.minBytes` up to
 * `ring.bytes`, each with `ring.slots` scaled to its size (at least 16), so a ring of a quarter of
 * ring.bytes indexes a quarter of ring.slots packets. A stream starts in the smallest class and
 * moves to another at a GOP start when its kept span needs it (ring_sizer.ts, docs/ring.md).
 *
 * @module
 */
import { isPowerOfTwo, ringByteLength } from "./ring_layout.ts";

/** One class: the dimensions of its rings. */
export interface RingClass {
  readonly dataBytes: number;
  readonly slotCount: number;
  /** The whole SharedArrayBuffer: header, slot index, data. */
  readonly byteLength: number;
}

/** Smallest slot index of any class (SharedRing's minimum). */
const MIN_SLOTS = 16;

export class RingClasses {
  /** Smallest first; the last is ring.bytes with ring.slots. */
  readonly all: readonly RingClass[];

  /**
   * maxBytes, maxSlots: ring.bytes and ring.slots (the largest class); minBytes: ring.minBytes,
   * taken as maxBytes when larger (a config with only ring.bytes keeps one class of that size).
   */
  constructor(minBytes: number, maxBytes: number, maxSlots: number) {
    if (!isPowerOfTwo(maxBytes, 1 << 17)) {
      throw new RangeError(`ring bytes ${maxBytes} not a power of two >= 128 KiB`);
    }
    if (!isPowerOfTwo(minBytes, 1 << 17)) {
      throw new RangeError(`ring min bytes ${minBytes} not a power of two >= 128 KiB`);
    }
    if (!isPowerOfTwo(maxSlots, MIN_SLOTS)) {
      throw new RangeError(`ring slots ${maxSlots} not a power of two >= 16`);
    }
    const out: RingClass[] = [];
    for (let d = Math.min(minBytes, maxBytes); d <= maxBytes; d *= 2) {
      const slotCount = Math.max(MIN_SLOTS, maxSlots / (maxBytes / d));
      out.push({ dataBytes: d, slotCount, byteLength: ringByteLength(slotCount, d) });
    }
    this.all = out;
  }

  get smallest(): RingClass {
    return this.all[0];
  }
  get largest(): RingClass {
    return this.all[this.all.length - 1];
  }

  /** The class of rings with this many data bytes, if there is one. */
  of(dataBytes: number): RingClass | undefined {
    return this.all.find((c) => c.dataBytes === dataBytes);
  }

  /** The smallest class that holds `bytes` of data in `packets` slots, else the largest. */
  fit(bytes: number, packets: number): RingClass {
    for (const c of this.all) if (c.dataBytes >= bytes && c.slotCount >= packets) return c;
    return this.largest;
  }
}

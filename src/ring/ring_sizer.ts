/**
 * When a stream's ring should change class (docs/ring.md, "Sizes and moves"). The ring keeps the
 * span from the newest GOP start to the head for new viewers (a whole GOP just before the next
 * keyframe; audioStartWindowMs of an audio-only stream); a ring holds that comfortably while the span
 * takes at most half of it, which also keeps a viewer that starts at the GOP start within the skip
 * and drop lags (50 % and 75 % by default).
 *
 * - Grow: as soon as the span passes half the ring (bytes or slots), to the smallest class that
 *   holds twice the span: during the GOP that outgrows the ring, before its start is evicted.
 * - Shrink: when twice the largest span of the last SHRINK_WINDOW_MS (at least; up to twice that)
 *   would fit in a quarter of the ring, to twice that class: a ring twice too large is left alone,
 *   so a stream whose GOPs vary does not move back and forth.
 *
 * @module
 */
import type { RingClass, RingClasses } from "./ring_classes.ts";

/** How long the largest span is watched before a ring may shrink. */
export const SHRINK_WINDOW_MS = 30_000;

export class RingSizer {
  readonly #classes: RingClasses;
  /** The largest span of the window under way and of the one before. */
  #maxBytes = 0;
  #maxPackets = 0;
  #prevBytes = 0;
  #prevPackets = 0;
  #windowStart: number;
  /** A full window has passed since the last reset (before that, no shrinking). */
  #prevValid = false;

  constructor(classes: RingClasses, nowMs: number) {
    this.#classes = classes;
    this.#windowStart = nowMs;
  }

  /** The stream moved (or a request was refused): what was seen before says nothing of the new ring. */
  reset(nowMs: number): void {
    this.#maxBytes =
      this.#maxPackets =
      this.#prevBytes =
      this.#prevPackets =
        0;
    this.#prevValid = false;
    this.#windowStart = nowMs;
  }

  /**
   * At each publish: the span kept now, the ring's dimensions. Returns the class to move to, or
   * null to stay.
   */
  // once per publish: a few comparisons, no allocation
  observe(
    spanBytes: number,
    spanPackets: number,
    dataBytes: number,
    slotCount: number,
    nowMs: number,
  ): RingClass | null {
    if (spanBytes > this.#maxBytes) this.#maxBytes = spanBytes;
    if (spanPackets > this.#maxPackets) this.#maxPackets = spanPackets;
    if (2 * spanBytes > dataBytes || 2 * spanPackets > slotCount) {
      const c = this.#classes.fit(2 * spanBytes, 2 * spanPackets);
      return c.dataBytes > dataBytes ? c : null;
    }
    if (nowMs - this.#windowStart < SHRINK_WINDOW_MS) return null;
    const bytes = Math.max(this.#maxBytes, this.#prevBytes);
    const packets = Math.max(this.#maxPackets, this.#prevPackets);
    const judged = this.#prevValid;
    this.#prevBytes = this.#maxBytes;
    this.#prevPackets = this.#maxPackets;
    this.#maxBytes = this.#maxPackets = 0;
    this.#prevValid = true;
    this.#windowStart = nowMs;
    if (!judged) return null;
    const need = this.#classes.fit(2 * bytes, 2 * packets);
    if (4 * need.dataBytes > dataBytes) return null;
    return this.#classes.fit(2 * need.dataBytes, 2 * need.slotCount);
  }
}

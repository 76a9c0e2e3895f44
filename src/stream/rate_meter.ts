/** How far back a rate looks: "the last few seconds". */
export const RATE_WINDOW_MS = 5000;
/** Least time between two samples. */
const SAMPLE_MS = 1000;
/** Enough samples to cover the window at one per SAMPLE_MS, plus the one just outside it. */
const SAMPLES = RATE_WINDOW_MS / SAMPLE_MS + 1;

/**
 * The rate of a growing total (a publisher's bytes) over the last few seconds: the total is sampled
 * at most once a second by whoever grows it, and the rate is the exact growth since the oldest
 * sample in the window, divided by the time it took.
 */
export class RateMeter {
  readonly #times = new Float64Array(SAMPLES);
  readonly #totals = new Float64Array(SAMPLES);
  /** Samples held, and the slot the next one goes to. */
  #count = 0;
  #next = 0;

  /** Records `total` at nowMs unless the newest sample is under a second old. */
  // hot path: no allocation (called per published batch)
  sample(nowMs: number, total: number): void {
    if (this.#count > 0) {
      const newest = (this.#next + SAMPLES - 1) % SAMPLES;
      if (nowMs - this.#times[newest] < SAMPLE_MS) return;
    }
    this.#times[this.#next] = nowMs;
    this.#totals[this.#next] = total;
    this.#next = (this.#next + 1) % SAMPLES;
    if (this.#count < SAMPLES) this.#count++;
  }

  /**
   * Growth per second from the oldest sample at most RATE_WINDOW_MS old (the newest one when all
   * are older: a total that stopped growing then reads near 0) to `total` at nowMs; 0 without one.
   */
  perSecond(nowMs: number, total: number): number {
    if (this.#count === 0) return 0;
    let pick = -1;
    for (let i = 0; i < this.#count; i++) {
      // Oldest first: the slot after the newest is the oldest once the ring is full.
      const slot = (this.#next - this.#count + i + SAMPLES) % SAMPLES;
      if (nowMs - this.#times[slot] <= RATE_WINDOW_MS) {
        pick = slot;
        break;
      }
    }
    if (pick < 0) pick = (this.#next + SAMPLES - 1) % SAMPLES;
    const dt = nowMs - this.#times[pick];
    return dt <= 0 ? 0 : (total - this.#totals[pick]) * 1000 / dt;
  }
}

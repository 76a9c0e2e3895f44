/**
 * RTP timestamps (RFC 3550 §5.1) are 32 bits and wrap: every 13.3 hours at 90 kHz, every 24.9 hours
 * at 48 kHz, and a stream may start anywhere, close to the wrap. Muxers need a time that grows
 * instead, so each step between two timestamps is read as a signed 32-bit delta: a step past 2^32 is
 * a wrap forward, a small step back (B-frames in presentation order, a sender's jitter) stays a
 * small negative delta instead of a jump of 2^32.
 *
 * @module
 */

/** Turns a track's 32-bit RTP timestamps into a number that keeps growing past 2^32. */
export class RtpTimestampUnwrapper {
  #last = 0;
  #value = 0;
  #started = false;

  /**
   * The unwrapped time of `timestamp` (0..2^32-1): the first one is returned as is, each later one
   * is the previous result plus the signed 32-bit step from the previous timestamp. Steps of 2^31
   * or more either way cannot be told apart from a wrap and are read as the shorter way round.
   */
  unwrap(timestamp: number): number {
    // hot path: no allocation
    const ts = timestamp >>> 0;
    if (!this.#started) {
      this.#started = true;
      this.#last = ts;
      this.#value = ts;
      return ts;
    }
    // `| 0` maps the unsigned difference to -2^31..2^31-1, the shorter way round the circle.
    const step = (ts - this.#last) | 0;
    this.#last = ts;
    this.#value += step;
    return this.#value;
  }

  /** Whether a timestamp was seen since construction or {@link reset}. */
  get started(): boolean {
    return this.#started;
  }

  /** Forgets the history: the next timestamp is returned as is. */
  reset(): void {
    this.#started = false;
    this.#last = 0;
    this.#value = 0;
  }
}

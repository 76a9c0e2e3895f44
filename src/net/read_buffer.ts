/**
 * One byte buffer per connection: read into its free tail, consume from its head, slide down
 * instead of growing while it can, and grow (doubling) only up to a hard cap.
 */
export class ReadBuffer {
  buf: Uint8Array;
  /** First unconsumed byte. */
  start = 0;
  /** One past the last received byte. */
  end = 0;
  readonly #max: number;
  #spare: Uint8Array;

  constructor(initialBytes: number, maxBytes: number) {
    this.buf = new Uint8Array(initialBytes);
    this.#max = maxBytes;
    this.#spare = this.buf;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** The free tail to read into; reused while unchanged so a steady reader allocates nothing. */
  spare(): Uint8Array {
    if (this.#spare.byteOffset !== this.end || this.#spare.buffer !== this.buf.buffer) {
      this.#spare = this.buf.subarray(this.end);
    }
    return this.#spare;
  }

  /**
   * Makes room for more input after a consume: drops consumed bytes and, when the unconsumed
   * part fills the buffer, doubles it. Returns false when the cap is reached (input too large).
   */
  makeRoom(): boolean {
    if (this.start === this.end) {
      this.start = this.end = 0;
      return true;
    }
    if (this.end < this.buf.length) return true;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      return true;
    }
    if (this.buf.length >= this.#max) return false;
    const bigger = new Uint8Array(Math.min(this.buf.length * 2, this.#max));
    bigger.set(this.buf.subarray(0, this.end));
    this.buf = bigger;
    return true;
  }
}

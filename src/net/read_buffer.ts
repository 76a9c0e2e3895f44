import type { ReadTarget } from "./byte_socket.ts";

const NONE = new Uint8Array(0);

/**
 * The read buffer of a connection that receives media (a recording publisher, a pulled source): a
 * whole burst of interleaved packets per read instead of one ~1.4 KB packet per read, so fewer
 * system calls and wakes per ingested byte.
 */
export const MEDIA_READ_BYTES = 64 * 1024;

/**
 * One byte buffer per connection: read into its free tail, consume from its head, slide down
 * instead of growing while it can, and grow (doubling) only up to a hard cap. An idle connection
 * may release it (release()); the next read allocates it again.
 */
export class ReadBuffer implements ReadTarget {
  buf: Uint8Array = NONE;
  /** First unconsumed byte. */
  start = 0;
  /** One past the last received byte. */
  end = 0;
  #initial: number;
  readonly #max: number;
  #spare: Uint8Array = NONE;

  constructor(initialBytes: number, maxBytes: number) {
    this.#initial = initialBytes;
    this.#max = maxBytes;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** The free tail to read into; reused while unchanged so a steady reader allocates nothing. */
  spare(): Uint8Array {
    if (this.buf === NONE) this.buf = new Uint8Array(this.#initial);
    if (this.#spare.byteOffset !== this.end || this.#spare.buffer !== this.buf.buffer) {
      this.#spare = this.buf.subarray(this.end);
    }
    return this.#spare;
  }

  /**
   * Grows the buffer to at least `bytes` (within the cap), now and after a release: a connection
   * that starts receiving media (a publisher's RECORD) takes everything queued in one read instead
   * of one packet per read.
   */
  reserve(bytes: number): void {
    const want = Math.min(bytes, this.#max);
    if (want > this.#initial) this.#initial = want;
    if (this.buf === NONE || this.buf.length >= want) return;
    const bigger = new Uint8Array(want);
    bigger.set(this.buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = bigger;
  }

  /** Frees the memory when nothing unconsumed is left (a viewer reads a few bytes a minute). */
  release(): void {
    if (this.start !== this.end) return;
    this.start = this.end = 0;
    this.buf = this.#spare = NONE;
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

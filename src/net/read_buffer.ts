import type { ReadTarget } from "./byte_socket.ts";

const NONE = new Uint8Array(0);

/**
 * The read buffer of a connection that receives media (a recording publisher, a pulled source): a
 * whole burst of interleaved packets per read instead of one ~1.4 KB packet per read, so fewer
 * system calls and wakes per ingested byte.
 */
export const MEDIA_READ_BYTES = 64 * 1024;

/** The worker's buffer media connections read into synchronously (ReadBuffer.lent); made on first use. */
let shared: Uint8Array = NONE;

/** Most a connection keeps of its own between reads while it borrows: more reads on in its own buffer. */
const LEND_MAX_LEFT = MEDIA_READ_BYTES / 4;

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
  /**
   * The connection's own buffer while buf is the worker's shared one (lend()); NONE otherwise.
   * Kept (sized to what was left over) so that stashing allocates only when the leftover grows.
   */
  #own: Uint8Array = NONE;
  /** Whether reads through `lent` use the worker's shared buffer (lend()). */
  #lending = false;
  /**
   * The target for a read that is consumed before control leaves (ByteSocket.readNow): with lend()
   * it reads into the worker's shared MEDIA_READ_BYTES buffer after what is left over, so a
   * publisher holds only its leftover (usually part of one packet), not a 64 KiB buffer of its own.
   * Whoever reads through it calls stash() before anything else can read: before every await.
   */
  readonly lent: ReadTarget = { spare: () => this.#lentSpare() };

  constructor(initialBytes: number, maxBytes: number) {
    this.#initial = initialBytes;
    this.#max = maxBytes;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** The free tail to read into; reused while unchanged so a steady reader allocates nothing. */
  spare(): Uint8Array {
    // Never into the shared buffer but through `lent`: a pending read fills it later, when others use it.
    if (this.buf === shared && shared !== NONE) this.stash();
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

  /**
   * Reads through `lent` go into the worker's shared buffer from now on (a connection that starts
   * receiving media: publisher_session's RECORD), instead of reserve()'s buffer of its own.
   */
  lend(): void {
    this.#lending = true;
  }

  // hot path: a view per read
  #lentSpare(): Uint8Array {
    if (!this.#lending) return this.spare();
    if (shared === NONE) shared = new Uint8Array(MEDIA_READ_BYTES);
    if (this.buf !== shared) {
      const left = this.end - this.start;
      // A large message half-received (a request's body) goes on in the connection's own buffer.
      if (left > LEND_MAX_LEFT) return this.spare();
      if (this.buf !== NONE) {
        // A buffer grown for a large message is not kept: stash() makes one to fit again.
        this.#own = this.buf.length > LEND_MAX_LEFT ? NONE : this.buf;
        if (left > 0) shared.set(this.buf.subarray(this.start, this.end), 0);
      }
      this.buf = shared;
      this.start = 0;
      this.end = left;
    }
    return shared.subarray(this.end);
  }

  /**
   * Copies what is unconsumed out of the worker's shared buffer into the connection's own, which
   * it grows only when the leftover does not fit: after this another connection may read. No-op
   * when not in the shared buffer.
   */
  stash(): void {
    if (this.buf !== shared || shared === NONE) return;
    const left = this.end - this.start;
    let own = this.#own;
    if (left > own.length) {
      own = this.#own = new Uint8Array(Math.min(this.#max, Math.max(2048, 1 << (32 - Math.clz32(left - 1)))));
    }
    if (left > 0) own.set(shared.subarray(this.start, this.end), 0);
    this.buf = own;
    this.start = 0;
    this.end = left;
    this.#spare = NONE;
  }

  /** Frees the memory when nothing unconsumed is left (a viewer reads a few bytes a minute). */
  release(): void {
    if (this.start !== this.end) return;
    this.start = this.end = 0;
    this.buf = this.#spare = this.#own = NONE;
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

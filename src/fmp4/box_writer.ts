/**
 * Writes ISO BMFF boxes (ISO/IEC 14496-12 §4.2) big-endian into a caller's buffer: a box is opened
 * with a size placeholder and its size patched when it is closed, so nested boxes need no sizes up
 * front and no intermediate buffers. Without a buffer the writer only counts, which is how a
 * caller learns the exact size to allocate (the same code runs twice, the layout cannot drift).
 *
 * ```
 * Box:     size(32) type(32) [largesize(64) when size == 1] body
 * FullBox: Box header, version(8) flags(24), body
 * ```
 *
 * Values are written as given, masked to their width: the public serializers validate their
 * inputs and throw RangeError before anything is written.
 *
 * @module
 */

/** Deepest nesting written (moov/trak/mdia/minf/stbl/stsd/entry/config is 8). */
const MAX_OPEN = 16;
const EMPTY = new Uint8Array(0);

/** Sequential big-endian box writer over one buffer, or a counter when it has none. */
export class BoxWriter {
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  #counting = true;
  readonly #open: number[] = new Array(MAX_OPEN).fill(0);
  #depth = 0;

  /** A writer at `offset` in `buf`, or a counting writer without one. */
  constructor(buf?: Uint8Array, offset = 0) {
    this.reset(buf, offset);
  }

  /** Rebinds the writer (hot path: lets one writer serve every fragment, no allocation). */
  reset(buf?: Uint8Array, offset = 0): this {
    this.#buf = buf ?? EMPTY;
    this.#counting = buf === undefined;
    this.#pos = offset;
    this.#depth = 0;
    return this;
  }

  /** Offset of the next byte written. */
  get position(): number {
    return this.#pos;
  }

  #need(n: number): number {
    const at = this.#pos;
    if (!this.#counting && at + n > this.#buf.length) {
      throw new RangeError(
        `Buffer too small for the box being written: ${at + n} bytes needed, ${this.#buf.length} given`,
      );
    }
    this.#pos = at + n;
    return at;
  }

  u8(v: number): this {
    const at = this.#need(1);
    if (!this.#counting) this.#buf[at] = v;
    return this;
  }

  u16(v: number): this {
    const at = this.#need(2);
    if (!this.#counting) {
      this.#buf[at] = v >>> 8;
      this.#buf[at + 1] = v;
    }
    return this;
  }

  u24(v: number): this {
    const at = this.#need(3);
    if (!this.#counting) {
      this.#buf[at] = v >>> 16;
      this.#buf[at + 1] = v >>> 8;
      this.#buf[at + 2] = v;
    }
    return this;
  }

  /** Also writes an int32: the low 32 bits are the same. */
  u32(v: number): this {
    const at = this.#need(4);
    if (!this.#counting) writeU32(this.#buf, at, v);
    return this;
  }

  /** A 64-bit field from a non-negative safe integer. */
  u64(v: number): this {
    const at = this.#need(8);
    if (!this.#counting) {
      writeU32(this.#buf, at, Math.floor(v / 0x1_0000_0000));
      writeU32(this.#buf, at + 4, v % 0x1_0000_0000);
    }
    return this;
  }

  /** A four-character code (box type, brand, handler). */
  fourcc(code: string): this {
    const at = this.#need(4);
    if (!this.#counting) {
      for (let i = 0; i < 4; i++) this.#buf[at + i] = code.charCodeAt(i);
    }
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.#need(b.length);
    if (!this.#counting) this.#buf.set(b, at);
    return this;
  }

  zeros(n: number): this {
    const at = this.#need(n);
    if (!this.#counting) this.#buf.fill(0, at, at + n);
    return this;
  }

  /** Skips `n` bytes the caller fills later (an mdat's payload); nothing is written there. */
  skip(n: number): this {
    this.#need(n);
    return this;
  }

  /** Opens a box: a size placeholder and the type; `end()` patches the size. */
  start(type: string): this {
    if (this.#depth === MAX_OPEN) throw new RangeError(`Boxes nested deeper than ${MAX_OPEN}`);
    this.#open[this.#depth++] = this.#pos;
    return this.u32(0).fourcc(type);
  }

  /** Opens a full box: box header, version and flags. */
  startFull(type: string, version: number, flags: number): this {
    return this.start(type).u8(version).u24(flags);
  }

  /** Closes the innermost open box and returns its size. */
  end(): number {
    if (this.#depth === 0) throw new RangeError("end() without an open box");
    const at = this.#open[--this.#depth];
    const size = this.#pos - at;
    // 32-bit sizes only: init segments and fragments are far below 4 GiB (largesize is for files).
    if (size > 0xffff_ffff) throw new RangeError(`Box of ${size} bytes needs a 64-bit size`);
    if (!this.#counting) writeU32(this.#buf, at, size);
    return size;
  }

  /** Boxes still open (0 once a serializer is done). */
  get depth(): number {
    return this.#depth;
  }
}

/** Writes a big-endian uint32 at `at` (hot path: no allocation). */
export function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

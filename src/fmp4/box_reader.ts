/**
 * Reads an ISO BMFF box tree (ISO/IEC 14496-12 §4.2) out of bytes: every box's type and extent,
 * with the children of the container boxes the muxer writes (and the sample entries that hold a
 * codec configuration box). Bounded against malformed input: a size below the header, a box past
 * its parent's end, nesting past MAX_BOX_DEPTH and a body read past its box all throw
 * Fmp4ParseError; nothing outside `[start, end)` is read.
 *
 * ```
 * size(32) type(32)                  size >= 8: the whole box, header included
 * 1        type(32) largesize(64)    size == 1: a 64-bit size follows the type
 * 0        type(32)                  size == 0: up to the end of the file (top level only)
 * ```
 *
 * Allocates one object per box: for init segments, recordings and tests, not the live data path.
 *
 * @module
 */

/** Bytes that are not the boxes a reader expects: refused, with what was wrong and where. */
export class Fmp4ParseError extends SyntaxError {
  override name = "Fmp4ParseError";
}

/** One box: its type and where it sits in the buffer it was read from. */
export interface Box {
  readonly type: string;
  /** Offset of the box's first header byte. */
  readonly start: number;
  /** Offset of the first body byte (after size, type and largesize). */
  readonly bodyStart: number;
  /** Offset just past the box. */
  readonly end: number;
  /** Child boxes, for the container types in CONTAINERS; absent otherwise. */
  readonly children?: readonly Box[];
}

/** Nesting read at most; the deepest box the muxer writes (avcC in moov) is at depth 8. */
export const MAX_BOX_DEPTH = 16;

/** Sample entry prefix lengths (§8.5.2.2, §12.1.3, §12.2.3): children start after these bytes. */
const VISUAL_ENTRY = 78;
const AUDIO_ENTRY = 28;

/**
 * Container boxes: type → bytes of the body that precede the children. stsd and dref have a
 * full-box header and an entry count; sample entries their fixed fields. QuickTime sound
 * descriptions version 1 and 2 (ffmpeg's `-f mov`) add 16 or 36 bytes, read from their version.
 */
export const CONTAINERS: ReadonlyMap<string, number> = new Map([
  ["moov", 0],
  ["trak", 0],
  ["edts", 0],
  ["mdia", 0],
  ["minf", 0],
  ["dinf", 0],
  ["stbl", 0],
  ["mvex", 0],
  ["moof", 0],
  ["traf", 0],
  ["mfra", 0],
  ["stsd", 8],
  ["dref", 8],
  ["avc1", VISUAL_ENTRY],
  ["avc3", VISUAL_ENTRY],
  ["hvc1", VISUAL_ENTRY],
  ["hev1", VISUAL_ENTRY],
  ["mp4a", AUDIO_ENTRY],
  ["Opus", AUDIO_ENTRY],
  ["ulaw", AUDIO_ENTRY],
  ["alaw", AUDIO_ENTRY],
  ["ipcm", AUDIO_ENTRY],
]);

const AUDIO_ENTRY_EXTRA = [0, 16, 36] as const;
/**
 * Entries QuickTime also writes, whose version 1 and 2 lengthen the fixed part. ISO's own
 * AudioSampleEntryV1 (Opus, ipcm) keeps the 28 bytes, so its version says nothing about the length.
 */
const QUICKTIME_SOUND: ReadonlySet<string> = new Set(["mp4a", "ulaw", "alaw"]);

/** The big-endian uint32 at `at`; the caller checked the bounds. */
function u32At(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) >>> 0) + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

function fourccAt(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
}

/** Printable box type for messages: `'moov'`, or hex for bytes that are not text. */
export function describeType(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type)
    ? `'${type}'`
    : `0x${[...type].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The boxes in `[start, end)` of `buf`, children of containers included. Throws Fmp4ParseError
 * for a box that does not fit; a top-level size of 0 extends to `end`.
 */
export function readBoxes(
  buf: Uint8Array,
  start = 0,
  end: number = buf.length,
  containers: ReadonlyMap<string, number> = CONTAINERS,
): Box[] {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`Box range [${start}, ${end}) is outside a buffer of ${buf.length} bytes`);
  }
  return readLevel(buf, start, end, containers, 0);
}

function readLevel(
  buf: Uint8Array,
  start: number,
  end: number,
  containers: ReadonlyMap<string, number>,
  depth: number,
): Box[] {
  if (depth >= MAX_BOX_DEPTH) throw new Fmp4ParseError(`Boxes nested deeper than ${MAX_BOX_DEPTH}`);
  const out: Box[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 8) {
      throw new Fmp4ParseError(`${end - at} stray bytes at offset ${at}, shorter than a box header`);
    }
    let size = u32At(buf, at);
    const type = fourccAt(buf, at + 4);
    let bodyStart = at + 8;
    if (size === 1) {
      if (end - at < 16) {
        throw new Fmp4ParseError(`Box ${describeType(type)} at ${at} is cut in its largesize`);
      }
      const hi = u32At(buf, at + 8);
      // Past 2^53 the size is not a safe integer, and far past any buffer anyway.
      if (hi > 0x1f_ffff) {
        throw new Fmp4ParseError(`Box ${describeType(type)} at ${at} has a largesize past 2^53`);
      }
      size = hi * 0x1_0000_0000 + u32At(buf, at + 12);
      bodyStart = at + 16;
    } else if (size === 0) {
      if (depth > 0) {
        throw new Fmp4ParseError(`Box ${describeType(type)} at ${at} has size 0 inside another box`);
      }
      size = end - at;
    }
    if (size < bodyStart - at) {
      throw new Fmp4ParseError(`Box ${describeType(type)} at ${at} has size ${size}, less than its header`);
    }
    if (size > end - at) {
      throw new Fmp4ParseError(
        `Box ${describeType(type)} at ${at} has size ${size}, past the end of its parent by ${
          size - (end - at)
        } bytes`,
      );
    }
    const boxEnd = at + size;
    let prefix = containers.get(type);
    if (prefix !== undefined && QUICKTIME_SOUND.has(type) && boxEnd - bodyStart >= 10) {
      // SoundDescription version (QuickTime) or reserved 0 (ISO): at body offset 8.
      const extra = AUDIO_ENTRY_EXTRA[(buf[bodyStart + 8] << 8) | buf[bodyStart + 9]];
      if (extra === undefined) {
        throw new Fmp4ParseError(`Audio sample entry ${describeType(type)} at ${at} has an unknown version`);
      }
      prefix += extra;
    }
    if (prefix === undefined) {
      out.push({ type, start: at, bodyStart, end: boxEnd });
    } else {
      if (prefix > boxEnd - bodyStart) {
        throw new Fmp4ParseError(
          `Box ${describeType(type)} at ${at} is shorter than its ${prefix} fixed bytes`,
        );
      }
      const children = readLevel(buf, bodyStart + prefix, boxEnd, containers, depth + 1);
      out.push({ type, start: at, bodyStart, end: boxEnd, children });
    }
    at = boxEnd;
  }
  return out;
}

/** The first box of `type` among `boxes`, or undefined. */
export function findBox(boxes: readonly Box[] | undefined, type: string): Box | undefined {
  return boxes?.find((b) => b.type === type);
}

/** Every box of `type` among `boxes`. */
export function findBoxes(boxes: readonly Box[] | undefined, type: string): Box[] {
  return boxes?.filter((b) => b.type === type) ?? [];
}

/** The box of `type` that must be among `boxes`; throws Fmp4ParseError naming the parent. */
export function requireBox(boxes: readonly Box[] | undefined, type: string, parent: string): Box {
  const box = findBox(boxes, type);
  if (box === undefined) throw new Fmp4ParseError(`Missing '${type}' in '${parent}'`);
  return box;
}

/**
 * Bounded field reader over one box's body: every read past the box's end throws Fmp4ParseError
 * naming the box, so a parser of a box never checks lengths itself.
 */
export class FieldReader {
  readonly #buf: Uint8Array;
  readonly #end: number;
  readonly #what: string;
  #pos: number;

  /** Reads `[start, end)` of `buf`; `what` names the box in messages. */
  constructor(buf: Uint8Array, start: number, end: number, what: string) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#what = what;
  }

  /** A reader over a box's body. */
  static body(buf: Uint8Array, box: Box): FieldReader {
    return new FieldReader(buf, box.bodyStart, box.end, describeType(box.type));
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #take(n: number): number {
    if (n > this.#end - this.#pos) {
      throw new Fmp4ParseError(
        `Box ${this.#what} is truncated: ${n} bytes needed at ${this.#pos}, ${this.remaining} left`,
      );
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#buf[this.#take(1)];
  }

  u16(): number {
    const at = this.#take(2);
    return (this.#buf[at] << 8) | this.#buf[at + 1];
  }

  i16(): number {
    return (this.u16() << 16) >> 16;
  }

  u24(): number {
    const at = this.#take(3);
    return (this.#buf[at] << 16) | (this.#buf[at + 1] << 8) | this.#buf[at + 2];
  }

  u32(): number {
    return u32At(this.#buf, this.#take(4));
  }

  i32(): number {
    return this.u32() | 0;
  }

  /** A 64-bit field; throws past 2^53 (a time or size no real file has). */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi > 0x1f_ffff) throw new Fmp4ParseError(`Box ${this.#what} has a 64-bit value past 2^53`);
    return hi * 0x1_0000_0000 + lo;
  }

  fourcc(): string {
    return fourccAt(this.#buf, this.#take(4));
  }

  /** A view (no copy) of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#buf.subarray(at, at + n);
  }

  skip(n: number): void {
    this.#take(n);
  }

  /** The rest of the box as a view. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}

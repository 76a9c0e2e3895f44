import { BodyTooLargeError, HeaderBlockTooLargeError, RtspParseError } from "./errors.ts";
import { findBlankLine } from "./_message_head.ts";
import { INTERLEAVED_HEADER_BYTES, INTERLEAVED_MAGIC } from "./interleaved_frame.ts";

/** More bytes are needed before anything can be consumed. */
export const SPLIT_INCOMPLETE = 0 as const;
/** An interleaved `$` frame (RFC 2326 §10.12) spans [start, end). */
export const SPLIT_FRAME = 1 as const;
/** An RTSP request or response (RFC 2326 §4) spans [start, end). */
export const SPLIT_MESSAGE = 2 as const;
/** Bytes [start, end) belong to nothing; skip them to resynchronise. */
export const SPLIT_GARBAGE = 3 as const;
/** Result of MessageSplitter.next() (RFC 2326 §10.12 framing). */
export type SplitKind = 0 | 1 | 2 | 3;

/** Bounds on what one message may make the reader buffer (RFC 2326 §4 sets none). */
export interface SplitterLimits {
  maxHeaderBlockBytes: number;
  maxBodyBytes: number;
}

/** Defaults: 16 KiB of headers, 128 KiB of body (gortsplib's body bound; RFC 2326 §4 sets none). */
export const DEFAULT_SPLITTER_LIMITS: Readonly<SplitterLimits> = {
  maxHeaderBlockBytes: 16384,
  maxBodyBytes: 131072,
} as const;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const CONTENT_LENGTH = "content-length";

function isLetter(b: number): boolean {
  // Requests start with a method, responses with `RTSP/`: both begin with an ASCII letter.
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** Whether garbage bytes [start, end) are only CR/LF, e.g. a blank line some clients send after a body. */
export function isBlankLineGarbage(buf: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b !== CR && b !== LF) return false;
  }
  return true;
}

/**
 * Finds the next boundary in a TCP byte stream mixing RTSP messages and `$` frames (RFC 2326 §10.12).
 * Results go into the public fields so the per-RTP-packet call allocates nothing.
 */
export class MessageSplitter {
  /** One past the last byte of the frame/message/garbage; for INCOMPLETE the known end, or -1. */
  end = -1;
  /** Interleaved channel of a frame; -1 for anything else. */
  channel = -1;
  /** First payload byte of a frame, or first body byte of a message. */
  payloadStart = -1;
  /** Index just after the blank line of a message; -1 for anything else. */
  headerEnd = -1;
  /** Content-Length of a message (0 when absent); -1 for anything else. */
  contentLength = -1;

  readonly #limits: SplitterLimits;
  // Progress on a message that arrived only in part, so that small reads do not rescan the head.
  #pendingBuf: Uint8Array | undefined = undefined;
  #pendingStart = -1;
  #scanFrom = -1;
  #pendingHeaderEnd = -1;
  #pendingLength = -1;

  /** Creates a splitter with the given bounds (defaults to DEFAULT_SPLITTER_LIMITS). */
  constructor(limits: SplitterLimits = DEFAULT_SPLITTER_LIMITS) {
    this.#limits = { ...limits };
  }

  /** Forgets partial progress; call when the bytes at a remembered start were replaced without being consumed. */
  reset(): void {
    this.#pendingBuf = undefined;
    this.#pendingStart = -1;
    this.#scanFrom = -1;
    this.#pendingHeaderEnd = -1;
    this.#pendingLength = -1;
  }

  /** Classifies the bytes at buf[start..end); see SplitKind. Hot path: no allocation. */
  next(buf: Uint8Array, start: number, end: number): SplitKind {
    this.channel = -1;
    this.payloadStart = -1;
    this.headerEnd = -1;
    this.contentLength = -1;
    if (start >= end) {
      this.end = -1;
      return SPLIT_INCOMPLETE;
    }
    const first = buf[start] as number;
    if (first === INTERLEAVED_MAGIC) return this.#frame(buf, start, end);
    if (isLetter(first)) return this.#message(buf, start, end);
    let i = start + 1;
    while (i < end) {
      const b = buf[i] as number;
      if (b === INTERLEAVED_MAGIC || isLetter(b)) break;
      i++;
    }
    this.end = i;
    return SPLIT_GARBAGE;
  }

  #frame(buf: Uint8Array, start: number, end: number): SplitKind {
    if (end - start < INTERLEAVED_HEADER_BYTES) {
      this.end = -1;
      return SPLIT_INCOMPLETE;
    }
    this.channel = buf[start + 1] as number;
    this.payloadStart = start + INTERLEAVED_HEADER_BYTES;
    this.end = this.payloadStart + (((buf[start + 2] as number) << 8) | (buf[start + 3] as number));
    return this.end <= end ? SPLIT_FRAME : SPLIT_INCOMPLETE;
  }

  #message(buf: Uint8Array, start: number, end: number): SplitKind {
    // Same buffer and start as a previous INCOMPLETE: the bytes there are still that message.
    if (buf !== this.#pendingBuf || start !== this.#pendingStart || end < this.#scanFrom) {
      this.#pendingBuf = buf;
      this.#pendingStart = start;
      this.#scanFrom = start;
      this.#pendingHeaderEnd = -1;
      this.#pendingLength = -1;
    }
    if (this.#pendingHeaderEnd < 0) {
      const max = this.#limits.maxHeaderBlockBytes;
      const headerEnd = findBlankLine(buf, this.#scanFrom, end);
      if (headerEnd < 0) {
        if (end - start > max) {
          this.reset();
          throw new HeaderBlockTooLargeError(max);
        }
        // The blank line may straddle this read and the next: re-examine the last two bytes.
        this.#scanFrom = Math.max(start, end - 2);
        this.end = -1;
        return SPLIT_INCOMPLETE;
      }
      if (headerEnd - start > max) {
        this.reset();
        throw new HeaderBlockTooLargeError(max);
      }
      try {
        this.#pendingLength = this.#readContentLength(buf, start, headerEnd);
      } catch (e) {
        this.reset();
        throw e;
      }
      this.#pendingHeaderEnd = headerEnd;
    }
    this.headerEnd = this.#pendingHeaderEnd;
    this.payloadStart = this.#pendingHeaderEnd;
    this.contentLength = this.#pendingLength;
    this.end = this.#pendingHeaderEnd + this.#pendingLength;
    if (this.end > end) return SPLIT_INCOMPLETE;
    this.reset();
    return SPLIT_MESSAGE;
  }

  // Scans the head bytes for Content-Length (RFC 2326 §12.14) without decoding it to a string.
  #readContentLength(buf: Uint8Array, start: number, headerEnd: number): number {
    let found = -1;
    let ls = start;
    // Skip the start line: only header lines can carry Content-Length.
    while (ls < headerEnd && buf[ls] !== LF) ls++;
    ls++;
    while (ls < headerEnd) {
      let le = ls;
      while (le < headerEnd && buf[le] !== LF) le++;
      const lineEnd = le > ls && buf[le - 1] === CR ? le - 1 : le;
      const value = this.#contentLengthValue(buf, ls, lineEnd);
      if (value !== -1) {
        if (found !== -1 && found !== value) {
          throw new RtspParseError("Conflicting Content-Length headers");
        }
        found = value;
      }
      ls = le + 1;
    }
    return found === -1 ? 0 : found;
  }

  // -1 when the line is another header; the value otherwise; throws on an invalid value.
  #contentLengthValue(buf: Uint8Array, ls: number, le: number): number {
    if (le - ls < CONTENT_LENGTH.length + 1) return -1;
    for (let k = 0; k < CONTENT_LENGTH.length; k++) {
      const b = buf[ls + k] as number;
      const want = CONTENT_LENGTH.charCodeAt(k);
      // Letters match in either case (0x20 is the case bit); the dash must match exactly.
      if (b !== want && !(want !== 0x2d && (b | 0x20) === want)) return -1;
    }
    let i = ls + CONTENT_LENGTH.length;
    while (i < le && (buf[i] === SP || buf[i] === HT)) i++;
    if (buf[i] !== COLON) return -1;
    i++;
    while (i < le && (buf[i] === SP || buf[i] === HT)) i++;
    let value = 0;
    let digits = 0;
    while (i < le) {
      const b = buf[i] as number;
      if (b < 0x30 || b > 0x39) break;
      if (value < 1e15) value = value * 10 + (b - 0x30);
      digits++;
      i++;
    }
    while (i < le && (buf[i] === SP || buf[i] === HT)) i++;
    if (digits === 0 || i !== le) throw new RtspParseError("Invalid Content-Length");
    if (value > this.#limits.maxBodyBytes) throw new BodyTooLargeError(value, this.#limits.maxBodyBytes);
    return value;
  }
}

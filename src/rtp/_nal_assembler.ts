/**
 * The codec-neutral half of the H.264 (RFC 6184) and H.265 (RFC 7798) depacketizers: NAL units in,
 * frames out. The codec files read their payload structures (single NAL unit, aggregation,
 * fragmentation) and hand over NAL units; this file decides where a frame ends, whether it is
 * whole, whether a decoder can use it, and keeps it within limits.
 *
 * Where a frame ends: at the marker bit (RFC 6184 §5.1, RFC 7798 §4.1), or when the timestamp
 * changes, since some cameras never set the marker. A frame holding no slice (only parameter sets
 * or SEI: a camera that marks SPS+PPS on their own, or stamps them apart) is not a frame: its NAL
 * units go in front of the next one, where an access unit has them (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).
 *
 * What is dropped: a frame missing a packet (sequence gap), with a malformed or unsupported packet,
 * or over the limits; then every frame until the next one a decoder can start at: a random access
 * picture (IDR, IRAP) whose first slice starts the picture (first_mb_in_slice 0,
 * first_slice_segment_in_pic_flag 1), so the picture is not missing its top. The same wait applies
 * before the first frame. A broken reference would show as smeared blocks until the next keyframe.
 *
 * The frame is copied into one reused buffer as it comes (no allocation per packet); a finished
 * frame is copied out once, its NAL units views into that copy.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import {
  type AccessUnitCallback,
  DEFAULT_MAX_VIDEO_FRAME_BYTES,
  DEFAULT_MAX_VIDEO_UNITS,
  type DepacketizerCounters,
  type DepacketizerLimits,
  growFrameBuffer,
  limitOption,
  newDepacketizerCounters,
  SEQUENCE,
  SequenceCheck,
} from "./depacketizer.ts";
import { RtpTimestampUnwrapper } from "./rtp_timestamp_unwrap.ts";

/** What a NAL unit is, as far as frame assembly cares; ORed bits from the codec's classifier. */
export const NAL_KIND = {
  /** Left out of the frame: access unit delimiters, which fMP4 does not carry (ISO/IEC 14496-15 §5.3.2). */
  DROP: 1,
  /** A slice (VCL NAL unit): a frame has at least one. */
  VCL: 2,
  /** A slice of a random access picture: H.264 IDR, H.265 IRAP. */
  RANDOM: 4,
  /** A slice that starts its picture. */
  FIRST_SLICE: 8,
} as const;

/** NAL_KIND bits of the NAL unit at buf[at..end) (its header and the byte after, when present). */
export type NalClassifier = (buf: Uint8Array, at: number, end: number) => number;

const DROP_NONE = 0;
const DROP_DAMAGED = 1;
const DROP_TOO_LARGE = 2;
const DROP_TOO_MANY = 3;
const DROP_BEFORE_RANDOM = 4;
/** The frame buffer starts this small (one SD P-frame) and doubles up to maxFrameBytes. */
const INITIAL_BUFFER_BYTES = 16 * 1024;
const AGGREGATION_SIZE_BYTES = 2;

/** Frame assembly for one H.264 or H.265 track (see the module doc). */
export class NalAssembler {
  readonly counters: DepacketizerCounters = newDepacketizerCounters();
  readonly maxFrameBytes: number;
  readonly maxUnits: number;
  readonly #classify: NalClassifier;
  readonly #onUnit: AccessUnitCallback;
  readonly #sequence = new SequenceCheck();
  readonly #time = new RtpTimestampUnwrapper();
  #buf: Uint8Array;
  #len = 0;
  /** End offset of each NAL unit in #buf; reused, at most maxUnits long. */
  readonly #ends: number[] = [];
  /** A packet of the frame was seen since the last frame end. */
  #active = false;
  #ts = 0;
  #pts = 0;
  #hasVcl = false;
  #random = false;
  #drop = DROP_NONE;
  /** A fragmented NAL unit is open: its start came, its end not yet. */
  #open = false;
  /** The open NAL unit is being left out (NAL_KIND.DROP). */
  #skipNal = false;
  /** Type of the open fragmented NAL unit: every fragment names it. */
  #fuType = -1;
  #waitRandom = true;
  /** No frame ended since construction or reset: a stream joined mid-frame starts with orphans. */
  #joining = true;

  constructor(classify: NalClassifier, onUnit: AccessUnitCallback, limits: DepacketizerLimits = {}) {
    this.#classify = classify;
    this.#onUnit = onUnit;
    this.maxFrameBytes = limitOption("maxFrameBytes", limits.maxFrameBytes, DEFAULT_MAX_VIDEO_FRAME_BYTES);
    this.maxUnits = limitOption("maxUnits", limits.maxUnits, DEFAULT_MAX_VIDEO_UNITS);
    this.#buf = new Uint8Array(Math.min(INITIAL_BUFFER_BYTES, this.maxFrameBytes));
  }

  /** Bytes of the frame buffer, at most maxFrameBytes (for tests of the bound). */
  get bufferBytes(): number {
    return this.#buf.length;
  }

  /** A packet with a valid RTP header: checks its sequence number and timestamp before its payload. */
  beginPacket(seq: number, ts: number): void {
    // hot path: no allocation
    if (this.#sequence.step(seq, this.counters) !== SEQUENCE.IN_ORDER) {
      this.#waitRandom = true;
      if (this.#active || this.#ends.length > 0 || this.#open) this.#setDrop(DROP_DAMAGED);
    }
    if (this.#active && ts !== this.#ts) this.#endFrame();
    if (!this.#active) {
      this.#active = true;
      this.#ts = ts;
      this.#pts = this.#time.unwrap(ts);
    }
  }

  /** After the payload: the marker bit ends the frame. */
  endPacket(marker: boolean): void {
    // hot path: no allocation
    if (marker) this.#endFrame();
  }

  /** Not RTP at all (no sequence number to trust): ignored, counted. */
  notRtp(): void {
    this.counters.packetsInvalid++;
  }

  /** The payload is malformed: the frame has lost a NAL unit. */
  invalid(): void {
    this.counters.packetsInvalid++;
    this.#setDrop(DROP_DAMAGED);
  }

  /** The payload is a structure this depacketizer refuses: the frame has lost a NAL unit. */
  unsupported(): void {
    this.counters.packetsUnsupported++;
    this.#setDrop(DROP_DAMAGED);
  }

  /**
   * A continuation fragment with no open unit: its start was lost (the frame is damaged), or the
   * stream was joined in the middle of a unit (the frame is one a decoder could not start at anyway).
   */
  orphanFragment(): void {
    if (this.#joining) return this.#setDrop(DROP_BEFORE_RANDOM);
    this.invalid();
  }

  /**
   * The first fragment of a NAL unit of `type` (FU-A, RFC 6184 §5.8; FU, RFC 7798 §4.4.3): opens it
   * with the NAL unit header the codec rebuilt, the low `headerBytes` (1 or 2) bytes of `header`.
   */
  beginFragment(type: number, kind: number, header: number, headerBytes: number): void {
    // hot path: no allocation
    this.beginNal(kind);
    if (headerBytes === 2) this.writeByte(header >> 8);
    this.writeByte(header & 0xff);
    this.#fuType = type;
  }

  /** A later fragment of a NAL unit of `type`: false, and counted, unless that unit is the one open. */
  continueFragment(type: number): boolean {
    // hot path: no allocation
    if (!this.#open) {
      this.orphanFragment(); // its start was lost, or came before we joined
      return false;
    }
    if (type !== this.#fuType) {
      this.invalid();
      return false;
    }
    return true;
  }

  /** One whole NAL unit buf[start..end), end > start. */
  nal(buf: Uint8Array, start: number, end: number): void {
    // hot path: no allocation
    this.beginNal(this.#classify(buf, start, end));
    this.write(buf, start, end);
    this.endNal();
  }

  /**
   * Several NAL units behind 16-bit sizes (STAP-A, RFC 6184 §5.7.1; AP, RFC 7798 §4.4.2) in
   * buf[at..end). A zero size ends the walk (trailing padding, as gortsplib reads it); a size past
   * the payload or below `minNalBytes`, or no unit at all, makes the packet invalid.
   */
  aggregate(buf: Uint8Array, at: number, end: number, minNalBytes: number): void {
    // hot path: no allocation
    let units = 0;
    while (at < end) {
      if (end - at < AGGREGATION_SIZE_BYTES) return this.invalid();
      const size = (buf[at] << 8) | buf[at + 1];
      at += AGGREGATION_SIZE_BYTES;
      if (size === 0) break;
      if (size < minNalBytes || at + size > end) return this.invalid();
      this.nal(buf, at, at + size);
      at += size;
      units++;
    }
    if (units === 0) this.invalid();
  }

  /**
   * A payload holding Annex B start codes (00 00 01, 00 00 00 01) instead of one NAL unit: some
   * cameras send the byte stream as a "single NAL" (docs/protocol.md §21). Emulation prevention
   * keeps 00 00 01 out of NAL bodies, so each match is a boundary; zeros before one belong to it.
   */
  annexB(buf: Uint8Array, start: number, end: number, minNalBytes: number): void {
    // hot path: no allocation
    let nalStart = -1;
    let units = 0;
    let i = start;
    while (i + 2 < end) {
      if (buf[i + 2] > 1) {
        i += 3;
      } else if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
        if (nalStart >= 0) units += this.#annexBUnit(buf, nalStart, i, minNalBytes);
        i += 3;
        nalStart = i;
      } else {
        i++;
      }
    }
    if (nalStart >= 0) units += this.#annexBUnit(buf, nalStart, end, minNalBytes);
    if (units === 0) this.invalid();
  }

  #annexBUnit(buf: Uint8Array, start: number, end: number, minNalBytes: number): number {
    // hot path: no allocation. A NAL unit never ends in 0x00 (rbsp_trailing_bits).
    while (end > start && buf[end - 1] === 0) end--;
    if (end - start < minNalBytes) return 0;
    this.nal(buf, start, end);
    return 1;
  }

  /** Opens a NAL unit of the given NAL_KIND bits; its bytes follow through write(). */
  beginNal(kind: number): void {
    // hot path: no allocation
    if (this.#open) this.#setDrop(DROP_DAMAGED); // the previous fragmented unit never ended
    this.#open = true;
    this.#skipNal = (kind & NAL_KIND.DROP) !== 0;
    if (this.#skipNal || this.#drop !== DROP_NONE) return;
    if ((kind & NAL_KIND.VCL) !== 0) {
      // The first slice decides whether a waiting decoder can start at this frame.
      if (
        !this.#hasVcl && this.#waitRandom && (kind & (NAL_KIND.RANDOM | NAL_KIND.FIRST_SLICE)) !==
          (NAL_KIND.RANDOM | NAL_KIND.FIRST_SLICE)
      ) {
        return this.#setDrop(DROP_BEFORE_RANDOM);
      }
      this.#hasVcl = true;
      if ((kind & NAL_KIND.RANDOM) !== 0) this.#random = true;
    }
    if (this.#ends.length >= this.maxUnits) return this.#setDrop(DROP_TOO_MANY);
    // An empty unit whose end marks where this one starts; write() moves it.
    this.#ends.push(this.#len);
  }

  /** One byte of the open NAL unit (a header rebuilt from a fragmentation unit). */
  writeByte(byte: number): void {
    // hot path: no allocation
    if (this.#skipNal || this.#drop !== DROP_NONE || !this.#reserve(1)) return;
    this.#buf[this.#len++] = byte;
    this.#ends[this.#ends.length - 1] = this.#len;
  }

  /** Bytes buf[start..end) of the open NAL unit, copied. */
  write(buf: Uint8Array, start: number, end: number): void {
    // hot path: the bytes go to the reused buffer (doubling rarely, up to maxFrameBytes); set()
    // takes a typed array, so one short-lived view per call is the only allocation.
    if (this.#skipNal || this.#drop !== DROP_NONE || !this.#reserve(end - start)) return;
    this.#buf.set(buf.subarray(start, end), this.#len);
    this.#len += end - start;
    this.#ends[this.#ends.length - 1] = this.#len;
  }

  /** Closes the open NAL unit. */
  endNal(): void {
    // hot path: no allocation
    this.#open = false;
    this.#skipNal = false;
  }

  /** Forgets the frame in progress and the sequence; waits for a random access point. */
  reset(): void {
    this.#clear();
    this.#sequence.reset();
    this.#waitRandom = true;
    this.#joining = true;
  }

  #reserve(n: number): boolean {
    // hot path: no allocation unless the buffer must grow
    const need = this.#len + n;
    if (need > this.maxFrameBytes) {
      this.#setDrop(DROP_TOO_LARGE);
      return false;
    }
    if (need > this.#buf.length) this.#buf = growFrameBuffer(this.#buf, this.#len, need, this.maxFrameBytes);
    return true;
  }

  #setDrop(reason: number): void {
    // hot path: no allocation. The first reason is the one counted; the bytes are of no use now.
    if (this.#drop === DROP_NONE) this.#drop = reason;
    this.#len = 0;
    this.#ends.length = 0;
    this.#waitRandom = true;
  }

  #endFrame(): void {
    // hot path: one allocation per delivered frame (its copy) plus one view per NAL unit
    if (this.#open) this.#setDrop(DROP_DAMAGED); // a fragmented unit without its end
    this.#active = false;
    this.#joining = false;
    if (this.#drop !== DROP_NONE) {
      this.#countDrop(this.#drop);
      this.#clear();
      return;
    }
    // No slice: parameter sets or SEI travel on with the next frame, within the same limits.
    if (!this.#hasVcl) return;
    const data = this.#buf.slice(0, this.#len);
    const units: Uint8Array[] = new Array(this.#ends.length);
    let from = 0;
    for (let i = 0; i < units.length; i++) {
      const to = this.#ends[i];
      units[i] = data.subarray(from, to);
      from = to;
    }
    const au: AccessUnit = { pts: this.#pts, units, random: this.#random };
    this.#clear();
    this.#waitRandom = false;
    this.counters.units++;
    this.#onUnit(au);
  }

  #countDrop(reason: number): void {
    const c = this.counters;
    c.framesDropped++;
    if (reason === DROP_DAMAGED) c.framesDamaged++;
    else if (reason === DROP_TOO_LARGE) c.framesTooLarge++;
    else if (reason === DROP_TOO_MANY) c.framesTooManyUnits++;
    else c.framesBeforeRandom++;
  }

  #clear(): void {
    this.#active = false;
    this.#len = 0;
    this.#ends.length = 0;
    this.#hasVcl = false;
    this.#random = false;
    this.#drop = DROP_NONE;
    this.#open = false;
    this.#skipNal = false;
  }
}

/**
 * AAC RTP packets as mpeg4-generic (RFC 3640: AAC-hbr §3.3.6, AAC-lbr §3.3.5) back into access
 * units for the fMP4 muxers. The fmtp comes read by `aac.ts`'s parseMpeg4GenericFmtp().
 *
 * ```
 * | AU-headers-length (16, in bits) | AU-header | AU-header | ... | pad to a byte | AU | AU | ...
 * AU-header: AU-size (sizeLength bits) + AU-Index (indexLength), then AU-size + AU-Index-delta
 * (indexDeltaLength); bit-packed, MSB first, with no alignment between headers (§3.2.1).
 * ```
 *
 * - Several AUs in a packet: the RTP timestamp is the first one's; AU i is at ts + i × frame
 *   duration (§3.2.1), a frame being 1024 samples, 960 when the AudioSpecificConfig's
 *   frameLengthFlag says so (512/480 for AAC-LD/ELD), in RTP clock ticks (HE-AAC at a 48 kHz clock
 *   over a 24 kHz core: 2048).
 * - A fragmented AU (§3.2.3): one AU-header per packet, all with the same timestamp, the marker bit
 *   on the last. The RFC's AU-size is the whole AU's in every fragment (§3.2.1.1, which also tells
 *   a fragment from an AU after a loss); gortsplib/MediaMTX write each fragment's own size instead,
 *   so an unmarked packet whose single AU fills it is held as a possible first fragment, and ends
 *   at the marker or when the timestamp changes (a sender that never sets the marker, one packet
 *   later). A loss drops the AU in progress and the rest of its fragments; with per-fragment sizes
 *   a lost first fragment cannot be noticed.
 * - No AU-header fields at all (sizeLength, indexLength and indexDeltaLength 0): each packet is an
 *   AU or a fragment of one, ended by the marker or a new timestamp.
 * - Interleaving (an AU-Index or AU-Index-delta other than 0, §3.2.1.1) needs deinterleaving that no
 *   sender we relay needs: such packets are refused and counted in `packetsUnsupported`. So is the
 *   auxiliary section (auxiliaryDataSizeLength), which no AAC mode uses.
 *
 * MP4A-LATM (RFC 6416 §7.3, AAC in LATM/LOAS) is a different payload format and out of scope here.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import { aacAccessUnitCount, type Mpeg4GenericConfig, parseAudioSpecificConfig } from "./aac.ts";
import {
  type AccessUnitCallback,
  DEFAULT_MAX_AUDIO_FRAME_BYTES,
  type Depacketizer,
  type DepacketizerCounters,
  growFrameBuffer,
  limitOption,
  newDepacketizerCounters,
  SEQUENCE,
  SequenceCheck,
} from "./depacketizer.ts";
import { rtpMarker, rtpPayloadEnd, rtpPayloadStart, rtpSequence, rtpTimestamp } from "./rtp_header.ts";
import { RtpTimestampUnwrapper } from "./rtp_timestamp_unwrap.ts";

const AU_HEADERS_LENGTH_BYTES = 2;
const INITIAL_BUFFER_BYTES = 2048;
/** A fragment collection whose AU-size is each fragment's own, or that has no AU-size. */
const TOTAL_UNKNOWN = -1;

const AOT_SBR = 5;
const AOT_PS = 29;
const AOT_ER_BSAC = 22;
const AOT_ER_AAC_LD = 23;
const AOT_ER_AAC_ELD = 39;
/** Object types whose config is a GASpecificConfig, opening with frameLengthFlag (ISO/IEC 14496-3 §4.4.1). */
const GA_OBJECT_TYPES: readonly number[] = [1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23];

/**
 * Samples per AU of an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1): 1024 or 960 by the
 * frameLengthFlag of a GASpecificConfig, 512 or 480 for ER AAC-LD and AAC-ELD, 1024 for any other
 * object type; counted at the core's rate (SBR doubles them at the output rate). Throws SyntaxError.
 */
export function aacFrameSamples(config: Uint8Array): number {
  parseAudioSpecificConfig(config); // the same refusals as the fmtp reader
  let bit = 0;
  const read = (n: number): number => {
    const v = readBits(config, 0, bit, n);
    bit += n;
    return v;
  };
  const objectType = (): number => {
    const t = read(5);
    return t === 31 ? 32 + read(6) : t;
  };
  const skipRate = () => {
    if (read(4) === 15) read(24);
  };
  let type = objectType();
  skipRate();
  read(4); // channelConfiguration
  if (type === AOT_SBR || type === AOT_PS) {
    skipRate();
    type = objectType();
    if (type === AOT_ER_BSAC) read(4); // extensionChannelConfiguration
  }
  // Bits past the end read as 0: a config cut before the flag means full-length frames.
  const short = read(1) === 1;
  if (type === AOT_ER_AAC_LD || type === AOT_ER_AAC_ELD) return short ? 480 : 512;
  if (GA_OBJECT_TYPES.includes(type)) return short ? 960 : 1024;
  return 1024;
}

/** Options of {@link AacDepacketizer}. */
export interface AacDepacketizerOptions {
  /** The rtpmap's clock rate (RFC 3640 §4.1: the sampling rate, by convention). */
  clockRate: number;
  /** The fmtp, from parseMpeg4GenericFmtp(). */
  config: Mpeg4GenericConfig;
  /** Receives each AU: one raw AAC frame (no ADTS), always random. */
  onUnit: AccessUnitCallback;
  /** Largest AU in bytes (default 64 KiB). */
  maxFrameBytes?: number;
}

/** RTP packets of one mpeg4-generic AAC track (RFC 3640) to access units. */
export class AacDepacketizer implements Depacketizer {
  readonly counters: DepacketizerCounters = newDepacketizerCounters();
  /** RTP clock ticks between two AUs of a packet. */
  readonly frameDuration: number;
  readonly maxFrameBytes: number;
  readonly #onUnit: AccessUnitCallback;
  readonly #sizeLength: number;
  readonly #indexLength: number;
  readonly #indexDeltaLength: number;
  readonly #noHeaders: boolean;
  readonly #sequence = new SequenceCheck();
  readonly #time = new RtpTimestampUnwrapper();
  #buf: Uint8Array;
  #len = 0;
  #collecting = false;
  #fragTs = 0;
  #fragPts = 0;
  #fragTotal = TOTAL_UNKNOWN;
  /** Packets with this timestamp belong to an AU already dropped. */
  #skipping = false;
  #skipTs = 0;
  #lastTs = -1;

  constructor(options: AacDepacketizerOptions) {
    const { clockRate, config } = options;
    if (!Number.isSafeInteger(clockRate) || clockRate <= 0) {
      throw new RangeError(`AAC clock rate must be a positive integer, got ${clockRate}`);
    }
    this.#sizeLength = config.sizeLength;
    this.#indexLength = config.indexLength;
    this.#indexDeltaLength = config.indexDeltaLength;
    this.#noHeaders = config.sizeLength === 0 && config.indexLength === 0 && config.indexDeltaLength === 0;
    if (config.sizeLength === 0 && !this.#noHeaders) {
      throw new RangeError(
        "mpeg4-generic AU headers without an AU-size (sizelength=0) need constantSize, which is not supported",
      );
    }
    const info = parseAudioSpecificConfig(config.config);
    this.frameDuration = Math.round(aacFrameSamples(config.config) * clockRate / info.sampleRate);
    this.maxFrameBytes = limitOption("maxFrameBytes", options.maxFrameBytes, DEFAULT_MAX_AUDIO_FRAME_BYTES);
    this.#onUnit = options.onUnit;
    this.#buf = new Uint8Array(Math.min(INITIAL_BUFFER_BYTES, this.maxFrameBytes));
  }

  /** Bytes held for fragment reassembly; never above maxFrameBytes. */
  get bufferBytes(): number {
    return this.#buf.length;
  }

  /** One whole RTP packet in packet[start..end); never throws on wire input. */
  push(packet: Uint8Array, start = 0, end: number = packet.length): void {
    // hot path: no allocation but the copy of each AU delivered
    const c = this.counters;
    c.packets++;
    const at = rtpPayloadStart(packet, start, end);
    const payloadEnd = rtpPayloadEnd(packet, start, end);
    if (at < 0 || payloadEnd < 0) {
      c.packetsInvalid++;
      return;
    }
    const ts = rtpTimestamp(packet, start);
    const marker = rtpMarker(packet, start);
    const pts = this.#time.unwrap(ts);
    if (this.#sequence.step(rtpSequence(packet, start), c) !== SEQUENCE.IN_ORDER) {
      // What was lost may be the rest of the AU in progress, or the start of one with the last timestamp.
      if (this.#collecting) this.#dropFragment();
      else if (this.#lastTs >= 0) this.#skip(this.#lastTs);
    }
    this.#lastTs = ts;
    if (this.#skipping) {
      if (ts === this.#skipTs) return;
      this.#skipping = false;
    }
    if (this.#collecting && ts !== this.#fragTs) {
      // A new timestamp ends an AU whose size is not known; one of known size is short.
      if (this.#fragTotal === TOTAL_UNKNOWN) this.#emitFragment();
      else this.#dropFragment();
      this.#skipping = false;
    }
    if (payloadEnd <= at) return this.#invalid();
    if (this.#noHeaders) {
      if (!this.#collecting) this.#startFragment(ts, pts, TOTAL_UNKNOWN);
      if (this.#append(packet, at, payloadEnd) && marker) this.#emitFragment();
      return;
    }
    this.#withHeaders(packet, at, payloadEnd, ts, pts, marker);
  }

  /** Forgets the AU in progress and the sequence. */
  reset(): void {
    this.#collecting = false;
    this.#len = 0;
    this.#skipping = false;
    this.#lastTs = -1;
    this.#sequence.reset();
  }

  #withHeaders(buf: Uint8Array, at: number, end: number, ts: number, pts: number, marker: boolean): void {
    // hot path: no allocation but the copy of each AU delivered
    const sizeLength = this.#sizeLength;
    const count = aacAccessUnitCount(buf, at, end, sizeLength, this.#indexLength, this.#indexDeltaLength);
    if (count < 0) return this.#invalid();
    const headersAt = at + AU_HEADERS_LENGTH_BYTES;
    const dataAt = headersAt + ((((buf[at] << 8) | buf[at + 1]) + 7) >>> 3);
    const dataBytes = end - dataAt;
    // Interleaving (§3.2.1.1) and empty AUs are checked on every header before anything is delivered.
    let bit = 0;
    for (let i = 0; i < count; i++) {
      const size = readBits(buf, headersAt, bit, sizeLength);
      bit += sizeLength;
      const indexBits = i === 0 ? this.#indexLength : this.#indexDeltaLength;
      const index = readBits(buf, headersAt, bit, indexBits);
      bit += indexBits;
      if (index !== 0) {
        this.counters.packetsUnsupported++;
        if (this.#collecting) this.#dropFragment();
        return;
      }
      if (size === 0) return this.#invalid();
    }
    const firstSize = readBits(buf, headersAt, 0, sizeLength);
    if (count === 1 && firstSize > dataBytes) {
      return this.#fragment(buf, dataAt, end, firstSize, ts, pts, marker);
    }
    if (this.#collecting) {
      // Per-fragment sizes (gortsplib): a fragment that fills its packet, the last one marked.
      if (count === 1 && this.#fragTotal === TOTAL_UNKNOWN) {
        if (this.#append(buf, dataAt, end) && marker) this.#emitFragment();
        return;
      }
      this.#dropFragment();
      this.#skipping = false;
    }
    if (count === 1 && !marker) {
      // A whole AU from a sender without marker bits, or a first fragment sized on its own.
      this.#startFragment(ts, pts, TOTAL_UNKNOWN);
      this.#append(buf, dataAt, end);
      return;
    }
    bit = 0;
    let from = dataAt;
    for (let i = 0; i < count; i++) {
      const size = readBits(buf, headersAt, bit, sizeLength);
      bit += sizeLength + (i === 0 ? this.#indexLength : this.#indexDeltaLength);
      if (size > this.maxFrameBytes) this.#countDrop(true);
      else this.#deliver(buf.slice(from, from + size), pts + i * this.frameDuration);
      from += size;
    }
  }

  #fragment(
    buf: Uint8Array,
    dataAt: number,
    end: number,
    total: number,
    ts: number,
    pts: number,
    marker: boolean,
  ): void {
    // hot path: no allocation but the copy of the AU when whole
    if (this.#collecting && this.#fragTotal !== total) {
      this.#dropFragment();
      this.#skipping = false;
    }
    if (!this.#collecting) {
      if (total > this.maxFrameBytes) {
        this.#countDrop(true);
        return this.#skip(ts);
      }
      this.#startFragment(ts, pts, total);
    }
    if (!this.#append(buf, dataAt, end)) return;
    if (this.#len === total) this.#emitFragment();
    // Past the AU's size, or marked last while short: its other fragments were lost.
    else if (this.#len > total || marker) this.#dropFragment();
  }

  #startFragment(ts: number, pts: number, total: number): void {
    this.#collecting = true;
    this.#fragTs = ts;
    this.#fragPts = pts;
    this.#fragTotal = total;
    this.#len = 0;
  }

  #append(buf: Uint8Array, start: number, end: number): boolean {
    // hot path: the bytes go to the reused buffer; one short-lived view for set()
    const need = this.#len + end - start;
    if (need > this.maxFrameBytes) {
      this.#dropFragment(true);
      return false;
    }
    if (need > this.#buf.length) this.#buf = growFrameBuffer(this.#buf, this.#len, need, this.maxFrameBytes);
    this.#buf.set(buf.subarray(start, end), this.#len);
    this.#len = need;
    return true;
  }

  #emitFragment(): void {
    const au = this.#buf.slice(0, this.#len);
    this.#collecting = false;
    this.#len = 0;
    this.#deliver(au, this.#fragPts);
  }

  /** Drops the AU in progress and the packets left of it (its timestamp). */
  #dropFragment(tooLarge = false): void {
    this.#countDrop(tooLarge);
    this.#collecting = false;
    this.#len = 0;
    this.#skip(this.#fragTs);
  }

  #skip(ts: number): void {
    this.#skipping = true;
    this.#skipTs = ts;
  }

  #invalid(): void {
    this.counters.packetsInvalid++;
    if (this.#collecting) this.#dropFragment();
  }

  #countDrop(tooLarge: boolean): void {
    this.counters.framesDropped++;
    if (tooLarge) this.counters.framesTooLarge++;
    else this.counters.framesDamaged++;
  }

  #deliver(data: Uint8Array, pts: number): void {
    this.counters.units++;
    const au: AccessUnit = { pts, units: [data], random: true };
    this.#onUnit(au);
  }
}

function readBits(buf: Uint8Array, at: number, bitOffset: number, bitCount: number): number {
  // hot path: no allocation. Multiplying instead of shifting keeps 32-bit fields unsigned; bytes
  // past the buffer read as 0 (callers checked the header section fits).
  let value = 0;
  for (let i = bitOffset; i < bitOffset + bitCount; i++) {
    value = value * 2 + (((buf[at + (i >>> 3)] ?? 0) >> (7 - (i & 7))) & 1);
  }
  return value;
}

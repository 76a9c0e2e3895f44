/**
 * What every depacketizer shares: RTP packets of one track in, {@link AccessUnit}s out, for the
 * fMP4 muxers (LL-HLS, recording). The codec files are `h264_depacketizer.ts` (RFC 6184),
 * `h265_depacketizer.ts` (RFC 7798), `aac_depacketizer.ts` (RFC 3640) and
 * `simple_audio_depacketizer.ts` (G.711, Opus).
 *
 * The contract, the same for each:
 * - constructed with what the SDP says (clock rate, fmtp) and limits; a value it cannot work with
 *   throws there (`RangeError` for an option, `SyntaxError` from the fmtp/config readers);
 * - `push(buf, start, end)` takes one whole RTP packet, in sequence order (UDP goes through
 *   `reorder_buffer.ts` first). It never throws on wire input: what it cannot use is dropped and
 *   counted. The view may be into the ring, overwritten later, so whatever is kept is copied; per
 *   packet nothing else is allocated;
 * - each finished frame goes to the `onUnit` callback given at construction, synchronously, from
 *   inside `push()`; its bytes are the unit's own;
 * - `counters` say what came in and what was dropped, and why; `reset()` forgets the frame in
 *   progress and the sequence (after a reader skipped in the ring, or a new publisher).
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";

/** Receives each access unit a depacketizer finishes. */
export type AccessUnitCallback = (au: AccessUnit) => void;

/** The interface every depacketizer implements (see the module doc). */
export interface Depacketizer {
  /** One whole RTP packet in packet[start..end); never throws on wire input. */
  push(packet: Uint8Array, start?: number, end?: number): void;
  /** Forgets the frame in progress and the sequence; video waits for the next random access point. */
  reset(): void;
  readonly counters: Readonly<DepacketizerCounters>;
}

/** What a depacketizer saw and dropped, cumulative; `framesDropped` is the sum of the `frames*` reasons. */
export interface DepacketizerCounters {
  /** Packets given to `push()`. */
  packets: number;
  /** Access units delivered to `onUnit`. */
  units: number;
  /** Sequence numbers skipped: packets that never came (RFC 3550 §A.1's "expected - received"). */
  packetsLost: number;
  /** Packets whose sequence number is behind the expected one: duplicates, reordering, a restart. */
  packetsOutOfOrder: number;
  /** Not RTP version 2, bad padding, an empty or malformed payload (a cut aggregate, a lone fragment). */
  packetsInvalid: number;
  /** Payload structures this depacketizer refuses: STAP-B, MTAP, FU-B, PACI, AAC interleaving. */
  packetsUnsupported: number;
  /** Frames not delivered, for any reason below. */
  framesDropped: number;
  /** A packet of the frame was lost, invalid or unsupported. */
  framesDamaged: number;
  /** Over `maxFrameBytes`. */
  framesTooLarge: number;
  /** Over `maxUnits` NAL units (video). */
  framesTooManyUnits: number;
  /** Video: complete, but a decoder cannot start there (before the first IDR/IRAP, or after a drop). */
  framesBeforeRandom: number;
}

/** Bounds on what one frame may hold; nothing a sender does grows a depacketizer past them. */
export interface DepacketizerLimits {
  /** Largest frame in bytes (NAL units or the AU, without start codes or length prefixes). */
  maxFrameBytes?: number;
  /** Most NAL units in one video frame; not used by audio. */
  maxUnits?: number;
}

/**
 * 8 MiB, gortsplib's and MediaMTX's figure: a 50 Mbit/s 2160p60 stream's largest frame stays under it.
 */
export const DEFAULT_MAX_VIDEO_FRAME_BYTES = 8 * 1024 * 1024;
/**
 * NAL units per video frame: x264 with tune=zerolatency at 4K stays under 25 (gortsplib's limit),
 * but cameras slice harder (one slice per macroblock row: 68 rows at 1080p), plus SEI and parameter sets.
 */
export const DEFAULT_MAX_VIDEO_UNITS = 256;
/**
 * An AAC frame is at most 6144 bits per channel (ISO/IEC 14496-3 §4.5.3.1), 36 KiB for 48 channels;
 * an Opus packet at most 120 ms of 1275-byte frames; a G.711 packet one RTP payload (< 64 KiB).
 */
export const DEFAULT_MAX_AUDIO_FRAME_BYTES = 64 * 1024;

/** Zeroed counters. */
export function newDepacketizerCounters(): DepacketizerCounters {
  return {
    packets: 0,
    units: 0,
    packetsLost: 0,
    packetsOutOfOrder: 0,
    packetsInvalid: 0,
    packetsUnsupported: 0,
    framesDropped: 0,
    framesDamaged: 0,
    framesTooLarge: 0,
    framesTooManyUnits: 0,
    framesBeforeRandom: 0,
  };
}

/** A limit option: a positive integer, or the default when absent; RangeError naming it otherwise. */
export function limitOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Depacketizer option '${name}' must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * A frame buffer grown to hold `need` bytes (need <= max): doubled until they fit, at most `max`,
 * its first `len` bytes kept. Frames are copied into one reused buffer, so this happens rarely.
 */
export function growFrameBuffer(buf: Uint8Array, len: number, need: number, max: number): Uint8Array {
  let size = buf.length * 2;
  while (size < need) size *= 2;
  const grown = new Uint8Array(Math.min(size, max));
  grown.set(buf.subarray(0, len));
  return grown;
}

/** What {@link SequenceCheck.step} found. */
export const SEQUENCE = { IN_ORDER: 0, GAP: 1, BEHIND: 2 } as const;
export type SequenceStep = (typeof SEQUENCE)[keyof typeof SEQUENCE];

/**
 * Continuity of RTP sequence numbers (RFC 3550 §5.1, modulo 2^16): a step forward of more than one
 * is a gap, counted as lost; a step back (half the circle or more forward) is out of order. Either
 * way the next expected number follows the packet just seen, so a restarted sender resynchronizes.
 */
export class SequenceCheck {
  #expected = -1;

  /** Classifies `seq` and counts into `counters`. */
  step(seq: number, counters: DepacketizerCounters): SequenceStep {
    // hot path: no allocation
    const expected = this.#expected;
    this.#expected = (seq + 1) & 0xffff;
    if (expected < 0 || seq === expected) return SEQUENCE.IN_ORDER;
    const ahead = (seq - expected) & 0xffff;
    if (ahead < 0x8000) {
      counters.packetsLost += ahead;
      return SEQUENCE.GAP;
    }
    counters.packetsOutOfOrder++;
    return SEQUENCE.BEHIND;
  }

  /** The next packet is taken as in order, whatever its number. */
  reset(): void {
    this.#expected = -1;
  }
}

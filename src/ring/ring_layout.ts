/**
 * The layout of one stream's SharedArrayBuffer, declared once.
 *
 * ```
 * [ header: RING_HEADER_WORDS Int32 ][ slot index: slotCount × SLOT_WORDS Int32 ][ data: dataBytes ]
 * ```
 *
 * The header ends with one clock region per track (HDR.CLOCKS, track_clock.ts): the NTP↔RTP
 * mapping viewers' Sender Reports use, written by the publisher's worker under a seqlock.
 *
 * Packets are stored pre-framed as RTSP interleaved frames (`$`, channel 2·track, length, RTP packet)
 * so a viewer on the usual channels gets a contiguous run of them in one socket write. A frame never
 * straddles the end of the data area: the writer jumps to offset 0 instead, so every packet is also a
 * contiguous view for UDP. Sequence numbers (packet counters) and byte positions are 32-bit counters
 * that wrap; compare them with `(a - b) | 0`.
 */

/** Header word indices (Int32, accessed with Atomics where shared). */
export const HDR = {
  /** Next packet sequence to publish; the word readers wait on. */
  HEAD: 0,
  /** Oldest packet sequence whose bytes are still intact. Stored before bytes are overwritten. */
  TAIL: 1,
  /** Sequence of the newest GOP start (parameter sets or keyframe). Valid when HAS_GOP is 1. */
  GOP_START: 2,
  HAS_GOP: 3,
  /** Logical byte position just past the newest published packet. */
  WRITE_POS: 4,
  /** STATE_LIVE or STATE_ENDED. */
  STATE: 5,
  TRACK_COUNT: 6,
  SLOT_COUNT: 7,
  DATA_BYTES: 8,
  /** How often the newest GOP start was evicted before the next one arrived (GOP larger than the ring). */
  GOPS_EVICTED: 9,
  /** This use of the buffer: a number main.ts gives each ring it hands out (a pooled buffer gets a new one). */
  RING_ID: 10,
  /**
   * 0 while the writer writes here; else the RING_ID of the ring the stream moved to (ring_writer.ts,
   * moveTo). Stored before the ring's last HEAD: a reader that finds it set and is at HEAD goes on
   * in that ring at the same sequence.
   */
  MOVED_TO: 11,
  /**
   * Workers whose viewers want each packet at once (RTSP players; HLS and recording do not count),
   * each adding 1 while it has any. The writer's worker reads its publisher's socket on its fast
   * tick while this is above 0, else on net.unwatchedReadTickMs (read_pace.ts). A hint: it follows
   * the stream to a new ring when each worker's readers do.
   */
  PROMPT_READERS: 12,
  /** Per track t: last published RTP sequence at TRACKS + 2t, last RTP timestamp at TRACKS + 2t + 1. */
  TRACKS: 16,
  /** Per track t: CLOCK_WORDS words at CLOCKS + CLOCK_WORDS·t, laid out as CLOCK. */
  CLOCKS: 32,
} as const;

/** Most media sections one stream may have. */
export const MAX_TRACKS = 8;

/** Words of one track's clock region and their meaning (track_clock.ts reads and writes them). */
export const CLOCK_WORDS = 8;
export const CLOCK = {
  /** Seqlock generation: odd while the writer changes the mapping, bumped again when done. */
  GEN: 0,
  /** The mapping: NTP seconds and fraction (the server's wall clock) of the instant of RTP timestamp RTP. */
  NTP_SECONDS: 1,
  NTP_FRACTION: 2,
  RTP: 3,
  /** CLOCK_SOURCE_*: where the mapping comes from. */
  SOURCE: 4,
  /** SSRC of the track's newest packets (outside the seqlock: one word). */
  SSRC: 5,
} as const;

/** No mapping yet (no packet and no Sender Report for the track). */
export const CLOCK_SOURCE_NONE = 0;
/** The server's clock at the arrival of the track's packets (the publisher sends no Sender Reports). */
export const CLOCK_SOURCE_SERVER = 1;
/** The publisher's Sender Reports, moved onto the server's clock. */
export const CLOCK_SOURCE_SENDER_REPORT = 2;

export const RING_HEADER_WORDS = HDR.CLOCKS + CLOCK_WORDS * MAX_TRACKS;

/** Words per packet slot and their meaning. */
export const SLOT_WORDS = 4;
export const SLOT = {
  /** Logical byte position of the frame's `$`. */
  POS: 0,
  /** Frame length including the 4-byte interleaved header. */
  LEN: 1,
  /** Track index in the low byte, SLOT_FLAG_* above. */
  FLAGS: 2,
  /** performance.timeOrigin-relative arrival time in ms, for latency figures. */
  TIME: 3,
} as const;

export const SLOT_FLAG_TRACK_MASK = 0xff;
/** The packet starts a GOP: a keyframe, or the parameter sets sent just before it. */
export const SLOT_FLAG_GOP_START = 0x100;
/**
 * Bits 16-31 of FLAGS: the packet's RTP header and padding bytes (CSRCs, extension, padding
 * included), so a sender's octet count (payload only, RFC 3550 §6.4.1) needs no look at the bytes.
 */
export const SLOT_FLAG_OVERHEAD_SHIFT = 16;

export const STATE_LIVE = 0;
export const STATE_ENDED = 1;

/** Bytes of the interleaved header stored in front of every packet. */
export const FRAME_HEADER_BYTES = 4;

/** Words of the header and slot index: what a ring handed out again is cleared of (ring_pool.ts). */
export function ringIndexWords(slotCount: number): number {
  return RING_HEADER_WORDS + slotCount * SLOT_WORDS;
}

/** Size of the SharedArrayBuffer for a ring with these dimensions. */
export function ringByteLength(slotCount: number, dataBytes: number): number {
  return (RING_HEADER_WORDS + slotCount * SLOT_WORDS) * 4 + dataBytes;
}

/** Whether n is a power of two within [min, max]. */
export function isPowerOfTwo(n: number, min = 1, max = 2 ** 30): boolean {
  return Number.isInteger(n) && n >= min && n <= max && (n & (n - 1)) === 0;
}

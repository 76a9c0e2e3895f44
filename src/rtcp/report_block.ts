/**
 * A reception report block (RFC 3550 §6.4.1), carried by Sender and Receiver Reports: how one
 * receiver hears one source.
 *
 * ```
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 SSRC of the source reported on                |  byte 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | fraction lost |       cumulative number of packets lost       |  byte 4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           extended highest sequence number received           |  byte 8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      interarrival jitter                      |  byte 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         last SR (LSR)                         |  byte 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   delay since last SR (DLSR)                  |  byte 20
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * ```
 *
 * @module
 */
import { readU32, writeU32 } from "./_bytes.ts";

export const REPORT_BLOCK_BYTES = 24;

/** One reception report. */
export interface ReportBlock {
  /** SSRC of the source reported on. */
  ssrc: number;
  /** Packets lost since the previous report, as a fraction in 1/256 (0..255). */
  fractionLost: number;
  /** Packets lost since reception began; signed 24 bits (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received: sequence-number cycles << 16 | highest. */
  highestSeq: number;
  /** Interarrival jitter, in RTP timestamp units of the source. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from the source; 0 when none. */
  lastSr: number;
  /** Time since that SR was received, in 1/65536 s. */
  delaySinceLastSr: number;
}

/** Reads the block at buf[offset..offset + 24), which the caller checked is there. */
export function parseReportBlock(buf: Uint8Array, offset: number): ReportBlock {
  let lost = (buf[offset + 5] << 16) | (buf[offset + 6] << 8) | buf[offset + 7];
  if ((lost & 0x800000) !== 0) lost -= 0x1000000;
  return {
    ssrc: readU32(buf, offset),
    fractionLost: buf[offset + 4],
    cumulativeLost: lost,
    highestSeq: readU32(buf, offset + 8),
    jitter: readU32(buf, offset + 12),
    lastSr: readU32(buf, offset + 16),
    delaySinceLastSr: readU32(buf, offset + 20),
  };
}

/** Writes a block at buf[offset..]; cumulative loss is clamped to 24 signed bits. Returns 24. */
export function writeReportBlock(b: ReportBlock, buf: Uint8Array, offset: number): number {
  writeU32(buf, offset, b.ssrc);
  buf[offset + 4] = b.fractionLost & 0xff;
  const lost = Math.max(-0x800000, Math.min(0x7fffff, b.cumulativeLost)) & 0xffffff;
  buf[offset + 5] = lost >> 16;
  buf[offset + 6] = (lost >> 8) & 0xff;
  buf[offset + 7] = lost & 0xff;
  writeU32(buf, offset + 8, b.highestSeq);
  writeU32(buf, offset + 12, b.jitter);
  writeU32(buf, offset + 16, b.lastSr);
  writeU32(buf, offset + 20, b.delaySinceLastSr);
  return REPORT_BLOCK_BYTES;
}

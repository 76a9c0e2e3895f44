/**
 * Sender Report, RTCP packet type 200 (RFC 3550 §6.4.1): a sender's NTP↔RTP clock mapping and
 * what it has sent, then report blocks on the sources it receives.
 *
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|    RC   |   PT=SR=200   |             length            |  byte 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         SSRC of sender                        |  byte 4
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |              NTP timestamp, most significant word             |  byte 8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             NTP timestamp, least significant word             |  byte 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         RTP timestamp                         |  byte 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     sender's packet count                     |  byte 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      sender's octet count                     |  byte 24
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 report blocks (RC × 24 bytes)                 |  byte 28
 * ```
 *
 * @module
 */
import { readU32, writeU32 } from "./_bytes.ts";
import { parseReportBlock, REPORT_BLOCK_BYTES, type ReportBlock, writeReportBlock } from "./report_block.ts";
import { RTCP_TYPE, rtcpContentEnd, rtcpCount, rtcpType, writeRtcpHeader } from "./rtcp_header.ts";

/** Bytes of a Sender Report without report blocks. */
export const SENDER_REPORT_BYTES = 28;

export interface SenderReport {
  ssrc: number;
  /** NTP timestamp (RFC 3550 §4): seconds since 1900 (uint32) and the fraction of a second in 2^-32. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The RTP timestamp of the same instant as the NTP timestamp. */
  rtpTimestamp: number;
  /** RTP packets and payload octets (headers and padding left out) sent since starting (uint32, wrap). */
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

/**
 * Reads the SR packet at buf[start..end) (`end`: the packet's end, from rtcpPacketBytes), or null
 * when it is not an SR or too short for its report count. Profile extensions after the blocks are
 * left alone.
 */
export function parseSenderReport(buf: Uint8Array, start: number, end: number): SenderReport | null {
  if (end - start < SENDER_REPORT_BYTES || rtcpType(buf, start) !== RTCP_TYPE.SR) return null;
  const content = rtcpContentEnd(buf, start, end);
  const count = rtcpCount(buf, start);
  if (content < 0 || start + SENDER_REPORT_BYTES + count * REPORT_BLOCK_BYTES > content) return null;
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    reports.push(parseReportBlock(buf, start + SENDER_REPORT_BYTES + i * REPORT_BLOCK_BYTES));
  }
  return {
    ssrc: readU32(buf, start + 4),
    ntpSeconds: readU32(buf, start + 8),
    ntpFraction: readU32(buf, start + 12),
    rtpTimestamp: readU32(buf, start + 16),
    packetCount: readU32(buf, start + 20),
    octetCount: readU32(buf, start + 24),
    reports,
  };
}

/** Bytes writeSenderReport() writes for sr. */
export function senderReportBytes(sr: SenderReport): number {
  return SENDER_REPORT_BYTES + sr.reports.length * REPORT_BLOCK_BYTES;
}

/** Writes sr at buf[offset..] (at most 31 report blocks); returns the bytes written. */
export function writeSenderReport(sr: SenderReport, buf: Uint8Array, offset: number): number {
  if (sr.reports.length > 31) throw new RangeError(`${sr.reports.length} report blocks, at most 31`);
  const bytes = senderReportBytes(sr);
  writeRtcpHeader(buf, offset, sr.reports.length, RTCP_TYPE.SR, bytes);
  writeU32(buf, offset + 4, sr.ssrc);
  writeU32(buf, offset + 8, sr.ntpSeconds);
  writeU32(buf, offset + 12, sr.ntpFraction);
  writeU32(buf, offset + 16, sr.rtpTimestamp);
  writeU32(buf, offset + 20, sr.packetCount);
  writeU32(buf, offset + 24, sr.octetCount);
  for (let i = 0; i < sr.reports.length; i++) {
    writeReportBlock(sr.reports[i], buf, offset + SENDER_REPORT_BYTES + i * REPORT_BLOCK_BYTES);
  }
  return bytes;
}

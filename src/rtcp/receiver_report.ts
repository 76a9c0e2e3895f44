/**
 * Receiver Report, RTCP packet type 201 (RFC 3550 §6.4.2): a receiver's report blocks, one per
 * source it hears.
 *
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|    RC   |   PT=RR=201   |             length            |  byte 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     SSRC of packet sender                     |  byte 4
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 report blocks (RC × 24 bytes)                 |  byte 8
 * ```
 *
 * @module
 */
import { readU32, writeU32 } from "./_bytes.ts";
import { parseReportBlock, REPORT_BLOCK_BYTES, type ReportBlock, writeReportBlock } from "./report_block.ts";
import { RTCP_TYPE, rtcpContentEnd, rtcpCount, rtcpType, writeRtcpHeader } from "./rtcp_header.ts";

/** Bytes of a Receiver Report without report blocks. */
export const RECEIVER_REPORT_BYTES = 8;

export interface ReceiverReport {
  /** SSRC of the receiver sending the report. */
  ssrc: number;
  reports: ReportBlock[];
}

/**
 * Reads the RR packet at buf[start..end) (`end`: the packet's end, from rtcpPacketBytes), or null
 * when it is not an RR or too short for its report count.
 */
export function parseReceiverReport(buf: Uint8Array, start: number, end: number): ReceiverReport | null {
  if (end - start < RECEIVER_REPORT_BYTES || rtcpType(buf, start) !== RTCP_TYPE.RR) return null;
  const content = rtcpContentEnd(buf, start, end);
  const count = rtcpCount(buf, start);
  if (content < 0 || start + RECEIVER_REPORT_BYTES + count * REPORT_BLOCK_BYTES > content) return null;
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    reports.push(parseReportBlock(buf, start + RECEIVER_REPORT_BYTES + i * REPORT_BLOCK_BYTES));
  }
  return { ssrc: readU32(buf, start + 4), reports };
}

/** Bytes writeReceiverReport() writes for rr. */
export function receiverReportBytes(rr: ReceiverReport): number {
  return RECEIVER_REPORT_BYTES + rr.reports.length * REPORT_BLOCK_BYTES;
}

/** Writes rr at buf[offset..] (at most 31 report blocks); returns the bytes written. */
export function writeReceiverReport(rr: ReceiverReport, buf: Uint8Array, offset: number): number {
  if (rr.reports.length > 31) throw new RangeError(`${rr.reports.length} report blocks, at most 31`);
  const bytes = receiverReportBytes(rr);
  writeRtcpHeader(buf, offset, rr.reports.length, RTCP_TYPE.RR, bytes);
  writeU32(buf, offset + 4, rr.ssrc);
  for (let i = 0; i < rr.reports.length; i++) {
    writeReportBlock(rr.reports[i], buf, offset + RECEIVER_REPORT_BYTES + i * REPORT_BLOCK_BYTES);
  }
  return bytes;
}

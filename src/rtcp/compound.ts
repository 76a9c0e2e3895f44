/**
 * A compound RTCP packet (RFC 3550 §6.1): RTCP packets back to back in one datagram or one
 * interleaved frame. Parsing never throws: bytes that are not RTCP give null, a packet dm-live does
 * not read (APP, XR, feedback) or cannot read (a malformed body) is skipped by its length.
 *
 * @module
 */
import { type Bye, parseBye } from "./bye.ts";
import { parseReceiverReport, type ReceiverReport } from "./receiver_report.ts";
import { RTCP_TYPE, rtcpPacketBytes, rtcpType } from "./rtcp_header.ts";
import { parseSdes, type SdesChunk } from "./sdes.ts";
import { parseSenderReport, type SenderReport } from "./sender_report.ts";

export type RtcpPacket =
  | { type: "sr"; report: SenderReport }
  | { type: "rr"; report: ReceiverReport }
  | { type: "sdes"; chunks: SdesChunk[] }
  | { type: "bye"; bye: Bye };

/**
 * The SR, RR, SDES and BYE packets of the compound packet buf[start..end), in order; null when the
 * bytes are not RTCP (RFC 3550 A.2's check: every header version 2 and the lengths adding up to
 * exactly the whole).
 */
export function parseRtcpCompound(buf: Uint8Array, start: number, end: number): RtcpPacket[] | null {
  if (start >= end) return null;
  const out: RtcpPacket[] = [];
  let off = start;
  while (off < end) {
    const n = rtcpPacketBytes(buf, off, end);
    if (n < 0) return null;
    const pe = off + n;
    switch (rtcpType(buf, off)) {
      case RTCP_TYPE.SR: {
        const report = parseSenderReport(buf, off, pe);
        if (report !== null) out.push({ type: "sr", report });
        break;
      }
      case RTCP_TYPE.RR: {
        const report = parseReceiverReport(buf, off, pe);
        if (report !== null) out.push({ type: "rr", report });
        break;
      }
      case RTCP_TYPE.SDES: {
        const chunks = parseSdes(buf, off, pe);
        if (chunks !== null) out.push({ type: "sdes", chunks });
        break;
      }
      case RTCP_TYPE.BYE: {
        const bye = parseBye(buf, off, pe);
        if (bye !== null) out.push({ type: "bye", bye });
        break;
      }
    }
    off = pe;
  }
  return out;
}

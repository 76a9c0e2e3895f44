/**
 * Goodbye, RTCP packet type 203 (RFC 3550 §6.6): the sources that leave, and why.
 *
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|    SC   |   PT=BYE=203  |             length            |  byte 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           SSRC/CSRC                           |  SC words
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     length    |               reason for leaving ...          |  optional, null-padded
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * @module
 */
import { readU32, readUtf8, writeU32 } from "./_bytes.ts";
import {
  RTCP_HEADER_BYTES,
  RTCP_MAX_COUNT,
  RTCP_TYPE,
  rtcpContentEnd,
  rtcpCount,
  rtcpType,
  writeRtcpHeader,
} from "./rtcp_header.ts";

export interface Bye {
  ssrcs: number[];
  /** The reason given, "" when none. */
  reason: string;
}

const encoder = new TextEncoder();

/**
 * Reads the BYE packet at buf[start..end) (`end`: the packet's end, from rtcpPacketBytes), or null
 * when it is not a BYE, its sources or reason run past the packet, or the reason is not UTF-8.
 */
export function parseBye(buf: Uint8Array, start: number, end: number): Bye | null {
  if (end - start < RTCP_HEADER_BYTES || rtcpType(buf, start) !== RTCP_TYPE.BYE) return null;
  const content = rtcpContentEnd(buf, start, end);
  const count = rtcpCount(buf, start);
  let off = start + RTCP_HEADER_BYTES;
  if (content < 0 || off + 4 * count > content) return null;
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++, off += 4) ssrcs.push(readU32(buf, off));
  let reason = "";
  if (off < content) {
    const len = buf[off];
    if (off + 1 + len > content) return null;
    const text = readUtf8(buf.subarray(off + 1, off + 1 + len));
    if (text === null) return null;
    reason = text;
  }
  return { ssrcs, reason };
}

/** Bytes writeBye() writes for bye. */
export function byeBytes(bye: Bye): number {
  const reason = bye.reason === "" ? 0 : Math.ceil((1 + encoder.encode(bye.reason).length) / 4) * 4;
  return RTCP_HEADER_BYTES + 4 * bye.ssrcs.length + reason;
}

/** Writes a BYE at buf[offset..] (at most 31 sources, a reason of at most 255 UTF-8 bytes); returns the bytes. */
export function writeBye(bye: Bye, buf: Uint8Array, offset: number): number {
  if (bye.ssrcs.length > RTCP_MAX_COUNT) throw new RangeError(`${bye.ssrcs.length} BYE sources, at most 31`);
  let off = offset + RTCP_HEADER_BYTES;
  for (const s of bye.ssrcs) {
    writeU32(buf, off, s);
    off += 4;
  }
  if (bye.reason !== "") {
    const { read, written } = encoder.encodeInto(bye.reason, buf.subarray(off + 1, off + 1 + 255));
    if (read !== bye.reason.length) throw new RangeError("BYE reason longer than 255 bytes");
    buf[off] = written;
    const padded = offset + Math.ceil((off + 1 + written - offset) / 4) * 4;
    buf.fill(0, off + 1 + written, padded);
    off = padded;
  }
  writeRtcpHeader(buf, offset, bye.ssrcs.length, RTCP_TYPE.BYE, off - offset);
  return off - offset;
}

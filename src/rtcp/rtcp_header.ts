/**
 * The header every RTCP packet starts with (RFC 3550 §6.4.1), read and written at an offset.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  count  |  packet type  |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * `count` is the number of report blocks (SR, RR), chunks (SDES) or sources (BYE); `length` is the
 * packet's size in 32-bit words minus one, header and padding included.
 *
 * @module
 */

export const RTCP_VERSION = 2;
export const RTCP_HEADER_BYTES = 4;

/** Packet types (RFC 3550 §12.1). */
export const RTCP_TYPE = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const;

/** Most report blocks, chunks or sources one packet can count (5 bits). */
export const RTCP_MAX_COUNT = 31;

/**
 * Size in bytes of the RTCP packet at buf[start..end) as its header gives it, or -1 when the header
 * is not RTCP version 2 or the packet runs past `end`.
 */
export function rtcpPacketBytes(buf: Uint8Array, start: number, end: number): number {
  if (start < 0 || end > buf.length || end - start < RTCP_HEADER_BYTES) return -1;
  if (buf[start] >> 6 !== RTCP_VERSION) return -1;
  const bytes = (((buf[start + 2] << 8) | buf[start + 3]) + 1) * 4;
  return start + bytes > end ? -1 : bytes;
}

/** The header's count field (report blocks, chunks or sources). */
export function rtcpCount(buf: Uint8Array, start: number): number {
  return buf[start] & 0x1f;
}

/** The header's packet type. */
export function rtcpType(buf: Uint8Array, start: number): number {
  return buf[start + 1];
}

/**
 * End of a packet's content: its end less the padding when P is set (the last byte counts the
 * padding, itself included), or -1 when that count is 0 or eats into the header.
 */
export function rtcpContentEnd(buf: Uint8Array, start: number, packetEnd: number): number {
  if ((buf[start] & 0x20) === 0) return packetEnd;
  const pad = buf[packetEnd - 1];
  if (pad === 0 || pad > packetEnd - start - RTCP_HEADER_BYTES) return -1;
  return packetEnd - pad;
}

/** Writes a header without padding for a packet of `bytes` bytes (a multiple of 4, header included). */
export function writeRtcpHeader(
  buf: Uint8Array,
  offset: number,
  count: number,
  type: number,
  bytes: number,
): void {
  const words = bytes / 4 - 1;
  buf[offset] = (RTCP_VERSION << 6) | (count & 0x1f);
  buf[offset + 1] = type;
  buf[offset + 2] = words >> 8;
  buf[offset + 3] = words & 0xff;
}

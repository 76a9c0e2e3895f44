/**
 * RTP fixed header (RFC 3550 §5.1), read and written in place at an offset.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |  byte 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |  byte 4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |  byte 8
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |  byte 12, CC words
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   defined by profile (X=1)    |   length (32-bit words)       |  RFC 3550 §5.3.1
 * |                     header extension data                     |  length words
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            payload                            |
 * |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  padding ...  | padding count |  P=1: last byte counts itself
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Every reader takes the packet's `start` inside a larger buffer (a read buffer or the ring), so a
 * packet is never copied or wrapped in an object on the relay path.
 *
 * @module
 */

/** Size of the fixed RTP header without CSRCs or extension (RFC 3550 §5.1). */
export const RTP_HEADER_MIN_BYTES = 12;

/** The only RTP version on the wire (RFC 3550 §5.1, V field). */
export const RTP_VERSION = 2;

const EXTENSION_HEADER_BYTES = 4;
const CSRC_BYTES = 4;

/** First payload byte, or -1 when not RTP v2 or shorter than its header (RFC 3550 §5.1, §5.3.1). */
export function rtpPayloadStart(buf: Uint8Array, start: number, end: number): number {
  // hot path: no allocation
  if (start < 0 || end > buf.length || end - start < RTP_HEADER_MIN_BYTES) return -1;
  const b0 = buf[start];
  if (b0 >> 6 !== RTP_VERSION) return -1;
  let offset = start + RTP_HEADER_MIN_BYTES + (b0 & 0x0f) * CSRC_BYTES;
  if ((b0 & 0x10) !== 0) {
    if (offset + EXTENSION_HEADER_BYTES > end) return -1;
    const words = (buf[offset + 2] << 8) | buf[offset + 3];
    offset += EXTENSION_HEADER_BYTES + words * 4;
  }
  return offset > end ? -1 : offset;
}

/** Payload end: `end` minus padding when P is set, -1 for an invalid padding count (RFC 3550 §5.1). */
export function rtpPayloadEnd(buf: Uint8Array, start: number, end: number): number {
  // hot path: no allocation
  if (start < 0 || end > buf.length || end - start < RTP_HEADER_MIN_BYTES) return -1;
  if ((buf[start] & 0x20) === 0) return end;
  const padding = buf[end - 1];
  // The count includes itself, so 0 is invalid; it must not eat into the header either.
  const payloadStart = rtpPayloadStart(buf, start, end);
  if (padding === 0 || payloadStart < 0 || padding > end - payloadStart) return -1;
  return end - padding;
}

/**
 * Bytes of an RTP packet src[start..end) that are not payload: header, CSRCs, extension, padding
 * (RFC 3550 §5.1, §5.3.1), at most the packet. The caller checked it is RTP.
 */
export function rtpOverhead(src: Uint8Array, start: number, end: number): number {
  // hot path: no allocation
  const n = end - start;
  const b0 = src[start];
  let h = RTP_HEADER_MIN_BYTES + (b0 & 0x0f) * CSRC_BYTES;
  if ((b0 & 0x10) !== 0 && h + EXTENSION_HEADER_BYTES <= n) {
    h += EXTENSION_HEADER_BYTES + ((src[start + h + 2] << 8) | src[start + h + 3]) * 4;
  }
  if ((b0 & 0x20) !== 0 && n > 0) h += src[end - 1];
  return h < n ? h : n & 0xffff;
}

/** Marker bit: for video, the last packet of an access unit (RFC 3550 §5.1, RFC 6184 §5.1). */
export function rtpMarker(buf: Uint8Array, start: number): boolean {
  // hot path: no allocation
  return (buf[start + 1] & 0x80) !== 0;
}

/** Payload type, 0..127 (RFC 3550 §5.1). */
export function rtpPayloadType(buf: Uint8Array, start: number): number {
  // hot path: no allocation
  return buf[start + 1] & 0x7f;
}

/** Sequence number, 0..65535 (RFC 3550 §5.1). */
export function rtpSequence(buf: Uint8Array, start: number): number {
  // hot path: no allocation
  return (buf[start + 2] << 8) | buf[start + 3];
}

/** Timestamp as an unsigned number, 0..2^32-1 (RFC 3550 §5.1). */
export function rtpTimestamp(buf: Uint8Array, start: number): number {
  // hot path: no allocation
  return readU32(buf, start + 4);
}

/** SSRC as an unsigned number (RFC 3550 §5.1). */
export function rtpSsrc(buf: Uint8Array, start: number): number {
  // hot path: no allocation
  return readU32(buf, start + 8);
}

/** Writes the sequence number modulo 2^16, so callers may add an offset without masking (RFC 3550 §5.1). */
export function setRtpSequence(buf: Uint8Array, start: number, seq: number): void {
  // hot path: no allocation
  buf[start + 2] = seq >>> 8;
  buf[start + 3] = seq;
}

/** Writes the payload type (0..127), keeping the marker bit (RFC 3550 §5.1). */
export function setRtpPayloadType(buf: Uint8Array, start: number, pt: number): void {
  // hot path: no allocation
  buf[start + 1] = (buf[start + 1] & 0x80) | (pt & 0x7f);
}

/** Writes the timestamp modulo 2^32, so callers may add an offset without masking (RFC 3550 §5.1). */
export function setRtpTimestamp(buf: Uint8Array, start: number, ts: number): void {
  // hot path: no allocation
  writeU32(buf, start + 4, ts);
}

/** Writes the SSRC (RFC 3550 §5.1); gortsplib rewrites it to the SSRC announced in Transport. */
export function setRtpSsrc(buf: Uint8Array, start: number, ssrc: number): void {
  // hot path: no allocation
  writeU32(buf, start + 8, ssrc);
}

function readU32(buf: Uint8Array, at: number): number {
  // hot path: no allocation. `<< 24` yields a signed int32; `>>> 0` makes it unsigned.
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, value: number): void {
  // hot path: no allocation. Uint8Array stores keep the low 8 bits, `>>>` maps any number mod 2^32.
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

/** Fields of a packet for {@link buildRtpPacket} (RFC 3550 §5.1, §5.3.1). */
export interface RtpPacketInit {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: number[];
  /** `data` must be a whole number of 32-bit words (RFC 3550 §5.3.1). */
  extension?: { profile: number; data: Uint8Array };
  /** Padding bytes including the count byte, 0..255; 0 leaves the P bit clear. */
  padding?: number;
  payload: Uint8Array;
}

/** Builds a whole RTP packet (RFC 3550 §5.1); allocates, for tests and tools only, never the relay path. */
export function buildRtpPacket(init: RtpPacketInit): Uint8Array {
  const csrcs = init.csrcs ?? [];
  const padding = init.padding ?? 0;
  const ext = init.extension;
  if (!Number.isInteger(init.payloadType) || init.payloadType < 0 || init.payloadType > 127) {
    throw new RangeError(`RTP payload type must be 0..127, got ${init.payloadType}`);
  }
  if (csrcs.length > 15) throw new RangeError(`RTP allows at most 15 CSRCs, got ${csrcs.length}`);
  if (!Number.isInteger(padding) || padding < 0 || padding > 255) {
    throw new RangeError(`RTP padding must be 0..255 bytes, got ${padding}`);
  }
  if (ext !== undefined && (ext.data.length % 4 !== 0 || ext.data.length / 4 > 0xffff)) {
    throw new RangeError(`RTP header extension must be 0..65535 32-bit words, got ${ext.data.length} bytes`);
  }
  const extBytes = ext === undefined ? 0 : EXTENSION_HEADER_BYTES + ext.data.length;
  const headerBytes = RTP_HEADER_MIN_BYTES + csrcs.length * CSRC_BYTES + extBytes;
  const out = new Uint8Array(headerBytes + init.payload.length + padding);

  out[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (ext !== undefined ? 0x10 : 0) | csrcs.length;
  out[1] = (init.marker === true ? 0x80 : 0) | init.payloadType;
  setRtpSequence(out, 0, init.sequence);
  setRtpTimestamp(out, 0, init.timestamp);
  setRtpSsrc(out, 0, init.ssrc);
  let at = RTP_HEADER_MIN_BYTES;
  for (const csrc of csrcs) {
    writeU32(out, at, csrc);
    at += CSRC_BYTES;
  }
  if (ext !== undefined) {
    out[at] = ext.profile >>> 8;
    out[at + 1] = ext.profile;
    const words = ext.data.length / 4;
    out[at + 2] = words >>> 8;
    out[at + 3] = words;
    out.set(ext.data, at + EXTENSION_HEADER_BYTES);
    at += extBytes;
  }
  out.set(init.payload, at);
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}

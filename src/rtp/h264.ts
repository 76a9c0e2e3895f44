/**
 * What an H.264 RTP payload carries (RFC 6184), read in place so the relay can mark keyframes
 * without depacketizing; plus the SDP `fmtp` helpers for parameter sets.
 *
 * @module
 */

/** NAL unit types (H.264 Table 7-1) and RTP packetization types (RFC 6184 §5.2, Table 1). */
export const H264_NAL = {
  NON_IDR: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  STAP_A: 24,
  STAP_B: 25,
  MTAP16: 26,
  MTAP24: 27,
  FU_A: 28,
  FU_B: 29,
} as const;

/** One of the {@link H264_NAL} values (RFC 6184 §5.2). */
export type H264NalType = (typeof H264_NAL)[keyof typeof H264_NAL];

/** Bits ORed by {@link h264PacketFlags} (RFC 6184 §5.6–§5.8). */
export const H264_FLAG = {
  IDR: 1,
  SPS: 2,
  PPS: 4,
  NON_IDR: 8,
  FRAGMENT_START: 16,
  FRAGMENT_END: 32,
  FRAGMENT: 64,
} as const;

const NAL_TYPE_MASK = 0x1f;
const FU_START_BIT = 0x80;
const FU_END_BIT = 0x40;
/** STAP-B and FU-B carry a 16-bit decoding order number before their content (RFC 6184 §5.7.1, §5.8). */
const DON_BYTES = 2;
const AGGREGATION_SIZE_BYTES = 2;

function nalTypeFlag(type: number): number {
  // hot path: no allocation. Data partitions (2-4) only exist in the Extended profile, which no
  // camera or encoder we relay produces, so only type 1 counts as a non-IDR picture.
  switch (type) {
    case H264_NAL.NON_IDR:
      return H264_FLAG.NON_IDR;
    case H264_NAL.IDR:
      return H264_FLAG.IDR;
    case H264_NAL.SPS:
      return H264_FLAG.SPS;
    case H264_NAL.PPS:
      return H264_FLAG.PPS;
    default:
      return 0;
  }
}

/** OR of {@link H264_FLAG} bits for one RTP payload; 0 when empty or malformed (RFC 6184 §5.6–§5.8). */
export function h264PacketFlags(buf: Uint8Array, payloadStart: number, payloadEnd: number): number {
  // hot path: no allocation. payloadStart may be -1 straight from rtpPayloadStart().
  if (payloadStart < 0 || payloadEnd > buf.length || payloadEnd <= payloadStart) return 0;
  const type = buf[payloadStart] & NAL_TYPE_MASK;
  if (type >= 1 && type <= 23) return nalTypeFlag(type);
  switch (type) {
    case 0:
      return annexBFlags(buf, payloadStart, payloadEnd);
    case H264_NAL.STAP_A:
      return aggregationFlags(buf, payloadStart + 1, payloadEnd);
    case H264_NAL.STAP_B:
      return aggregationFlags(buf, payloadStart + 1 + DON_BYTES, payloadEnd);
    case H264_NAL.FU_A:
      return fragmentFlags(buf, payloadStart + 1, payloadStart + 2, payloadEnd);
    case H264_NAL.FU_B:
      return fragmentFlags(buf, payloadStart + 1, payloadStart + 2 + DON_BYTES, payloadEnd);
    default:
      // MTAP16/24 exist only in interleaved mode (packetization-mode=2), which ffmpeg's RTP muxer
      // never produces; 30 and 31 are reserved.
      return 0;
  }
}

function aggregationFlags(buf: Uint8Array, at: number, end: number): number {
  // hot path: no allocation. A size that runs past the payload ends the walk: the NAL units
  // already seen are whole, the cut one is not reported.
  let flags = 0;
  while (at + AGGREGATION_SIZE_BYTES < end) {
    const size = (buf[at] << 8) | buf[at + 1];
    at += AGGREGATION_SIZE_BYTES;
    if (size === 0 || at + size > end) break;
    flags |= nalTypeFlag(buf[at] & NAL_TYPE_MASK);
    at += size;
  }
  return flags;
}

function fragmentFlags(buf: Uint8Array, fuHeaderAt: number, dataAt: number, end: number): number {
  // hot path: no allocation. Every fragment reports its NAL type so the caller can tell an IDR
  // continuation from a P-slice one; an empty fragment is malformed (RFC 6184 §5.8).
  if (dataAt >= end) return 0;
  const fuHeader = buf[fuHeaderAt];
  const type = fuHeader & NAL_TYPE_MASK;
  if (type === 0 || type > 23) return 0;
  let flags = H264_FLAG.FRAGMENT | nalTypeFlag(type);
  // S and E together are forbidden (§5.8) yet harmless to a relay; report both rather than drop.
  if ((fuHeader & FU_START_BIT) !== 0) flags |= H264_FLAG.FRAGMENT_START;
  if ((fuHeader & FU_END_BIT) !== 0) flags |= H264_FLAG.FRAGMENT_END;
  return flags;
}

/** True when the payload opens with 00 00 01 or 00 00 00 01 (H.264 Annex B start code). */
function startsWithStartCode(buf: Uint8Array, at: number, end: number): boolean {
  // hot path: no allocation
  if (end - at < 3 || buf[at] !== 0 || buf[at + 1] !== 0) return false;
  if (buf[at + 2] === 1) return true;
  return end - at >= 4 && buf[at + 2] === 0 && buf[at + 3] === 1;
}

function annexBFlags(buf: Uint8Array, start: number, end: number): number {
  // hot path: no allocation. Some cameras send Annex B byte stream as a "single NAL" payload,
  // sometimes SPS+PPS+IDR behind successive start codes (docs/protocol.md §21). NAL type 0 is
  // unspecified, so a leading zero byte can only mean this quirk. Emulation prevention keeps
  // 00 00 01 out of NAL bodies, so every match is a real boundary.
  if (!startsWithStartCode(buf, start, end)) return 0;
  let flags = 0;
  let i = start;
  while (i + 3 < end) {
    if (buf[i + 2] > 1) {
      i += 3;
    } else if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      flags |= nalTypeFlag(buf[i + 3] & NAL_TYPE_MASK);
      i += 4;
    } else {
      i++;
    }
  }
  return flags;
}

/**
 * True for the first packet of an IDR NAL unit: single NAL, aggregation containing one, or FU start
 * (RFC 6184 §5.6–§5.8). Each slice of a multi-slice IDR starts its own NAL unit, so callers that
 * want one mark per picture compare RTP timestamps.
 */
export function h264IsKeyframeStart(flags: number): boolean {
  // hot path: no allocation
  if ((flags & H264_FLAG.IDR) === 0) return false;
  return (flags & H264_FLAG.FRAGMENT) === 0 || (flags & H264_FLAG.FRAGMENT_START) !== 0;
}

/** Decodes `sprop-parameter-sets` (RFC 6184 §8.1) into NAL units, Annex B start codes removed; allocates. */
export function parseSpropParameterSets(value: string): Uint8Array[] {
  const nals: Uint8Array[] = [];
  for (const entry of value.split(",")) {
    const text = entry.trim();
    if (text === "") continue;
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    } catch {
      throw new SyntaxError(`Invalid base64 in sprop-parameter-sets: "${text}"`);
    }
    for (const nal of splitAnnexB(bytes)) nals.push(nal);
  }
  return nals;
}

/** NAL units of bytes that may hold Annex B start codes (docs/protocol.md §21: some cameras put them in sprop). */
function splitAnnexB(bytes: Uint8Array): Uint8Array[] {
  if (!startsWithStartCode(bytes, 0, bytes.length)) return bytes.length === 0 ? [] : [bytes];
  const nals: Uint8Array[] = [];
  let nalStart = -1;
  let i = 0;
  while (i + 2 < bytes.length) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      if (nalStart >= 0) pushTrimmed(nals, bytes, nalStart, i);
      i += 3;
      nalStart = i;
    } else {
      i++;
    }
  }
  if (nalStart >= 0) pushTrimmed(nals, bytes, nalStart, bytes.length);
  return nals;
}

function pushTrimmed(nals: Uint8Array[], bytes: Uint8Array, start: number, end: number): void {
  // A NAL unit never ends in 0x00 (rbsp_trailing_bits), so trailing zeros belong to the next
  // 4-byte start code or are trailing_zero_8bits.
  while (end > start && bytes[end - 1] === 0) end--;
  if (end > start) nals.push(bytes.slice(start, end));
}

/** `profile-level-id` (RFC 6184 §8.1) from an SPS: profile_idc, constraints, level_idc as 6 hex digits. */
export function h264ProfileLevelFromSps(sps: Uint8Array): string {
  const nal = splitAnnexB(sps)[0];
  if (nal === undefined || nal.length < 4 || (nal[0] & NAL_TYPE_MASK) !== H264_NAL.SPS) {
    throw new SyntaxError("Cannot read profile-level-id: not an H.264 SPS of at least 4 bytes");
  }
  // Upper case as ffmpeg writes it; receivers compare case-insensitively (RFC 6184 §8.1).
  let hex = "";
  for (let i = 1; i <= 3; i++) hex += nal[i].toString(16).padStart(2, "0");
  return hex.toUpperCase();
}

/**
 * What an H.265 RTP payload carries (RFC 7798), read in place so the relay can mark keyframes
 * without depacketizing.
 *
 * Payload header (the NAL unit header, H.265 §7.3.1.2), 2 bytes:
 *
 * ```
 *  0                   1
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |F|   Type    |  LayerId  | TID |
 * +-------------+-----------------+
 * ```
 *
 * Only the plain form is read: aggregation and fragmentation units carry DONL/DOND fields only when
 * the SDP has `sprop-max-don-diff` > 0 (RFC 7798 §4.4.2–§4.4.3), which ffmpeg, GStreamer and the
 * cameras we relay never send. Such a stream's FUs still classify right (DONL follows the FU
 * header); its APs are misread as sizes, which the bounds checks turn into "no flags".
 *
 * @module
 */

/** NAL unit types (H.265 Table 7-1) and RTP packetization types (RFC 7798 §4.4). */
export const H265_NAL = {
  TRAIL_N: 0,
  TRAIL_R: 1,
  RASL_R: 9,
  BLA_W_LP: 16,
  BLA_W_RADL: 17,
  BLA_N_LP: 18,
  IDR_W_RADL: 19,
  IDR_N_LP: 20,
  CRA_NUT: 21,
  VPS: 32,
  SPS: 33,
  PPS: 34,
  AUD: 35,
  PREFIX_SEI: 39,
  SUFFIX_SEI: 40,
  AP: 48,
  FU: 49,
  PACI: 50,
} as const;

/** Bits ORed by {@link h265PacketFlags} (RFC 7798 §4.4). */
export const H265_FLAG = {
  /** An IRAP picture's slice (BLA, IDR or CRA, types 16–21): a decoder can start here. */
  IRAP: 1,
  VPS: 2,
  SPS: 4,
  PPS: 8,
  /** Any other picture's slice (VCL types 0–31 outside 16–21). */
  NON_IRAP: 16,
  FRAGMENT_START: 32,
  FRAGMENT_END: 64,
  FRAGMENT: 128,
} as const;

const PAYLOAD_HEADER_BYTES = 2;
const FU_HEADER_BYTES = 1;
const AGGREGATION_SIZE_BYTES = 2;
const FU_START_BIT = 0x80;
const FU_END_BIT = 0x40;
const FU_TYPE_MASK = 0x3f;
const LAST_VCL_TYPE = 31;
const LAST_NAL_TYPE = 47;

/** The 6-bit type of the NAL unit header at buf[at]. */
function nalType(buf: Uint8Array, at: number): number {
  // hot path: no allocation
  return (buf[at] >> 1) & 0x3f;
}

function nalTypeFlag(type: number): number {
  // hot path: no allocation. Types 22-23 are reserved IRAP types no encoder produces yet; like the
  // other reserved VCL types they count as plain slices, which only ends a wait for an IRAP.
  if (type >= H265_NAL.BLA_W_LP && type <= H265_NAL.CRA_NUT) return H265_FLAG.IRAP;
  if (type <= LAST_VCL_TYPE) return H265_FLAG.NON_IRAP;
  switch (type) {
    case H265_NAL.VPS:
      return H265_FLAG.VPS;
    case H265_NAL.SPS:
      return H265_FLAG.SPS;
    case H265_NAL.PPS:
      return H265_FLAG.PPS;
    default:
      return 0;
  }
}

/** OR of {@link H265_FLAG} bits for one RTP payload; 0 when empty or malformed (RFC 7798 §4.4). */
export function h265PacketFlags(buf: Uint8Array, payloadStart: number, payloadEnd: number): number {
  // hot path: no allocation. payloadStart may be -1 straight from rtpPayloadStart().
  if (payloadStart < 0 || payloadEnd > buf.length || payloadEnd - payloadStart < PAYLOAD_HEADER_BYTES) {
    return 0;
  }
  // nuh_temporal_id_plus1 is never 0 (H.265 §7.4.2.2): a zero second byte after a zero first one
  // is an Annex B start code, sent as a "single NAL" by some cameras (docs/protocol.md §21).
  if (buf[payloadStart] === 0 && buf[payloadStart + 1] === 0) {
    return annexBFlags(buf, payloadStart, payloadEnd);
  }
  const type = nalType(buf, payloadStart);
  if (type <= LAST_NAL_TYPE) return nalTypeFlag(type);
  if (type === H265_NAL.AP) return aggregationFlags(buf, payloadStart + PAYLOAD_HEADER_BYTES, payloadEnd);
  if (type === H265_NAL.FU) return fragmentFlags(buf, payloadStart + PAYLOAD_HEADER_BYTES, payloadEnd);
  // PACI (50) wraps another payload behind extension headers that no encoder we relay sends;
  // 51-63 are unspecified.
  return 0;
}

function aggregationFlags(buf: Uint8Array, at: number, end: number): number {
  // hot path: no allocation. Every aggregated NAL unit counts: an AP may hold VPS+SPS+PPS and
  // the IRAP itself (RFC 7798 §4.4.2). A size that runs past the payload, or one too small for a
  // NAL unit header, ends the walk; the units before it are whole and reported.
  let flags = 0;
  while (at + AGGREGATION_SIZE_BYTES < end) {
    const size = (buf[at] << 8) | buf[at + 1];
    at += AGGREGATION_SIZE_BYTES;
    if (size < PAYLOAD_HEADER_BYTES || at + size > end) break;
    flags |= nalTypeFlag(nalType(buf, at));
    at += size;
  }
  return flags;
}

function fragmentFlags(buf: Uint8Array, fuHeaderAt: number, end: number): number {
  // hot path: no allocation. Every fragment reports its FU type so the caller can tell an IRAP
  // continuation from another picture's; a fragment with no data is malformed (RFC 7798 §4.4.3).
  if (fuHeaderAt + FU_HEADER_BYTES >= end) return 0;
  const fuHeader = buf[fuHeaderAt];
  const type = fuHeader & FU_TYPE_MASK;
  // FuType never names an AP, FU or PACI (§4.4.3).
  if (type > LAST_NAL_TYPE) return 0;
  let flags = H265_FLAG.FRAGMENT | nalTypeFlag(type);
  // S and E together are forbidden (§4.4.3) yet harmless to a relay; report both rather than drop.
  if ((fuHeader & FU_START_BIT) !== 0) flags |= H265_FLAG.FRAGMENT_START;
  if ((fuHeader & FU_END_BIT) !== 0) flags |= H265_FLAG.FRAGMENT_END;
  return flags;
}

function annexBFlags(buf: Uint8Array, start: number, end: number): number {
  // hot path: no allocation. Emulation prevention keeps 00 00 01 out of NAL bodies, so every match
  // is a real boundary; the 2-byte header after it must fit.
  if (end - start < 3 || (buf[start + 2] !== 1 && (buf[start + 2] !== 0 || buf[start + 3] !== 1))) return 0;
  let flags = 0;
  let i = start;
  while (i + 4 < end) {
    if (buf[i + 2] > 1) {
      i += 3;
    } else if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      flags |= nalTypeFlag(nalType(buf, i + 3));
      i += 5;
    } else {
      i++;
    }
  }
  return flags;
}

/**
 * True for the first packet of an IRAP NAL unit: single NAL, aggregation containing one, or FU
 * start (RFC 7798 §4.4). Each slice segment of a picture starts its own NAL unit, so callers that
 * want one mark per picture compare RTP timestamps.
 */
export function h265IsKeyframeStart(flags: number): boolean {
  // hot path: no allocation
  if ((flags & H265_FLAG.IRAP) === 0) return false;
  return (flags & H265_FLAG.FRAGMENT) === 0 || (flags & H265_FLAG.FRAGMENT_START) !== 0;
}

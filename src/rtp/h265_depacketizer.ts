/**
 * H.265 RTP packets (RFC 7798) back into frames for the fMP4 muxers: single NAL unit packets
 * (§4.4.1), aggregation packets (AP, type 48, §4.4.2) and fragmentation units (FU, type 49, §4.4.3).
 *
 * ```
 * payload header    |F|  Type (6) | LayerId (6) | TID (3)|     = a NAL unit header (H.265 §7.3.1.2)
 * single NAL unit   | NAL unit header (Type 0-47) | NAL unit bytes ...
 * AP                | header, Type 48 | size (16) | NAL unit | size (16) | NAL unit | ...
 * FU                | header, Type 49 |S|E| FuType (6)| fragment of the NAL unit after its header ...
 * ```
 *
 * An FU's NAL unit header is the payload header with its Type replaced by FuType.
 *
 * Only the form without decoding order numbers is read: APs and FUs carry DONL/DOND fields when the
 * SDP's `sprop-max-don-diff` is above 0 (§4.4.2-§4.4.3, §7.1), which ffmpeg, GStreamer and the
 * cameras we relay never send; such a track is refused at construction (`spropMaxDonDiff`). PACI
 * (type 50, §4.4.4) is refused and counted in `packetsUnsupported`; types 51-63 are invalid.
 *
 * The RTP header is read by `_nal_depacketizer.ts`; frame boundaries, loss, the wait for an IRAP (NAL
 * types 16-23: BLA, IDR, CRA and the two reserved IRAP types) and the limits are `_nal_assembler.ts`'s:
 * both shared with H.264. AUD NAL units (35) are left out, as fMP4 wants (ISO/IEC 14496-15 §8.4).
 * After a CRA the RASL pictures that refer to frames before it are delivered: decoders drop those
 * themselves when they start at that CRA.
 *
 * @module
 */
import type { AccessUnitCallback, DepacketizerLimits } from "./depacketizer.ts";
import { H265_NAL } from "./h265.ts";
import { NAL_KIND } from "./_nal_assembler.ts";
import { NalDepacketizer } from "./_nal_depacketizer.ts";

const HEADER_BYTES = 2;
const FU_HEADER_BYTES = 1;
const FU_START = 0x80;
const FU_END = 0x40;
const FU_TYPE_MASK = 0x3f;
const LAST_VCL_TYPE = 31;
const FIRST_IRAP_TYPE = 16;
const LAST_IRAP_TYPE = 23;
const LAST_NAL_TYPE = 47;

/** NAL_KIND bits of an H.265 NAL unit of `type` whose first byte after the header is `next` (-1: none). */
export function h265NalKind(type: number, next: number): number {
  // hot path: no allocation. Every slice segment header opens with first_slice_segment_in_pic_flag
  // (H.265 §7.3.6.1).
  if (type === H265_NAL.AUD) return NAL_KIND.DROP;
  if (type > LAST_VCL_TYPE) return 0;
  let kind: number = NAL_KIND.VCL;
  if (type >= FIRST_IRAP_TYPE && type <= LAST_IRAP_TYPE) kind |= NAL_KIND.RANDOM;
  if (next >= 0 && (next & 0x80) !== 0) kind |= NAL_KIND.FIRST_SLICE;
  return kind;
}

function nalType(buf: Uint8Array, at: number): number {
  // hot path: no allocation
  return (buf[at] >> 1) & 0x3f;
}

function classify(buf: Uint8Array, at: number, end: number): number {
  // hot path: no allocation
  return h265NalKind(nalType(buf, at), at + HEADER_BYTES < end ? buf[at + HEADER_BYTES] : -1);
}

/** Options of {@link H265Depacketizer}. */
export interface H265DepacketizerOptions extends DepacketizerLimits {
  /** Receives each frame: its NAL units in decoding order, without AUDs; random when it holds an IRAP. */
  onUnit: AccessUnitCallback;
  /** The fmtp's `sprop-max-don-diff` (RFC 7798 §7.1), 0 when absent; above 0 is refused. */
  spropMaxDonDiff?: number;
}

/** RTP packets of one H.265 track (RFC 7798, without DONL) to access units. */
export class H265Depacketizer extends NalDepacketizer {
  constructor(options: H265DepacketizerOptions) {
    const donDiff = options.spropMaxDonDiff ?? 0;
    if (donDiff !== 0) {
      throw new RangeError(
        `H.265 with sprop-max-don-diff=${donDiff} carries DONL fields (RFC 7798 §4.4), which the ` +
          "depacketizer does not read; only sprop-max-don-diff=0 is supported",
      );
    }
    // A NAL unit may be its header alone (end of sequence, end of bitstream).
    super(classify, options.onUnit, options, HEADER_BYTES);
  }

  protected override payload(buf: Uint8Array, at: number, end: number): void {
    // hot path: no allocation
    const frame = this.frame;
    // nuh_temporal_id_plus1 is never 0 (H.265 §7.4.2.2): 00 00 opens an Annex B start code, which
    // some cameras send as a "single NAL" (docs/protocol.md §21).
    if (buf[at] === 0 && buf[at + 1] === 0) return frame.annexB(buf, at, end, HEADER_BYTES);
    const type = nalType(buf, at);
    if (type <= LAST_NAL_TYPE) return frame.nal(buf, at, end);
    if (type === H265_NAL.AP) return frame.aggregate(buf, at + HEADER_BYTES, end, HEADER_BYTES);
    if (type === H265_NAL.FU) return this.#fragment(buf, at, end);
    if (type === H265_NAL.PACI) return frame.unsupported();
    return frame.invalid(); // 51-63: unspecified
  }

  #fragment(buf: Uint8Array, at: number, end: number): void {
    // hot path: no allocation
    const frame = this.frame;
    // A fragment carries at least one byte; S and E together are forbidden (§4.4.3).
    if (end - at <= HEADER_BYTES + FU_HEADER_BYTES) return frame.invalid();
    const header = buf[at + HEADER_BYTES];
    const type = header & FU_TYPE_MASK;
    const first = (header & FU_START) !== 0;
    const last = (header & FU_END) !== 0;
    // FuType never names an AP, FU or PACI.
    if (type > LAST_NAL_TYPE || (first && last)) return frame.invalid();
    const data = at + HEADER_BYTES + FU_HEADER_BYTES;
    if (first) {
      // The payload header with its Type replaced by FuType.
      const nalHeader = (((buf[at] & 0x81) | (type << 1)) << 8) | buf[at + 1];
      frame.beginFragment(type, h265NalKind(type, buf[data]), nalHeader, HEADER_BYTES);
    } else if (!frame.continueFragment(type)) {
      return;
    }
    frame.write(buf, data, end);
    if (last) frame.endNal();
  }
}

/**
 * H.264 RTP packets (RFC 6184) back into frames for the fMP4 muxers: single NAL unit packets
 * (§5.6), STAP-A (§5.7.1) and FU-A (§5.8), which is all of packetization-mode 0 and 1 (§6.2, §6.3).
 *
 * ```
 * single NAL unit   |F|NRI|Type 1-23| NAL unit bytes ...
 * STAP-A            |F|NRI|  24     | size (16) | NAL unit | size (16) | NAL unit | ...
 * FU-A              |F|NRI|  28     |S|E|R| Type| fragment of the NAL unit after its header ...
 * ```
 *
 * An FU-A's NAL unit header is rebuilt from the FU indicator's F and NRI and the FU header's type.
 * STAP-B, MTAP16/24 and FU-B exist only in interleaved mode (packetization-mode 2, §6.4), which
 * needs decoding order numbers to reorder and which no camera or encoder we relay sends: they are
 * refused, counted in `packetsUnsupported`, and their frame is dropped. Types 0 (unless Annex B
 * start codes follow, a camera quirk), 30 and 31 are invalid.
 *
 * The RTP header is read by `_nal_depacketizer.ts`; frame boundaries, loss, the wait for an IDR and
 * the limits are `_nal_assembler.ts`'s: both shared with H.265. AUD NAL units are left out: fMP4 has
 * no place for them (ISO/IEC 14496-15 §5.3.2).
 *
 * @module
 */
import type { AccessUnitCallback, DepacketizerLimits } from "./depacketizer.ts";
import { H264_NAL } from "./h264.ts";
import { NAL_KIND } from "./_nal_assembler.ts";
import { NalDepacketizer } from "./_nal_depacketizer.ts";

const TYPE_MASK = 0x1f;
const FU_START = 0x80;
const FU_END = 0x40;
const FU_HEADER_BYTES = 2;
const STAP_HEADER_BYTES = 1;
const LAST_SINGLE_TYPE = 23;

/** NAL_KIND bits of an H.264 NAL unit of `type` whose first byte after the header is `next` (-1: none). */
export function h264NalKind(type: number, next: number): number {
  // hot path: no allocation. Slices and data partition A start with first_mb_in_slice, ue(v): its
  // first bit is 1 exactly when the value is 0 (H.264 §7.3.3, §9.1). Partitions B/C (3, 4) cannot
  // start a picture; they only exist in the Extended profile.
  if (type === H264_NAL.AUD) return NAL_KIND.DROP;
  if (type < H264_NAL.NON_IDR || type > H264_NAL.IDR) return 0;
  let kind: number = NAL_KIND.VCL;
  if (type === H264_NAL.IDR) kind |= NAL_KIND.RANDOM;
  if (type !== 3 && type !== 4 && next >= 0 && (next & 0x80) !== 0) kind |= NAL_KIND.FIRST_SLICE;
  return kind;
}

function classify(buf: Uint8Array, at: number, end: number): number {
  // hot path: no allocation
  return h264NalKind(buf[at] & TYPE_MASK, at + 1 < end ? buf[at + 1] : -1);
}

/** Options of {@link H264Depacketizer}. */
export interface H264DepacketizerOptions extends DepacketizerLimits {
  /** Receives each frame: its NAL units in decoding order, without AUDs; random when it holds an IDR. */
  onUnit: AccessUnitCallback;
}

/** RTP packets of one H.264 track (RFC 6184, packetization-mode 0 or 1) to access units. */
export class H264Depacketizer extends NalDepacketizer {
  constructor(options: H264DepacketizerOptions) {
    super(classify, options.onUnit, options, 1);
  }

  protected override payload(buf: Uint8Array, at: number, end: number): void {
    // hot path: no allocation
    const frame = this.frame;
    const type = buf[at] & TYPE_MASK;
    if (type >= 1 && type <= LAST_SINGLE_TYPE) return frame.nal(buf, at, end);
    switch (type) {
      case H264_NAL.STAP_A:
        return frame.aggregate(buf, at + STAP_HEADER_BYTES, end, 1);
      case H264_NAL.FU_A:
        return this.#fragment(buf, at, end);
      case H264_NAL.STAP_B:
      case H264_NAL.MTAP16:
      case H264_NAL.MTAP24:
      case H264_NAL.FU_B:
        return frame.unsupported();
      case 0:
        // 00 00 01 or 00 00 00 01: the Annex B quirk; any other type-0 unit is unspecified.
        if (
          end - at >= 4 && buf[at + 1] === 0 &&
          (buf[at + 2] === 1 || (buf[at + 2] === 0 && buf[at + 3] === 1))
        ) {
          return frame.annexB(buf, at, end, 1);
        }
        return frame.invalid();
      default:
        return frame.invalid(); // 30, 31: reserved
    }
  }

  #fragment(buf: Uint8Array, at: number, end: number): void {
    // hot path: no allocation
    const frame = this.frame;
    // A fragment carries at least one byte (§5.8); S and E together are forbidden.
    if (end - at <= FU_HEADER_BYTES) return frame.invalid();
    const indicator = buf[at];
    const header = buf[at + 1];
    const type = header & TYPE_MASK;
    const first = (header & FU_START) !== 0;
    const last = (header & FU_END) !== 0;
    if (type === 0 || type > LAST_SINGLE_TYPE || (first && last)) return frame.invalid();
    const data = at + FU_HEADER_BYTES;
    if (first) frame.beginFragment(type, h264NalKind(type, buf[data]), (indicator & 0xe0) | type, 1);
    else if (!frame.continueFragment(type)) return;
    frame.write(buf, data, end);
    if (last) frame.endNal();
  }
}

/**
 * The GOP cache's view of a video RTP packet, whatever the codec: does it start a keyframe, carry
 * parameter sets, or carry a picture's slice. H.264 (RFC 6184) and H.265 (RFC 7798) follow the
 * same rule: a GOP starts at in-band parameter sets sent right before a keyframe, else at it.
 *
 * @module
 */
import { H264_FLAG, h264IsKeyframeStart, h264PacketFlags } from "./h264.ts";
import { H265_FLAG, h265IsKeyframeStart, h265PacketFlags } from "./h265.ts";

/** Video codecs whose keyframes the relay finds; NONE for any other payload (relayed, never a GOP start). */
export const VIDEO_CODEC = { NONE: 0, H264: 1, H265: 2 } as const;
export type VideoCodec = (typeof VIDEO_CODEC)[keyof typeof VIDEO_CODEC];

/** Bits ORed by {@link videoPacketFlags}. */
export const VIDEO_FLAG = {
  /** First packet of a keyframe NAL unit (H.264 IDR, H.265 IRAP). */
  KEYFRAME_START: 1,
  /** SPS/PPS, or VPS/SPS/PPS for H.265. */
  PARAMETER_SETS: 2,
  /** Any packet of a picture's slice, keyframe or not. */
  SLICE: 4,
} as const;

const H264_PARAMETER_SETS = H264_FLAG.SPS | H264_FLAG.PPS;
const H264_SLICES = H264_FLAG.IDR | H264_FLAG.NON_IDR;
const H265_PARAMETER_SETS = H265_FLAG.VPS | H265_FLAG.SPS | H265_FLAG.PPS;
const H265_SLICES = H265_FLAG.IRAP | H265_FLAG.NON_IRAP;

/** OR of {@link VIDEO_FLAG} bits for one RTP payload of `codec`; 0 for NONE, empty or malformed payloads. */
export function videoPacketFlags(
  codec: number,
  buf: Uint8Array,
  payloadStart: number,
  payloadEnd: number,
): number {
  // hot path: no allocation
  if (codec === VIDEO_CODEC.H264) {
    const f = h264PacketFlags(buf, payloadStart, payloadEnd);
    return (h264IsKeyframeStart(f) ? VIDEO_FLAG.KEYFRAME_START : 0) |
      ((f & H264_PARAMETER_SETS) !== 0 ? VIDEO_FLAG.PARAMETER_SETS : 0) |
      ((f & H264_SLICES) !== 0 ? VIDEO_FLAG.SLICE : 0);
  }
  if (codec === VIDEO_CODEC.H265) {
    const f = h265PacketFlags(buf, payloadStart, payloadEnd);
    return (h265IsKeyframeStart(f) ? VIDEO_FLAG.KEYFRAME_START : 0) |
      ((f & H265_PARAMETER_SETS) !== 0 ? VIDEO_FLAG.PARAMETER_SETS : 0) |
      ((f & H265_SLICES) !== 0 ? VIDEO_FLAG.SLICE : 0);
  }
  return 0;
}

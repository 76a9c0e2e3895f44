/**
 * Writers of H.264 and H.265 parameter sets and slice headers for tests (test-only): the H.264 SPS
 * writer covers every field parseH264Sps() returns, so a parsed SPS writes back and reparses equal;
 * the rest write the few fields synthetic streams for the DTS extractor need.
 */
import { addEmulationPrevention, BitWriter } from "../rbsp.ts";
import type { H264Hrd, H264Sps } from "../h264_sps.ts";

function nal(header: number[], w: BitWriter): Uint8Array {
  const payload = addEmulationPrevention(w.finish());
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

const HIGH_PROFILES = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

function writeScalingList(w: BitWriter, list: number[] | "default", size: number): void {
  if (list === "default") {
    w.se(-8); // nextScale 0 at j = 0: useDefaultScalingMatrixFlag
    return;
  }
  let last = 8;
  for (let j = 0; j < size; j++) {
    const v = list[j];
    let delta = (v - last + 256) % 256;
    if (delta > 127) delta -= 256;
    w.se(delta);
    last = v;
  }
}

function writeHrd(w: BitWriter, hrd: H264Hrd): void {
  w.ue(hrd.cpbCntMinus1).u(4, hrd.bitRateScale).u(4, hrd.cpbSizeScale);
  for (let i = 0; i <= hrd.cpbCntMinus1; i++) w.ue(0).ue(0).flag(false);
  w.u(5, hrd.initialCpbRemovalDelayLengthMinus1).u(5, hrd.cpbRemovalDelayLengthMinus1)
    .u(5, hrd.dpbOutputDelayLengthMinus1).u(5, hrd.timeOffsetLength);
}

/** An H.264 SPS NAL unit (nal_ref_idc 3) holding every field of `s`; width and height are ignored. */
export function writeH264Sps(s: H264Sps): Uint8Array {
  const w = new BitWriter();
  w.u(8, s.profileIdc).u(8, s.constraintFlags).u(8, s.levelIdc).ue(s.seqParameterSetId);
  if (HIGH_PROFILES.includes(s.profileIdc)) {
    w.ue(s.chromaFormatIdc);
    if (s.chromaFormatIdc === 3) w.flag(s.separateColourPlaneFlag);
    w.ue(s.bitDepthLumaMinus8).ue(s.bitDepthChromaMinus8).flag(s.qpprimeYZeroTransformBypassFlag);
    w.flag(s.seqScalingMatrixPresentFlag);
    if (s.seqScalingMatrixPresentFlag) {
      s.seqScalingListPresentFlag.forEach((present, i) => {
        w.flag(present);
        const list = s.scalingLists[i];
        if (present && list !== null && list !== undefined) writeScalingList(w, list, i < 6 ? 16 : 64);
      });
    }
  }
  w.ue(s.log2MaxFrameNumMinus4).ue(s.picOrderCntType);
  if (s.picOrderCntType === 0) w.ue(s.log2MaxPicOrderCntLsbMinus4);
  if (s.picOrderCntType === 1) {
    w.flag(s.deltaPicOrderAlwaysZeroFlag).se(s.offsetForNonRefPic).se(s.offsetForTopToBottomField);
    w.ue(s.offsetForRefFrame.length);
    for (const o of s.offsetForRefFrame) w.se(o);
  }
  w.ue(s.maxNumRefFrames).flag(s.gapsInFrameNumValueAllowedFlag);
  w.ue(s.picWidthInMbsMinus1).ue(s.picHeightInMapUnitsMinus1).flag(s.frameMbsOnlyFlag);
  if (!s.frameMbsOnlyFlag) w.flag(s.mbAdaptiveFrameFieldFlag);
  w.flag(s.direct8x8InferenceFlag);
  const c = s.frameCropping;
  w.flag(c !== undefined);
  if (c) {
    w.ue(c.frameCropLeftOffset).ue(c.frameCropRightOffset).ue(c.frameCropTopOffset).ue(
      c.frameCropBottomOffset,
    );
  }
  const v = s.vui;
  w.flag(v !== undefined);
  if (v) {
    w.flag(v.aspectRatioIdc !== undefined);
    if (v.aspectRatioIdc !== undefined) {
      w.u(8, v.aspectRatioIdc);
      if (v.aspectRatioIdc === 255) w.u(16, v.sarWidth ?? 0).u(16, v.sarHeight ?? 0);
    }
    w.flag(v.overscanAppropriateFlag !== undefined);
    if (v.overscanAppropriateFlag !== undefined) w.flag(v.overscanAppropriateFlag);
    w.flag(v.videoFormat !== undefined);
    if (v.videoFormat !== undefined) {
      w.u(3, v.videoFormat).flag(v.videoFullRangeFlag ?? false).flag(v.colourPrimaries !== undefined);
      if (v.colourPrimaries !== undefined) {
        w.u(8, v.colourPrimaries).u(8, v.transferCharacteristics ?? 0).u(8, v.matrixCoefficients ?? 0);
      }
    }
    w.flag(v.chromaSampleLocTypeTopField !== undefined);
    if (v.chromaSampleLocTypeTopField !== undefined) {
      w.ue(v.chromaSampleLocTypeTopField).ue(v.chromaSampleLocTypeBottomField ?? 0);
    }
    w.flag(v.timing !== undefined);
    if (v.timing) {
      w.u(32, v.timing.numUnitsInTick).u(32, v.timing.timeScale).flag(v.timing.fixedFrameRateFlag);
    }
    w.flag(v.nalHrd !== undefined);
    if (v.nalHrd) writeHrd(w, v.nalHrd);
    w.flag(v.vclHrd !== undefined);
    if (v.vclHrd) writeHrd(w, v.vclHrd);
    if (v.nalHrd || v.vclHrd) w.flag(v.lowDelayHrdFlag ?? false);
    w.flag(v.picStructPresentFlag);
    const b = v.bitstreamRestriction;
    w.flag(b !== undefined);
    if (b) {
      w.flag(b.motionVectorsOverPicBoundariesFlag).ue(b.maxBytesPerPicDenom).ue(b.maxBitsPerMbDenom);
      w.ue(b.log2MaxMvLengthHorizontal).ue(b.log2MaxMvLengthVertical).ue(b.maxNumReorderFrames);
      w.ue(b.maxDecFrameBuffering);
    }
  }
  return nal([0x67], w);
}

/** A Main-profile 4:2:0 progressive SPS to start synthetic ones from (64x64, no VUI). */
export function baseH264Sps(overrides: Partial<H264Sps> = {}): H264Sps {
  return {
    profileIdc: 77,
    constraintFlags: 0x40,
    levelIdc: 30,
    seqParameterSetId: 0,
    chromaFormatIdc: 1,
    separateColourPlaneFlag: false,
    bitDepthLumaMinus8: 0,
    bitDepthChromaMinus8: 0,
    qpprimeYZeroTransformBypassFlag: false,
    seqScalingMatrixPresentFlag: false,
    seqScalingListPresentFlag: [],
    scalingLists: [],
    log2MaxFrameNumMinus4: 0,
    picOrderCntType: 0,
    log2MaxPicOrderCntLsbMinus4: 2,
    deltaPicOrderAlwaysZeroFlag: false,
    offsetForNonRefPic: 0,
    offsetForTopToBottomField: 0,
    offsetForRefFrame: [],
    maxNumRefFrames: 4,
    gapsInFrameNumValueAllowedFlag: false,
    picWidthInMbsMinus1: 3,
    picHeightInMapUnitsMinus1: 3,
    frameMbsOnlyFlag: true,
    mbAdaptiveFrameFieldFlag: false,
    direct8x8InferenceFlag: true,
    width: 64,
    height: 64,
    ...overrides,
  };
}

/** An H.264 PPS NAL unit with the given ids and bottom_field_pic_order_in_frame_present_flag. */
export function writeH264Pps(ppsId = 0, spsId = 0, bottomFieldPicOrder = false): Uint8Array {
  const w = new BitWriter();
  w.ue(ppsId).ue(spsId).flag(true).flag(bottomFieldPicOrder).ue(0); // num_slice_groups_minus1
  w.ue(0).ue(0).flag(false).u(2, 0).se(0).se(0).se(0).flag(true).flag(false).flag(false);
  return nal([0x68], w);
}

/** What writeH264Slice() puts in a slice header. */
export interface H264SliceFields {
  idr: boolean;
  nalRefIdc: number;
  sliceType?: number;
  ppsId?: number;
  frameNum: number;
  idrPicId?: number;
  pocLsb?: number;
  deltaPocBottom?: number;
  deltaPoc0?: number;
  deltaPoc1?: number;
}

/** An H.264 coded slice NAL unit: its header up to the POC fields for `sps`, then filler bytes. */
export function writeH264Slice(f: H264SliceFields, sps: H264Sps, bottomFieldPicOrder = false): Uint8Array {
  const w = new BitWriter();
  w.ue(0).ue(f.sliceType ?? (f.idr ? 7 : 5)).ue(f.ppsId ?? 0).u(sps.log2MaxFrameNumMinus4 + 4, f.frameNum);
  if (!sps.frameMbsOnlyFlag) w.flag(false);
  if (f.idr) w.ue(f.idrPicId ?? 0);
  if (sps.picOrderCntType === 0) {
    w.u(sps.log2MaxPicOrderCntLsbMinus4 + 4, f.pocLsb ?? 0);
    if (bottomFieldPicOrder) w.se(f.deltaPocBottom ?? 0);
  } else if (sps.picOrderCntType === 1 && !sps.deltaPicOrderAlwaysZeroFlag) {
    w.se(f.deltaPoc0 ?? 0);
    if (bottomFieldPicOrder) w.se(f.deltaPoc1 ?? 0);
  }
  w.u(16, 0xbeef).u(16, 0xcafe);
  return nal([(f.nalRefIdc << 5) | (f.idr ? 5 : 1)], w);
}

/** Fields writeH265Sps() takes; everything else is fixed (4:2:0, 8 bits, one sub-layer, no RPS in the SPS). */
export interface H265SpsFields {
  width: number;
  height: number;
  log2MaxPocLsbMinus4: number;
  maxNumReorderPics: number;
  /** vui_num_units_in_tick / vui_time_scale, when a VUI with timing should be written. */
  timing?: [number, number];
}

/** An H.265 SPS NAL unit with the fields given. */
export function writeH265Sps(f: H265SpsFields): Uint8Array {
  const w = new BitWriter();
  w.u(4, 0).u(3, 0).flag(true); // vps id, max_sub_layers_minus1, temporal_id_nesting
  w.u(2, 0).flag(false).u(5, 1).u(32, 0x60000000).u(24, 0x900000).u(24, 0).u(8, 93);
  w.ue(0).ue(1).ue(f.width).ue(f.height).flag(false).ue(0).ue(0).ue(f.log2MaxPocLsbMinus4);
  w.flag(true).ue(Math.max(4, f.maxNumReorderPics)).ue(f.maxNumReorderPics).ue(0);
  w.ue(0).ue(3).ue(0).ue(3).ue(0).ue(0); // block sizes, CTB 64, transform depths
  w.flag(false).flag(false).flag(true).flag(false); // scaling list, amp, sao, pcm
  w.ue(0).flag(false).flag(true).flag(true); // no st_ref_pic_sets, no long-term, tmvp, strong intra
  w.flag(f.timing !== undefined);
  if (f.timing) {
    w.flag(false).flag(false).flag(false).flag(false); // aspect, overscan, video signal, chroma loc
    w.flag(false).flag(false).flag(false).flag(false); // neutral chroma, field seq, frame field info, default window
    w.flag(true).u(32, f.timing[0]).u(32, f.timing[1]).flag(false).flag(false); // timing, no poc proportional, no hrd
    w.flag(false); // bitstream_restriction
  }
  w.flag(false); // sps_extension_present_flag
  return nal([0x42, 0x01], w);
}

/** An H.265 PPS NAL unit (id 0, SPS 0) with no extra slice header bits. */
export function writeH265Pps(): Uint8Array {
  const w = new BitWriter();
  w.ue(0).ue(0).flag(false).flag(false).u(3, 0).flag(false).flag(false).ue(0).ue(0).se(0);
  w.flag(false).flag(false).flag(false).se(0).se(0).flag(false).flag(false).flag(false).flag(false);
  w.flag(false).flag(false).flag(true).flag(false).flag(false).flag(false).ue(0).flag(false).flag(false);
  return nal([0x44, 0x01], w);
}

/** An H.265 slice segment NAL unit: the first of its picture, of `type`, TemporalId `tid`, POC lsb `pocLsb`. */
export function writeH265Slice(
  type: number,
  pocLsb: number,
  log2MaxPocLsbMinus4: number,
  tid = 0,
): Uint8Array {
  const w = new BitWriter();
  w.flag(true);
  if (type >= 16 && type <= 23) w.flag(false);
  w.ue(0).ue(type >= 16 && type <= 23 ? 2 : 1);
  if (type !== 19 && type !== 20) w.u(log2MaxPocLsbMinus4 + 4, pocLsb);
  w.u(16, 0xbeef);
  return nal([type << 1, tid + 1], w);
}

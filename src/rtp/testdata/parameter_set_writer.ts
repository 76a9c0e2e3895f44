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
  /**
   * Take the branches encoders we can run do not: three sub-layers with sub-layer profile and
   * level, a conformance window, scaling lists, PCM, short-term RPS (explicit and predicted),
   * long-term pictures, and a VUI with a default display window, sub-picture HRD and bitstream
   * restriction.
   */
  everyBranch?: boolean;
}

function writeProfileTierLevel(w: BitWriter, subLayersMinus1: number): void {
  w.u(2, 0).flag(false).u(5, 1).u(32, 0x60000000).u(24, 0x900000).u(24, 0).u(8, 93);
  for (let i = 0; i < subLayersMinus1; i++) w.flag(i === 0).flag(true); // profile for sub-layer 0, levels for all
  if (subLayersMinus1 > 0) { for (let i = subLayersMinus1; i < 8; i++) w.u(2, 0); }
  for (let i = 0; i < subLayersMinus1; i++) {
    if (i === 0) w.u(2, 0).flag(false).u(5, 1).u(32, 0x60000000).u(24, 0x900000).u(24, 0);
    w.u(8, 60 + 3 * i);
  }
}

/** An H.265 SPS NAL unit with the fields given. */
export function writeH265Sps(f: H265SpsFields): Uint8Array {
  const w = new BitWriter();
  const every = f.everyBranch ?? false;
  const subLayersMinus1 = every ? 2 : 0;
  w.u(4, 0).u(3, subLayersMinus1).flag(true); // vps id, max_sub_layers_minus1, temporal_id_nesting
  writeProfileTierLevel(w, subLayersMinus1);
  w.ue(0).ue(1).ue(f.width).ue(f.height).flag(every);
  if (every) w.ue(1).ue(2).ue(0).ue(3); // conformance window, in chroma samples
  w.ue(0).ue(0).ue(f.log2MaxPocLsbMinus4);
  w.flag(true);
  for (let i = 0; i <= subLayersMinus1; i++) {
    w.ue(Math.max(4, f.maxNumReorderPics)).ue(f.maxNumReorderPics).ue(0);
  }
  w.ue(0).ue(3).ue(0).ue(3).ue(0).ue(0); // block sizes, CTB 64, transform depths
  w.flag(every); // scaling_list_enabled_flag
  if (every) {
    w.flag(true); // sps_scaling_list_data_present_flag
    for (let sizeId = 0; sizeId < 4; sizeId++) {
      for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
        const explicit = matrixId === 0;
        w.flag(explicit);
        if (!explicit) {
          w.ue(0); // scaling_list_pred_matrix_id_delta: the default list
          continue;
        }
        if (sizeId > 1) w.se(8); // scaling_list_dc_coef_minus8
        for (let i = 0; i < Math.min(64, 1 << (4 + (sizeId << 1))); i++) w.se(i % 2 === 0 ? 1 : -1);
      }
    }
  }
  w.flag(false).flag(true).flag(every); // amp, sao, pcm
  if (every) w.u(4, 7).u(4, 7).ue(0).ue(1).flag(true);
  if (every) {
    w.ue(4); // num_short_term_ref_pic_sets
    w.ue(2).ue(1).ue(0).flag(true).ue(1).flag(true).ue(0).flag(true); // set 0: -1, -3, +1
    w.flag(true).u(1, 1).ue(0); // set 1 predicted from set 0, deltaRps -1
    for (let j = 0; j <= 3; j++) {
      w.flag(j !== 1); // used_by_curr_pic_flag
      if (j === 1) w.flag(false); // use_delta_flag, only when not used
    }
    w.flag(false).ue(0).ue(0); // set 2: empty
    w.flag(true).u(1, 0).ue(1).flag(true); // set 3 predicted from set 2, deltaRps +2
    w.flag(true).ue(2); // long_term_ref_pics_present_flag, two
    w.u(f.log2MaxPocLsbMinus4 + 4, 5).flag(true).u(f.log2MaxPocLsbMinus4 + 4, 9).flag(false);
  } else {
    w.ue(0).flag(false); // no st_ref_pic_sets, no long-term
  }
  w.flag(true).flag(true); // tmvp, strong intra smoothing
  w.flag(f.timing !== undefined || every);
  if (f.timing !== undefined || every) {
    w.flag(every); // aspect_ratio_info_present_flag
    if (every) w.u(8, 255).u(16, 16).u(16, 11);
    w.flag(every); // overscan_info_present_flag
    if (every) w.flag(false);
    w.flag(every); // video_signal_type_present_flag
    if (every) w.u(3, 5).flag(false).flag(true).u(8, 9).u(8, 16).u(8, 9);
    w.flag(every); // chroma_loc_info_present_flag
    if (every) w.ue(2).ue(2);
    w.flag(false).flag(false).flag(every); // neutral chroma, field seq, frame field info
    w.flag(every); // default_display_window_flag
    if (every) w.ue(0).ue(0).ue(4).ue(4);
    const [tick, scale] = f.timing ?? [1001, 30000];
    w.flag(true).u(32, tick).u(32, scale).flag(every);
    if (every) w.ue(1); // vui_num_ticks_poc_diff_one_minus1
    w.flag(every); // vui_hrd_parameters_present_flag
    if (every) {
      w.flag(true).flag(true).flag(true); // nal, vcl, sub_pic_hrd_params_present_flag
      w.u(8, 23).u(5, 10).flag(true).u(5, 10); // sub-picture parameters
      w.u(4, 1).u(4, 2).u(4, 3).u(5, 23).u(5, 15).u(5, 5);
      for (let i = 0; i <= subLayersMinus1; i++) {
        const general = i !== 1;
        w.flag(general);
        if (!general) w.flag(false); // fixed_pic_rate_within_cvs_flag
        if (general) w.ue(0); // elemental_duration_in_tc_minus1
        else w.flag(false); // low_delay_hrd_flag
        w.ue(1); // cpb_cnt_minus1
        for (let k = 0; k < 2; k++) {
          for (let j = 0; j < 2; j++) w.ue(1000).ue(2000).ue(100).ue(200).flag(j === 0);
        }
      }
    }
    w.flag(every); // bitstream_restriction_flag
    if (every) w.flag(false).flag(true).flag(false).ue(4).ue(2).ue(1).ue(15).ue(15);
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

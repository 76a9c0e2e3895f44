/**
 * H.265 parameter sets and slice segment headers, read as far as hvcC, fMP4 and the DTS extractor
 * need them: the VPS to its sub-layer ordering (H.265 §7.3.2.1), the whole SPS through its VUI
 * (§7.3.2.2.1, Annex E.2.1), the PPS to its tile and wavefront flags (§7.3.2.3.1) and the slice
 * segment header to slice_pic_order_cnt_lsb (§7.3.6.1).
 *
 * Field names are the spec's syntax element names in camelCase; `width` and `height` are derived.
 * Fields a branch did not code hold their inferred value or 0 / false; groups not coded are absent.
 * Every parser takes a whole NAL unit (2-byte header first, emulation prevention in place) and
 * throws {@link RbspError}.
 *
 * @module
 */
import { BitReader, RbspError, removeEmulationPrevention, removeEmulationPreventionInto } from "./rbsp.ts";

/** A sub-layer's profile and level (§7.3.3); fields absent when their present flag is 0. */
export interface H265SubLayerProfileLevel {
  subLayerProfilePresentFlag: boolean;
  subLayerLevelPresentFlag: boolean;
  subLayerProfileSpace?: number;
  subLayerTierFlag?: boolean;
  subLayerProfileIdc?: number;
  subLayerProfileCompatibilityFlags?: number;
  subLayerConstraintIndicatorFlags?: number;
  subLayerLevelIdc?: number;
}

/** profile_tier_level(1, maxNumSubLayersMinus1) (§7.3.3). */
export interface H265ProfileTierLevel {
  generalProfileSpace: number;
  generalTierFlag: boolean;
  generalProfileIdc: number;
  /** general_profile_compatibility_flag[0..31] as read, flag 0 in the most significant bit. */
  generalProfileCompatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag to general_inbld_flag, as hvcC carries them. */
  generalConstraintIndicatorFlags: number;
  generalLevelIdc: number;
  subLayers: H265SubLayerProfileLevel[];
}

/** video_parameter_set_rbsp (§7.3.2.1) up to the sub-layer ordering info. */
export interface H265Vps {
  vpsVideoParameterSetId: number;
  vpsBaseLayerInternalFlag: boolean;
  vpsBaseLayerAvailableFlag: boolean;
  vpsMaxLayersMinus1: number;
  vpsMaxSubLayersMinus1: number;
  vpsTemporalIdNestingFlag: boolean;
  profileTierLevel: H265ProfileTierLevel;
  vpsSubLayerOrderingInfoPresentFlag: boolean;
  /** One entry per sub-layer; entries not coded take the highest sub-layer's value (§7.4.3.1). */
  vpsMaxDecPicBufferingMinus1: number[];
  vpsMaxNumReorderPics: number[];
  vpsMaxLatencyIncreasePlus1: number[];
}

/** conf_win_*_offset (§7.4.3.2.1), in chroma sample units. */
export interface H265ConformanceWindow {
  confWinLeftOffset: number;
  confWinRightOffset: number;
  confWinTopOffset: number;
  confWinBottomOffset: number;
}

/** def_disp_win_*_offset (Annex E.3.1). */
export interface H265DefaultDisplayWindow {
  defDispWinLeftOffset: number;
  defDispWinRightOffset: number;
  defDispWinTopOffset: number;
  defDispWinBottomOffset: number;
}

/** vui timing (Annex E.3.1): a picture lasts vuiNumUnitsInTick / vuiTimeScale seconds. */
export interface H265TimingInfo {
  vuiNumUnitsInTick: number;
  vuiTimeScale: number;
  vuiPocProportionalToTimingFlag: boolean;
  vuiNumTicksPocDiffOneMinus1?: number;
}

/** bitstream_restriction fields (Annex E.3.1); minSpatialSegmentationIdc goes into hvcC. */
export interface H265BitstreamRestriction {
  tilesFixedStructureFlag: boolean;
  motionVectorsOverPicBoundariesFlag: boolean;
  restrictedRefPicListsFlag: boolean;
  minSpatialSegmentationIdc: number;
  maxBytesPerPicDenom: number;
  maxBitsPerMinCuDenom: number;
  log2MaxMvLengthHorizontal: number;
  log2MaxMvLengthVertical: number;
}

/** vui_parameters() (Annex E.2.1); the HRD is skipped, its presence kept. */
export interface H265Vui {
  aspectRatioIdc?: number;
  sarWidth?: number;
  sarHeight?: number;
  overscanAppropriateFlag?: boolean;
  videoFormat?: number;
  videoFullRangeFlag?: boolean;
  colourPrimaries?: number;
  transferCharacteristics?: number;
  matrixCoeffs?: number;
  chromaSampleLocTypeTopField?: number;
  chromaSampleLocTypeBottomField?: number;
  neutralChromaIndicationFlag: boolean;
  fieldSeqFlag: boolean;
  frameFieldInfoPresentFlag: boolean;
  defaultDisplayWindow?: H265DefaultDisplayWindow;
  timing?: H265TimingInfo;
  vuiHrdParametersPresentFlag: boolean;
  bitstreamRestriction?: H265BitstreamRestriction;
}

/** seq_parameter_set_rbsp (§7.3.2.2.1) through its VUI, and the picture size it implies. */
export interface H265Sps {
  spsVideoParameterSetId: number;
  spsMaxSubLayersMinus1: number;
  spsTemporalIdNestingFlag: boolean;
  profileTierLevel: H265ProfileTierLevel;
  spsSeqParameterSetId: number;
  chromaFormatIdc: number;
  separateColourPlaneFlag: boolean;
  picWidthInLumaSamples: number;
  picHeightInLumaSamples: number;
  conformanceWindow?: H265ConformanceWindow;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
  log2MaxPicOrderCntLsbMinus4: number;
  spsSubLayerOrderingInfoPresentFlag: boolean;
  /** One entry per sub-layer; entries not coded take the highest sub-layer's value (§7.4.3.2.1). */
  spsMaxDecPicBufferingMinus1: number[];
  spsMaxNumReorderPics: number[];
  spsMaxLatencyIncreasePlus1: number[];
  log2MinLumaCodingBlockSizeMinus3: number;
  log2DiffMaxMinLumaCodingBlockSize: number;
  log2MinLumaTransformBlockSizeMinus2: number;
  log2DiffMaxMinLumaTransformBlockSize: number;
  maxTransformHierarchyDepthInter: number;
  maxTransformHierarchyDepthIntra: number;
  scalingListEnabledFlag: boolean;
  spsScalingListDataPresentFlag: boolean;
  ampEnabledFlag: boolean;
  sampleAdaptiveOffsetEnabledFlag: boolean;
  pcmEnabledFlag: boolean;
  numShortTermRefPicSets: number;
  longTermRefPicsPresentFlag: boolean;
  numLongTermRefPicsSps: number;
  spsTemporalMvpEnabledFlag: boolean;
  strongIntraSmoothingEnabledFlag: boolean;
  vui?: H265Vui;
  /** Displayed luma width in pixels: the coded width less the conformance window. */
  width: number;
  /** Displayed luma height in pixels. */
  height: number;
}

/** pic_parameter_set_rbsp (§7.3.2.3.1) to entropy_coding_sync_enabled_flag. */
export interface H265Pps {
  ppsPicParameterSetId: number;
  ppsSeqParameterSetId: number;
  dependentSliceSegmentsEnabledFlag: boolean;
  outputFlagPresentFlag: boolean;
  numExtraSliceHeaderBits: number;
  signDataHidingEnabledFlag: boolean;
  cabacInitPresentFlag: boolean;
  numRefIdxL0DefaultActiveMinus1: number;
  numRefIdxL1DefaultActiveMinus1: number;
  initQpMinus26: number;
  constrainedIntraPredFlag: boolean;
  transformSkipEnabledFlag: boolean;
  cuQpDeltaEnabledFlag: boolean;
  diffCuQpDeltaDepth: number;
  ppsCbQpOffset: number;
  ppsCrQpOffset: number;
  ppsSliceChromaQpOffsetsPresentFlag: boolean;
  weightedPredFlag: boolean;
  weightedBipredFlag: boolean;
  transquantBypassEnabledFlag: boolean;
  tilesEnabledFlag: boolean;
  entropyCodingSyncEnabledFlag: boolean;
}

/** slice_segment_header (§7.3.6.1) to slice_pic_order_cnt_lsb; a dependent segment stops at its flag. */
export interface H265SliceHeader {
  nalUnitType: number;
  nuhTemporalIdPlus1: number;
  firstSliceSegmentInPicFlag: boolean;
  noOutputOfPriorPicsFlag: boolean;
  slicePicParameterSetId: number;
  dependentSliceSegmentFlag: boolean;
  sliceSegmentAddress: number;
  sliceType: number;
  picOutputFlag: boolean;
  /** 0 for IDR pictures, whose POC is 0 (§8.3.1). */
  slicePicOrderCntLsb: number;
}

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const NAL_BLA_W_LP = 16;
const NAL_IDR_W_RADL = 19;
const NAL_IDR_N_LP = 20;
const NAL_RSV_IRAP_23 = 23;
const LAST_VCL = 31;
const MAX_SUB_LAYERS_MINUS1 = 6;
const MAX_DPB_MINUS1 = 15;
const MAX_SHORT_TERM_RPS = 64;
const MAX_LONG_TERM_PICS = 32;
const MAX_LOG2_CTB = 6;
const EXTENDED_SAR = 255;
const SLICE_HEADER_BYTES = 64;

function nalRbsp(nal: Uint8Array, type: number, what: string): Uint8Array {
  if (nal.length < 3 || (nal[0] & 0x80) !== 0 || ((nal[0] >> 1) & 0x3f) !== type) {
    throw new RbspError(`Not an H.265 ${what} NAL unit (type ${type})`);
  }
  return removeEmulationPrevention(nal, 2);
}

/** profile_tier_level(1, maxNumSubLayersMinus1) (§7.3.3). */
function readProfileTierLevel(r: BitReader, maxNumSubLayersMinus1: number): H265ProfileTierLevel {
  const ptl: H265ProfileTierLevel = {
    generalProfileSpace: r.u(2),
    generalTierFlag: r.flag(),
    generalProfileIdc: r.u(5),
    generalProfileCompatibilityFlags: r.u(32),
    generalConstraintIndicatorFlags: r.u(24) * 2 ** 24 + r.u(24),
    generalLevelIdc: r.u(8),
    subLayers: [],
  };
  for (let i = 0; i < maxNumSubLayersMinus1; i++) {
    ptl.subLayers.push({ subLayerProfilePresentFlag: r.flag(), subLayerLevelPresentFlag: r.flag() });
  }
  if (maxNumSubLayersMinus1 > 0) r.skip(2 * (8 - maxNumSubLayersMinus1)); // reserved_zero_2bits
  for (const sub of ptl.subLayers) {
    if (sub.subLayerProfilePresentFlag) {
      sub.subLayerProfileSpace = r.u(2);
      sub.subLayerTierFlag = r.flag();
      sub.subLayerProfileIdc = r.u(5);
      sub.subLayerProfileCompatibilityFlags = r.u(32);
      sub.subLayerConstraintIndicatorFlags = r.u(24) * 2 ** 24 + r.u(24);
    }
    if (sub.subLayerLevelPresentFlag) sub.subLayerLevelIdc = r.u(8);
  }
  return ptl;
}

/** The three sub-layer ordering arrays, the uncoded lower entries copied from the highest (§7.4.3.1). */
function readSubLayerOrdering(
  r: BitReader,
  presentFlag: boolean,
  maxSubLayersMinus1: number,
): [number[], number[], number[]] {
  const dec: number[] = [];
  const reorder: number[] = [];
  const latency: number[] = [];
  for (let i = presentFlag ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    const d = r.ueMax(MAX_DPB_MINUS1, "max_dec_pic_buffering_minus1");
    dec.push(d);
    reorder.push(r.ueMax(d, "max_num_reorder_pics"));
    latency.push(r.ue());
  }
  while (dec.length <= maxSubLayersMinus1) {
    dec.unshift(dec[0]);
    reorder.unshift(reorder[0]);
    latency.unshift(latency[0]);
  }
  return [dec, reorder, latency];
}

/** Parses an H.265 VPS NAL unit (§7.3.2.1) up to its sub-layer ordering; throws RbspError; allocates. */
export function parseH265Vps(nal: Uint8Array): H265Vps {
  const r = new BitReader(nalRbsp(nal, NAL_VPS, "VPS"));
  const vpsVideoParameterSetId = r.u(4);
  const vpsBaseLayerInternalFlag = r.flag();
  const vpsBaseLayerAvailableFlag = r.flag();
  const vpsMaxLayersMinus1 = r.u(6);
  const vpsMaxSubLayersMinus1 = r.u(3);
  if (vpsMaxSubLayersMinus1 > MAX_SUB_LAYERS_MINUS1) throw new RbspError("vps_max_sub_layers_minus1 is 7");
  const vpsTemporalIdNestingFlag = r.flag();
  r.skip(16); // vps_reserved_0xffff_16bits
  const profileTierLevel = readProfileTierLevel(r, vpsMaxSubLayersMinus1);
  const vpsSubLayerOrderingInfoPresentFlag = r.flag();
  const [dec, reorder, latency] = readSubLayerOrdering(
    r,
    vpsSubLayerOrderingInfoPresentFlag,
    vpsMaxSubLayersMinus1,
  );
  return {
    vpsVideoParameterSetId,
    vpsBaseLayerInternalFlag,
    vpsBaseLayerAvailableFlag,
    vpsMaxLayersMinus1,
    vpsMaxSubLayersMinus1,
    vpsTemporalIdNestingFlag,
    profileTierLevel,
    vpsSubLayerOrderingInfoPresentFlag,
    vpsMaxDecPicBufferingMinus1: dec,
    vpsMaxNumReorderPics: reorder,
    vpsMaxLatencyIncreasePlus1: latency,
  };
}

/** Parses an H.265 SPS NAL unit (§7.3.2.2.1) through its VUI; throws RbspError; allocates. */
export function parseH265Sps(nal: Uint8Array): H265Sps {
  const r = new BitReader(nalRbsp(nal, NAL_SPS, "SPS"));
  const spsVideoParameterSetId = r.u(4);
  const spsMaxSubLayersMinus1 = r.u(3);
  if (spsMaxSubLayersMinus1 > MAX_SUB_LAYERS_MINUS1) throw new RbspError("sps_max_sub_layers_minus1 is 7");
  const spsTemporalIdNestingFlag = r.flag();
  const profileTierLevel = readProfileTierLevel(r, spsMaxSubLayersMinus1);
  const spsSeqParameterSetId = r.ueMax(15, "sps_seq_parameter_set_id");
  const chromaFormatIdc = r.ueMax(3, "chroma_format_idc");
  const separateColourPlaneFlag = chromaFormatIdc === 3 ? r.flag() : false;
  const picWidthInLumaSamples = r.ue();
  const picHeightInLumaSamples = r.ue();
  let conformanceWindow: H265ConformanceWindow | undefined;
  if (r.flag()) {
    conformanceWindow = {
      confWinLeftOffset: r.ue(),
      confWinRightOffset: r.ue(),
      confWinTopOffset: r.ue(),
      confWinBottomOffset: r.ue(),
    };
  }
  const bitDepthLumaMinus8 = r.ueMax(8, "bit_depth_luma_minus8");
  const bitDepthChromaMinus8 = r.ueMax(8, "bit_depth_chroma_minus8");
  const log2MaxPicOrderCntLsbMinus4 = r.ueMax(12, "log2_max_pic_order_cnt_lsb_minus4");
  const spsSubLayerOrderingInfoPresentFlag = r.flag();
  const [dec, reorder, latency] = readSubLayerOrdering(
    r,
    spsSubLayerOrderingInfoPresentFlag,
    spsMaxSubLayersMinus1,
  );
  const log2MinLumaCodingBlockSizeMinus3 = r.ueMax(
    MAX_LOG2_CTB - 3,
    "log2_min_luma_coding_block_size_minus3",
  );
  const log2DiffMaxMinLumaCodingBlockSize = r.ueMax(
    MAX_LOG2_CTB - 3 - log2MinLumaCodingBlockSizeMinus3,
    "log2_diff_max_min_luma_coding_block_size",
  );
  const log2MinLumaTransformBlockSizeMinus2 = r.ueMax(3, "log2_min_luma_transform_block_size_minus2");
  const log2DiffMaxMinLumaTransformBlockSize = r.ueMax(3, "log2_diff_max_min_luma_transform_block_size");
  const maxTransformHierarchyDepthInter = r.ueMax(MAX_LOG2_CTB, "max_transform_hierarchy_depth_inter");
  const maxTransformHierarchyDepthIntra = r.ueMax(MAX_LOG2_CTB, "max_transform_hierarchy_depth_intra");
  const scalingListEnabledFlag = r.flag();
  const spsScalingListDataPresentFlag = scalingListEnabledFlag ? r.flag() : false;
  if (spsScalingListDataPresentFlag) skipScalingListData(r);
  const ampEnabledFlag = r.flag();
  const sampleAdaptiveOffsetEnabledFlag = r.flag();
  const pcmEnabledFlag = r.flag();
  if (pcmEnabledFlag) {
    r.skip(8); // pcm_sample_bit_depth_luma_minus1, pcm_sample_bit_depth_chroma_minus1
    r.ueMax(2, "log2_min_pcm_luma_coding_block_size_minus3");
    r.ueMax(2, "log2_diff_max_min_pcm_luma_coding_block_size");
    r.skip(1); // pcm_loop_filter_disabled_flag
  }
  const numShortTermRefPicSets = r.ueMax(MAX_SHORT_TERM_RPS, "num_short_term_ref_pic_sets");
  skipShortTermRefPicSets(r, numShortTermRefPicSets, dec[spsMaxSubLayersMinus1]);
  const longTermRefPicsPresentFlag = r.flag();
  let numLongTermRefPicsSps = 0;
  if (longTermRefPicsPresentFlag) {
    numLongTermRefPicsSps = r.ueMax(MAX_LONG_TERM_PICS, "num_long_term_ref_pics_sps");
    // lt_ref_pic_poc_lsb_sps u(v) and used_by_curr_pic_lt_sps_flag each
    r.skip(numLongTermRefPicsSps * (log2MaxPicOrderCntLsbMinus4 + 4 + 1));
  }
  const spsTemporalMvpEnabledFlag = r.flag();
  const strongIntraSmoothingEnabledFlag = r.flag();
  const vui = r.flag() ? readVui(r, spsMaxSubLayersMinus1) : undefined;

  // §7.4.3.2.1: the window is in chroma sample units (luma for 4:4:4, monochrome, separate planes).
  const chromaArrayType = separateColourPlaneFlag ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const w = conformanceWindow;
  const width = picWidthInLumaSamples -
    subWidthC * ((w?.confWinLeftOffset ?? 0) + (w?.confWinRightOffset ?? 0));
  const height = picHeightInLumaSamples -
    subHeightC * ((w?.confWinTopOffset ?? 0) + (w?.confWinBottomOffset ?? 0));
  if (width <= 0 || height <= 0) {
    throw new RbspError(`SPS conformance window leaves ${width}x${height} pixels`);
  }

  const sps: H265Sps = {
    spsVideoParameterSetId,
    spsMaxSubLayersMinus1,
    spsTemporalIdNestingFlag,
    profileTierLevel,
    spsSeqParameterSetId,
    chromaFormatIdc,
    separateColourPlaneFlag,
    picWidthInLumaSamples,
    picHeightInLumaSamples,
    bitDepthLumaMinus8,
    bitDepthChromaMinus8,
    log2MaxPicOrderCntLsbMinus4,
    spsSubLayerOrderingInfoPresentFlag,
    spsMaxDecPicBufferingMinus1: dec,
    spsMaxNumReorderPics: reorder,
    spsMaxLatencyIncreasePlus1: latency,
    log2MinLumaCodingBlockSizeMinus3,
    log2DiffMaxMinLumaCodingBlockSize,
    log2MinLumaTransformBlockSizeMinus2,
    log2DiffMaxMinLumaTransformBlockSize,
    maxTransformHierarchyDepthInter,
    maxTransformHierarchyDepthIntra,
    scalingListEnabledFlag,
    spsScalingListDataPresentFlag,
    ampEnabledFlag,
    sampleAdaptiveOffsetEnabledFlag,
    pcmEnabledFlag,
    numShortTermRefPicSets,
    longTermRefPicsPresentFlag,
    numLongTermRefPicsSps,
    spsTemporalMvpEnabledFlag,
    strongIntraSmoothingEnabledFlag,
    width,
    height,
  };
  if (conformanceWindow !== undefined) sps.conformanceWindow = conformanceWindow;
  if (vui !== undefined) sps.vui = vui;
  return sps;
}

/** scaling_list_data() (§7.3.4): read only to get past it. */
function skipScalingListData(r: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.flag()) {
        r.ueMax(sizeId === 3 ? matrixId / 3 : matrixId, "scaling_list_pred_matrix_id_delta");
        continue;
      }
      const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
      if (sizeId > 1) r.seRange(-7, 247, "scaling_list_dc_coef_minus8");
      for (let i = 0; i < coefNum; i++) r.seRange(-128, 127, "scaling_list_delta_coef");
    }
  }
}

/**
 * The SPS's st_ref_pic_set(i) (§7.3.7), read to get past them. An inter-predicted set's size
 * depends on its reference set's delta POCs, so those are derived (§7.4.8, equations 7-61, 7-62).
 */
function skipShortTermRefPicSets(r: BitReader, count: number, maxDecPicBufferingMinus1: number): void {
  const s0: number[][] = [];
  const s1: number[][] = [];
  for (let idx = 0; idx < count; idx++) {
    if (idx !== 0 && r.flag()) {
      // inter_ref_pic_set_prediction_flag: predicted from set idx - 1 (delta_idx_minus1 is only in slice headers)
      const sign = r.u(1);
      const absDeltaRps = r.ueMax(2 ** 15 - 1, "abs_delta_rps_minus1") + 1;
      const deltaRps = sign === 1 ? -absDeltaRps : absDeltaRps;
      const refS0 = s0[idx - 1];
      const refS1 = s1[idx - 1];
      const numDeltaPocs = refS0.length + refS1.length;
      const useDelta: boolean[] = [];
      for (let j = 0; j <= numDeltaPocs; j++) {
        const used = r.flag();
        useDelta.push(used ? true : r.flag());
      }
      const neg: number[] = [];
      const pos: number[] = [];
      for (let j = refS1.length - 1; j >= 0; j--) {
        const d = refS1[j] + deltaRps;
        if (d < 0 && useDelta[refS0.length + j]) neg.push(d);
      }
      if (deltaRps < 0 && useDelta[numDeltaPocs]) neg.push(deltaRps);
      for (let j = 0; j < refS0.length; j++) {
        const d = refS0[j] + deltaRps;
        if (d < 0 && useDelta[j]) neg.push(d);
      }
      for (let j = refS0.length - 1; j >= 0; j--) {
        const d = refS0[j] + deltaRps;
        if (d > 0 && useDelta[j]) pos.push(d);
      }
      if (deltaRps > 0 && useDelta[numDeltaPocs]) pos.push(deltaRps);
      for (let j = 0; j < refS1.length; j++) {
        const d = refS1[j] + deltaRps;
        if (d > 0 && useDelta[refS0.length + j]) pos.push(d);
      }
      if (neg.length + pos.length > maxDecPicBufferingMinus1 + 1) {
        throw new RbspError(`st_ref_pic_set ${idx} predicts ${neg.length + pos.length} pictures`);
      }
      s0.push(neg);
      s1.push(pos);
      continue;
    }
    const numNegative = r.ueMax(maxDecPicBufferingMinus1, "num_negative_pics");
    const numPositive = r.ueMax(maxDecPicBufferingMinus1 - numNegative, "num_positive_pics");
    const neg: number[] = [];
    const pos: number[] = [];
    let poc = 0;
    for (let i = 0; i < numNegative; i++) {
      poc -= r.ueMax(2 ** 15 - 1, "delta_poc_s0_minus1") + 1;
      r.skip(1); // used_by_curr_pic_s0_flag
      neg.push(poc);
    }
    poc = 0;
    for (let i = 0; i < numPositive; i++) {
      poc += r.ueMax(2 ** 15 - 1, "delta_poc_s1_minus1") + 1;
      r.skip(1); // used_by_curr_pic_s1_flag
      pos.push(poc);
    }
    s0.push(neg);
    s1.push(pos);
  }
}

/** vui_parameters() (Annex E.2.1). */
function readVui(r: BitReader, maxSubLayersMinus1: number): H265Vui {
  const vui: H265Vui = {
    neutralChromaIndicationFlag: false,
    fieldSeqFlag: false,
    frameFieldInfoPresentFlag: false,
    vuiHrdParametersPresentFlag: false,
  };
  if (r.flag()) {
    vui.aspectRatioIdc = r.u(8);
    if (vui.aspectRatioIdc === EXTENDED_SAR) {
      vui.sarWidth = r.u(16);
      vui.sarHeight = r.u(16);
    }
  }
  if (r.flag()) vui.overscanAppropriateFlag = r.flag();
  if (r.flag()) {
    vui.videoFormat = r.u(3);
    vui.videoFullRangeFlag = r.flag();
    if (r.flag()) {
      vui.colourPrimaries = r.u(8);
      vui.transferCharacteristics = r.u(8);
      vui.matrixCoeffs = r.u(8);
    }
  }
  if (r.flag()) {
    vui.chromaSampleLocTypeTopField = r.ueMax(5, "chroma_sample_loc_type_top_field");
    vui.chromaSampleLocTypeBottomField = r.ueMax(5, "chroma_sample_loc_type_bottom_field");
  }
  vui.neutralChromaIndicationFlag = r.flag();
  vui.fieldSeqFlag = r.flag();
  vui.frameFieldInfoPresentFlag = r.flag();
  if (r.flag()) {
    vui.defaultDisplayWindow = {
      defDispWinLeftOffset: r.ue(),
      defDispWinRightOffset: r.ue(),
      defDispWinTopOffset: r.ue(),
      defDispWinBottomOffset: r.ue(),
    };
  }
  if (r.flag()) {
    const timing: H265TimingInfo = {
      vuiNumUnitsInTick: r.u(32),
      vuiTimeScale: r.u(32),
      vuiPocProportionalToTimingFlag: r.flag(),
    };
    if (timing.vuiPocProportionalToTimingFlag) timing.vuiNumTicksPocDiffOneMinus1 = r.ue();
    vui.timing = timing;
    vui.vuiHrdParametersPresentFlag = r.flag();
    if (vui.vuiHrdParametersPresentFlag) skipHrd(r, maxSubLayersMinus1);
  }
  if (r.flag()) {
    vui.bitstreamRestriction = {
      tilesFixedStructureFlag: r.flag(),
      motionVectorsOverPicBoundariesFlag: r.flag(),
      restrictedRefPicListsFlag: r.flag(),
      minSpatialSegmentationIdc: r.ueMax(4095, "min_spatial_segmentation_idc"),
      maxBytesPerPicDenom: r.ueMax(16, "max_bytes_per_pic_denom"),
      maxBitsPerMinCuDenom: r.ueMax(16, "max_bits_per_min_cu_denom"),
      log2MaxMvLengthHorizontal: r.ueMax(16, "log2_max_mv_length_horizontal"),
      log2MaxMvLengthVertical: r.ueMax(16, "log2_max_mv_length_vertical"),
    };
  }
  return vui;
}

/** hrd_parameters(1, maxNumSubLayersMinus1) (Annex E.2.2): read only to get past it. */
function skipHrd(r: BitReader, maxNumSubLayersMinus1: number): void {
  const nal = r.flag();
  const vcl = r.flag();
  let subPic = false;
  if (nal || vcl) {
    subPic = r.flag();
    if (subPic) r.skip(8 + 5 + 1 + 5); // tick_divisor_minus2 .. dpb_output_delay_du_length_minus1
    r.skip(4 + 4); // bit_rate_scale, cpb_size_scale
    if (subPic) r.skip(4); // cpb_size_du_scale
    r.skip(5 + 5 + 5); // the three length fields
  }
  for (let i = 0; i <= maxNumSubLayersMinus1; i++) {
    const fixedGeneral = r.flag();
    const fixedWithinCvs = fixedGeneral ? true : r.flag();
    let lowDelay = false;
    if (fixedWithinCvs) r.ue(); // elemental_duration_in_tc_minus1
    else lowDelay = r.flag();
    const cpbCnt = lowDelay ? 1 : r.ueMax(31, "cpb_cnt_minus1") + 1;
    for (let k = (nal ? 1 : 0) + (vcl ? 1 : 0); k > 0; k--) {
      for (let j = 0; j < cpbCnt; j++) {
        r.ue(); // bit_rate_value_minus1
        r.ue(); // cpb_size_value_minus1
        if (subPic) {
          r.ue(); // cpb_size_du_value_minus1
          r.ue(); // bit_rate_du_value_minus1
        }
        r.skip(1); // cbr_flag
      }
    }
  }
}

/** Parses an H.265 PPS NAL unit (§7.3.2.3.1) to its tile and wavefront flags; throws RbspError. */
export function parseH265Pps(nal: Uint8Array): H265Pps {
  const r = new BitReader(nalRbsp(nal, NAL_PPS, "PPS"));
  const ppsPicParameterSetId = r.ueMax(63, "pps_pic_parameter_set_id");
  const ppsSeqParameterSetId = r.ueMax(15, "pps_seq_parameter_set_id");
  const dependentSliceSegmentsEnabledFlag = r.flag();
  const outputFlagPresentFlag = r.flag();
  const numExtraSliceHeaderBits = r.u(3);
  const signDataHidingEnabledFlag = r.flag();
  const cabacInitPresentFlag = r.flag();
  const numRefIdxL0DefaultActiveMinus1 = r.ueMax(14, "num_ref_idx_l0_default_active_minus1");
  const numRefIdxL1DefaultActiveMinus1 = r.ueMax(14, "num_ref_idx_l1_default_active_minus1");
  const initQpMinus26 = r.seRange(-(26 + 6 * 8), 25, "init_qp_minus26");
  const constrainedIntraPredFlag = r.flag();
  const transformSkipEnabledFlag = r.flag();
  const cuQpDeltaEnabledFlag = r.flag();
  const diffCuQpDeltaDepth = cuQpDeltaEnabledFlag ? r.ueMax(3, "diff_cu_qp_delta_depth") : 0;
  return {
    ppsPicParameterSetId,
    ppsSeqParameterSetId,
    dependentSliceSegmentsEnabledFlag,
    outputFlagPresentFlag,
    numExtraSliceHeaderBits,
    signDataHidingEnabledFlag,
    cabacInitPresentFlag,
    numRefIdxL0DefaultActiveMinus1,
    numRefIdxL1DefaultActiveMinus1,
    initQpMinus26,
    constrainedIntraPredFlag,
    transformSkipEnabledFlag,
    cuQpDeltaEnabledFlag,
    diffCuQpDeltaDepth,
    ppsCbQpOffset: r.seRange(-12, 12, "pps_cb_qp_offset"),
    ppsCrQpOffset: r.seRange(-12, 12, "pps_cr_qp_offset"),
    ppsSliceChromaQpOffsetsPresentFlag: r.flag(),
    weightedPredFlag: r.flag(),
    weightedBipredFlag: r.flag(),
    transquantBypassEnabledFlag: r.flag(),
    tilesEnabledFlag: r.flag(),
    entropyCodingSyncEnabledFlag: r.flag(),
  };
}

/** MaxPicOrderCntLsb (§7.4.3.2.1): where slice_pic_order_cnt_lsb wraps. */
export function h265MaxPicOrderCntLsb(sps: H265Sps): number {
  return 2 ** (sps.log2MaxPicOrderCntLsbMinus4 + 4);
}

/** True for IRAP NAL unit types, BLA to the reserved 23 (§7.4.2.2). */
export function h265IsIrap(nalUnitType: number): boolean {
  return nalUnitType >= NAL_BLA_W_LP && nalUnitType <= NAL_RSV_IRAP_23;
}

/** Bits of slice_segment_address: Ceil(Log2(PicSizeInCtbsY)) (§7.4.7.1). */
function sliceAddressBits(sps: H265Sps): number {
  const ctbLog2 = sps.log2MinLumaCodingBlockSizeMinus3 + 3 + sps.log2DiffMaxMinLumaCodingBlockSize;
  const ctb = 2 ** ctbLog2;
  const ctbs = Math.ceil(sps.picWidthInLumaSamples / ctb) * Math.ceil(sps.picHeightInLumaSamples / ctb);
  return ctbs <= 1 ? 0 : Math.ceil(Math.log2(ctbs));
}

const sliceScratch = new Uint8Array(SLICE_HEADER_BYTES);
const sliceReader = new BitReader(sliceScratch);

/**
 * Reads a slice segment header (VCL NAL types 0-31, §7.3.6.1) up to slice_pic_order_cnt_lsb, from
 * at most its first 64 bytes; the PPS and SPS it names must be in the maps. Throws RbspError.
 * Per frame: allocates only the returned header.
 */
export function parseH265SliceHeader(
  nal: Uint8Array,
  ppsById: ReadonlyMap<number, H265Pps>,
  spsById: ReadonlyMap<number, H265Sps>,
): H265SliceHeader {
  const nalUnitType = nal.length > 2 ? (nal[0] >> 1) & 0x3f : -1;
  if (nalUnitType < 0 || nalUnitType > LAST_VCL) throw new RbspError("Not an H.265 slice segment NAL unit");
  const n = removeEmulationPreventionInto(nal, 2, nal.length, sliceScratch);
  const r = sliceReader.reset(sliceScratch, 0, n);
  const firstSliceSegmentInPicFlag = r.flag();
  const noOutputOfPriorPicsFlag = h265IsIrap(nalUnitType) ? r.flag() : false;
  const slicePicParameterSetId = r.ueMax(63, "slice_pic_parameter_set_id");
  const pps = ppsById.get(slicePicParameterSetId);
  if (pps === undefined) throw new RbspError(`Slice refers to PPS ${slicePicParameterSetId}, not received`);
  const sps = spsById.get(pps.ppsSeqParameterSetId);
  if (sps === undefined) {
    throw new RbspError(
      `PPS ${slicePicParameterSetId} refers to SPS ${pps.ppsSeqParameterSetId}, not received`,
    );
  }
  const header: H265SliceHeader = {
    nalUnitType,
    nuhTemporalIdPlus1: nal[1] & 7,
    firstSliceSegmentInPicFlag,
    noOutputOfPriorPicsFlag,
    slicePicParameterSetId,
    dependentSliceSegmentFlag: false,
    sliceSegmentAddress: 0,
    sliceType: 0,
    picOutputFlag: true,
    slicePicOrderCntLsb: 0,
  };
  if (!firstSliceSegmentInPicFlag) {
    if (pps.dependentSliceSegmentsEnabledFlag) header.dependentSliceSegmentFlag = r.flag();
    header.sliceSegmentAddress = r.u(sliceAddressBits(sps));
  }
  if (header.dependentSliceSegmentFlag) return header;
  r.skip(pps.numExtraSliceHeaderBits); // slice_reserved_flag[i]
  header.sliceType = r.ueMax(2, "slice_type");
  if (pps.outputFlagPresentFlag) header.picOutputFlag = r.flag();
  if (sps.separateColourPlaneFlag) r.skip(2); // colour_plane_id
  if (nalUnitType !== NAL_IDR_W_RADL && nalUnitType !== NAL_IDR_N_LP) {
    header.slicePicOrderCntLsb = r.u(sps.log2MaxPicOrderCntLsbMinus4 + 4);
  }
  return header;
}

/**
 * H.264 parameter sets and slice headers, read as far as fMP4 and the DTS extractor need them:
 * the whole sequence parameter set with its VUI (H.264 §7.3.2.1.1, Annex E.1.1), the PPS fields a
 * slice header depends on (§7.3.2.2) and the slice header up to the picture order count (§7.3.3).
 *
 * Field names are the spec's syntax element names in camelCase (`log2_max_frame_num_minus4` is
 * `log2MaxFrameNumMinus4`); `width` and `height` are derived. Fields a syntax branch did not code
 * hold their inferred value (chroma_format_idc 1 outside the high profiles) or 0 / false / [].
 * Every parser takes a whole NAL unit (header byte first, emulation prevention in place) and throws
 * {@link RbspError}.
 *
 * @module
 */
import { BitReader, RbspError, removeEmulationPrevention, removeEmulationPreventionInto } from "./rbsp.ts";

/** frame_crop_*_offset (§7.4.2.1.1), in crop units, not pixels. */
export interface H264FrameCropping {
  frameCropLeftOffset: number;
  frameCropRightOffset: number;
  frameCropTopOffset: number;
  frameCropBottomOffset: number;
}

/** timing_info (Annex E.2.1): a frame lasts 2 * numUnitsInTick / timeScale seconds. */
export interface H264TimingInfo {
  numUnitsInTick: number;
  timeScale: number;
  fixedFrameRateFlag: boolean;
}

/** hrd_parameters (Annex E.1.2), kept for its field lengths. */
export interface H264Hrd {
  cpbCntMinus1: number;
  bitRateScale: number;
  cpbSizeScale: number;
  initialCpbRemovalDelayLengthMinus1: number;
  cpbRemovalDelayLengthMinus1: number;
  dpbOutputDelayLengthMinus1: number;
  timeOffsetLength: number;
}

/** The bitstream_restriction fields (Annex E.2.1); maxNumReorderFrames is what the DTS extractor uses. */
export interface H264BitstreamRestriction {
  motionVectorsOverPicBoundariesFlag: boolean;
  maxBytesPerPicDenom: number;
  maxBitsPerMbDenom: number;
  log2MaxMvLengthHorizontal: number;
  log2MaxMvLengthVertical: number;
  maxNumReorderFrames: number;
  maxDecFrameBuffering: number;
}

/** vui_parameters (Annex E.1.1); groups not coded are absent. */
export interface H264Vui {
  aspectRatioIdc?: number;
  sarWidth?: number;
  sarHeight?: number;
  overscanAppropriateFlag?: boolean;
  videoFormat?: number;
  videoFullRangeFlag?: boolean;
  colourPrimaries?: number;
  transferCharacteristics?: number;
  matrixCoefficients?: number;
  chromaSampleLocTypeTopField?: number;
  chromaSampleLocTypeBottomField?: number;
  timing?: H264TimingInfo;
  nalHrd?: H264Hrd;
  vclHrd?: H264Hrd;
  lowDelayHrdFlag?: boolean;
  picStructPresentFlag: boolean;
  bitstreamRestriction?: H264BitstreamRestriction;
}

/** seq_parameter_set_rbsp (§7.3.2.1.1) and the picture size it implies. */
export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5_flag and reserved_zero_2bits: the byte avcC and `avc1.PPCCLL` carry. */
  constraintFlags: number;
  levelIdc: number;
  seqParameterSetId: number;
  chromaFormatIdc: number;
  separateColourPlaneFlag: boolean;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
  qpprimeYZeroTransformBypassFlag: boolean;
  seqScalingMatrixPresentFlag: boolean;
  /** seq_scaling_list_present_flag[i], one per list (8, or 12 for 4:4:4); [] without a matrix. */
  seqScalingListPresentFlag: boolean[];
  /** The lists in coded (zig-zag) order: values, "default" (useDefaultScalingMatrixFlag), or null (not coded). */
  scalingLists: (number[] | "default" | null)[];
  log2MaxFrameNumMinus4: number;
  picOrderCntType: number;
  /** picOrderCntType 0 only. */
  log2MaxPicOrderCntLsbMinus4: number;
  /** picOrderCntType 1 only, as are the three below. */
  deltaPicOrderAlwaysZeroFlag: boolean;
  offsetForNonRefPic: number;
  offsetForTopToBottomField: number;
  offsetForRefFrame: number[];
  maxNumRefFrames: number;
  gapsInFrameNumValueAllowedFlag: boolean;
  picWidthInMbsMinus1: number;
  picHeightInMapUnitsMinus1: number;
  frameMbsOnlyFlag: boolean;
  mbAdaptiveFrameFieldFlag: boolean;
  direct8x8InferenceFlag: boolean;
  frameCropping?: H264FrameCropping;
  vui?: H264Vui;
  /** Displayed luma width in pixels: the coded width less the cropping (§7.4.2.1.1). */
  width: number;
  /** Displayed luma height in pixels, both fields of an interlaced frame. */
  height: number;
}

/** The pic_parameter_set_rbsp fields a slice header depends on (§7.3.2.2). */
export interface H264Pps {
  picParameterSetId: number;
  seqParameterSetId: number;
  entropyCodingModeFlag: boolean;
  bottomFieldPicOrderInFramePresentFlag: boolean;
}

/** slice_header (§7.3.3) up to the picture order count fields. */
export interface H264SliceHeader {
  nalUnitType: number;
  nalRefIdc: number;
  firstMbInSlice: number;
  sliceType: number;
  picParameterSetId: number;
  frameNum: number;
  fieldPicFlag: boolean;
  bottomFieldFlag: boolean;
  idrPicId: number;
  picOrderCntLsb: number;
  deltaPicOrderCntBottom: number;
  deltaPicOrderCnt0: number;
  deltaPicOrderCnt1: number;
}

const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_IDR = 5;
const NAL_NON_IDR = 1;
/** Profiles whose SPS codes chroma_format_idc, bit depths and scaling matrices (§7.3.2.1.1). */
const HIGH_PROFILES: readonly number[] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];
/** Largest values the spec allows (§7.4.2.1.1, §7.4.2.2), so a damaged SPS cannot ask for huge loops. */
const MAX_SPS_ID = 31;
const MAX_PPS_ID = 255;
const MAX_BIT_DEPTH_MINUS8 = 6;
const MAX_LOG2_MINUS4 = 12;
const MAX_REF_FRAMES_IN_POC_CYCLE = 255;
const MAX_CPB_CNT_MINUS1 = 31;
/** max_num_reorder_frames and max_dec_frame_buffering never exceed MaxDpbFrames, at most 16 (Annex A.3.1). */
const MAX_DPB_FRAMES = 16;
const EXTENDED_SAR = 255;
/** A slice header's fields up to delta_pic_order_cnt[1] take at most ~42 bytes, escaped ~63. */
const SLICE_HEADER_BYTES = 96;

function nalRbsp(nal: Uint8Array, type: number, what: string): Uint8Array {
  if (nal.length < 2 || (nal[0] & 0x80) !== 0 || (nal[0] & 0x1f) !== type) {
    throw new RbspError(`Not an H.264 ${what} NAL unit (type ${type})`);
  }
  return removeEmulationPrevention(nal, 1);
}

/** Parses an H.264 SPS NAL unit (§7.3.2.1.1); throws RbspError; allocates. */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  const r = new BitReader(nalRbsp(nal, NAL_SPS, "SPS"));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  const seqParameterSetId = r.ueMax(MAX_SPS_ID, "seq_parameter_set_id");
  let chromaFormatIdc = 1;
  let separateColourPlaneFlag = false;
  let bitDepthLumaMinus8 = 0;
  let bitDepthChromaMinus8 = 0;
  let qpprimeYZeroTransformBypassFlag = false;
  let seqScalingMatrixPresentFlag = false;
  const seqScalingListPresentFlag: boolean[] = [];
  const scalingLists: (number[] | "default" | null)[] = [];
  if (HIGH_PROFILES.includes(profileIdc)) {
    chromaFormatIdc = r.ueMax(3, "chroma_format_idc");
    if (chromaFormatIdc === 3) separateColourPlaneFlag = r.flag();
    bitDepthLumaMinus8 = r.ueMax(MAX_BIT_DEPTH_MINUS8, "bit_depth_luma_minus8");
    bitDepthChromaMinus8 = r.ueMax(MAX_BIT_DEPTH_MINUS8, "bit_depth_chroma_minus8");
    qpprimeYZeroTransformBypassFlag = r.flag();
    seqScalingMatrixPresentFlag = r.flag();
    if (seqScalingMatrixPresentFlag) {
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) {
        const present = r.flag();
        seqScalingListPresentFlag.push(present);
        scalingLists.push(present ? readScalingList(r, i < 6 ? 16 : 64) : null);
      }
    }
  }
  const log2MaxFrameNumMinus4 = r.ueMax(MAX_LOG2_MINUS4, "log2_max_frame_num_minus4");
  const picOrderCntType = r.ueMax(2, "pic_order_cnt_type");
  let log2MaxPicOrderCntLsbMinus4 = 0;
  let deltaPicOrderAlwaysZeroFlag = false;
  let offsetForNonRefPic = 0;
  let offsetForTopToBottomField = 0;
  const offsetForRefFrame: number[] = [];
  if (picOrderCntType === 0) {
    log2MaxPicOrderCntLsbMinus4 = r.ueMax(MAX_LOG2_MINUS4, "log2_max_pic_order_cnt_lsb_minus4");
  } else if (picOrderCntType === 1) {
    deltaPicOrderAlwaysZeroFlag = r.flag();
    offsetForNonRefPic = r.se();
    offsetForTopToBottomField = r.se();
    const n = r.ueMax(MAX_REF_FRAMES_IN_POC_CYCLE, "num_ref_frames_in_pic_order_cnt_cycle");
    for (let i = 0; i < n; i++) offsetForRefFrame.push(r.se());
  }
  const maxNumRefFrames = r.ueMax(MAX_DPB_FRAMES, "max_num_ref_frames");
  const gapsInFrameNumValueAllowedFlag = r.flag();
  const picWidthInMbsMinus1 = r.ue();
  const picHeightInMapUnitsMinus1 = r.ue();
  const frameMbsOnlyFlag = r.flag();
  const mbAdaptiveFrameFieldFlag = frameMbsOnlyFlag ? false : r.flag();
  const direct8x8InferenceFlag = r.flag();
  let frameCropping: H264FrameCropping | undefined;
  if (r.flag()) {
    frameCropping = {
      frameCropLeftOffset: r.ue(),
      frameCropRightOffset: r.ue(),
      frameCropTopOffset: r.ue(),
      frameCropBottomOffset: r.ue(),
    };
  }
  const vui = r.flag() ? readVui(r) : undefined;

  // §7.4.2.1.1: crop units are chroma samples (luma samples for 4:4:4 / monochrome / separate
  // planes), and twice that vertically when frames are coded as field pairs.
  const chromaArrayType = separateColourPlaneFlag ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const frameHeightInMbs = (frameMbsOnlyFlag ? 1 : 2) * (picHeightInMapUnitsMinus1 + 1);
  const cropX = subWidthC *
    ((frameCropping?.frameCropLeftOffset ?? 0) + (frameCropping?.frameCropRightOffset ?? 0));
  const cropY = subHeightC * (frameMbsOnlyFlag ? 1 : 2) *
    ((frameCropping?.frameCropTopOffset ?? 0) + (frameCropping?.frameCropBottomOffset ?? 0));
  const width = (picWidthInMbsMinus1 + 1) * 16 - cropX;
  const height = frameHeightInMbs * 16 - cropY;
  if (width <= 0 || height <= 0) throw new RbspError(`SPS frame cropping leaves ${width}x${height} pixels`);

  const sps: H264Sps = {
    profileIdc,
    constraintFlags,
    levelIdc,
    seqParameterSetId,
    chromaFormatIdc,
    separateColourPlaneFlag,
    bitDepthLumaMinus8,
    bitDepthChromaMinus8,
    qpprimeYZeroTransformBypassFlag,
    seqScalingMatrixPresentFlag,
    seqScalingListPresentFlag,
    scalingLists,
    log2MaxFrameNumMinus4,
    picOrderCntType,
    log2MaxPicOrderCntLsbMinus4,
    deltaPicOrderAlwaysZeroFlag,
    offsetForNonRefPic,
    offsetForTopToBottomField,
    offsetForRefFrame,
    maxNumRefFrames,
    gapsInFrameNumValueAllowedFlag,
    picWidthInMbsMinus1,
    picHeightInMapUnitsMinus1,
    frameMbsOnlyFlag,
    mbAdaptiveFrameFieldFlag,
    direct8x8InferenceFlag,
    width,
    height,
  };
  if (frameCropping !== undefined) sps.frameCropping = frameCropping;
  if (vui !== undefined) sps.vui = vui;
  return sps;
}

/** scaling_list() (§7.3.2.1.1.1): delta-coded values, or the default-matrix marker. */
function readScalingList(r: BitReader, size: number): number[] | "default" {
  const list: number[] = [];
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = r.seRange(-128, 127, "delta_scale");
      next = (last + delta + 256) % 256;
      if (j === 0 && next === 0) return "default";
    }
    const value = next === 0 ? last : next;
    list.push(value);
    last = value;
  }
  return list;
}

/** vui_parameters() (Annex E.1.1). */
function readVui(r: BitReader): H264Vui {
  const vui: H264Vui = { picStructPresentFlag: false };
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
      vui.matrixCoefficients = r.u(8);
    }
  }
  if (r.flag()) {
    vui.chromaSampleLocTypeTopField = r.ueMax(5, "chroma_sample_loc_type_top_field");
    vui.chromaSampleLocTypeBottomField = r.ueMax(5, "chroma_sample_loc_type_bottom_field");
  }
  if (r.flag()) {
    vui.timing = { numUnitsInTick: r.u(32), timeScale: r.u(32), fixedFrameRateFlag: r.flag() };
  }
  const nal = r.flag();
  if (nal) vui.nalHrd = readHrd(r);
  const vcl = r.flag();
  if (vcl) vui.vclHrd = readHrd(r);
  if (nal || vcl) vui.lowDelayHrdFlag = r.flag();
  vui.picStructPresentFlag = r.flag();
  if (r.flag()) {
    vui.bitstreamRestriction = {
      motionVectorsOverPicBoundariesFlag: r.flag(),
      maxBytesPerPicDenom: r.ueMax(16, "max_bytes_per_pic_denom"),
      maxBitsPerMbDenom: r.ueMax(16, "max_bits_per_mb_denom"),
      log2MaxMvLengthHorizontal: r.ueMax(16, "log2_max_mv_length_horizontal"),
      log2MaxMvLengthVertical: r.ueMax(16, "log2_max_mv_length_vertical"),
      maxNumReorderFrames: r.ueMax(MAX_DPB_FRAMES, "max_num_reorder_frames"),
      maxDecFrameBuffering: r.ueMax(MAX_DPB_FRAMES, "max_dec_frame_buffering"),
    };
  }
  return vui;
}

/** hrd_parameters() (Annex E.1.2). */
function readHrd(r: BitReader): H264Hrd {
  const cpbCntMinus1 = r.ueMax(MAX_CPB_CNT_MINUS1, "cpb_cnt_minus1");
  const bitRateScale = r.u(4);
  const cpbSizeScale = r.u(4);
  for (let i = 0; i <= cpbCntMinus1; i++) {
    r.ue(); // bit_rate_value_minus1
    r.ue(); // cpb_size_value_minus1
    r.skip(1); // cbr_flag
  }
  return {
    cpbCntMinus1,
    bitRateScale,
    cpbSizeScale,
    initialCpbRemovalDelayLengthMinus1: r.u(5),
    cpbRemovalDelayLengthMinus1: r.u(5),
    dpbOutputDelayLengthMinus1: r.u(5),
    timeOffsetLength: r.u(5),
  };
}

/** Parses the start of an H.264 PPS NAL unit (§7.3.2.2), as far as slice headers need; throws RbspError. */
export function parseH264Pps(nal: Uint8Array): H264Pps {
  const r = new BitReader(nalRbsp(nal, NAL_PPS, "PPS"));
  return {
    picParameterSetId: r.ueMax(MAX_PPS_ID, "pic_parameter_set_id"),
    seqParameterSetId: r.ueMax(MAX_SPS_ID, "seq_parameter_set_id"),
    entropyCodingModeFlag: r.flag(),
    bottomFieldPicOrderInFramePresentFlag: r.flag(),
  };
}

/** MaxPicOrderCntLsb (§7.4.2.1.1): where pic_order_cnt_lsb wraps. */
export function h264MaxPicOrderCntLsb(sps: H264Sps): number {
  return 2 ** (sps.log2MaxPicOrderCntLsbMinus4 + 4);
}

const sliceScratch = new Uint8Array(SLICE_HEADER_BYTES);
const sliceReader = new BitReader(sliceScratch);

/**
 * Reads a coded slice's header (NAL types 1 and 5, §7.3.3) up to delta_pic_order_cnt[1], from at
 * most its first 96 bytes; the PPS and SPS it names must be in the maps. Throws RbspError.
 * Per frame: allocates only the returned header.
 */
export function parseH264SliceHeader(
  nal: Uint8Array,
  ppsById: ReadonlyMap<number, H264Pps>,
  spsById: ReadonlyMap<number, H264Sps>,
): H264SliceHeader {
  const nalUnitType = nal.length > 1 ? nal[0] & 0x1f : -1;
  if (nalUnitType !== NAL_IDR && nalUnitType !== NAL_NON_IDR) {
    throw new RbspError("Not an H.264 coded slice NAL unit (type 1 or 5)");
  }
  const n = removeEmulationPreventionInto(nal, 1, nal.length, sliceScratch);
  const r = sliceReader.reset(sliceScratch, 0, n);
  const firstMbInSlice = r.ue();
  const sliceType = r.ueMax(9, "slice_type");
  const picParameterSetId = r.ueMax(MAX_PPS_ID, "pic_parameter_set_id");
  const pps = ppsById.get(picParameterSetId);
  if (pps === undefined) throw new RbspError(`Slice refers to PPS ${picParameterSetId}, not received`);
  const sps = spsById.get(pps.seqParameterSetId);
  if (sps === undefined) {
    throw new RbspError(`PPS ${picParameterSetId} refers to SPS ${pps.seqParameterSetId}, not received`);
  }
  if (sps.separateColourPlaneFlag) r.skip(2); // colour_plane_id
  const frameNum = r.u(sps.log2MaxFrameNumMinus4 + 4);
  let fieldPicFlag = false;
  let bottomFieldFlag = false;
  if (!sps.frameMbsOnlyFlag) {
    fieldPicFlag = r.flag();
    if (fieldPicFlag) bottomFieldFlag = r.flag();
  }
  const idrPicId = nalUnitType === NAL_IDR ? r.ueMax(65535, "idr_pic_id") : 0;
  let picOrderCntLsb = 0;
  let deltaPicOrderCntBottom = 0;
  let deltaPicOrderCnt0 = 0;
  let deltaPicOrderCnt1 = 0;
  if (sps.picOrderCntType === 0) {
    picOrderCntLsb = r.u(sps.log2MaxPicOrderCntLsbMinus4 + 4);
    if (pps.bottomFieldPicOrderInFramePresentFlag && !fieldPicFlag) deltaPicOrderCntBottom = r.se();
  } else if (sps.picOrderCntType === 1 && !sps.deltaPicOrderAlwaysZeroFlag) {
    deltaPicOrderCnt0 = r.se();
    if (pps.bottomFieldPicOrderInFramePresentFlag && !fieldPicFlag) deltaPicOrderCnt1 = r.se();
  }
  return {
    nalUnitType,
    nalRefIdc: (nal[0] >> 5) & 3,
    firstMbInSlice,
    sliceType,
    picParameterSetId,
    frameNum,
    fieldPicFlag,
    bottomFieldFlag,
    idrPicId,
    picOrderCntLsb,
    deltaPicOrderCntBottom,
    deltaPicOrderCnt0,
    deltaPicOrderCnt1,
  };
}

/**
 * HEVCDecoderConfigurationRecord, the payload of an `hvcC` box (ISO/IEC 14496-15 §8.3.3.1), and the
 * `hvc1.1.6.L93.B0` codec string (ISO/IEC 14496-15 Annex E.3) HLS puts in CODECS.
 *
 * ```
 * u8  configurationVersion = 1
 * u8  general_profile_space (2) general_tier_flag (1) general_profile_idc (5)
 * u32 general_profile_compatibility_flags
 * u48 general_constraint_indicator_flags
 * u8  general_level_idc
 * u16 '1111'b   min_spatial_segmentation_idc (12)
 * u8  '111111'b parallelismType (2)
 * u8  '111111'b chromaFormat (2)
 * u8  '11111'b  bitDepthLumaMinus8 (3)
 * u8  '11111'b  bitDepthChromaMinus8 (3)
 * u16 avgFrameRate
 * u8  constantFrameRate (2) numTemporalLayers (3) temporalIdNested (1) lengthSizeMinusOne (2)
 * u8  numOfArrays, then per array:
 *     u8 array_completeness (1) reserved 0 (1) NAL_unit_type (6); u16 numNalus; per NAL: u16 length, bytes
 * ```
 *
 * @module
 */
import { type H265ProfileTierLevel, parseH265Pps, parseH265Sps, parseH265Vps } from "./h265_sps.ts";

/** One array of same-type NAL units (§8.3.3.1.2). */
export interface HevcNalArray {
  /** All NAL units of this type are in the array (none in-band): 1 for `hvc1` parameter sets. */
  arrayCompleteness: boolean;
  nalUnitType: number;
  nalUnits: Uint8Array[];
}

/** An HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1). */
export interface HevcDecoderConfig {
  generalProfileSpace: number;
  generalTierFlag: boolean;
  generalProfileIdc: number;
  generalProfileCompatibilityFlags: number;
  /** 48 bits. */
  generalConstraintIndicatorFlags: number;
  generalLevelIdc: number;
  minSpatialSegmentationIdc: number;
  /** 0 mixed or unknown, 1 slices, 2 tiles, 3 wavefront (§8.3.3.1.3). */
  parallelismType: number;
  chromaFormat: number;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
  /** Frames per 256 s, 0 unspecified. */
  avgFrameRate: number;
  constantFrameRate: number;
  numTemporalLayers: number;
  temporalIdNested: boolean;
  lengthSizeMinusOne: number;
  arrays: HevcNalArray[];
}

const HEADER_BYTES = 23;
const MAX_NAL_BYTES = 0xffff;
const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const NAL_PREFIX_SEI = 39;
/** u12 min_spatial_segmentation_idc's largest value. */
const MAX_SPATIAL_SEGMENTATION = 4095;

/** Reads an hvcC payload; throws SyntaxError. */
export function parseHevcDecoderConfig(bytes: Uint8Array): HevcDecoderConfig {
  if (bytes.length < HEADER_BYTES) {
    throw new SyntaxError(`hvcC is ${bytes.length} bytes, shorter than its header`);
  }
  if (bytes[0] !== 1) throw new SyntaxError(`hvcC configurationVersion is ${bytes[0]}, not 1`);
  const u16 = (at: number) => (bytes[at] << 8) | bytes[at + 1];
  const lengthSizeMinusOne = bytes[21] & 3;
  if (lengthSizeMinusOne === 2) throw new SyntaxError("hvcC lengthSizeMinusOne is 2 (3-byte lengths)");
  const config: HevcDecoderConfig = {
    generalProfileSpace: bytes[1] >> 6,
    generalTierFlag: (bytes[1] & 0x20) !== 0,
    generalProfileIdc: bytes[1] & 0x1f,
    generalProfileCompatibilityFlags: ((bytes[2] << 24) | (bytes[3] << 16) | (bytes[4] << 8) | bytes[5]) >>>
      0,
    generalConstraintIndicatorFlags: ((bytes[6] << 16) | (bytes[7] << 8) | bytes[8]) * 2 ** 24 +
      ((bytes[9] << 16) | (bytes[10] << 8) | bytes[11]),
    generalLevelIdc: bytes[12],
    minSpatialSegmentationIdc: u16(13) & 0x0fff,
    parallelismType: bytes[15] & 3,
    chromaFormat: bytes[16] & 3,
    bitDepthLumaMinus8: bytes[17] & 7,
    bitDepthChromaMinus8: bytes[18] & 7,
    avgFrameRate: u16(19),
    constantFrameRate: bytes[21] >> 6,
    numTemporalLayers: (bytes[21] >> 3) & 7,
    temporalIdNested: (bytes[21] & 4) !== 0,
    lengthSizeMinusOne,
    arrays: [],
  };
  const numOfArrays = bytes[22];
  let at = HEADER_BYTES;
  for (let i = 0; i < numOfArrays; i++) {
    if (at + 3 > bytes.length) throw new SyntaxError(`hvcC ends inside array ${i}'s header`);
    const array: HevcNalArray = {
      arrayCompleteness: (bytes[at] & 0x80) !== 0,
      nalUnitType: bytes[at] & 0x3f,
      nalUnits: [],
    };
    const numNalus = u16(at + 1);
    at += 3;
    for (let j = 0; j < numNalus; j++) {
      if (at + 2 > bytes.length) throw new SyntaxError(`hvcC ends inside array ${i}'s NAL unit ${j} length`);
      const length = u16(at);
      at += 2;
      if (length === 0) throw new SyntaxError(`hvcC array ${i} NAL unit ${j} is empty`);
      if (at + length > bytes.length) {
        throw new SyntaxError(`hvcC array ${i} NAL unit ${j} runs past the record`);
      }
      array.nalUnits.push(bytes.slice(at, at + length));
      at += length;
    }
    config.arrays.push(array);
  }
  return config;
}

/** Writes an hvcC payload, reserved bits set; throws RangeError for a record it cannot encode; allocates. */
export function serializeHevcDecoderConfig(config: HevcDecoderConfig): Uint8Array {
  const c = config;
  const fits = (v: number, bits: number, name: string) => {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
      throw new RangeError(`hvcC ${name} ${v} does not fit ${bits} bits`);
    }
  };
  fits(c.generalProfileSpace, 2, "general_profile_space");
  fits(c.generalProfileIdc, 5, "general_profile_idc");
  fits(c.generalProfileCompatibilityFlags, 32, "general_profile_compatibility_flags");
  fits(c.generalConstraintIndicatorFlags, 48, "general_constraint_indicator_flags");
  fits(c.generalLevelIdc, 8, "general_level_idc");
  fits(c.minSpatialSegmentationIdc, 12, "min_spatial_segmentation_idc");
  fits(c.parallelismType, 2, "parallelismType");
  fits(c.chromaFormat, 2, "chromaFormat");
  fits(c.bitDepthLumaMinus8, 3, "bitDepthLumaMinus8");
  fits(c.bitDepthChromaMinus8, 3, "bitDepthChromaMinus8");
  fits(c.avgFrameRate, 16, "avgFrameRate");
  fits(c.constantFrameRate, 2, "constantFrameRate");
  fits(c.numTemporalLayers, 3, "numTemporalLayers");
  if (![0, 1, 3].includes(c.lengthSizeMinusOne)) {
    throw new RangeError(`hvcC lengthSizeMinusOne ${c.lengthSizeMinusOne} is not 0, 1 or 3`);
  }
  if (c.arrays.length > 255) throw new RangeError(`hvcC holds at most 255 arrays, not ${c.arrays.length}`);
  let size = HEADER_BYTES;
  for (const a of c.arrays) {
    fits(a.nalUnitType, 6, "NAL_unit_type");
    if (a.nalUnits.length > 0xffff) throw new RangeError(`hvcC array holds at most 65535 NAL units`);
    size += 3;
    for (const nal of a.nalUnits) {
      if (nal.length === 0 || nal.length > MAX_NAL_BYTES) {
        throw new RangeError(`hvcC NAL units are 1..${MAX_NAL_BYTES} bytes, not ${nal.length}`);
      }
      size += 2 + nal.length;
    }
  }
  const out = new Uint8Array(size);
  const constraintHigh = Math.floor(c.generalConstraintIndicatorFlags / 2 ** 24);
  const constraintLow = c.generalConstraintIndicatorFlags % 2 ** 24;
  out.set([
    1,
    (c.generalProfileSpace << 6) | (c.generalTierFlag ? 0x20 : 0) | c.generalProfileIdc,
    c.generalProfileCompatibilityFlags >>> 24,
    (c.generalProfileCompatibilityFlags >>> 16) & 0xff,
    (c.generalProfileCompatibilityFlags >>> 8) & 0xff,
    c.generalProfileCompatibilityFlags & 0xff,
    constraintHigh >> 16,
    (constraintHigh >> 8) & 0xff,
    constraintHigh & 0xff,
    constraintLow >> 16,
    (constraintLow >> 8) & 0xff,
    constraintLow & 0xff,
    c.generalLevelIdc,
    0xf0 | (c.minSpatialSegmentationIdc >> 8),
    c.minSpatialSegmentationIdc & 0xff,
    0xfc | c.parallelismType,
    0xfc | c.chromaFormat,
    0xf8 | c.bitDepthLumaMinus8,
    0xf8 | c.bitDepthChromaMinus8,
    c.avgFrameRate >> 8,
    c.avgFrameRate & 0xff,
    (c.constantFrameRate << 6) | (c.numTemporalLayers << 3) | (c.temporalIdNested ? 4 : 0) |
    c.lengthSizeMinusOne,
    c.arrays.length,
  ]);
  let at = HEADER_BYTES;
  for (const a of c.arrays) {
    out[at++] = (a.arrayCompleteness ? 0x80 : 0) | a.nalUnitType;
    out[at++] = a.nalUnits.length >> 8;
    out[at++] = a.nalUnits.length & 0xff;
    for (const nal of a.nalUnits) {
      out[at++] = nal.length >> 8;
      out[at++] = nal.length & 0xff;
      out.set(nal, at);
      at += nal.length;
    }
  }
  return out;
}

/**
 * Merges one parameter set's profile_tier_level into the record the way §8.3.3.1.3 asks: the
 * highest tier, and the highest level of it; the highest profile; only the compatibility and
 * constraint flags every set has.
 */
function mergeProfileTierLevel(c: HevcDecoderConfig, ptl: H265ProfileTierLevel, first: boolean): void {
  if (first) {
    c.generalProfileSpace = ptl.generalProfileSpace;
    c.generalTierFlag = ptl.generalTierFlag;
    c.generalProfileIdc = ptl.generalProfileIdc;
    c.generalProfileCompatibilityFlags = ptl.generalProfileCompatibilityFlags;
    c.generalConstraintIndicatorFlags = ptl.generalConstraintIndicatorFlags;
    c.generalLevelIdc = ptl.generalLevelIdc;
    return;
  }
  c.generalProfileSpace = ptl.generalProfileSpace;
  if (ptl.generalTierFlag && !c.generalTierFlag) c.generalLevelIdc = ptl.generalLevelIdc;
  else if (ptl.generalTierFlag === c.generalTierFlag) {
    c.generalLevelIdc = Math.max(c.generalLevelIdc, ptl.generalLevelIdc);
  }
  c.generalTierFlag = c.generalTierFlag || ptl.generalTierFlag;
  c.generalProfileIdc = Math.max(c.generalProfileIdc, ptl.generalProfileIdc);
  c.generalProfileCompatibilityFlags =
    (c.generalProfileCompatibilityFlags & ptl.generalProfileCompatibilityFlags) >>> 0;
  const hi = (v: number) => Math.floor(v / 2 ** 24);
  const lo = (v: number) => v % 2 ** 24;
  const a = c.generalConstraintIndicatorFlags;
  const b = ptl.generalConstraintIndicatorFlags;
  c.generalConstraintIndicatorFlags = (hi(a) & hi(b)) * 2 ** 24 + (lo(a) & lo(b));
}

/**
 * The record for a stream's parameter sets (NAL units without start codes), 4-byte lengths, arrays
 * VPS, SPS, PPS in that order (`hvc1`: array_completeness 1; `hev1`: 0). The general fields merge
 * every VPS and SPS (§8.3.3.1.3), min_spatial_segmentation_idc is the lowest any SPS's VUI gives,
 * parallelismType comes from the last PPS (0 when min_spatial_segmentation_idc is 0), frame rates
 * are 0 (unspecified); prefix SEI (libx265's settings, say) follow in their own array when given.
 * Throws RbspError when a parameter set does not parse; allocates.
 */
export function hevcDecoderConfigFromParameterSets(
  videoParameterSets: readonly Uint8Array[],
  sequenceParameterSets: readonly Uint8Array[],
  pictureParameterSets: readonly Uint8Array[],
  sampleEntry: "hvc1" | "hev1" = "hvc1",
  prefixSei: readonly Uint8Array[] = [],
): HevcDecoderConfig {
  if (sequenceParameterSets.length === 0) throw new RangeError("hvcC needs at least one SPS");
  const c: HevcDecoderConfig = {
    generalProfileSpace: 0,
    generalTierFlag: false,
    generalProfileIdc: 0,
    generalProfileCompatibilityFlags: 0,
    generalConstraintIndicatorFlags: 0,
    generalLevelIdc: 0,
    minSpatialSegmentationIdc: 0,
    parallelismType: 0,
    chromaFormat: 0,
    bitDepthLumaMinus8: 0,
    bitDepthChromaMinus8: 0,
    avgFrameRate: 0,
    constantFrameRate: 0,
    numTemporalLayers: 0,
    temporalIdNested: false,
    lengthSizeMinusOne: 3,
    arrays: [],
  };
  let first = true;
  for (const nal of videoParameterSets) {
    const vps = parseH265Vps(nal);
    mergeProfileTierLevel(c, vps.profileTierLevel, first);
    first = false;
    c.numTemporalLayers = Math.max(c.numTemporalLayers, vps.vpsMaxSubLayersMinus1 + 1);
  }
  let minSpatial = MAX_SPATIAL_SEGMENTATION + 1;
  for (const nal of sequenceParameterSets) {
    const sps = parseH265Sps(nal);
    mergeProfileTierLevel(c, sps.profileTierLevel, first);
    first = false;
    c.numTemporalLayers = Math.max(c.numTemporalLayers, sps.spsMaxSubLayersMinus1 + 1);
    c.temporalIdNested = sps.spsTemporalIdNestingFlag;
    c.chromaFormat = sps.chromaFormatIdc;
    c.bitDepthLumaMinus8 = sps.bitDepthLumaMinus8;
    c.bitDepthChromaMinus8 = sps.bitDepthChromaMinus8;
    const restriction = sps.vui?.bitstreamRestriction;
    if (restriction !== undefined) minSpatial = Math.min(minSpatial, restriction.minSpatialSegmentationIdc);
  }
  c.minSpatialSegmentationIdc = minSpatial > MAX_SPATIAL_SEGMENTATION ? 0 : minSpatial;
  for (const nal of pictureParameterSets) {
    const pps = parseH265Pps(nal);
    const wavefront = pps.entropyCodingSyncEnabledFlag;
    const tiles = pps.tilesEnabledFlag;
    c.parallelismType = wavefront && tiles ? 0 : wavefront ? 3 : tiles ? 2 : 1;
  }
  if (c.minSpatialSegmentationIdc === 0) c.parallelismType = 0;
  const complete = sampleEntry === "hvc1";
  const add = (nalUnitType: number, nals: readonly Uint8Array[]) => {
    if (nals.length > 0) c.arrays.push({ arrayCompleteness: complete, nalUnitType, nalUnits: [...nals] });
  };
  add(NAL_VPS, videoParameterSets);
  add(NAL_SPS, sequenceParameterSets);
  add(NAL_PPS, pictureParameterSets);
  // Declarative SEI may travel in the record (§8.3.3.1.2); never complete, more may come in-band.
  if (prefixSei.length > 0) {
    c.arrays.push({ arrayCompleteness: false, nalUnitType: NAL_PREFIX_SEI, nalUnits: [...prefixSei] });
  }
  return c;
}

/** Bits of a 32-bit value in reverse order. */
function reverseBits32(v: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) out = out * 2 + ((v >>> i) & 1);
  return out;
}

/**
 * ISO/IEC 14496-15 Annex E.3 codec string, `hvc1.1.6.L93.B0`: profile space letter and profile idc;
 * the compatibility flags bit-reversed in hex; tier L/H and level idc; the constraint bytes in hex,
 * trailing zero bytes left out (one is always written).
 */
export function hevcCodecString(config: HevcDecoderConfig, sampleEntry: "hvc1" | "hev1" = "hvc1"): string {
  const space = ["", "A", "B", "C"][config.generalProfileSpace] ?? "";
  const compat = reverseBits32(config.generalProfileCompatibilityFlags).toString(16).toUpperCase();
  const tier = config.generalTierFlag ? "H" : "L";
  const constraints: string[] = [];
  let v = config.generalConstraintIndicatorFlags;
  for (let i = 5; i >= 0; i--) {
    constraints[i] = (v % 256).toString(16).toUpperCase().padStart(2, "0");
    v = Math.floor(v / 256);
  }
  while (constraints.length > 1 && constraints[constraints.length - 1] === "00") constraints.pop();
  return `${sampleEntry}.${space}${config.generalProfileIdc}.${compat}.${tier}${config.generalLevelIdc}.${
    constraints.join(".")
  }`;
}

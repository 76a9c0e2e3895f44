/**
 * AVCDecoderConfigurationRecord, the payload of an `avcC` box (ISO/IEC 14496-15 §5.3.3.1), and the
 * RFC 6381 `avc1.PPCCLL` codec string HLS puts in CODECS.
 *
 * ```
 * u8  configurationVersion = 1
 * u8  AVCProfileIndication          (profile_idc)
 * u8  profile_compatibility         (constraint_set0..5_flag, reserved_zero_2bits)
 * u8  AVCLevelIndication            (level_idc)
 * u8  '111111'b  lengthSizeMinusOne (2 bits)
 * u8  '111'b     numOfSequenceParameterSets (5 bits)   then per SPS: u16 length, NAL unit
 * u8  numOfPictureParameterSets                        then per PPS: u16 length, NAL unit
 * profiles 100, 110, 122, 144 only (§5.3.3.1.2):
 * u8  '111111'b  chroma_format (2 bits)
 * u8  '11111'b   bit_depth_luma_minus8 (3 bits)
 * u8  '11111'b   bit_depth_chroma_minus8 (3 bits)
 * u8  numOfSequenceParameterSetExt                     then per SPS extension: u16 length, NAL unit
 * ```
 *
 * @module
 */
import { parseH264Sps } from "./h264_sps.ts";

/** The high-profile tail of the record (§5.3.3.1.2). */
export interface AvcHighProfileExtension {
  chromaFormat: number;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
  sequenceParameterSetExt: Uint8Array[];
}

/** An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1); NAL units without length prefixes. */
export interface AvcDecoderConfig {
  avcProfileIndication: number;
  profileCompatibility: number;
  avcLevelIndication: number;
  /** NAL unit length prefix size in the samples, minus one: 3 for 4-byte lengths. */
  lengthSizeMinusOne: number;
  sequenceParameterSets: Uint8Array[];
  pictureParameterSets: Uint8Array[];
  highProfile?: AvcHighProfileExtension;
}

/** Profiles whose record carries the extension (§5.3.3.1.2). */
const EXTENSION_PROFILES: readonly number[] = [100, 110, 122, 144];
/** Profiles whose record never does: Baseline, Main, Extended. */
const NO_EXTENSION_PROFILES: readonly number[] = [66, 77, 88];
const MAX_SPS = 31;
const MAX_PPS = 255;
const MAX_NAL_BYTES = 0xffff;

/** Reads an avcC payload; throws SyntaxError. The extension is optional on read: older writers omit it. */
export function parseAvcDecoderConfig(bytes: Uint8Array): AvcDecoderConfig {
  let at = 0;
  const byte = (what: string): number => {
    if (at >= bytes.length) throw new SyntaxError(`avcC ends before its ${what}`);
    return bytes[at++];
  };
  const nalUnits = (count: number, what: string): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const length = (byte(`${what} length`) << 8) | byte(`${what} length`);
      if (at + length > bytes.length) throw new SyntaxError(`avcC ${what} ${i} runs past the record`);
      if (length === 0) throw new SyntaxError(`avcC ${what} ${i} is empty`);
      out.push(bytes.slice(at, at + length));
      at += length;
    }
    return out;
  };
  const version = byte("configurationVersion");
  if (version !== 1) throw new SyntaxError(`avcC configurationVersion is ${version}, not 1`);
  const avcProfileIndication = byte("AVCProfileIndication");
  const profileCompatibility = byte("profile_compatibility");
  const avcLevelIndication = byte("AVCLevelIndication");
  const lengthSizeMinusOne = byte("lengthSizeMinusOne") & 3;
  if (lengthSizeMinusOne === 2) throw new SyntaxError("avcC lengthSizeMinusOne is 2 (3-byte lengths)");
  const sequenceParameterSets = nalUnits(byte("numOfSequenceParameterSets") & 0x1f, "SPS");
  const pictureParameterSets = nalUnits(byte("numOfPictureParameterSets"), "PPS");
  const config: AvcDecoderConfig = {
    avcProfileIndication,
    profileCompatibility,
    avcLevelIndication,
    lengthSizeMinusOne,
    sequenceParameterSets,
    pictureParameterSets,
  };
  // ffmpeg writes the extension for every profile but 66, 77 and 88, so read it wherever it may be.
  if (at < bytes.length && !NO_EXTENSION_PROFILES.includes(avcProfileIndication)) {
    const chromaFormat = byte("chroma_format") & 3;
    const bitDepthLumaMinus8 = byte("bit_depth_luma_minus8") & 7;
    const bitDepthChromaMinus8 = byte("bit_depth_chroma_minus8") & 7;
    const sequenceParameterSetExt = nalUnits(byte("numOfSequenceParameterSetExt"), "SPS extension");
    config.highProfile = { chromaFormat, bitDepthLumaMinus8, bitDepthChromaMinus8, sequenceParameterSetExt };
  }
  return config;
}

/** Writes an avcC payload, reserved bits set; throws RangeError for a record it cannot encode; allocates. */
export function serializeAvcDecoderConfig(config: AvcDecoderConfig): Uint8Array {
  const sps = config.sequenceParameterSets;
  const pps = config.pictureParameterSets;
  const ext = config.highProfile;
  if (sps.length > MAX_SPS) throw new RangeError(`avcC holds at most ${MAX_SPS} SPS, not ${sps.length}`);
  if (pps.length > MAX_PPS) throw new RangeError(`avcC holds at most ${MAX_PPS} PPS, not ${pps.length}`);
  if (ext !== undefined && ext.sequenceParameterSetExt.length > 255) {
    throw new RangeError("avcC holds at most 255 SPS extensions");
  }
  if (![0, 1, 3].includes(config.lengthSizeMinusOne)) {
    throw new RangeError(`avcC lengthSizeMinusOne ${config.lengthSizeMinusOne} is not 0, 1 or 3`);
  }
  const all = [...sps, ...pps, ...(ext?.sequenceParameterSetExt ?? [])];
  let size = 7 + (ext === undefined ? 0 : 4);
  for (const nal of all) {
    if (nal.length === 0 || nal.length > MAX_NAL_BYTES) {
      throw new RangeError(`avcC NAL units are 1..${MAX_NAL_BYTES} bytes, not ${nal.length}`);
    }
    size += 2 + nal.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  const put = (b: number) => out[at++] = b;
  const putNals = (nals: readonly Uint8Array[]) => {
    for (const nal of nals) {
      put(nal.length >> 8);
      put(nal.length & 0xff);
      out.set(nal, at);
      at += nal.length;
    }
  };
  put(1);
  put(config.avcProfileIndication & 0xff);
  put(config.profileCompatibility & 0xff);
  put(config.avcLevelIndication & 0xff);
  put(0xfc | config.lengthSizeMinusOne);
  put(0xe0 | sps.length);
  putNals(sps);
  put(pps.length);
  putNals(pps);
  if (ext !== undefined) {
    put(0xfc | (ext.chromaFormat & 3));
    put(0xf8 | (ext.bitDepthLumaMinus8 & 7));
    put(0xf8 | (ext.bitDepthChromaMinus8 & 7));
    put(ext.sequenceParameterSetExt.length);
    putNals(ext.sequenceParameterSetExt);
  }
  return out;
}

/**
 * The record for a stream's parameter sets (NAL units without start codes), 4-byte lengths: profile,
 * compatibility and level from the first SPS's bytes, the extension from its fields where the
 * profile has one. Throws RbspError when the first SPS does not parse; allocates.
 */
export function avcDecoderConfigFromParameterSets(
  sequenceParameterSets: readonly Uint8Array[],
  pictureParameterSets: readonly Uint8Array[],
): AvcDecoderConfig {
  const first = sequenceParameterSets[0];
  if (first === undefined) throw new RangeError("avcC needs at least one SPS");
  const sps = parseH264Sps(first);
  const config: AvcDecoderConfig = {
    avcProfileIndication: sps.profileIdc,
    profileCompatibility: sps.constraintFlags,
    avcLevelIndication: sps.levelIdc,
    lengthSizeMinusOne: 3,
    sequenceParameterSets: [...sequenceParameterSets],
    pictureParameterSets: [...pictureParameterSets],
  };
  if (EXTENSION_PROFILES.includes(sps.profileIdc)) {
    config.highProfile = {
      chromaFormat: sps.chromaFormatIdc,
      bitDepthLumaMinus8: sps.bitDepthLumaMinus8,
      bitDepthChromaMinus8: sps.bitDepthChromaMinus8,
      sequenceParameterSetExt: [],
    };
  }
  return config;
}

/** RFC 6381 §3.3 codec string, `avc1.64001f`: profile, compatibility and level as lower-case hex. */
export function avcCodecString(config: AvcDecoderConfig, sampleEntry: "avc1" | "avc3" = "avc1"): string {
  const hex = (b: number) => b.toString(16).padStart(2, "0");
  return `${sampleEntry}.${hex(config.avcProfileIndication)}${hex(config.profileCompatibility)}${
    hex(config.avcLevelIndication)
  }`;
}

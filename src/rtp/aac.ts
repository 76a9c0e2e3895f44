/**
 * AAC over RTP as mpeg4-generic (RFC 3640): the fmtp parameters, a check of the AU-header section
 * for passthrough, and the AudioSpecificConfig fields (ISO/IEC 14496-3 §1.6.2.1) the SDP needs.
 *
 * ```
 * +---------+-----------+-----------+---------------+
 * | RTP     | AU Header | Auxiliary | Access Unit   |
 * | Header  | Section   | Section   | Data Section  |   RFC 3640 §3.2.1, Figure 1
 * +---------+-----------+-----------+---------------+
 * AU Header Section: AU-headers-length (16 bits, in bits) then AU-headers, padded to a byte;
 * first AU-header: AU-size (sizeLength) + AU-Index (indexLength);
 * others:          AU-size (sizeLength) + AU-Index-delta (indexDeltaLength).
 * ```
 *
 * @module
 */

/** mpeg4-generic fmtp parameters a relay needs (RFC 3640 §4.1). */
export interface Mpeg4GenericConfig {
  mode: string;
  sizeLength: number;
  indexLength: number;
  indexDeltaLength: number;
  config: Uint8Array;
  profileLevelId?: number;
}

/** Largest AU-header field width accepted; wider fields would not fit a 32-bit read. */
const MAX_FIELD_BITS = 32;
const AU_HEADERS_LENGTH_BYTES = 2;
/** Modes carrying an AudioSpecificConfig and sized AU headers (RFC 3640 §3.3.5, §3.3.6). */
const AAC_MODES = ["aac-hbr", "aac-lbr"] as const;

/** Reads mpeg4-generic fmtp (RFC 3640 §4.1) from lower-cased keys; throws SyntaxError naming the bad key. */
export function parseMpeg4GenericFmtp(params: Map<string, string>): Mpeg4GenericConfig {
  // mode is mandatory (§4.1) but gortsplib accepts its absence; "generic" is the mode
  // whose other parameters are all optional, so it promises nothing the stream may not keep.
  const mode = params.get("mode")?.trim() || "generic";
  const isAac = (AAC_MODES as readonly string[]).includes(mode.toLowerCase());
  if (isAac && !params.has("sizelength")) {
    throw new SyntaxError(
      `Missing 'sizelength' in mpeg4-generic fmtp for mode=${mode} (RFC 3640 §3.3.5, §3.3.6)`,
    );
  }
  const raw = params.get("config");
  if (raw === undefined) throw new SyntaxError("Missing 'config' in mpeg4-generic fmtp (RFC 3640 §4.1)");
  const config = parseHex(raw.trim());
  if (config === undefined) {
    throw new SyntaxError(
      `Invalid 'config' in mpeg4-generic fmtp: "${raw}" is not an even-length hex string`,
    );
  }
  if (isAac) {
    try {
      parseAudioSpecificConfig(config);
    } catch (e) {
      throw new SyntaxError(`Invalid 'config' in mpeg4-generic fmtp: "${raw}": ${(e as Error).message}`);
    }
  }
  const result: Mpeg4GenericConfig = {
    mode,
    sizeLength: fieldLength(params, "sizelength"),
    indexLength: fieldLength(params, "indexlength"),
    indexDeltaLength: fieldLength(params, "indexdeltalength"),
    config,
  };
  // Informational for a relay that forwards fmtp verbatim, so a malformed value is dropped, not fatal.
  const profile = params.get("profile-level-id")?.trim();
  if (profile !== undefined && /^\d+$/.test(profile)) result.profileLevelId = Number(profile);
  return result;
}

function fieldLength(params: Map<string, string>, key: string): number {
  const raw = params.get(key);
  if (raw === undefined) return 0;
  const text = raw.trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= MAX_FIELD_BITS)) {
    throw new SyntaxError(
      `Invalid '${key}' in mpeg4-generic fmtp: "${raw}" is not a bit count 0..${MAX_FIELD_BITS}`,
    );
  }
  return value;
}

function parseHex(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Number of AUs in one payload after checking its AU-header section, or -1 when inconsistent
 * (RFC 3640 §3.2.1, §3.2.3). No auxiliary section is assumed (auxiliaryDataSizeLength absent).
 */
export function aacAccessUnitCount(
  buf: Uint8Array,
  payloadStart: number,
  payloadEnd: number,
  sizeLength: number,
  indexLength: number,
  indexDeltaLength: number,
): number {
  // hot path: no allocation
  if (payloadStart < 0 || payloadEnd > buf.length || payloadEnd <= payloadStart) return -1;
  // Without any AU-header field there is no AU-header section: the payload is one AU or a fragment.
  if (sizeLength === 0 && indexLength === 0 && indexDeltaLength === 0) return 1;
  if (payloadEnd - payloadStart < AU_HEADERS_LENGTH_BYTES) return -1;
  const headerBits = (buf[payloadStart] << 8) | buf[payloadStart + 1];
  const headersAt = payloadStart + AU_HEADERS_LENGTH_BYTES;
  const dataStart = headersAt + ((headerBits + 7) >>> 3);
  const dataBytes = payloadEnd - dataStart;
  const firstBits = sizeLength + indexLength;
  const nextBits = sizeLength + indexDeltaLength;
  if (dataBytes <= 0 || firstBits === 0 || headerBits < firstBits) return -1;

  const firstSize = readBits(buf, headersAt, 0, sizeLength);
  let sizes = firstSize;
  let count = 1;
  let bit = firstBits;
  while (bit < headerBits) {
    if (nextBits === 0 || headerBits - bit < nextBits) return -1;
    sizes += readBits(buf, headersAt, bit, sizeLength);
    bit += nextBits;
    count++;
  }
  if (sizeLength === 0) return count;
  // A fragmented AU travels alone and its AU-size is that of the whole AU (§3.2.3), so a single
  // header may exceed the data; several AUs must fill the data exactly.
  if (count === 1) return firstSize >= dataBytes ? 1 : -1;
  return sizes === dataBytes ? count : -1;
}

function readBits(buf: Uint8Array, at: number, bitOffset: number, bitCount: number): number {
  // hot path: no allocation. Bit offsets are relative to `at`, so they stay small whatever the
  // buffer size; multiplying instead of shifting keeps 32-bit fields unsigned.
  let value = 0;
  for (let i = bitOffset; i < bitOffset + bitCount; i++) {
    value = value * 2 + ((buf[at + (i >>> 3)] >> (7 - (i & 7))) & 1);
  }
  return value;
}

/** AudioSpecificConfig fields a relay needs (ISO/IEC 14496-3 §1.6.2.1). */
export interface AudioSpecificConfigInfo {
  /** Core audio object type (2 = AAC LC), after hierarchical SBR/PS signalling (types 5 and 29). */
  objectType: number;
  /** samplingFrequency: the core rate, which gortsplib and ffmpeg use as the RTP clock rate. */
  sampleRate: number;
  /** From channelConfiguration; 0 means a program_config_element defines them (not parsed). */
  channels: number;
  /** SBR signalled explicitly (hierarchical or backward-compatible sync extension 0x2b7). */
  sbrPresent: boolean;
  /** SBR output rate when signalled, else 0. */
  extensionSampleRate: number;
}

/** ISO/IEC 14496-3 Table 1.18; indexes 13 and 14 are reserved, 15 escapes to 24 bits. */
const SAMPLE_RATES = [
  96000,
  88200,
  64000,
  48000,
  44100,
  32000,
  24000,
  22050,
  16000,
  12000,
  11025,
  8000,
  7350,
] as const;
/** ISO/IEC 14496-3 Table 1.19 (with the 2009 amendments); -1 marks reserved values. */
const CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8, -1, -1, -1, 7, 8, 24, 8, -1] as const;
const AOT_SBR = 5;
const AOT_PS = 29;
const AOT_ESCAPE = 31;
const FREQUENCY_ESCAPE = 15;
const SYNC_EXTENSION_SBR = 0x2b7;
/** Object types whose config is a GASpecificConfig (§1.6.2.1 switch). */
const GA_OBJECT_TYPES = [1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23] as const;
/** Object types followed by a 2-bit epConfig. */
const ER_OBJECT_TYPES = [17, 19, 20, 21, 22, 23, 24, 25, 26, 27] as const;

class BitReader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length * 8 - this.#pos;
  }

  read(bitCount: number): number {
    if (bitCount > this.remaining) throw new SyntaxError("AudioSpecificConfig is truncated");
    const value = readBits(this.#bytes, 0, this.#pos, bitCount);
    this.#pos += bitCount;
    return value;
  }
}

function readObjectType(r: BitReader): number {
  const type = r.read(5);
  return type === AOT_ESCAPE ? 32 + r.read(6) : type;
}

function readSampleRate(r: BitReader): number {
  const index = r.read(4);
  if (index === FREQUENCY_ESCAPE) return r.read(24);
  const rate = SAMPLE_RATES[index];
  if (rate === undefined) {
    throw new SyntaxError(`AudioSpecificConfig uses reserved sampling frequency index ${index}`);
  }
  return rate;
}

/** Parses the fields of an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); throws SyntaxError; allocates. */
export function parseAudioSpecificConfig(config: Uint8Array): AudioSpecificConfigInfo {
  const r = new BitReader(config);
  let objectType = readObjectType(r);
  if (objectType === 0) throw new SyntaxError("AudioSpecificConfig has object type 0 (null)");
  const sampleRate = readSampleRate(r);
  const channelConfiguration = r.read(4);
  const channels = CHANNELS[channelConfiguration];
  if (channels === undefined || channels < 0) {
    throw new SyntaxError(`AudioSpecificConfig uses reserved channel configuration ${channelConfiguration}`);
  }
  const info: AudioSpecificConfigInfo = {
    objectType,
    sampleRate,
    channels,
    sbrPresent: false,
    extensionSampleRate: 0,
  };
  if (objectType === AOT_SBR || objectType === AOT_PS) {
    info.sbrPresent = true;
    info.extensionSampleRate = readSampleRate(r);
    objectType = readObjectType(r);
    // The core behind SBR/PS signalling is held to the same rule as a plain one.
    if (objectType === 0) {
      throw new SyntaxError("AudioSpecificConfig has core object type 0 (null) behind SBR");
    }
    info.objectType = objectType;
    return info;
  }
  // Backward-compatible signalling appends a sync extension after the core config: ffmpeg's
  // 121056E500 is AAC LC 44.1 kHz stereo + 0x2b7 + SBR + sbrPresentFlag=0. The extension is a
  // hint, so anything unexpected in it leaves the core fields standing.
  try {
    if (skipGaSpecificConfig(r, objectType, channelConfiguration) && r.remaining >= 16) {
      if (r.read(11) === SYNC_EXTENSION_SBR && readObjectType(r) === AOT_SBR && r.read(1) === 1) {
        info.extensionSampleRate = readSampleRate(r);
        info.sbrPresent = true;
      }
    }
  } catch {
    // truncated or reserved extension: keep the core config
  }
  return info;
}

/** Skips GASpecificConfig (ISO/IEC 14496-3 §4.4.1); false where its length cannot be known cheaply. */
function skipGaSpecificConfig(r: BitReader, objectType: number, channelConfiguration: number): boolean {
  if (!(GA_OBJECT_TYPES as readonly number[]).includes(objectType)) return false;
  // A program_config_element has a variable layout; not worth parsing for a hint.
  if (channelConfiguration === 0) return false;
  r.read(1); // frameLengthFlag
  if (r.read(1) === 1) r.read(14); // dependsOnCoreCoder → coreCoderDelay
  const extensionFlag = r.read(1);
  if (objectType === 6 || objectType === 20) r.read(3); // layerNr
  if (extensionFlag === 1) {
    if (objectType === 22) r.read(5 + 11); // numOfSubFrame, layer_length
    if (objectType === 17 || objectType === 19 || objectType === 20 || objectType === 23) r.read(3);
    r.read(1); // extensionFlag3
  }
  if ((ER_OBJECT_TYPES as readonly number[]).includes(objectType)) {
    const epConfig = r.read(2);
    if (epConfig === 2 || epConfig === 3) return false;
  }
  return true;
}

/** Core sampling rate in Hz from an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); throws SyntaxError. */
export function aacSampleRateFromConfig(config: Uint8Array): number {
  return parseAudioSpecificConfig(config).sampleRate;
}

/** Channels from an AudioSpecificConfig (ISO/IEC 14496-3 Table 1.19), 0 if a PCE sets them; throws. */
export function aacChannelsFromConfig(config: Uint8Array): number {
  return parseAudioSpecificConfig(config).channels;
}

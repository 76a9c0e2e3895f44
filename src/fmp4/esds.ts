/**
 * The `esds` box of an `mp4a` sample entry (ISO/IEC 14496-14 §3.1.2): an MPEG-4 ES_Descriptor
 * (ISO/IEC 14496-1 §7.2.6.5) whose DecoderConfigDescriptor carries the AudioSpecificConfig as its
 * DecoderSpecificInfo.
 *
 * ```
 * esds FullBox(v0)
 *   03 len  ES_Descriptor: ES_ID(16) flags(8) [dependsOn(16)] [URL] [OCR_ES_ID(16)]
 *     04 len  DecoderConfigDescriptor: objectTypeIndication(8) streamType(6) upStream(1) 1(1)
 *             bufferSizeDB(24) maxBitrate(32) avgBitrate(32)
 *       05 len  DecoderSpecificInfo: the AudioSpecificConfig
 *     06 01 02  SLConfigDescriptor: predefined = 2 (reserved for MP4 files)
 * ```
 *
 * A descriptor's length (14496-1 §8.3.3, sizeOfInstance) is 7 bits per byte, high bit set on every
 * byte but the last. Writers differ: ffmpeg always pads to 4 bytes (80 80 80 nn), others use the
 * fewest bytes. Both are valid; the reader takes either, the writer uses the fewest.
 *
 * @module
 */
import type { BoxWriter } from "./box_writer.ts";
import { Fmp4ParseError } from "./box_reader.ts";

/** objectTypeIndication for MPEG-4 Audio, ISO/IEC 14496-3 (14496-1 Table 5). */
export const OBJECT_TYPE_MPEG4_AUDIO = 0x40;
/** streamType AudioStream (14496-1 Table 6). */
export const STREAM_TYPE_AUDIO = 0x05;

const ES_DESCR_TAG = 0x03;
const DECODER_CONFIG_DESCR_TAG = 0x04;
const DEC_SPECIFIC_INFO_TAG = 0x05;
const SL_CONFIG_DESCR_TAG = 0x06;
/** SLConfigDescriptor predefined value 2: "reserved for use in MP4 files" (14496-1 Table 14). */
const SL_PREDEFINED_MP4 = 0x02;
/** sizeOfInstance is at most 4 bytes of 7 bits. */
export const MAX_DESCRIPTOR_LENGTH = 0x0fff_ffff;

/** What an esds says about the stream. */
export interface EsdsInfo {
  objectTypeIndication: number;
  streamType: number;
  /** A view of the DecoderSpecificInfo bytes (the AudioSpecificConfig for AAC). */
  decoderSpecificInfo: Uint8Array;
}

/** Bytes of a descriptor length field for `length`, the fewest that hold it. */
export function descriptorLengthSize(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > MAX_DESCRIPTOR_LENGTH) {
    throw new RangeError(`Descriptor length ${length} is outside 0..${MAX_DESCRIPTOR_LENGTH}`);
  }
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x20_0000 ? 3 : 4;
}

/** Writes a descriptor length in the fewest bytes. */
export function writeDescriptorLength(w: BoxWriter, length: number): void {
  for (let shift = 7 * (descriptorLengthSize(length) - 1); shift > 0; shift -= 7) {
    w.u8(0x80 | ((length >>> shift) & 0x7f));
  }
  w.u8(length & 0x7f);
}

/** Reads a descriptor length at `at`: `[length, bytes read]`; throws for more than 4 bytes or truncation. */
export function readDescriptorLength(buf: Uint8Array, at: number, end: number): [number, number] {
  let length = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= end) throw new Fmp4ParseError("esds descriptor length is truncated");
    const b = buf[at + i];
    length = length * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return [length, i + 1];
  }
  throw new Fmp4ParseError("esds descriptor length runs past 4 bytes");
}

function descriptorSize(bodyLength: number): number {
  return 1 + descriptorLengthSize(bodyLength) + bodyLength;
}

/** Writes an `esds` box for MPEG-4 Audio with `decoderSpecificInfo` (the AudioSpecificConfig). */
export function writeEsds(w: BoxWriter, decoderSpecificInfo: Uint8Array): void {
  const dsi = decoderSpecificInfo.length;
  const dcdBody = 13 + descriptorSize(dsi);
  const esBody = 3 + descriptorSize(dcdBody) + descriptorSize(1);
  w.startFull("esds", 0, 0);
  w.u8(ES_DESCR_TAG);
  writeDescriptorLength(w, esBody);
  // ES_ID 0: 14496-14 stores it as 0 and lets a player that builds an ES descriptor use the track ID.
  w.u16(0).u8(0);
  w.u8(DECODER_CONFIG_DESCR_TAG);
  writeDescriptorLength(w, dcdBody);
  // upStream 0, reserved 1; buffer size and bitrates 0: unknown to a relay, and players ignore them.
  w.u8(OBJECT_TYPE_MPEG4_AUDIO).u8((STREAM_TYPE_AUDIO << 2) | 1).u24(0).u32(0).u32(0);
  w.u8(DEC_SPECIFIC_INFO_TAG);
  writeDescriptorLength(w, dsi);
  w.bytes(decoderSpecificInfo);
  w.u8(SL_CONFIG_DESCR_TAG);
  writeDescriptorLength(w, 1);
  w.u8(SL_PREDEFINED_MP4);
  w.end();
}

/** One descriptor inside `[at, end)`: tag, body range; throws when it does not fit. */
function readDescriptor(
  buf: Uint8Array,
  at: number,
  end: number,
): { tag: number; body: number; end: number } {
  if (at >= end) throw new Fmp4ParseError("esds descriptor is truncated");
  const [length, n] = readDescriptorLength(buf, at + 1, end);
  const body = at + 1 + n;
  if (length > end - body) {
    throw new Fmp4ParseError(
      `esds descriptor tag 0x${buf[at].toString(16)} of ${length} bytes overruns its parent`,
    );
  }
  return { tag: buf[at], body, end: body + length };
}

/**
 * Reads the esds body `[start, end)` (after the box header): the ES_Descriptor's decoder
 * configuration. Throws Fmp4ParseError when a descriptor overruns or the config is missing.
 */
export function parseEsds(buf: Uint8Array, start: number, end: number): EsdsInfo {
  if (end - start < 4) throw new Fmp4ParseError("Box 'esds' is truncated");
  if (buf[start] !== 0) throw new Fmp4ParseError(`Box 'esds' has version ${buf[start]}, not 0`);
  const es = readDescriptor(buf, start + 4, end);
  if (es.tag !== ES_DESCR_TAG) {
    throw new Fmp4ParseError(`esds starts with tag 0x${es.tag.toString(16)}, not ES_Descriptor`);
  }
  let at = es.body + 3;
  if (at > es.end) throw new Fmp4ParseError("ES_Descriptor is truncated");
  const flags = buf[es.body + 2];
  if (flags & 0x80) at += 2; // streamDependenceFlag: dependsOn_ES_ID
  if (flags & 0x40) {
    // URL_Flag: URLlength then the URL.
    if (at >= es.end) throw new Fmp4ParseError("ES_Descriptor is truncated in its URL");
    at += 1 + buf[at];
  }
  if (flags & 0x20) at += 2; // OCRstreamFlag: OCR_ES_Id
  if (at > es.end) throw new Fmp4ParseError("ES_Descriptor is truncated");
  while (at < es.end) {
    const d = readDescriptor(buf, at, es.end);
    if (d.tag === DECODER_CONFIG_DESCR_TAG) {
      if (d.end - d.body < 13) throw new Fmp4ParseError("DecoderConfigDescriptor is truncated");
      const info: EsdsInfo = {
        objectTypeIndication: buf[d.body],
        streamType: buf[d.body + 1] >> 2,
        decoderSpecificInfo: new Uint8Array(0),
      };
      for (let sub = d.body + 13; sub < d.end;) {
        const s = readDescriptor(buf, sub, d.end);
        if (s.tag === DEC_SPECIFIC_INFO_TAG) {
          info.decoderSpecificInfo = buf.subarray(s.body, s.end);
          return info;
        }
        sub = s.end;
      }
      return info;
    }
    at = d.end;
  }
  throw new Fmp4ParseError("esds has no DecoderConfigDescriptor");
}

/**
 * The one sample entry of each track's `stsd` (ISO/IEC 14496-12 §8.5.2): how a decoder is set up.
 *
 * ```
 * SampleEntry:       reserved(6×8) data_reference_index(16)
 * VisualSampleEntry: pre_defined/reserved(16×8) width(16) height(16) horizres/vertres(32, 72 dpi)
 *                    reserved(32) frame_count(16)=1 compressorname(32×8) depth(16)=0x18 pre_defined(16)=-1
 *                    then avcC | hvcC                                            (14496-15 §5.4, §8.4)
 * AudioSampleEntry:  reserved(2×32) channelcount(16) samplesize(16)=16 pre_defined(16) reserved(16)
 *                    samplerate(32, 16.16) then esds (mp4a) | dOps (Opus) | nothing (ulaw, alaw)
 * dOps:              Version(8)=0 OutputChannelCount(8) PreSkip(16) InputSampleRate(32)
 *                    OutputGain(16, signed Q7.8) ChannelMappingFamily(8)=0   (Opus in ISOBMFF §4.3.2)
 * ```
 *
 * G.711 has no ISO sample entry; the QuickTime `ulaw`/`alaw` entries are the ones ffmpeg reads in
 * an MP4 (docs/fmp4.md). `hvc1` (not `hev1`) because Apple's HLS takes only `hvc1`: the parameter sets
 * are in the hvcC, and samples may still repeat them.
 *
 * @module
 */
import type { BoxWriter } from "./box_writer.ts";
import { type Box, describeType, FieldReader, findBox, Fmp4ParseError, requireBox } from "./box_reader.ts";
import { OBJECT_TYPE_MPEG4_AUDIO, parseEsds, writeEsds } from "./esds.ts";
import { type AudioCodec, isVideoTrack, type Track } from "./track.ts";

/** Sample entry type per codec, and the configuration box inside it. */
export const SAMPLE_ENTRY_TYPES = {
  h264: "avc1",
  h265: "hvc1",
  aac: "mp4a",
  opus: "Opus",
  pcmu: "ulaw",
  pcma: "alaw",
} as const;

const CONFIG_BOX = { h264: "avcC", h265: "hvcC" } as const;
/** 72 dpi in 16.16 fixed point, the value §8.5.2.2 fixes for horizresolution and vertresolution. */
const DPI_72 = 0x0048_0000;
/** The Opus decoder's output rate, which the Opus sample entry's samplerate always states. */
const OPUS_RATE = 48000;

/** What a sample entry says; the init segment adds id and timescale to make a Track. */
export type SampleEntryInfo =
  | { codec: "h264" | "h265"; width: number; height: number; decoderConfig: Uint8Array }
  | {
    codec: AudioCodec;
    channels: number;
    sampleRate: number;
    config?: Uint8Array;
    preSkip?: number;
    outputGain?: number;
  };

/** Writes the sample entry box for `track` (validated by the caller). */
export function writeSampleEntry(w: BoxWriter, track: Track): void {
  w.start(SAMPLE_ENTRY_TYPES[track.codec]).zeros(6).u16(1);
  if (isVideoTrack(track)) {
    w.zeros(16).u16(track.width).u16(track.height).u32(DPI_72).u32(DPI_72).u32(0).u16(1);
    w.zeros(32).u16(0x0018).u16(0xffff);
    w.start(CONFIG_BOX[track.codec]).bytes(track.decoderConfig).end();
    w.end();
    return;
  }
  const rate = track.codec === "opus" ? OPUS_RATE : track.sampleRate;
  w.zeros(8).u16(track.channels).u16(16).u16(0).u16(0).u32(rate * 0x1_0000);
  if (track.codec === "aac") writeEsds(w, track.config!);
  if (track.codec === "opus") {
    w.start("dOps").u8(0).u8(track.channels).u16(track.preSkip ?? 0).u32(track.sampleRate);
    w.u16((track.outputGain ?? 0) & 0xffff).u8(0).end();
  }
  w.end();
}

const CODEC_OF_ENTRY: ReadonlyMap<string, Track["codec"]> = new Map(
  Object.entries(SAMPLE_ENTRY_TYPES).map(([codec, type]) => [type, codec as Track["codec"]]),
);
// Readers of recordings meet the in-band variants too; their records have the same layout.
const ALIASES: ReadonlyMap<string, Track["codec"]> = new Map([["avc3", "h264"], ["hev1", "h265"]]);

/**
 * Reads a sample entry box the box reader expanded (children present). Throws Fmp4ParseError for
 * an entry type this muxer does not write or a missing or malformed configuration box.
 */
export function parseSampleEntry(buf: Uint8Array, entry: Box): SampleEntryInfo {
  const codec = CODEC_OF_ENTRY.get(entry.type) ?? ALIASES.get(entry.type);
  if (codec === undefined) throw new Fmp4ParseError(`Unsupported sample entry ${describeType(entry.type)}`);
  const r = FieldReader.body(buf, entry);
  r.skip(8); // reserved, data_reference_index
  if (codec === "h264" || codec === "h265") {
    r.skip(16);
    const width = r.u16();
    const height = r.u16();
    const config = requireBox(entry.children, CONFIG_BOX[codec], entry.type);
    return { codec, width, height, decoderConfig: buf.slice(config.bodyStart, config.end) };
  }
  r.skip(8);
  const channels = r.u16();
  r.skip(6);
  const sampleRate = Math.floor(r.u32() / 0x1_0000);
  if (codec === "aac") {
    const esds = requireBox(entry.children, "esds", entry.type);
    const info = parseEsds(buf, esds.bodyStart, esds.end);
    if (info.objectTypeIndication !== OBJECT_TYPE_MPEG4_AUDIO) {
      throw new Fmp4ParseError(
        `mp4a with objectTypeIndication 0x${info.objectTypeIndication.toString(16)}, not MPEG-4 Audio (0x40)`,
      );
    }
    if (info.decoderSpecificInfo.length === 0) {
      throw new Fmp4ParseError("mp4a esds has no AudioSpecificConfig");
    }
    return { codec, channels, sampleRate, config: info.decoderSpecificInfo.slice() };
  }
  if (codec === "opus") {
    const dops = findBox(entry.children, "dOps");
    if (dops === undefined) throw new Fmp4ParseError("Missing 'dOps' in 'Opus'");
    const d = FieldReader.body(buf, dops);
    const version = d.u8();
    if (version !== 0) throw new Fmp4ParseError(`dOps version ${version}, not 0`);
    const outputChannels = d.u8();
    const preSkip = d.u16();
    const inputRate = d.u32();
    const outputGain = d.i16();
    const family = d.u8();
    if (family !== 0) {
      throw new Fmp4ParseError(`dOps channel mapping family ${family} is not supported (only 0)`);
    }
    return { codec, channels: outputChannels, sampleRate: inputRate, preSkip, outputGain };
  }
  return { codec, channels, sampleRate };
}

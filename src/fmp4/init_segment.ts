/**
 * The init segment of a fragmented MP4 (ISO/IEC 14496-12 §8.8): `ftyp` then a `moov` that
 * describes every track and holds no samples (empty sample tables; `mvex` announces fragments).
 * HLS serves it as the EXT-X-MAP; a recording starts with it.
 *
 * ```
 * ftyp  major iso5, minor 512, compatible iso5 iso6 mp41
 * moov
 *   mvhd                     timescale 1000, duration 0, next_track_ID
 *   trak (per track)
 *     tkhd                   flags enabled|in_movie, track_ID, width/height (16.16) for video
 *     mdia
 *       mdhd                 the track's timescale, language und
 *       hdlr                 vide | soun
 *       minf
 *         vmhd | smhd
 *         dinf/dref/url      self-contained (flags 1)
 *         stbl               stsd (one sample entry), empty stts stsc stsz stco
 *   mvex
 *     trex (per track)       default sample description 1, other defaults 0
 * ```
 *
 * @module
 */
import { BoxWriter } from "./box_writer.ts";
import {
  type Box,
  FieldReader,
  findBox,
  findBoxes,
  Fmp4ParseError,
  readBoxes,
  requireBox,
} from "./box_reader.ts";
import { parseSampleEntry, writeSampleEntry } from "./sample_entry.ts";
import { isVideoTrack, type Track, validateTrack } from "./track.ts";

/** The tracks an init segment describes, in trak order. */
export interface InitSegment {
  readonly tracks: readonly Track[];
}

/**
 * The ftyp ffmpeg's HLS muxer writes for fMP4 (`-hls_segment_type fmp4`), which Safari and
 * hls.js play: `iso5` is the brand under which readers of ISO files honour tfhd's
 * default-base-is-moof, `iso6` says fragments carry tfdt, `mp41` is for older MP4 readers.
 * Browsers' MSE ignores ftyp. Not `cmfc`: CMAF allows one track per file, the muxed
 * audio+video segments here have two.
 */
export const FILE_TYPE = {
  majorBrand: "iso5",
  minorVersion: 512,
  compatibleBrands: ["iso5", "iso6", "mp41"],
} as const;

/** ISO 639-2/T "und" packed as three 5-bit letters (§8.4.2.3). */
const LANGUAGE_UND = 0x55c4;
/** The identity transformation (§8.2.2.3): a, b, u / c, d, v / x, y, w in 16.16 and 2.30. */
const MATRIX = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] as const;
/** tkhd flags: track_enabled | track_in_movie (§8.3.2.3). */
const TKHD_FLAGS = 0x000003;
const MOVIE_TIMESCALE = 1000;
const HANDLERS = {
  video: { type: "vide", name: "VideoHandler" },
  audio: { type: "soun", name: "SoundHandler" },
} as const;

function validate(init: InitSegment): void {
  if (init.tracks.length === 0) throw new RangeError("An init segment needs at least one track");
  const ids = new Set<number>();
  for (const t of init.tracks) {
    validateTrack(t);
    if (ids.has(t.id)) throw new RangeError(`Track id ${t.id} is used twice`);
    ids.add(t.id);
  }
  if (Math.max(...ids) === 0xffff_ffff) throw new RangeError("Track id 4294967295 leaves no next_track_ID");
}

function writeMatrix(w: BoxWriter): void {
  for (const m of MATRIX) w.u32(m);
}

function writeTrak(w: BoxWriter, track: Track): void {
  const video = isVideoTrack(track);
  const handler = video ? HANDLERS.video : HANDLERS.audio;
  w.start("trak");
  w.startFull("tkhd", 0, TKHD_FLAGS).u32(0).u32(0).u32(track.id).u32(0).u32(0).zeros(8);
  w.u16(0).u16(0).u16(video ? 0 : 0x0100).u16(0);
  writeMatrix(w);
  w.u32(video ? track.width * 0x1_0000 : 0).u32(video ? track.height * 0x1_0000 : 0).end();
  w.start("mdia");
  w.startFull("mdhd", 0, 0).u32(0).u32(0).u32(track.timescale).u32(0).u16(LANGUAGE_UND).u16(0).end();
  w.startFull("hdlr", 0, 0).u32(0).fourcc(handler.type).zeros(12);
  for (let i = 0; i < handler.name.length; i++) w.u8(handler.name.charCodeAt(i));
  w.u8(0).end();
  w.start("minf");
  if (video) w.startFull("vmhd", 0, 1).u16(0).zeros(6).end();
  else w.startFull("smhd", 0, 0).u16(0).u16(0).end();
  w.start("dinf").startFull("dref", 0, 0).u32(1).startFull("url ", 0, 1);
  w.end(); // url
  w.end(); // dref
  w.end(); // dinf
  w.start("stbl");
  w.startFull("stsd", 0, 0).u32(1);
  writeSampleEntry(w, track);
  w.end();
  w.startFull("stts", 0, 0).u32(0).end();
  w.startFull("stsc", 0, 0).u32(0).end();
  w.startFull("stsz", 0, 0).u32(0).u32(0).end();
  w.startFull("stco", 0, 0).u32(0).end();
  w.end(); // stbl
  w.end(); // minf
  w.end(); // mdia
  w.end(); // trak
}

function writeAll(init: InitSegment, w: BoxWriter): void {
  w.start("ftyp").fourcc(FILE_TYPE.majorBrand).u32(FILE_TYPE.minorVersion);
  for (const b of FILE_TYPE.compatibleBrands) w.fourcc(b);
  w.end();
  w.start("moov");
  w.startFull("mvhd", 0, 0).u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(0).u32(0x0001_0000).u16(0x0100);
  w.zeros(10);
  writeMatrix(w);
  w.zeros(24).u32(Math.max(...init.tracks.map((t) => t.id)) + 1).end();
  for (const t of init.tracks) writeTrak(w, t);
  w.start("mvex");
  for (const t of init.tracks) w.startFull("trex", 0, 0).u32(t.id).u32(1).u32(0).u32(0).u32(0).end();
  w.end();
  w.end();
}

/** Bytes of the init segment for `init`; throws RangeError/TypeError for a track it cannot describe. */
export function initSegmentSize(init: InitSegment): number {
  validate(init);
  const w = new BoxWriter();
  writeAll(init, w);
  return w.position;
}

/** Writes the init segment at `offset` in `buf`; returns the bytes written (initSegmentSize). */
export function writeInitSegment(init: InitSegment, buf: Uint8Array, offset: number): number {
  validate(init);
  const w = new BoxWriter(buf, offset);
  writeAll(init, w);
  return w.position - offset;
}

/** The init segment for `init` in a new buffer of exactly its size. */
export function serializeInitSegment(init: InitSegment): Uint8Array {
  const out = new Uint8Array(initSegmentSize(init));
  writeInitSegment(init, out, 0);
  return out;
}

/** Reads one trak back into a Track; throws Fmp4ParseError. */
function parseTrak(buf: Uint8Array, trak: Box): Track {
  const tkhd = FieldReader.body(buf, requireBox(trak.children, "tkhd", "trak"));
  const tkhdVersion = tkhd.u8();
  tkhd.skip(3 + (tkhdVersion === 1 ? 16 : 8));
  const id = tkhd.u32();
  const mdia = requireBox(trak.children, "mdia", "trak");
  const mdhd = FieldReader.body(buf, requireBox(mdia.children, "mdhd", "mdia"));
  const mdhdVersion = mdhd.u8();
  mdhd.skip(3 + (mdhdVersion === 1 ? 16 : 8));
  const timescale = mdhd.u32();
  const hdlr = FieldReader.body(buf, requireBox(mdia.children, "hdlr", "mdia"));
  hdlr.skip(8);
  const handler = hdlr.fourcc();
  const minf = requireBox(mdia.children, "minf", "mdia");
  const stbl = requireBox(minf.children, "stbl", "minf");
  const stsd = requireBox(stbl.children, "stsd", "stbl");
  const entry = stsd.children?.[0];
  if (entry === undefined) throw new Fmp4ParseError(`Track ${id} has no sample entry`);
  const info = parseSampleEntry(buf, entry);
  const track = { id, timescale, ...info } as Track;
  const expected = isVideoTrack(track) ? HANDLERS.video.type : HANDLERS.audio.type;
  if (handler !== expected) {
    throw new Fmp4ParseError(`Track ${id}: handler '${handler}' does not match sample entry '${entry.type}'`);
  }
  try {
    validateTrack(track);
  } catch (e) {
    throw new Fmp4ParseError(`Track ${id} cannot be muxed again: ${(e as Error).message}`);
  }
  return track;
}

/**
 * Reads the tracks of an init segment (or of any MP4 with a moov: the sample tables are ignored).
 * Throws Fmp4ParseError for malformed boxes, a missing box, or a track this muxer cannot write.
 * Configuration bytes are copied out of `bytes`.
 */
export function parseInitSegment(bytes: Uint8Array, start = 0, end: number = bytes.length): InitSegment {
  const top = readBoxes(bytes, start, end);
  const moov = findBox(top, "moov");
  if (moov === undefined) throw new Fmp4ParseError("No 'moov' box: not an init segment");
  const traks = findBoxes(moov.children, "trak");
  if (traks.length === 0) throw new Fmp4ParseError("moov has no trak");
  const tracks = traks.map((t) => parseTrak(bytes, t));
  const ids = new Set(tracks.map((t) => t.id));
  if (ids.size !== tracks.length) throw new Fmp4ParseError("Two traks have the same track_ID");
  if (Math.max(...ids) === 0xffff_ffff) throw new Fmp4ParseError("track_ID 4294967295 cannot be muxed again");
  return { tracks };
}

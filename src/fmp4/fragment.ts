/**
 * A movie fragment (ISO/IEC 14496-12 §8.8): `moof` with one `traf` per track, then the `mdat`
 * holding every track's samples, track after track in traf order. An LL-HLS part, an HLS segment
 * and a recording's fragment are each one of these (or several back to back).
 *
 * ```
 * moof
 *   mfhd  sequence_number
 *   traf (per track)
 *     tfhd  flags default-base-is-moof (0x020000), track_ID
 *     tfdt  version 1: baseMediaDecodeTime(64)
 *     trun  version 1 when composition offsets are written (signed), else 0
 *           flags data-offset | duration | size | flags [| composition-time-offset]
 *           sample_count, data_offset (moof start → the track's first byte in mdat)
 *           per sample: duration(32) size(32) flags(32) [offset(32, signed)]
 * mdat  size(32) 'mdat', then the samples
 * ```
 *
 * What the muxer expects of its callers:
 * - samples of a track in decode order; times and durations in the track's timescale;
 * - `baseDecodeTime` is the first sample's decode time, and the next fragment of the track starts
 *   where this one's durations end (players place samples by tfdt, gaps show as gaps);
 * - every sample's duration is known, the last one's too: hold back one sample until the next
 *   arrives and use the difference of their decode times (or the frame duration at the end);
 * - `compositionOffset` = presentation time − decode time (B-frames); negative is allowed;
 * - video sample data in AVCC/HVCC form: each NAL unit after a 4-byte big-endian length, no start
 *   codes (`nalUnits` writes that straight into the mdat).
 *
 * @module
 */
import { BoxWriter, writeU32 } from "./box_writer.ts";
import { type Box, FieldReader, findBoxes, Fmp4ParseError, readBoxes, requireBox } from "./box_reader.ts";

/** One sample (a video frame, an audio frame) of a fragment. */
export interface FragmentSample {
  /** Until the next sample's decode time, in the track's timescale. */
  readonly duration: number;
  /** Decodable on its own (an IDR/IRAP frame; every audio frame). */
  readonly sync: boolean;
  /** Presentation minus decode time, in the track's timescale; 0 when absent. */
  readonly compositionOffset?: number;
  /** Bytes in the mdat; needed when neither `data` nor `nalUnits` is given, checked when they are. */
  readonly size?: number;
  /** The sample's mdat bytes as they are. */
  readonly data?: Uint8Array;
  /** Video: the NAL units, written each after a 4-byte length (AVCC/HVCC sample format). */
  readonly nalUnits?: readonly Uint8Array[];
}

/** One track's run of samples in a fragment. */
export interface FragmentTrack {
  readonly trackId: number;
  /** Decode time of the first sample, in the track's timescale (tfdt). */
  readonly baseDecodeTime: number;
  readonly samples: readonly FragmentSample[];
}

/** One moof + mdat. */
export interface Fragment {
  /** mfhd sequence_number: one more for each fragment of a stream. */
  readonly sequenceNumber: number;
  readonly tracks: readonly FragmentTrack[];
}

/** A sample as parseFragment returns it: every field present, `data` a view into the input. */
export interface ParsedSample {
  duration: number;
  sync: boolean;
  compositionOffset: number;
  size: number;
  data: Uint8Array;
}

/** A track run as parseFragment returns it. */
export interface ParsedFragmentTrack {
  trackId: number;
  baseDecodeTime: number;
  samples: ParsedSample[];
}

/** A fragment as parseFragment returns it. */
export interface ParsedFragment {
  sequenceNumber: number;
  tracks: ParsedFragmentTrack[];
}

/** tfhd flags (§8.8.7.1). */
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags (§8.8.8.1). */
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_COMPOSITION_OFFSET = 0x000800;

/**
 * sample_flags (§8.8.3.1): reserved(4) is_leading(2) sample_depends_on(2) sample_is_depended_on(2)
 * sample_has_redundancy(2) padding(3) sample_is_non_sync_sample(1) degradation_priority(16).
 * A sync sample depends on no other (depends_on 2); any other sample depends on others
 * (depends_on 1) and is marked non-sync, which is what MSE and Safari seek and start by.
 */
export const SYNC_SAMPLE_FLAGS = 0x0200_0000;
export const NON_SYNC_SAMPLE_FLAGS = 0x0101_0000;
const NON_SYNC_BIT = 0x0001_0000;

const MOOF_HEADER = 8;
const MFHD = 16;
const TRAF_HEADER = 8;
const TFHD = 16;
const TFDT_V1 = 20;
const TRUN_FIXED = 20;
const MDAT_HEADER = 8;
const UINT32 = 0xffff_ffff;

/** Bytes of NAL units written with 4-byte lengths. */
export function nalUnitsSize(nalUnits: readonly Uint8Array[]): number {
  let n = 0;
  for (const u of nalUnits) n += 4 + u.length;
  return n;
}

/**
 * Writes NAL units each after a 4-byte big-endian length at `offset`; returns the bytes written
 * (hot path: no allocation).
 */
export function writeNalUnits(nalUnits: readonly Uint8Array[], buf: Uint8Array, offset: number): number {
  let at = offset;
  for (const u of nalUnits) {
    if (at + 4 + u.length > buf.length) throw new RangeError("Buffer too small for the sample's NAL units");
    writeU32(buf, at, u.length);
    buf.set(u, at + 4);
    at += 4 + u.length;
  }
  return at - offset;
}

/**
 * Splits an AVCC/HVCC sample into its NAL units (views, no copy); throws Fmp4ParseError when a
 * length runs past the sample. The reader's counterpart of writeNalUnits().
 */
export function splitNalUnits(sample: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < sample.length) {
    if (sample.length - at < 4) {
      throw new Fmp4ParseError(`NAL unit length cut at ${at} of a ${sample.length}-byte sample`);
    }
    const n = ((sample[at] << 24) >>> 0) + ((sample[at + 1] << 16) | (sample[at + 2] << 8) | sample[at + 3]);
    if (n > sample.length - at - 4) {
      throw new Fmp4ParseError(`NAL unit of ${n} bytes at ${at} runs past the sample`);
    }
    out.push(sample.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/** The sample's mdat bytes, from data, nalUnits or size; RangeError when they disagree or none is given. */
export function sampleSize(s: FragmentSample): number {
  const n = s.data !== undefined
    ? s.data.length
    : s.nalUnits !== undefined
    ? nalUnitsSize(s.nalUnits)
    : s.size;
  if (n === undefined) throw new RangeError("A sample needs size, data or nalUnits");
  if (s.size !== undefined && s.size !== n) {
    throw new RangeError(`Sample size ${s.size} differs from its ${n} bytes of data`);
  }
  return n;
}

function hasCompositionOffsets(t: FragmentTrack): boolean {
  for (const s of t.samples) if ((s.compositionOffset ?? 0) !== 0) return true;
  return false;
}

function trunSize(t: FragmentTrack): number {
  return TRUN_FIXED + t.samples.length * (hasCompositionOffsets(t) ? 16 : 12);
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function outOfRange(what: string, value: number, min: number, max: number): RangeError {
  return new RangeError(`${what} must be an integer ${min}..${max}, got ${value}`);
}

/** Throws RangeError for a fragment that cannot be written (no allocation unless it throws). */
function validate(f: Fragment): void {
  if (!inRange(f.sequenceNumber, 0, UINT32)) throw outOfRange("sequenceNumber", f.sequenceNumber, 0, UINT32);
  if (f.tracks.length === 0) throw new RangeError("A fragment needs at least one track");
  for (let i = 0; i < f.tracks.length; i++) {
    const t = f.tracks[i];
    const id = t.trackId;
    if (!inRange(id, 1, UINT32)) throw outOfRange("trackId", id, 1, UINT32);
    for (let j = 0; j < i; j++) {
      if (f.tracks[j].trackId === id) throw new RangeError(`Track ${id} appears twice in one fragment`);
    }
    if (!inRange(t.baseDecodeTime, 0, Number.MAX_SAFE_INTEGER)) {
      throw outOfRange(`Track ${id} baseDecodeTime`, t.baseDecodeTime, 0, Number.MAX_SAFE_INTEGER);
    }
    if (t.samples.length === 0) throw new RangeError(`Track ${id} has no samples`);
    for (const s of t.samples) {
      if (!inRange(s.duration, 0, UINT32)) {
        throw outOfRange(`Track ${id} sample duration`, s.duration, 0, UINT32);
      }
      const cto = s.compositionOffset ?? 0;
      if (!inRange(cto, -0x8000_0000, 0x7fff_ffff)) {
        throw outOfRange(`Track ${id} compositionOffset`, cto, -0x8000_0000, 0x7fff_ffff);
      }
      const size = sampleSize(s);
      if (!inRange(size, 0, UINT32)) throw outOfRange(`Track ${id} sample size`, size, 0, UINT32);
    }
  }
}

/** Bytes of the moof plus the mdat's 8-byte header: where the first sample's data starts. */
export function fragmentHeaderSize(f: Fragment): number {
  let n = MOOF_HEADER + MFHD;
  for (const t of f.tracks) n += TRAF_HEADER + TFHD + TFDT_V1 + trunSize(t);
  return n + MDAT_HEADER;
}

function payloadSize(f: Fragment): number {
  let n = 0;
  for (const t of f.tracks) for (const s of t.samples) n += sampleSize(s);
  return n;
}

/** Bytes of the whole fragment: moof, mdat header and every sample. */
export function fragmentSize(f: Fragment): number {
  return fragmentHeaderSize(f) + payloadSize(f);
}

const shared = new BoxWriter();

/**
 * Writes the moof and the mdat header at `offset` (hot path: no allocation); returns the bytes
 * written (fragmentHeaderSize). The caller writes the sample bytes right after, track by track in
 * `f.tracks` order, each track's samples in order (writeNalUnits for video), fragmentSize in all.
 */
export function writeFragmentHeader(f: Fragment, buf: Uint8Array, offset: number): number {
  validate(f);
  const header = fragmentHeaderSize(f);
  const payload = payloadSize(f);
  if (MDAT_HEADER + payload > UINT32) throw new RangeError(`mdat of ${payload} bytes needs a 64-bit size`);
  const w = shared.reset(buf, offset);
  w.start("moof");
  w.startFull("mfhd", 0, 0).u32(f.sequenceNumber).end();
  // data_offset counts from the moof's first byte (default-base-is-moof): each track's samples
  // follow the previous track's in the mdat.
  let dataOffset = header;
  for (const t of f.tracks) {
    const cto = hasCompositionOffsets(t);
    w.start("traf");
    w.startFull("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF).u32(t.trackId).end();
    w.startFull("tfdt", 1, 0).u64(t.baseDecodeTime).end();
    const flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS |
      (cto ? TRUN_COMPOSITION_OFFSET : 0);
    w.startFull("trun", cto ? 1 : 0, flags).u32(t.samples.length).u32(dataOffset);
    for (const s of t.samples) {
      const size = sampleSize(s);
      w.u32(s.duration).u32(size).u32(s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS);
      if (cto) w.u32(s.compositionOffset ?? 0);
      dataOffset += size;
    }
    w.end(); // trun
    w.end(); // traf
  }
  w.end(); // moof
  w.u32(MDAT_HEADER + payload).fourcc("mdat");
  return w.position - offset;
}

/**
 * Writes the whole fragment at `offset`: header, then every sample's `data` or `nalUnits`;
 * returns the bytes written (fragmentSize). Throws RangeError for a sample that has only a size.
 */
export function writeFragment(f: Fragment, buf: Uint8Array, offset: number): number {
  let at = offset + writeFragmentHeader(f, buf, offset);
  for (const t of f.tracks) {
    for (const s of t.samples) {
      if (s.data !== undefined) {
        buf.set(s.data, at);
        at += s.data.length;
      } else if (s.nalUnits !== undefined) {
        at += writeNalUnits(s.nalUnits, buf, at);
      } else {
        throw new RangeError(`Track ${t.trackId}: a sample with only a size leaves its bytes to the caller`);
      }
    }
  }
  return at - offset;
}

/** The whole fragment in a new buffer of exactly its size (one copy of each sample's bytes). */
export function serializeFragment(f: Fragment): Uint8Array {
  validate(f);
  const out = new Uint8Array(fragmentSize(f));
  writeFragment(f, out, 0);
  return out;
}

/** Defaults a tfhd may set (ffmpeg sets duration and flags there). */
interface TrafDefaults {
  duration?: number;
  size?: number;
  flags?: number;
}

/**
 * Where a traf's data base is when its tfhd sets neither base-data-offset nor default-base-is-moof:
 * the moof for the first traf, else where the previous traf's data ended (§8.8.7.1).
 */
interface DataBase {
  implicit: number;
}

function parseTraf(
  buf: Uint8Array,
  start: number,
  traf: Box,
  moof: Box,
  mdat: Box,
  previous: DataBase,
): ParsedFragmentTrack {
  const tfhdBox = requireBox(traf.children, "tfhd", "traf");
  const tfhd = FieldReader.body(buf, tfhdBox);
  tfhd.u8();
  const tfhdFlags = tfhd.u24();
  const trackId = tfhd.u32();
  if (trackId === 0) throw new Fmp4ParseError("tfhd names track_ID 0, which no track has");
  // The base for data offsets: base_data_offset counts from the file's start (here the start of
  // the bytes given), default-base-is-moof from the moof; with neither, the first traf's base is
  // the moof and each later one's where the previous traf's data ended.
  let base = tfhdFlags & TFHD_DEFAULT_BASE_IS_MOOF ? moof.start : previous.implicit;
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) base = start + tfhd.u64();
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) tfhd.u32();
  const defaults: TrafDefaults = {};
  if (tfhdFlags & TFHD_DEFAULT_DURATION) defaults.duration = tfhd.u32();
  if (tfhdFlags & TFHD_DEFAULT_SIZE) defaults.size = tfhd.u32();
  if (tfhdFlags & TFHD_DEFAULT_FLAGS) defaults.flags = tfhd.u32();

  const tfdtBox = requireBox(traf.children, "tfdt", "traf");
  const tfdt = FieldReader.body(buf, tfdtBox);
  const tfdtVersion = tfdt.u8();
  tfdt.skip(3);
  const baseDecodeTime = tfdtVersion === 1 ? tfdt.u64() : tfdt.u32();

  const samples: ParsedSample[] = [];
  let next = base; // where a trun without data_offset starts: after the previous run
  for (const trunBox of findBoxes(traf.children, "trun")) {
    const r = FieldReader.body(buf, trunBox);
    const version = r.u8();
    const flags = r.u24();
    const count = r.u32();
    let at = flags & TRUN_DATA_OFFSET ? base + r.i32() : next;
    const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? r.u32() : undefined;
    const perSample = 4 *
      [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_COMPOSITION_OFFSET].filter((b) => flags & b).length;
    // Bound the count by the bytes present before building anything from it.
    if (count * perSample > r.remaining) {
      throw new Fmp4ParseError(
        `trun of track ${trackId} announces ${count} samples, more than its ${r.remaining} bytes hold`,
      );
    }
    if (perSample === 0 && count > mdat.end - mdat.bodyStart) {
      throw new Fmp4ParseError(
        `trun of track ${trackId} announces ${count} samples, more than its mdat holds`,
      );
    }
    for (let i = 0; i < count; i++) {
      const duration = flags & TRUN_DURATION ? r.u32() : defaults.duration;
      const size = flags & TRUN_SIZE ? r.u32() : defaults.size;
      let sampleFlags = flags & TRUN_FLAGS ? r.u32() : defaults.flags ?? 0;
      if (i === 0 && firstFlags !== undefined) sampleFlags = firstFlags;
      const cto = flags & TRUN_COMPOSITION_OFFSET ? (version === 0 ? r.u32() : r.i32()) : 0;
      if (duration === undefined) {
        throw new Fmp4ParseError(
          `Track ${trackId}: sample ${i} has no duration (trex defaults are not read)`,
        );
      }
      if (size === undefined) {
        throw new Fmp4ParseError(`Track ${trackId}: sample ${i} has no size (trex defaults are not read)`);
      }
      if (at < mdat.bodyStart || size > mdat.end - at) {
        throw new Fmp4ParseError(
          `Track ${trackId}: sample ${i} (${size} bytes at ${at}) lies outside the mdat`,
        );
      }
      if (cto > 0x7fff_ffff) {
        throw new Fmp4ParseError(`Track ${trackId}: composition offset ${cto} cannot be muxed again`);
      }
      samples.push({
        duration,
        sync: (sampleFlags & NON_SYNC_BIT) === 0,
        compositionOffset: cto,
        size,
        data: buf.subarray(at, at + size),
      });
      at += size;
    }
    next = at;
  }
  previous.implicit = next;
  if (samples.length === 0) throw new Fmp4ParseError(`Track ${trackId} has no samples in its fragment`);
  return { trackId, baseDecodeTime, samples };
}

/**
 * Reads the moof at `start` and the mdat that follows it (other boxes, such as styp or sidx,
 * may come first and are skipped). Sample data are views into `bytes`. Throws Fmp4ParseError.
 */
export function parseFragment(bytes: Uint8Array, start = 0, end: number = bytes.length): ParsedFragment {
  const fragments = parseFragments(bytes, start, end);
  if (fragments.length !== 1) throw new Fmp4ParseError(`Expected one moof, found ${fragments.length}`);
  return fragments[0];
}

/** Every moof + mdat pair in `[start, end)`, in order (a media segment, a recording without its init). */
export function parseFragments(bytes: Uint8Array, start = 0, end: number = bytes.length): ParsedFragment[] {
  const top = readBoxes(bytes, start, end);
  const out: ParsedFragment[] = [];
  for (let i = 0; i < top.length; i++) {
    const moof = top[i];
    if (moof.type !== "moof") continue;
    const mdat = top[i + 1];
    if (mdat === undefined || mdat.type !== "mdat") {
      throw new Fmp4ParseError(`moof at ${moof.start} is not followed by an mdat`);
    }
    const mfhd = FieldReader.body(bytes, requireBox(moof.children, "mfhd", "moof"));
    mfhd.skip(4);
    const sequenceNumber = mfhd.u32();
    const trafs = findBoxes(moof.children, "traf");
    if (trafs.length === 0) throw new Fmp4ParseError(`moof at ${moof.start} has no traf`);
    const previous: DataBase = { implicit: moof.start };
    const tracks = trafs.map((t) => parseTraf(bytes, start, t, moof, mdat, previous));
    if (new Set(tracks.map((t) => t.trackId)).size !== tracks.length) {
      throw new Fmp4ParseError(`moof at ${moof.start} has two trafs of one track`);
    }
    out.push({ sequenceNumber, tracks });
  }
  return out;
}

/**
 * Decode times for H.264 and H.265 frames that carry only a presentation time (RTP gives pts):
 * what fMP4 needs beside pts, since B-frames are decoded before frames they are shown after.
 *
 * The rule, as ffmpeg derives dts for raw streams: with a reorder depth R (no frame has more than R
 * frames before it in decoding order that come after it in output order), frame n's dts is the pts
 * of output position n - R, which is the (R+1)-th largest pts among the frames decoded so far: a
 * frame of output position n - R, or one before it, decoded after frame n would have more than R
 * frames before it that follow it. So dts <= pts, dts strictly grows, and R = 0 gives dts = pts.
 * Before R+1 frames have arrived, dts steps back from the first pts by the frame duration.
 *
 * R comes from the SPS (H.264 VUI max_num_reorder_frames, H.265 sps_max_num_reorder_pics), is 0
 * for H.264 pic_order_cnt_type 2 (output order is decoding order), and is raised when the picture
 * order count shows a frame with more frames before it that come after it. Without a declared R
 * (an H.264 SPS without bitstream_restriction) the POC also shows reordering before it happens: a
 * gap in the largest POCs is a frame still to come, and every frame above the gap precedes it.
 *
 * Per frame: a scan of the NAL unit types, one slice header read from its first bytes, an insert
 * into two 17-entry sorted arrays. An SPS or PPS is parsed only when its bytes change.
 *
 * @module
 */
import {
  h264MaxPicOrderCntLsb,
  type H264Sps,
  parseH264Pps,
  parseH264SliceHeader,
  parseH264Sps,
} from "./h264_sps.ts";
import {
  h265IsIrap,
  h265MaxPicOrderCntLsb,
  type H265Sps,
  parseH265Pps,
  parseH265SliceHeader,
  parseH265Sps,
} from "./h265_sps.ts";
import { sameParameterSet } from "./parameter_sets.ts";

/** What an extractor counted since it was made. */
export interface DtsExtractorStats {
  /** Frames given to extract(). */
  frames: number;
  /** Frames whose picture order count could not be read (no SPS/PPS yet, a damaged slice header): dts from pts alone. */
  unparsed: number;
  /** Times the reorder depth grew beyond what the SPS declared or had been seen. */
  reorderRaised: number;
  /** Frames given a dts above their pts, to keep dts increasing (pts repeated, or reordering deeper than known). */
  dtsAbovePts: number;
  /** A pts more than a second behind the last dts: the extractor started over on the new timeline. */
  timelineRestarts: number;
}

/** A codec's decode-time extractor: one per track, fed every frame in decoding order. */
export interface DtsExtractor {
  /** The frame's dts in the track clock, given its NAL units (no start codes) and pts; never throws. */
  extract(units: readonly Uint8Array[], pts: number): number;
  /** Parameter sets known out of band (SDP sprop-*), as NAL units; never throws. */
  addParameterSets(units: readonly Uint8Array[]): void;
  /** The reorder depth now used. */
  readonly reorderFrames: number;
  readonly stats: Readonly<DtsExtractorStats>;
}

/** Options of both extractors. */
export interface DtsExtractorOptions {
  /** The track clock (RTP clock rate); 90000 for video (RFC 6184 §8.2.1, RFC 7798 §7.1). */
  clockRate?: number;
}

/** MaxDpbFrames can not exceed 16 (H.264 Annex A.3.1, H.265 Annex A.4.2), nor can a reorder depth. */
const MAX_REORDER = 16;
const TOP = MAX_REORDER + 1;
/** Frame duration assumed for the first frames when the SPS has no timing info: 30 frames/s. */
const DEFAULT_FPS = 30;
/** POC differences seen before their gcd is trusted over the codec's usual step (see #step). */
const STEP_EVIDENCE = 8;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Inserts v into the descending array a[0, n) of capacity TOP, dropping the smallest when full; returns n. */
function insertDescending(a: Float64Array, n: number, v: number): number {
  // hot path: no allocation
  let i = n < TOP ? n : TOP - 1;
  if (n === TOP && v <= a[TOP - 1]) return n;
  while (i > 0 && a[i - 1] < v) {
    a[i] = a[i - 1];
    i--;
  }
  a[i] = v;
  return n < TOP ? n + 1 : n;
}

/** Entries of the descending array a[0, n) greater than v. */
function countAbove(a: Float64Array, n: number, v: number): number {
  // hot path: no allocation
  let k = 0;
  while (k < n && a[k] > v) k++;
  return k;
}

/** The codec-independent part: reorder depth from POC evidence, dts from the largest pts. */
class ReorderClock {
  readonly stats: DtsExtractorStats = {
    frames: 0,
    unparsed: 0,
    reorderRaised: 0,
    dtsAbovePts: 0,
    timelineRestarts: 0,
  };
  /** The largest pts seen, descending. */
  readonly #pts = new Float64Array(TOP);
  #ptsCount = 0;
  /** The largest POCs of the current POC epoch (since the last IDR), descending. */
  readonly #poc = new Float64Array(TOP);
  #pocCount = 0;
  /** gcd of POC differences seen, and how many went into it. */
  #pocGcd = 0;
  #pocDiffs = 0;
  readonly #usualStep: number;
  readonly #clockRate: number;
  #prevDts = NaN;
  /** From the SPS; -1 when it declares nothing. */
  #declared = -1;
  /** Deepest reordering the POC (or pts) has shown; never lowered. */
  #observed = 0;
  #current = 0;
  /** Frame duration in clock ticks, for the frames before R+1 have arrived. */
  #frameTicks: number;

  constructor(usualStep: number, clockRate: number) {
    this.#usualStep = usualStep;
    this.#clockRate = clockRate;
    this.#frameTicks = clockRate / DEFAULT_FPS;
  }

  get reorderFrames(): number {
    return this.#current;
  }

  /** A new SPS's declared depth (undefined: not declared) and frame duration in seconds (0: unknown). */
  configure(declared: number | undefined, frameSeconds: number): void {
    this.#declared = declared === undefined ? -1 : Math.min(declared, MAX_REORDER);
    if (frameSeconds > 0 && frameSeconds < 10) this.#frameTicks = frameSeconds * this.#clockRate;
  }

  /** POC restarts (IDR): earlier POCs are all output before anything that follows. */
  newEpoch(): void {
    this.#pocCount = 0;
  }

  /** The POC step holes are measured in: the gcd once enough differences were seen, at most the usual step before. */
  #step(): number {
    if (this.#pocGcd === 0) return this.#usualStep;
    return this.#pocDiffs < STEP_EVIDENCE ? Math.min(this.#pocGcd, this.#usualStep) : this.#pocGcd;
  }

  /** Frames above the lowest gap in the largest POCs: each precedes the frame that fills it. */
  #frameStillToCome(): number {
    const step = this.#step();
    let bound = 0;
    for (let i = 0; i + 1 < this.#pocCount; i++) {
      if (this.#poc[i] - this.#poc[i + 1] > step) bound = i + 1;
    }
    return bound;
  }

  #stepEvidence(diff: number): void {
    if (diff <= 0) return;
    this.#pocGcd = gcd(this.#pocGcd, diff);
    this.#pocDiffs++;
  }

  /** dts for the next frame in decoding order; poc undefined when it could not be read. */
  next(pts: number, poc: number | undefined): number {
    // hot path: no allocation
    this.stats.frames++;
    if (!Number.isNaN(this.#prevDts) && pts < this.#prevDts - this.#clockRate) {
      this.stats.timelineRestarts++;
      this.#prevDts = NaN;
      this.#ptsCount = 0;
      this.#pocCount = 0;
    }
    let need: number;
    if (poc === undefined) {
      this.stats.unparsed++;
      need = countAbove(this.#pts, this.#ptsCount, pts);
    } else {
      need = countAbove(this.#poc, this.#pocCount, poc);
      // Its neighbours in POC order give the differences whose gcd is the POC step.
      if (need > 0) this.#stepEvidence(this.#poc[need - 1] - poc);
      if (need < this.#pocCount) this.#stepEvidence(poc - this.#poc[need]);
      this.#pocCount = insertDescending(this.#poc, this.#pocCount, poc);
    }
    let depth = Math.max(this.#declared, this.#observed);
    if (need > depth) {
      this.#observed = Math.min(need, MAX_REORDER);
      this.stats.reorderRaised++;
      depth = this.#observed;
    }
    if (this.#declared < 0 && poc !== undefined) depth = Math.max(depth, this.#frameStillToCome());
    this.#current = depth;

    this.#ptsCount = insertDescending(this.#pts, this.#ptsCount, pts);
    const candidate = this.#ptsCount > depth
      ? this.#pts[depth]
      : this.#pts[this.#ptsCount - 1] - (depth + 1 - this.#ptsCount) * this.#frameTicks;
    const dts = Number.isNaN(this.#prevDts) || candidate > this.#prevDts ? candidate : this.#prevDts + 1;
    if (dts > pts) this.stats.dtsAbovePts++;
    this.#prevDts = dts;
    return dts;
  }
}

/** One kind of parameter set (SPS or PPS) by id, each parsed once per distinct bytes. */
class ParameterSetTable<T> {
  /** The parsed sets, as the slice header readers look them up. */
  readonly byId = new Map<number, T>();
  readonly #bytes = new Map<number, Uint8Array>();
  readonly #parse: (nal: Uint8Array) => T;
  readonly #id: (set: T) => number;

  constructor(parse: (nal: Uint8Array) => T, id: (set: T) => number) {
    this.#parse = parse;
    this.#id = id;
  }

  /** Parses `nal` and keeps it under its id, unless that id holds the same bytes already. */
  add(nal: Uint8Array): void {
    try {
      const set = this.#parse(nal);
      const id = this.#id(set);
      if (sameParameterSet(this.#bytes.get(id), nal)) return;
      this.#bytes.set(id, nal.slice());
      this.byId.set(id, set);
    } catch {
      // A damaged parameter set: keep the last good one; slices that need it count as unparsed.
    }
  }

  /** add(), unless some id holds these bytes: cameras repeat SPS and PPS before every IDR. */
  addIfNew(nal: Uint8Array): void {
    for (const bytes of this.#bytes.values()) if (sameParameterSet(bytes, nal)) return;
    this.add(nal);
  }
}

/** What both extractors share: the reorder clock, and the dts of a frame from its first slice's POC. */
abstract class PocDtsExtractor {
  protected readonly clock: ReorderClock;

  /** `usualStep`: how far apart the codec's encoders number consecutive frames' POCs. */
  protected constructor(usualStep: number, options: DtsExtractorOptions) {
    this.clock = new ReorderClock(usualStep, options.clockRate ?? 90000);
  }

  get reorderFrames(): number {
    return this.clock.reorderFrames;
  }

  get stats(): Readonly<DtsExtractorStats> {
    return this.clock.stats;
  }

  /** The next dts, from the POC of `slice` (the frame's first slice; undefined when it has none). */
  protected dts(slice: Uint8Array | undefined, pts: number): number {
    let poc: number | undefined;
    if (slice !== undefined) {
      try {
        poc = this.pictureOrderCount(slice);
      } catch {
        poc = undefined;
      }
    }
    return this.clock.next(pts, poc);
  }

  /** The slice's picture order count; throws when its header or parameter sets cannot be read. */
  protected abstract pictureOrderCount(slice: Uint8Array): number;
}

const H264_NON_IDR = 1;
const H264_IDR = 5;
const H264_END_OF_SEQUENCE = 10;
const H264_SPS = 7;
const H264_PPS = 8;

/** H.264 dts from POC (§8.2.1): all three pic_order_cnt_types; one per track. */
export class H264DtsExtractor extends PocDtsExtractor implements DtsExtractor {
  readonly #sps = new ParameterSetTable(parseH264Sps, (sps) => sps.seqParameterSetId);
  readonly #pps = new ParameterSetTable(parseH264Pps, (pps) => pps.picParameterSetId);
  #active: H264Sps | undefined;
  // §8.2.1.1 and §8.2.1.2 state: the previous reference picture's POC parts, the previous picture's frame_num.
  #prevRefMsb = 0;
  #prevRefLsb = 0;
  #prevFrameNum = 0;
  #prevFrameNumOffset = 0;

  constructor(options: DtsExtractorOptions = {}) {
    // POC counts fields, so frames step it by 2 (x264, ffmpeg, cameras); an odd step shows in the gcd.
    super(2, options);
  }

  addParameterSets(units: readonly Uint8Array[]): void {
    for (const nal of units) {
      const type = nal.length > 0 ? nal[0] & 0x1f : 0;
      if (type === H264_SPS) this.#sps.add(nal);
      else if (type === H264_PPS) this.#pps.add(nal);
    }
  }

  extract(units: readonly Uint8Array[], pts: number): number {
    let slice: Uint8Array | undefined;
    for (const nal of units) {
      const type = nal.length > 0 ? nal[0] & 0x1f : 0;
      if (type === H264_SPS) {
        this.#sps.addIfNew(nal);
      } else if (type === H264_PPS) {
        this.#pps.addIfNew(nal);
      } else if (type === H264_END_OF_SEQUENCE) {
        this.clock.newEpoch();
      } else if ((type === H264_NON_IDR || type === H264_IDR) && slice === undefined) {
        slice = nal;
      }
    }
    return this.dts(slice, pts);
  }

  protected override pictureOrderCount(nal: Uint8Array): number {
    const h = parseH264SliceHeader(nal, this.#pps.byId, this.#sps.byId);
    const sps = this.#sps.byId.get(this.#pps.byId.get(h.picParameterSetId)!.seqParameterSetId)!;
    if (sps !== this.#active) {
      this.#active = sps;
      const restriction = sps.vui?.bitstreamRestriction;
      const timing = sps.vui?.timing;
      // pic_order_cnt_type 2 forbids reordering (§8.2.1.3): output order is decoding order.
      const declared = sps.picOrderCntType === 2 ? 0 : restriction?.maxNumReorderFrames;
      this.clock.configure(
        declared,
        timing && timing.timeScale > 0 ? (2 * timing.numUnitsInTick) / timing.timeScale : 0,
      );
    }
    const idr = h.nalUnitType === H264_IDR;
    if (idr) {
      this.clock.newEpoch();
      this.#prevRefMsb = 0;
      this.#prevRefLsb = 0;
      this.#prevFrameNumOffset = 0;
      this.#prevFrameNum = 0;
    }
    let top: number;
    let bottom: number;
    if (sps.picOrderCntType === 0) {
      // §8.2.1.1: the MSB follows the LSB's wrap relative to the previous reference picture.
      const max = h264MaxPicOrderCntLsb(sps);
      const lsb = h.picOrderCntLsb;
      let msb = this.#prevRefMsb;
      if (lsb < this.#prevRefLsb && this.#prevRefLsb - lsb >= max / 2) msb += max;
      else if (lsb > this.#prevRefLsb && lsb - this.#prevRefLsb > max / 2) msb -= max;
      top = msb + lsb;
      bottom = h.fieldPicFlag ? msb + lsb : top + h.deltaPicOrderCntBottom;
      if (h.nalRefIdc !== 0) {
        this.#prevRefMsb = msb;
        this.#prevRefLsb = lsb;
      }
    } else {
      // §8.2.1.2 / §8.2.1.3: from frame_num, which wraps at MaxFrameNum.
      const maxFrameNum = 2 ** (sps.log2MaxFrameNumMinus4 + 4);
      const frameNumOffset = idr
        ? 0
        : this.#prevFrameNum > h.frameNum
        ? this.#prevFrameNumOffset + maxFrameNum
        : this.#prevFrameNumOffset;
      this.#prevFrameNumOffset = frameNumOffset;
      this.#prevFrameNum = h.frameNum;
      if (sps.picOrderCntType === 2) {
        const t = idr ? 0 : 2 * (frameNumOffset + h.frameNum) - (h.nalRefIdc === 0 ? 1 : 0);
        top = t;
        bottom = t;
      } else {
        const cycle = sps.offsetForRefFrame;
        let absFrameNum = cycle.length !== 0 ? frameNumOffset + h.frameNum : 0;
        if (h.nalRefIdc === 0 && absFrameNum > 0) absFrameNum--;
        let expected = 0;
        if (absFrameNum > 0) {
          let perCycle = 0;
          for (const o of cycle) perCycle += o;
          const cycleCount = Math.floor((absFrameNum - 1) / cycle.length);
          const inCycle = (absFrameNum - 1) % cycle.length;
          expected = cycleCount * perCycle;
          for (let i = 0; i <= inCycle; i++) expected += cycle[i];
        }
        if (h.nalRefIdc === 0) expected += sps.offsetForNonRefPic;
        if (!h.fieldPicFlag) {
          top = expected + h.deltaPicOrderCnt0;
          bottom = top + sps.offsetForTopToBottomField + h.deltaPicOrderCnt1;
        } else {
          top = expected + h.deltaPicOrderCnt0;
          bottom = expected + sps.offsetForTopToBottomField + h.deltaPicOrderCnt0;
        }
      }
    }
    if (!h.fieldPicFlag) return Math.min(top, bottom);
    return h.bottomFieldFlag ? bottom : top;
  }
}

const H265_SPS = 33;
const H265_PPS = 34;
const H265_EOS = 36;
const H265_EOB = 37;
const H265_IDR_W_RADL = 19;
const H265_IDR_N_LP = 20;
const H265_CRA = 21;
const H265_LAST_VCL = 31;

/** H.265 dts from POC (§8.3.1); one per track. */
export class H265DtsExtractor extends PocDtsExtractor implements DtsExtractor {
  readonly #sps = new ParameterSetTable(parseH265Sps, (sps) => sps.spsSeqParameterSetId);
  readonly #pps = new ParameterSetTable(parseH265Pps, (pps) => pps.ppsPicParameterSetId);
  #active: H265Sps | undefined;
  /** The previous TemporalId-0 picture that is not RASL, RADL or a sub-layer non-reference (prevTid0Pic). */
  #prevTid0Poc = 0;
  /** The next IRAP starts a coded video sequence (first picture, or after an end of sequence). */
  #firstInSequence = true;

  constructor(options: DtsExtractorOptions = {}) {
    // H.265 encoders number frames 1 apart; sps_max_num_reorder_pics is always declared anyway.
    super(1, options);
  }

  addParameterSets(units: readonly Uint8Array[]): void {
    for (const nal of units) {
      const type = nal.length > 1 ? (nal[0] >> 1) & 0x3f : -1;
      if (type === H265_SPS) this.#sps.add(nal);
      else if (type === H265_PPS) this.#pps.add(nal);
    }
  }

  extract(units: readonly Uint8Array[], pts: number): number {
    let slice: Uint8Array | undefined;
    for (const nal of units) {
      const type = nal.length > 1 ? (nal[0] >> 1) & 0x3f : -1;
      if (type === H265_SPS) {
        this.#sps.addIfNew(nal);
      } else if (type === H265_PPS) {
        this.#pps.addIfNew(nal);
      } else if (type === H265_EOS || type === H265_EOB) {
        this.#firstInSequence = true;
      } else if (type >= 0 && type <= H265_LAST_VCL && slice === undefined) {
        // The first slice segment of the picture carries its POC.
        if (nal.length > 2 && (nal[2] & 0x80) !== 0) slice = nal;
      }
    }
    return this.dts(slice, pts);
  }

  protected override pictureOrderCount(nal: Uint8Array): number {
    const h = parseH265SliceHeader(nal, this.#pps.byId, this.#sps.byId);
    const sps = this.#sps.byId.get(this.#pps.byId.get(h.slicePicParameterSetId)!.ppsSeqParameterSetId)!;
    if (sps !== this.#active) {
      this.#active = sps;
      const top = sps.spsMaxSubLayersMinus1;
      const timing = sps.vui?.timing;
      this.clock.configure(
        sps.spsMaxNumReorderPics[top],
        timing && timing.vuiTimeScale > 0 ? timing.vuiNumUnitsInTick / timing.vuiTimeScale : 0,
      );
    }
    const type = h.nalUnitType;
    const max = h265MaxPicOrderCntLsb(sps);
    const lsb = h.slicePicOrderCntLsb;
    let poc: number;
    // §8.3.1: an IRAP with NoRaslOutputFlag (IDR, BLA, a CRA that starts a sequence) restarts the MSB.
    const irap = h265IsIrap(type);
    if (irap && (type !== H265_CRA || this.#firstInSequence)) {
      poc = type === H265_IDR_W_RADL || type === H265_IDR_N_LP ? 0 : lsb;
      this.clock.newEpoch();
    } else {
      const prevLsb = ((this.#prevTid0Poc % max) + max) % max;
      let msb = this.#prevTid0Poc - prevLsb;
      if (lsb < prevLsb && prevLsb - lsb >= max / 2) msb += max;
      else if (lsb > prevLsb && lsb - prevLsb > max / 2) msb -= max;
      poc = msb + lsb;
    }
    if (irap) this.#firstInSequence = false;
    // RADL 6-7, RASL 8-9 and the sub-layer non-reference types (even types up to 14) do not count.
    const tid0 = h.nuhTemporalIdPlus1 === 1 && !(type >= 6 && type <= 9) && !(type <= 14 && type % 2 === 0);
    if (tid0) this.#prevTid0Poc = poc;
    return poc;
  }
}

/**
 * A live stream's frames into fMP4 fragments of at most one part's duration (LL-HLS parts,
 * recording fragments): every track's samples in one moof + mdat, cut so that each fragment that
 * starts with a video keyframe is independent.
 *
 * Times come in already on one timeline (the caller aligns the tracks, stream_muxer.ts), in each
 * track's timescale. A sample's duration is the next sample's decode time minus its own, so each
 * track holds back its newest sample until the next arrives (or flush()).
 *
 * Where to cut: the leading track is the video track (or the first audio track of an audio-only
 * stream). A fragment ends before a leading sample that would make it longer than the part target
 * (estimated from the previous sample's duration), and before every video keyframe, so segments
 * can start at keyframes. The other tracks' finished samples that decode before the cut go in.
 *
 * @module
 */
import { type Fragment, type FragmentSample, serializeFragment } from "../fmp4/fragment.ts";

/** One track as the fragmenter sees it. */
export interface FragmenterTrack {
  /** The fMP4 track_ID (tkhd, traf). */
  readonly id: number;
  readonly video: boolean;
  /** Ticks per second of its times (the fMP4 mdhd timescale). */
  readonly timescale: number;
}

/** A frame of one track, its times on the stream's timeline in the track's timescale. */
export interface TimedFrame {
  /** Decode time (video: from the DTS extractor; audio: = pts). */
  readonly dts: number;
  /** Presentation time, ≥ dts. */
  readonly pts: number;
  /** Video: NAL units (written AVCC/HVCC); audio: one element, the frame. */
  readonly units: readonly Uint8Array[];
  /** Decodable on its own (video keyframe; every audio frame). */
  readonly sync: boolean;
}

/** A finished fragment. */
export interface FragmentOut {
  /** moof + mdat. */
  readonly bytes: Uint8Array;
  /** Start on the stream's timeline, seconds (the leading track's first decode time). */
  readonly start: number;
  /** Seconds: the leading track's sample durations summed. */
  readonly duration: number;
  /** Starts with a video keyframe (always true for audio-only streams). */
  readonly independent: boolean;
}

interface Pending {
  dts: number;
  pts: number;
  units: readonly Uint8Array[];
  sync: boolean;
}

interface TrackState {
  readonly t: FragmenterTrack;
  /** The newest frame, waiting for the next one's decode time. */
  held: Pending | null;
  /** The duration of the last finished sample (for the last one at flush, and cut estimates). */
  lastDuration: number;
  /** Finished samples not yet in a fragment, in decode order. */
  readonly ready: { dts: number; sample: FragmentSample }[];
}

export class Fragmenter {
  readonly #tracks: TrackState[];
  readonly #lead: number;
  readonly #partTarget: number;
  readonly #out: (f: FragmentOut) => void;
  #sequence = 1;
  /** Leading-track decode time where the open fragment starts, or null before its first sample. */
  #openStart: number | null = null;
  #openIndependent = false;
  /** Fragments made, and frames dropped because they decode before the first video keyframe. */
  fragments = 0;
  framesBeforeStart = 0;
  /** Video decode time of the first keyframe: nothing of any track before it is written. */
  #startDts: number | null = null;

  /** partTargetSeconds: no fragment is longer (unless one frame is). onFragment gets each one. */
  constructor(
    tracks: readonly FragmenterTrack[],
    partTargetSeconds: number,
    onFragment: (f: FragmentOut) => void,
  ) {
    if (tracks.length === 0) throw new RangeError("a fragmenter needs at least one track");
    this.#tracks = tracks.map((t) => ({ t, held: null, lastDuration: 0, ready: [] }));
    const v = tracks.findIndex((t) => t.video);
    this.#lead = v >= 0 ? v : 0;
    this.#partTarget = partTargetSeconds;
    this.#out = onFragment;
  }

  /** Adds a frame of track `index` (its position in the constructor's list). */
  push(index: number, f: TimedFrame): void {
    const s = this.#tracks[index];
    const lead = index === this.#lead;
    if (this.#startDts === null) {
      // The stream starts at the leading track's first sync frame; other tracks wait for it.
      if (!lead || !f.sync) {
        this.framesBeforeStart++;
        return;
      }
      this.#startDts = f.dts / s.t.timescale;
    } else if (!lead && f.dts / s.t.timescale < this.#startDts) {
      this.framesBeforeStart++;
      return;
    }
    // Whole ticks, strictly increasing: a decode time that does not move on is one tick later, as
    // players need every duration > 0 (the next sample's duration absorbs the tick).
    let dts = Math.round(f.dts);
    if (s.held !== null && dts <= s.held.dts) dts = s.held.dts + 1;
    const pts = Math.max(dts, Math.round(f.pts));
    if (s.held !== null) {
      const d = dts - s.held.dts;
      if (lead) this.#maybeCut(s, f.sync, dts, d);
      this.#finish(s, d);
    }
    s.held = { dts, pts, units: f.units, sync: f.sync };
    if (lead && this.#openStart === null) {
      this.#openStart = dts;
      this.#openIndependent = f.sync && s.t.video;
    }
    if (lead && !s.t.video) this.#openIndependent = true;
  }

  /** Ends the stream: the held frames get their track's last duration, the open fragment goes out. */
  flush(): void {
    for (const s of this.#tracks) {
      if (s.held !== null) this.#finish(s, Math.max(1, s.lastDuration));
    }
    this.#emit();
  }

  /**
   * Before the leading track's next frame joins: ends the open fragment when that frame is a
   * keyframe or would take the fragment past the part target. `d`: the held sample's duration.
   */
  #maybeCut(s: TrackState, nextSync: boolean, nextDts: number, d: number): void {
    if (this.#openStart === null) return;
    const ts = s.t.timescale;
    // The fragment would end at the next frame's decode time + its duration (estimated as this one's).
    const over = (nextDts + d - this.#openStart) / ts > this.#partTarget + 1e-9;
    if (!(nextSync && s.t.video) && !over) return;
    this.#finish(s, d);
    this.#emit(nextDts / ts);
    this.#openStart = nextDts;
    this.#openIndependent = nextSync || !s.t.video;
  }

  #finish(s: TrackState, d: number): void {
    const h = s.held;
    if (h === null) return;
    s.held = null;
    s.lastDuration = d;
    const sample: FragmentSample = s.t.video
      ? { duration: d, sync: h.sync, compositionOffset: h.pts - h.dts, nalUnits: h.units }
      : { duration: d, sync: true, data: h.units[0] };
    s.ready.push({ dts: h.dts, sample });
  }

  /** Writes the open fragment: the leading track's finished samples, and the others' before `cut`. */
  #emit(cut = Infinity): void {
    const lead = this.#tracks[this.#lead];
    if (lead.ready.length === 0) return;
    const start = lead.ready[0].dts;
    let duration = 0;
    for (const r of lead.ready) duration += r.sample.duration;
    const tracks: Fragment["tracks"][number][] = [];
    for (const s of this.#tracks) {
      let n = 0;
      if (s === lead) n = s.ready.length;
      else while (n < s.ready.length && s.ready[n].dts / s.t.timescale < cut) n++;
      if (n === 0) continue;
      const taken = s.ready.splice(0, n);
      tracks.push({ trackId: s.t.id, baseDecodeTime: taken[0].dts, samples: taken.map((r) => r.sample) });
    }
    const bytes = serializeFragment({ sequenceNumber: this.#sequence++, tracks });
    this.fragments++;
    const ts = lead.t.timescale;
    this.#out({ bytes, start: start / ts, duration: duration / ts, independent: this.#openIndependent });
    this.#openStart = null;
  }
}

/**
 * One stream's RTP packets into fMP4: each muxed track's depacketizer gives frames, video frames
 * get decode times (dts_extractor.ts), all tracks are put on one timeline, and the fragmenter cuts
 * them into fragments. The init segment is made at the first video keyframe (its parameter sets
 * from the SDP or in-band), or at once for audio-only streams.
 *
 * One timeline for all tracks: time 0 is the first keyframe's wall-clock instant, which the ring's
 * clock mapping gives for any track (the publisher's Sender Reports, else the server's clock at
 * arrival); each track's first frame is placed by its own mapping, the later ones by their RTP
 * timestamps' distance from it, so a mapping that moves later does not make times jump.
 *
 * @module
 */
import type { AccessUnit } from "../rtp/access_unit.ts";
import type { Depacketizer } from "../rtp/depacketizer.ts";
import type { DtsExtractor } from "../rtp/dts_extractor.ts";
import {
  avcCodecString,
  avcDecoderConfigFromParameterSets,
  serializeAvcDecoderConfig,
} from "../rtp/avc_decoder_config.ts";
import {
  hevcCodecString,
  hevcDecoderConfigFromParameterSets,
  serializeHevcDecoderConfig,
} from "../rtp/hevc_decoder_config.ts";
import { parseH264Sps } from "../rtp/h264_sps.ts";
import { parseH265Sps } from "../rtp/h265_sps.ts";
import { parseAudioSpecificConfig } from "../rtp/aac.ts";
import { sameParameterSet } from "../rtp/parameter_sets.ts";
import { serializeInitSegment } from "../fmp4/init_segment.ts";
import type { Track } from "../fmp4/track.ts";
import { Fragmenter, type FragmentOut } from "./fragmenter.ts";
import type { MuxTrackPlan } from "./mux_tracks.ts";

/** What the muxer's user gets. */
export interface MuxSink {
  /** The init segment, before the first fragment (again if the video's parameter sets change). */
  init(bytes: Uint8Array, info: MuxInfo): void;
  /** A fragment; `unixMs`: the wall-clock time of its start. */
  fragment(f: FragmentOut, unixMs: number): void;
  /**
   * The first time an init segment cannot be made (a keyframe came, or audio, but the video's
   * parameter sets are missing or do not parse): why, once per muxer. Frames are dropped until one
   * can be made; the muxer tries again at each keyframe.
   */
  initFailed?(reason: string): void;
}

/** What a player is told of the stream (HLS CODECS and RESOLUTION). */
export interface MuxInfo {
  /** RFC 6381 codec strings of the tracks, comma-separated (`avc1.64001f,mp4a.40.2`). */
  codecs: string;
  width?: number;
  height?: number;
}

/** Unix ms of a track's RTP timestamp by the ring's clock mapping, or null while it has none. */
export type TrackClock = (ringTrack: number, rtpTimestamp: number) => number | null;

interface TrackRuntime {
  readonly plan: MuxTrackPlan;
  readonly depacketizer: Depacketizer;
  readonly dts: DtsExtractor | null;
  /** Added to a frame's unwrapped RTP time to place it on the timeline; null before its first frame. */
  offset: number | null;
  /** Video: the parameter sets in force (SDP, then in-band), by NAL type. */
  readonly params: Map<number, Uint8Array>;
}

const H264_SPS = 7;
const H264_PPS = 8;
const H265_VPS = 32;
const H265_SPS = 33;
const H265_PPS = 34;

/**
 * Whether an in-band parameter set may replace the one in force: an SPS that does not parse would
 * leave the stream without an init segment (one from the SDP that does is kept instead).
 */
function spsParses(codec: string, type: number, nal: Uint8Array): boolean {
  if (type !== (codec === "h264" ? H264_SPS : H265_SPS)) return true;
  try {
    if (codec === "h264") parseH264Sps(nal);
    else parseH265Sps(nal);
    return true;
  } catch {
    return false;
  }
}

function nalType(codec: string, nal: Uint8Array): number {
  return codec === "h264" ? nal[0] & 0x1f : (nal[0] >> 1) & 0x3f;
}

/** A video track's fMP4 codec record, its CODECS string and size; undefined while a parameter set is missing. */
function videoRecord(
  codec: "h264" | "h265",
  params: ReadonlyMap<number, Uint8Array>,
): { decoderConfig: Uint8Array; codecString: string; width: number; height: number } | undefined {
  const of = (type: number) => [...params].filter(([k]) => k === type).map(([, v]) => v);
  if (codec === "h264") {
    const sps = of(H264_SPS), pps = of(H264_PPS);
    if (sps.length === 0 || pps.length === 0) return undefined;
    const cfg = avcDecoderConfigFromParameterSets(sps, pps);
    const { width, height } = parseH264Sps(sps[0]);
    return { decoderConfig: serializeAvcDecoderConfig(cfg), codecString: avcCodecString(cfg), width, height };
  }
  const vps = of(H265_VPS), sps = of(H265_SPS), pps = of(H265_PPS);
  if (vps.length === 0 || sps.length === 0 || pps.length === 0) return undefined;
  const cfg = hevcDecoderConfigFromParameterSets(vps, sps, pps);
  const { width, height } = parseH265Sps(sps[0]);
  return { decoderConfig: serializeHevcDecoderConfig(cfg), codecString: hevcCodecString(cfg), width, height };
}

export class StreamMuxer {
  readonly #tracks: TrackRuntime[];
  readonly #byRing = new Map<number, number>();
  readonly #sink: MuxSink;
  readonly #clock: TrackClock;
  readonly #partTarget: number;
  #fragmenter: Fragmenter | null = null;
  /** Unix ms of timeline 0, set at the first keyframe. */
  #zeroUnixMs: number | null = null;
  /** Frames dropped: before the init could be made (no parameter sets yet), or unplaceable. */
  framesWithoutInit = 0;
  /** Init segments made (more than one: the parameter sets changed). */
  inits = 0;
  /** Attempts to make an init segment that failed (MuxSink.initFailed hears of the first). */
  initFailures = 0;

  constructor(plans: readonly MuxTrackPlan[], partTargetSeconds: number, sink: MuxSink, clock: TrackClock) {
    if (plans.length === 0) throw new RangeError("nothing to mux");
    this.#sink = sink;
    this.#clock = clock;
    this.#partTarget = partTargetSeconds;
    this.#tracks = plans.map((plan, i) => {
      this.#byRing.set(plan.ringTrack, i);
      const params = new Map<number, Uint8Array>();
      for (const p of plan.parameterSets) params.set(nalType(plan.codec, p), p);
      const dts = plan.makeDtsExtractor?.() ?? null;
      if (dts !== null && plan.parameterSets.length > 0) dts.addParameterSets(plan.parameterSets);
      return {
        plan,
        depacketizer: plan.makeDepacketizer((au) => this.#unit(i, au)),
        dts,
        offset: null,
        params,
      };
    });
  }

  /** Whether the stream has a track of ring track number `ringTrack` that is muxed. */
  muxes(ringTrack: number): boolean {
    return this.#byRing.has(ringTrack);
  }

  /** One RTP packet of ring track `ringTrack`, in sequence order. */
  packet(ringTrack: number, buf: Uint8Array, start: number, end: number): void {
    const i = this.#byRing.get(ringTrack);
    if (i !== undefined) this.#tracks[i].depacketizer.push(buf, start, end);
  }

  /** Packets were skipped (the reader fell behind): frames in progress are dropped, video waits for a keyframe. */
  reset(): void {
    for (const t of this.#tracks) t.depacketizer.reset();
  }

  /** The stream ended: the last fragment goes out. */
  end(): void {
    this.#fragmenter?.flush();
  }

  #unit(i: number, au: AccessUnit): void {
    const t = this.#tracks[i];
    const lead = i === 0;
    if (t.plan.video) {
      let changed = false;
      for (const u of au.units) {
        const type = nalType(t.plan.codec, u);
        const isSet = t.plan.codec === "h264"
          ? type === H264_SPS || type === H264_PPS
          : type === H265_VPS || type === H265_SPS || type === H265_PPS;
        if (isSet && !sameParameterSet(t.params.get(type), u) && spsParses(t.plan.codec, type, u)) {
          t.params.set(type, u.slice());
          changed = true;
        }
      }
      if (changed && t.dts !== null) t.dts.addParameterSets([...t.params.values()]);
      if (au.random && (this.#fragmenter === null || changed)) {
        if (!this.#tryInit()) {
          this.framesWithoutInit++;
          return;
        }
      }
    } else if (this.#fragmenter === null && this.#tracks.length === 1) {
      this.#tryInit();
    }
    const f = this.#fragmenter;
    if (f === null) {
      this.framesWithoutInit++;
      return;
    }
    // Every frame in order through the extractor, which keeps the reordering state.
    const rawDts = t.dts === null ? au.pts : t.dts.extract(au.units, au.pts);
    if (t.offset === null) {
      const raw = ((au.pts % 2 ** 32) + 2 ** 32) % 2 ** 32;
      const unix = this.#clock(t.plan.ringTrack, raw) ?? Date.now();
      if (this.#zeroUnixMs === null) {
        if (!lead) {
          this.framesWithoutInit++;
          return;
        }
        // Time 0 is the first keyframe's decode instant: its presentation is that much later.
        this.#zeroUnixMs = unix - ((au.pts - rawDts) / t.plan.clockRate) * 1000;
      }
      t.offset = Math.round(((unix - this.#zeroUnixMs) / 1000) * t.plan.clockRate) - au.pts;
    }
    const pts = au.pts + t.offset;
    const dts = rawDts + t.offset;
    f.push(i, { dts, pts, units: au.units, sync: au.random });
  }

  /** Makes the init segment, or counts the failure (the sink hears of the first); whether it was made. */
  #tryInit(): boolean {
    const why = this.#makeInit();
    if (why === null) return true;
    if (this.initFailures++ === 0) this.#sink.initFailed?.(why);
    return false;
  }

  /** The init segment from what is known now; null when made, else why not (video lacks its parameter sets). */
  #makeInit(): string | null {
    const fmp4: Track[] = [];
    const codecs: string[] = [];
    let width: number | undefined;
    let height: number | undefined;
    for (const [i, t] of this.#tracks.entries()) {
      const id = i + 1;
      const p = t.plan;
      try {
        if (p.codec === "h264" || p.codec === "h265") {
          const v = videoRecord(p.codec, t.params);
          if (v === undefined) {
            const sets = p.codec === "h264" ? "SPS and PPS" : "VPS, SPS and PPS";
            return `no usable ${sets} for its ${p.codec.toUpperCase()} track (neither in the SDP nor in-band before the keyframe)`;
          }
          ({ width, height } = v);
          fmp4.push({
            id,
            codec: p.codec,
            timescale: p.clockRate,
            width,
            height,
            decoderConfig: v.decoderConfig,
          });
          codecs.push(v.codecString);
        } else if (p.codec === "aac") {
          const asc = parseAudioSpecificConfig(p.aac!.config);
          fmp4.push({
            id,
            codec: "aac",
            timescale: p.clockRate,
            channels: asc.channels || p.channels || 2,
            sampleRate: asc.sampleRate,
            config: p.aac!.config,
          });
          codecs.push(`mp4a.40.${asc.objectType}`);
        } else if (p.codec === "opus") {
          fmp4.push({ id, codec: "opus", timescale: 48_000, channels: p.channels, sampleRate: 48_000 });
          codecs.push("opus");
        } else {
          fmp4.push({
            id,
            codec: p.codec,
            timescale: p.clockRate,
            channels: p.channels,
            sampleRate: p.clockRate,
          });
          codecs.push(p.codec === "pcmu" ? "ulaw" : "alaw");
        }
      } catch (e) {
        // Parameter sets or a config that do not parse: no init until better ones come in-band.
        return `the ${p.codec.toUpperCase()} track's ${p.video ? "parameter sets" : "config"} do not parse (${
          (e as Error)?.message ?? e
        })`;
      }
    }
    const bytes = serializeInitSegment({ tracks: fmp4 });
    if (this.#fragmenter !== null) this.#fragmenter.flush();
    this.#fragmenter = new Fragmenter(
      fmp4.map((t, i) => ({ id: t.id, video: this.#tracks[i].plan.video, timescale: t.timescale })),
      this.#partTarget,
      (f) => this.#sink.fragment(f, (this.#zeroUnixMs ?? Date.now()) + f.start * 1000),
    );
    // A new init starts a new timeline for every track.
    this.#zeroUnixMs = null;
    for (const t of this.#tracks) t.offset = null;
    this.inits++;
    this.#sink.init(bytes, { codecs: codecs.join(","), width, height });
    return null;
  }
}

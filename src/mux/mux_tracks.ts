/**
 * Which tracks of a stream can be muxed into fMP4 and how: the first H.264/H.265 track and the
 * first audio track of a codec the container (and its user) takes, each with its depacketizer,
 * its decode-time extractor and what its init segment entry needs from the SDP.
 *
 * @module
 */
import { fmtpFor, type MediaDescription, parseFmtpParameters } from "../sdp/media_description.ts";
import type { SessionDescription } from "../sdp/session_description.ts";
import type { StreamInfo, TrackInfo } from "../stream/stream_info.ts";
import { type Mpeg4GenericConfig, parseMpeg4GenericFmtp } from "../rtp/aac.ts";
import { parseSpropParameterSets } from "../rtp/h264.ts";
import type { AccessUnitCallback, Depacketizer } from "../rtp/depacketizer.ts";
import { H264Depacketizer } from "../rtp/h264_depacketizer.ts";
import { H265Depacketizer } from "../rtp/h265_depacketizer.ts";
import { AacDepacketizer } from "../rtp/aac_depacketizer.ts";
import { SimpleAudioDepacketizer } from "../rtp/simple_audio_depacketizer.ts";
import { type DtsExtractor, H264DtsExtractor, H265DtsExtractor } from "../rtp/dts_extractor.ts";

/** A codec the muxer writes. */
export type MuxCodec = "h264" | "h265" | "aac" | "opus" | "pcmu" | "pcma";

/** One track to mux. */
export interface MuxTrackPlan {
  /** Its index among the stream's tracks (the ring's track number). */
  readonly ringTrack: number;
  readonly video: boolean;
  readonly codec: MuxCodec;
  readonly clockRate: number;
  readonly channels: number;
  /** H.264: [SPS..., PPS...]; H.265: [VPS..., SPS..., PPS...], from the SDP's sprop-*; may be empty. */
  readonly parameterSets: readonly Uint8Array[];
  /** AAC: the mpeg4-generic fmtp. */
  readonly aac?: Mpeg4GenericConfig;
  /** H.265 with DONL fields (sprop-max-don-diff above 0) is left out: they are not read. */
  readonly makeDepacketizer: (onUnit: AccessUnitCallback) => Depacketizer;
  readonly makeDtsExtractor?: () => DtsExtractor;
}

/** What the muxer's user takes besides video: browsers play no G.711 from MP4, files keep it. */
export interface MuxTrackOptions {
  g711: boolean;
}

/** The tracks to mux, video first; empty when the stream has none the muxer can write. */
export function planMuxTracks(sd: SessionDescription, info: StreamInfo, o: MuxTrackOptions): MuxTrackPlan[] {
  const out: MuxTrackPlan[] = [];
  const video = info.tracks.find((t) => t.codec === "h264" || t.codec === "h265");
  if (video !== undefined) {
    const p = videoPlan(sd.media[video.index], video);
    if (p !== null) out.push(p);
  }
  for (const t of info.tracks) {
    if (t.media !== "audio") continue;
    const p = audioPlan(sd.media[t.index], t, o);
    if (p !== null) {
      out.push(p);
      break;
    }
  }
  return out;
}

function fmtpOf(m: MediaDescription | undefined, t: TrackInfo): Map<string, string> {
  const f = m === undefined ? undefined : fmtpFor(m, t.payloadType);
  return f === undefined ? new Map() : parseFmtpParameters(f);
}

function sets(value: string | undefined): Uint8Array[] {
  try {
    return parseSpropParameterSets(value ?? "");
  } catch {
    return []; // unreadable: the stream's in-band sets will do
  }
}

function videoPlan(m: MediaDescription | undefined, t: TrackInfo): MuxTrackPlan | null {
  const p = fmtpOf(m, t);
  if (t.codec === "h264") {
    return {
      ringTrack: t.index,
      video: true,
      codec: "h264",
      clockRate: t.clockRate,
      channels: 0,
      parameterSets: sets(p.get("sprop-parameter-sets")),
      makeDepacketizer: (onUnit) => new H264Depacketizer({ onUnit }),
      makeDtsExtractor: () => new H264DtsExtractor({ clockRate: t.clockRate }),
    };
  }
  const donDiff = Number(p.get("sprop-max-don-diff") ?? "0");
  if (donDiff > 0) return null;
  return {
    ringTrack: t.index,
    video: true,
    codec: "h265",
    clockRate: t.clockRate,
    channels: 0,
    parameterSets: [...sets(p.get("sprop-vps")), ...sets(p.get("sprop-sps")), ...sets(p.get("sprop-pps"))],
    makeDepacketizer: (onUnit) => new H265Depacketizer({ onUnit }),
    makeDtsExtractor: () => new H265DtsExtractor({ clockRate: t.clockRate }),
  };
}

function audioPlan(m: MediaDescription | undefined, t: TrackInfo, o: MuxTrackOptions): MuxTrackPlan | null {
  const encoding = t.encoding.toLowerCase();
  const base = { ringTrack: t.index, video: false, clockRate: t.clockRate, parameterSets: [] };
  if (encoding === "mpeg4-generic") {
    let aac: Mpeg4GenericConfig;
    try {
      aac = parseMpeg4GenericFmtp(fmtpOf(m, t));
    } catch {
      return null;
    }
    if (aac.config.length === 0 || !/^aac-(hbr|lbr)$/i.test(aac.mode)) return null;
    return {
      ...base,
      codec: "aac",
      channels: t.channels ?? 0,
      aac,
      makeDepacketizer: (onUnit) => new AacDepacketizer({ clockRate: t.clockRate, config: aac, onUnit }),
    };
  }
  if (encoding === "opus" && t.clockRate === 48_000) {
    return {
      ...base,
      codec: "opus",
      channels: Math.min(2, t.channels ?? 2),
      makeDepacketizer: (onUnit) => new SimpleAudioDepacketizer({ onUnit }),
    };
  }
  if ((encoding === "pcmu" || encoding === "pcma") && o.g711) {
    return {
      ...base,
      codec: encoding,
      channels: t.channels ?? 1,
      makeDepacketizer: (onUnit) => new SimpleAudioDepacketizer({ onUnit }),
    };
  }
  return null;
}

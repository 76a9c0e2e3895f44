import {
  fmtpFor,
  mediaControl,
  type MediaDescription,
  parseFmtpParameters,
  rtpmapFor,
} from "../sdp/media_description.ts";
import { parseSpropParameterSets } from "../rtp/h264.ts";
import { h264ParameterSetPayload, h265ParameterSetPayload } from "../rtp/parameter_sets.ts";
import { sessionControl, type SessionDescription } from "../sdp/session_description.ts";
import { MAX_TRACKS } from "../ring/ring_layout.ts";
import { VIDEO_CODEC } from "../rtp/video_packet.ts";

/** An SDP whose media cannot be relayed (the publisher's ANNOUNCE answers 400 with the message). */
export class StreamInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamInfoError";
  }
}

/** What the relay needs to know of a payload: keyframes come from H.264 and H.265, the rest is opaque. */
export type CodecKind = "h264" | "h265" | "aac" | "other";

/** One format (payload type) of a media section: from its rtpmap, or RFC 3551's static table. */
export interface FormatInfo {
  payloadType: number;
  /** As written in the rtpmap ("" for a later format with neither rtpmap nor static meaning). */
  encoding: string;
  clockRate: number;
  /** Audio channels when the rtpmap or the static table gives them. */
  channels?: number;
  codec: CodecKind;
}

/**
 * One media section of a published stream. Its own fields describe the first format, which
 * decides the track's role (RFC 3264 §5.1: formats are listed in order of preference).
 */
export interface TrackInfo extends FormatInfo {
  index: number;
  media: string;
  /** The publisher's own control attribute (ffmpeg `streamid=0`), matched against its SETUP URLs. */
  control: string | undefined;
  /** Every format of the m= line in order, the first included (absent: the first only). */
  formats?: FormatInfo[];
  /**
   * H.264/H.265 (first format): the SDP's parameter sets as one RTP payload (STAP-A or AP), sent
   * in-band before keyframes that come without them; absent when the SDP has none.
   */
  parameterSets?: Uint8Array;
}

/** Tracks of a stream, and which one carries keyframes. */
export interface StreamInfo {
  tracks: TrackInfo[];
  /** Index of the first track whose first format is H.264 or H.265, or -1 (audio-only and other streams). */
  videoTrack: number;
  /** Session-level `a=control`: the base of relative media controls (RFC 2326 §C.1.1). */
  sessionControl?: string;
}

// Static payload types a publisher may use without an rtpmap (RFC 3551 tables 4 and 5).
const STATIC_PT: Readonly<Record<number, readonly [string, number, number?]>> = {
  0: ["PCMU", 8000, 1],
  3: ["GSM", 8000, 1],
  4: ["G723", 8000, 1],
  5: ["DVI4", 8000, 1],
  6: ["DVI4", 16000, 1],
  7: ["LPC", 8000, 1],
  8: ["PCMA", 8000, 1],
  9: ["G722", 8000, 1],
  10: ["L16", 44100, 2],
  11: ["L16", 44100, 1],
  12: ["QCELP", 8000, 1],
  13: ["CN", 8000, 1],
  14: ["MPA", 90000],
  15: ["G728", 8000, 1],
  16: ["DVI4", 11025, 1],
  17: ["DVI4", 22050, 1],
  18: ["G729", 8000, 1],
  25: ["CelB", 90000],
  26: ["JPEG", 90000],
  28: ["nv", 90000],
  31: ["H261", 90000],
  32: ["MPV", 90000],
  33: ["MP2T", 90000],
  34: ["H263", 90000],
};

function codecOf(encoding: string): CodecKind {
  switch (encoding.toUpperCase()) {
    case "H264":
      return "h264";
    case "H265":
      return "h265";
    case "MPEG4-GENERIC":
      return "aac";
    default:
      return "other";
  }
}

/** A format from its rtpmap, else the static table; undefined when it has neither. */
function formatInfo(m: MediaDescription, pt: number): FormatInfo | undefined {
  const map = rtpmapFor(m, pt);
  if (map !== undefined) {
    const f: FormatInfo = {
      payloadType: pt,
      encoding: map.encoding,
      clockRate: map.clockRate,
      codec: codecOf(map.encoding),
    };
    if (map.channels !== undefined) f.channels = map.channels;
    return f;
  }
  const known = STATIC_PT[pt];
  if (known === undefined) return undefined;
  const f: FormatInfo = {
    payloadType: pt,
    encoding: known[0],
    clockRate: known[1],
    codec: codecOf(known[0]),
  };
  if (known[2] !== undefined) f.channels = known[2];
  return f;
}

/** The fmtp's parameter sets of an H.264/H.265 format as one aggregation payload, or null. */
function parameterSetsOf(m: MediaDescription, f: FormatInfo): Uint8Array | null {
  if (f.codec !== "h264" && f.codec !== "h265") return null;
  const fmtp = fmtpFor(m, f.payloadType);
  if (fmtp === undefined) return null;
  try {
    const p = parseFmtpParameters(fmtp);
    const sets = (name: string) => parseSpropParameterSets(p.get(name) ?? "");
    return f.codec === "h264"
      ? h264ParameterSetPayload(sets("sprop-parameter-sets"))
      : h265ParameterSetPayload(sets("sprop-vps"), sets("sprop-sps"), sets("sprop-pps"));
  } catch {
    return null; // unreadable parameter sets: relayed as they are, never injected
  }
}

/** Reads the tracks of an ANNOUNCE SDP; refuses what cannot be relayed with 400. */
export function streamInfoFromSdp(sd: SessionDescription): StreamInfo {
  if (sd.media.length === 0) throw new StreamInfoError("SDP has no media section");
  if (sd.media.length > MAX_TRACKS) {
    throw new StreamInfoError(`SDP has ${sd.media.length} media sections, at most ${MAX_TRACKS}`);
  }
  const tracks: TrackInfo[] = [];
  let videoTrack = -1;
  sd.media.forEach((m, index) => {
    if (!/^RTP\/S?AVPF?$/i.test(m.protocol)) {
      throw new StreamInfoError(`media ${index} uses protocol '${m.protocol}', not RTP/AVP`);
    }
    const pt = Number(m.formats[0]);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
      throw new StreamInfoError(`media ${index} has no valid RTP payload type`);
    }
    const first = formatInfo(m, pt);
    if (first === undefined) {
      throw new StreamInfoError(`media ${index} payload type ${pt} has no rtpmap`);
    }
    // Later formats are relayed whatever they are (RFC 4588 retransmission, telephone-event...);
    // one without rtpmap or static meaning is kept with an empty encoding.
    const formats = [first];
    for (const text of m.formats.slice(1)) {
      const other = Number(text);
      if (!Number.isInteger(other) || other < 0 || other > 127) continue;
      formats.push(
        formatInfo(m, other) ?? { payloadType: other, encoding: "", clockRate: 0, codec: "other" },
      );
    }
    if ((first.codec === "h264" || first.codec === "h265") && videoTrack < 0) videoTrack = index;
    const track: TrackInfo = { ...first, index, media: m.media, control: mediaControl(m), formats };
    const sets = parameterSetsOf(m, first);
    if (sets !== null) track.parameterSets = sets;
    tracks.push(track);
  });
  const info: StreamInfo = { tracks, videoTrack };
  const base = sessionControl(sd);
  if (base !== undefined) info.sessionControl = base;
  return info;
}

/**
 * Which video codec each RTP payload type of a track carries (VIDEO_CODEC.NONE for the others), so
 * ingest reads each packet by the format actually sent: a camera that lists H.265 and H.264 in one
 * m= line may send either. Allocates; built once per stream.
 */
export function videoCodecsByPayloadType(track: TrackInfo | undefined): Uint8Array {
  const table = new Uint8Array(128);
  for (const f of track === undefined ? [] : track.formats ?? [track]) {
    table[f.payloadType] = f.codec === "h264"
      ? VIDEO_CODEC.H264
      : f.codec === "h265"
      ? VIDEO_CODEC.H265
      : VIDEO_CODEC.NONE;
  }
  return table;
}

/** Control attribute dm-live gives track i in the SDP it serves (gortsplib's choice, for old clients). */
export function trackControl(index: number): string {
  return `trackID=${index}`;
}

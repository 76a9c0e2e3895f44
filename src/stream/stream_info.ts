import { RtspError } from "../rtsp/errors.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
import { mediaControl, rtpmapFor } from "../sdp/media_description.ts";
import type { SessionDescription } from "../sdp/session_description.ts";
import { MAX_TRACKS } from "../ring/ring_layout.ts";

/** What the relay needs to know of a payload: keyframes come from H.264 only (H.265 comes later). */
export type CodecKind = "h264" | "aac" | "other";

/** One media section of a published stream. */
export interface TrackInfo {
  index: number;
  media: string;
  payloadType: number;
  encoding: string;
  clockRate: number;
  codec: CodecKind;
  /** The publisher's own control attribute (ffmpeg `streamid=0`), matched against its SETUP URLs. */
  control: string | undefined;
}

/** Tracks of a stream, and which one carries keyframes. */
export interface StreamInfo {
  tracks: TrackInfo[];
  /** Index of the first H.264 track, or -1 (audio-only and other streams). */
  videoTrack: number;
}

// Static payload types a publisher may use without an rtpmap (RFC 3551 table 4/5, the ones we relay).
const STATIC_PT: Readonly<Record<number, [string, number]>> = {
  0: ["PCMU", 8000],
  8: ["PCMA", 8000],
  10: ["L16", 44100],
  11: ["L16", 44100],
  14: ["MPA", 90000],
  26: ["JPEG", 90000],
  32: ["MPV", 90000],
  33: ["MP2T", 90000],
};

/** Reads the tracks of an ANNOUNCE SDP; refuses what cannot be relayed with 400. */
export function streamInfoFromSdp(sd: SessionDescription): StreamInfo {
  if (sd.media.length === 0) throw new RtspError(STATUS_CODE.BadRequest, "SDP has no media section");
  if (sd.media.length > MAX_TRACKS) {
    throw new RtspError(
      STATUS_CODE.BadRequest,
      `SDP has ${sd.media.length} media sections, at most ${MAX_TRACKS}`,
    );
  }
  const tracks: TrackInfo[] = [];
  let videoTrack = -1;
  sd.media.forEach((m, index) => {
    if (!/^RTP\/S?AVPF?$/i.test(m.protocol)) {
      throw new RtspError(
        STATUS_CODE.BadRequest,
        `media ${index} uses protocol '${m.protocol}', not RTP/AVP`,
      );
    }
    const pt = Number(m.formats[0]);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
      throw new RtspError(STATUS_CODE.BadRequest, `media ${index} has no valid RTP payload type`);
    }
    const map = rtpmapFor(m, pt);
    const [encoding, clockRate] = map ? [map.encoding, map.clockRate] : STATIC_PT[pt] ?? ["", 0];
    if (encoding === "") {
      throw new RtspError(STATUS_CODE.BadRequest, `media ${index} payload type ${pt} has no rtpmap`);
    }
    const upper = encoding.toUpperCase();
    const codec: CodecKind = upper === "H264" ? "h264" : upper === "MPEG4-GENERIC" ? "aac" : "other";
    if (codec === "h264" && videoTrack < 0) videoTrack = index;
    tracks.push({
      index,
      media: m.media,
      payloadType: pt,
      encoding,
      clockRate,
      codec,
      control: mediaControl(m),
    });
  });
  return { tracks, videoTrack };
}

/** Control attribute dm-live gives track i in the SDP it serves (gortsplib's choice, for old clients). */
export function trackControl(index: number): string {
  return `trackID=${index}`;
}

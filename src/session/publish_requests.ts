/** A publisher's requests: ANNOUNCE (claims the path), SETUP of each announced track, RECORD. */
import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { serializeSessionHeader } from "../rtsp/session_header.ts";
import { STATUS_CODE, type StatusCode } from "../rtsp/status.ts";
import type { TransportSpec } from "../rtsp/transport_header.ts";
import { parseRtspUrl, type RtspUrl, stripTrailingSlash } from "../rtsp/url.ts";
import { parseSdp, SdpError } from "../sdp/session_description.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { StreamInfoError, streamInfoFromSdp } from "../stream/stream_info.ts";
import { PublisherSession } from "./publisher_session.ts";
import { allow, type Reply, type RequestConnection, sourceOf } from "./request_context.ts";
import { findPublisherTrack, namesPath } from "./track_urls.ts";
import {
  channelPair,
  checkUdpPortsFree,
  tcpTransportReply,
  udpPorts,
  udpTransportReply,
} from "./transport_negotiation.ts";

/** A last path segment that reads as a track control (dm-live's trackID=N, ffmpeg's streamid=N). */
const TRACK_CONTROL = /(^|\/)(trackID|streamid)=\d+$/i;

const fail = (status: StatusCode, msg: string): never => {
  throw new RtspError(status, msg);
};

/** ANNOUNCE: checks the SDP and the right to publish, claims the path; the session is made here. */
export async function announce(c: RequestConnection, req: RtspRequest): Promise<Reply> {
  const type = req.headers.get("Content-Type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/sdp") {
    return fail(
      STATUS_CODE.UnsupportedMediaType,
      `ANNOUNCE body must be application/sdp, got '${type ?? "none"}'`,
    );
  }
  const path = stripTrailingSlash(parseRtspUrl(req.url).path);
  if (path === "") return fail(STATUS_CODE.BadRequest, "ANNOUNCE needs a path");
  if (TRACK_CONTROL.test(path)) {
    // `live/cam/trackID=0` would be a reading of live/cam's own track URLs (docs/protocol.md §2).
    return fail(STATUS_CODE.BadRequest, `ANNOUNCE path '${path}' ends in a track control`);
  }
  const user = await allow(c, req, path, "publish");
  if (c.closed) return {};
  if (sourceOf(c, path) !== undefined) {
    throw new RtspError(
      STATUS_CODE.MethodNotAllowed,
      `path '${path}' is pulled from its source and cannot be published`,
      [["Allow", "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"]],
    );
  }
  const text = new TextDecoder().decode(req.body);
  let info;
  try {
    info = streamInfoFromSdp(parseSdp(text));
  } catch (e) {
    if (e instanceof SdpError) return fail(STATUS_CODE.BadRequest, `invalid SDP: ${e.message}`);
    if (e instanceof StreamInfoError) return fail(STATUS_CODE.BadRequest, e.message);
    throw e;
  }
  const s = new PublisherSession(c, path, user, { sdp: text, info, baseUrl: req.url });
  const answer = await c.ctx.directory.claim(path, s.id, c.peerHost);
  if (!answer.ok) {
    // 453: the server holds as many streams as it may (docs/protocol.md, README Security).
    if (answer.limit) return fail(STATUS_CODE.NotEnoughBandwidth, answer.reason ?? "too many streams");
    // In a cluster: etcd could not be asked whether another node publishes the path.
    if (answer.unavailable) {
      return fail(STATUS_CODE.ServiceUnavailable, answer.reason ?? "cluster unavailable");
    }
    return fail(STATUS_CODE.NotAcceptable, answer.reason ?? `path '${path}' is busy`);
  }
  if (c.closed) {
    c.ctx.directory.release(path, s.id);
    return {};
  }
  s.claimed = true;
  c.session = s;
  s.log.info(
    `ANNOUNCE: ${info.tracks.map((t) => `${t.media} ${t.encoding}/${t.clockRate}`).join(", ")}${
      user === null ? "" : ` (user '${user}')`
    }`,
  );
  return {};
}

/** SETUP of one announced track, on the transport negotiated (the state guard has run). */
export function setupPublisher(s: PublisherSession, req: RtspRequest, u: RtspUrl, t: TransportSpec): Reply {
  const track = findPublisherTrack(s.announced, s.path, u);
  if (track < 0) return fail(STATUS_CODE.NotFound, `SETUP URL ${req.url} matches no announced media`);
  if (s.hasTrack(track)) return fail(STATUS_CODE.BadRequest, `track ${track} is already set up`);
  if (t.lower === "UDP") {
    const ports = udpPorts(t);
    checkUdpPortsFree(s.conn.ctx.udp!, s.conn.peerHost, ports, s);
    (s.udpClientPorts ??= new Map()).set(track, ports);
    s.reserveUdpPorts(track, ports);
    s.transport = "udp";
    s.enter("preRecord");
    s.log.debug(`SETUP publisher track ${track} over UDP from ports ${ports[0]}-${ports[1]}`);
    return { headers: [["Transport", udpTransportReply(s.conn.ctx.udp!, ports, "record")]] };
  }
  s.transport = "tcp";
  const [rtp, rtcp] = channelPair(t, (ch) => s.channels.has(ch), track);
  s.channels.set(rtp, track);
  s.channels.set(rtcp, -1);
  s.enter("preRecord");
  s.log.debug(
    `SETUP publisher track ${track} (${s.announced.info.tracks[track].encoding}) on channels ${rtp}-${rtcp}`,
  );
  return { headers: [["Transport", tcpTransportReply([rtp, rtcp], "record")]] };
}

/** RECORD: every announced track set up; the stream (main.ts makes its ring) is announced to every worker, then packets flow. */
export async function record(c: RequestConnection, s: PublisherSession, req: RtspRequest): Promise<Reply> {
  if (!namesPath(s.path, parseRtspUrl(req.url))) {
    return fail(STATUS_CODE.BadRequest, `RECORD of another path than '${s.path}'`);
  }
  const a = s.announced;
  const setUp = s.tracksSetUp();
  if (setUp !== a.info.tracks.length) {
    return fail(
      STATUS_CODE.MethodNotValidInThisState,
      `RECORD with ${setUp} of ${a.info.tracks.length} announced tracks set up`,
    );
  }
  const answer = await c.ctx.directory.publish(s.path, s.id, a.sdp, a.info.tracks.length);
  if (!answer.ok) {
    return fail(STATUS_CODE.ServiceUnavailable, answer.reason ?? "stream could not be published");
  }
  if (c.closed || c.session !== s) return {}; // gone meanwhile; its release frees the path
  const cont = answer.continued;
  s.streamId = answer.streamId ?? 0;
  s.startRecording(new SharedRing(cont ? cont.sab : answer.ring!), cont);
  s.log.info(
    `RECORD: ${cont ? "continuing" : "publishing"} stream ${s.streamId} over ${
      s.transport === "udp" ? "UDP" : "TCP"
    }`,
  );
  return { headers: [["Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec)]] };
}

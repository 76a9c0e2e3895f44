/** A viewer's requests: DESCRIBE, SETUP of each track it wants, PLAY and PAUSE. */
import { RtspError } from "../rtsp/errors.ts";
import { serializeRangeHeader } from "../rtsp/range_header.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { serializeRtpInfoHeader } from "../rtsp/rtp_info_header.ts";
import { serializeSessionHeader } from "../rtsp/session_header.ts";
import { STATUS_CODE, type StatusCode } from "../rtsp/status.ts";
import type { TransportSpec } from "../rtsp/transport_header.ts";
import { parseRtspUrl, type RtspUrl, stripTrailingSlash } from "../rtsp/url.ts";
import { allow, type Reply, type RequestConnection, sourceOf } from "./request_context.ts";
import { baseUrlOf, findViewerTarget, namesPath, trackUrl, urlTargets } from "./track_urls.ts";
import {
  channelPair,
  checkUdpPortsFree,
  tcpTransportReply,
  udpPorts,
  udpTransportReply,
} from "./transport_negotiation.ts";
import { rtpInfoAt, ViewerSession } from "./viewer_session.ts";
import { EDGE_HEADER } from "./cluster_edge.ts";

const fail = (status: StatusCode, msg: string): never => {
  throw new RtspError(status, msg);
};

/**
 * DESCRIBE: the stream's SDP with dm-live's controls, based at the request URL. A path pulled from
 * a source waits for its pull to start (sourceOnDemandStartTimeoutMs), then 503; in a cluster, a
 * path with no stream here waits for the edge pull from its owner (cluster.edgeStartTimeoutMs).
 */
export async function describe(c: RequestConnection, req: RtspRequest): Promise<Reply> {
  const path = stripTrailingSlash(parseRtspUrl(req.url).path);
  await allow(c, req, path, "read");
  if (c.closed) return {};
  let stream = c.ctx.directory.get(path);
  const source = sourceOf(c, path);
  const cluster = c.ctx.config.cluster;
  const edge = req.headers.get(EDGE_HEADER);
  if (edge !== undefined && cluster !== null && edge === cluster.node) {
    return fail(STATUS_CODE.BadRequest, `an edge pull of path '${path}' from this node itself`);
  }
  // Another node's edge pull is served only what this node has (a stream, its own source).
  const remote = cluster !== null && stream === undefined && edge === undefined;
  if (source !== undefined || remote) {
    // Also when it runs: the ask keeps an on-demand pull from stopping before this viewer plays.
    let waitMs = source?.onDemand ? source.onDemandStartTimeoutMs : 0;
    if (remote) waitMs = Math.max(waitMs, cluster.edgeStartTimeoutMs);
    const demanded = c.ctx.directory.demand(path, waitMs, edge !== undefined);
    const got = stream ?? await demanded;
    if (c.closed) return {};
    if (got !== undefined && "status" in got) {
      return fail(got.status === 503 ? STATUS_CODE.ServiceUnavailable : STATUS_CODE.NotFound, got.reason);
    }
    stream = got;
    if (!stream && source !== undefined) {
      return fail(
        STATUS_CODE.ServiceUnavailable,
        `the source of path '${path}' has not started${
          source.onDemand || remote ? ` within ${waitMs} ms` : " yet"
        }`,
      );
    }
    if (!stream && remote) {
      return fail(
        STATUS_CODE.ServiceUnavailable,
        `the stream of path '${path}' did not arrive from the node that has it within ${waitMs} ms`,
      );
    }
  }
  if (!stream) return fail(STATUS_CODE.NotFound, `no stream is published on path '${path}'`);
  const base = req.url.endsWith("/") ? req.url : req.url + "/";
  c.describedPath = path;
  c.log.debug(`[path ${path}] DESCRIBE`);
  return {
    headers: [["Content-Base", base], ["Content-Type", "application/sdp"]],
    body: new TextEncoder().encode(stream.viewerSdp),
  };
}

/**
 * SETUP of one track for a viewer: the first makes the session (where reading is granted: a
 * client may skip DESCRIBE), later ones add tracks of the same stream.
 */
export async function setupViewer(
  c: RequestConnection,
  req: RtspRequest,
  existing: ViewerSession | null,
  u: RtspUrl,
  t: TransportSpec,
): Promise<Reply> {
  // The session's stream, else the one DESCRIBEd, before any other reading of the URL: a stream
  // whose path merely extends it (`live/cam/trackID=0`) never shadows it.
  const own = existing?.path ?? c.describedPath;
  // A session's first SETUP is where reading is granted (a client may skip DESCRIBE). Credentials
  // are asked for before anything about the path's streams is told (no 404/459 to the unknown).
  const asked = existing === null ? own ?? setupPath(u) : null;
  const granted = asked === null ? null : await allow(c, req, asked, "read");
  if (c.closed) return {};
  const lookup = (p: string) => c.ctx.directory.get(p);
  const found = (own === null ? null : findViewerTarget((p) => p === own ? lookup(p) : undefined, u)) ??
    findViewerTarget(lookup, u);
  if (found === null) return fail(STATUS_CODE.NotFound, `no stream is published for ${u.path}`);
  const { stream, track } = found;
  if (track === "aggregate") {
    return fail(
      STATUS_CODE.AggregateOperationNotAllowed,
      `SETUP on the aggregate URL of a multi-track stream`,
    );
  }
  if (track === null) {
    return fail(STATUS_CODE.NotFound, `no track of path '${stream.path}' matches ${u.path}`);
  }
  if (existing !== null && existing.stream !== stream) {
    return fail(STATUS_CODE.BadRequest, `SETUP of path '${stream.path}' in a session of '${existing.path}'`);
  }
  const user = existing !== null
    ? existing.user
    : stream.path === asked
    ? granted
    : await allow(c, req, stream.path, "read");
  // While external auth was asked, the connection may have closed or the stream ended.
  if (c.closed) return {};
  if (stream.ended) return fail(STATUS_CODE.NotFound, `the stream of path '${stream.path}' ended`);
  if (existing?.channels.has(track)) return fail(STATUS_CODE.BadRequest, `track ${track} is already set up`);
  let transport: string;
  let rtp: number;
  let detail: string;
  if (t.lower === "UDP") {
    const ports = udpPorts(t);
    checkUdpPortsFree(c.ctx.udp!, c.peerHost, ports, existing);
    // The ring cursor serves the tracks set up; UDP viewers use no channels, 2·track marks them.
    rtp = 2 * track;
    transport = udpTransportReply(c.ctx.udp!, ports);
    detail = `over UDP to ports ${ports[0]}-${ports[1]}`;
    const s = existing ?? newViewer(c, stream, user);
    (s.udpClientPorts ??= new Map()).set(track, ports);
    s.reserveUdpPorts(track, ports);
    return added(s, "udp", track, rtp, transport, detail);
  }
  const used = (ch: number) => {
    if (!existing) return false;
    for (const v of existing.channels.values()) if (v === ch || v + 1 === ch) return true;
    return false;
  };
  const pair = channelPair(t, used, track);
  rtp = pair[0];
  transport = tcpTransportReply(pair);
  detail = `on channels ${pair[0]}-${pair[1]}`;
  return added(existing ?? newViewer(c, stream, user), "tcp", track, rtp, transport, detail);
}

/** The path a first SETUP URL most likely names: its parent when it ends in a track control. */
function setupPath(u: RtspUrl): string {
  const t = urlTargets(u).find((x) => /^trackID=\d+$/.test(x.control));
  return t?.path ?? stripTrailingSlash(u.path);
}

function newViewer(
  c: RequestConnection,
  stream: ViewerSession["stream"],
  user: string | null,
): ViewerSession {
  const s = new ViewerSession(c, stream, user);
  c.session = s;
  return s;
}

function added(
  s: ViewerSession,
  transport: "tcp" | "udp",
  track: number,
  rtp: number,
  reply: string,
  detail: string,
): Reply {
  s.transport = transport;
  s.channels.set(track, rtp);
  s.log.debug(`SETUP viewer track ${track} ${detail}`);
  return {
    headers: [["Transport", reply], ["Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec)]],
  };
}

/** PLAY: RTP-Info of where the viewer starts; media starts once the response is queued. */
export function play(s: ViewerSession, req: RtspRequest): Reply {
  const u = parseRtspUrl(req.url);
  if (!namesPath(s.path, u)) {
    return fail(STATUS_CODE.BadRequest, `PLAY of ${u.path} in a session of '${s.path}'`);
  }
  const stream = s.stream;
  if (stream.ended) return fail(STATUS_CODE.NotFound, `stream on path '${s.path}' has ended`);
  const headers: [string, string][] = [["Range", serializeRangeHeader({ start: "now" })]];
  // Some clients send PLAY twice (docs/protocol.md §15): answer, keep streaming.
  if (s.state === "play") return { headers };
  const base = baseUrlOf(req.url, s.path);
  const reader = s.prepare();
  const info = rtpInfoAt(reader, s.channels.keys(), (t) => trackUrl(base, t));
  if (info.length > 0) headers.push(["RTP-Info", serializeRtpInfoHeader(info)]);
  const how = s.transport === "udp" ? "over UDP" : s.zeroCopy() ? "zero-copy path" : "copy path";
  s.log.info(`PLAY: ${s.channels.size} track(s), ${how}${s.user === null ? "" : ` (user '${s.user}')`}`);
  return { headers, after: () => s.startPlaying(reader) };
}

/** PAUSE: stops sending while playing; a no-op before PLAY. */
export function pause(s: ViewerSession): Reply {
  if (s.state === "play") {
    s.pause();
    s.log.info("PAUSE");
  }
  return {};
}

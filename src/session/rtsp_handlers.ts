import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { serializeRangeHeader } from "../rtsp/range_header.ts";
import { serializeRtpInfoHeader } from "../rtsp/rtp_info_header.ts";
import { parseSessionHeader, serializeSessionHeader } from "../rtsp/session_header.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
import { parseTransportHeader, serializeTransport, type TransportSpec } from "../rtsp/transport_header.ts";
import { joinUrl, parseRtspUrl, type RtspUrl, stripTrailingSlash } from "../rtsp/url.ts";
import { parseSdp, SdpError } from "../sdp/session_description.ts";
import type { LocalStream } from "../stream/local_stream.ts";
import { streamInfoFromSdp, trackControl } from "../stream/stream_info.ts";
import type { RtspConnection } from "./rtsp_connection.ts";
import { ServerSession } from "./server_session.ts";
import { urlTargets } from "./url_target.ts";
import { udpKey } from "../net/udp_endpoint.ts";
import { newSessionId } from "./worker_context.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { AccessControl, type Action } from "./access_control.ts";

/** A handler's answer; `after` runs once the response is queued (PLAY starts media after it). */
export interface Reply {
  status?: number;
  headers?: [string, string][];
  body?: Uint8Array;
  after?: () => void;
}

/** Methods answered, for `Public` (RFC 2326 §12.28). */
export const PUBLIC_METHODS = [
  "OPTIONS",
  "DESCRIBE",
  "ANNOUNCE",
  "SETUP",
  "PLAY",
  "RECORD",
  "PAUSE",
  "TEARDOWN",
  "GET_PARAMETER",
  "SET_PARAMETER",
] as const;

// RTSP 1.0 methods dm-live knows but does not serve (405 rather than 501).
const KNOWN_UNSUPPORTED = new Set(["REDIRECT", "PLAY_NOTIFY"]);

const fail = (status: typeof STATUS_CODE[keyof typeof STATUS_CODE], msg: string): never => {
  throw new RtspError(status, msg);
};

/** Dispatches one request with a valid CSeq; throws RtspError for every refusal. */
export function handleRequest(c: RtspConnection, req: RtspRequest): Promise<Reply> | Reply {
  // RFC 2326 §12.32: dm-live supports no extension options, so any it is required to have fails.
  const required = [...req.headers.getAll("Require"), ...req.headers.getAll("Proxy-Require")].join(", ")
    .trim();
  if (required !== "") {
    return { status: STATUS_CODE.OptionNotSupported, headers: [["Unsupported", required]] };
  }
  switch (req.method) {
    case "OPTIONS":
      checkSessionIfGiven(c, req);
      return { headers: [["Public", PUBLIC_METHODS.join(", ")]] };
    case "GET_PARAMETER":
    case "SET_PARAMETER":
      // Keep-alives (RTSP-NOTES 8): an empty 200 whatever the body asks.
      checkSessionIfGiven(c, req);
      return {};
    case "DESCRIBE":
      return describe(c, req);
    case "ANNOUNCE":
      return announce(c, req);
    case "SETUP":
      return setup(c, req);
    case "PLAY":
      return play(c, req);
    case "RECORD":
      return record(c, req);
    case "PAUSE":
      return pause(c, req);
    case "TEARDOWN":
      return teardown(c, req);
    default:
      if (KNOWN_UNSUPPORTED.has(req.method)) {
        return fail(STATUS_CODE.MethodNotAllowed, `method ${req.method} is not supported`);
      }
      return fail(STATUS_CODE.NotImplemented, `unknown method ${req.method}`);
  }
}

function url(req: RtspRequest): RtspUrl {
  return parseRtspUrl(req.url);
}

/** The connection's session named by the Session header; 454 for any other id. */
function requireSession(c: RtspConnection, req: RtspRequest): ServerSession {
  const h = req.headers.get("Session");
  if (h === undefined) return fail(STATUS_CODE.SessionNotFound, `${req.method} without a Session header`);
  const { id } = parseSessionHeader(h);
  const s = c.session;
  if (s === null || s.id !== id) return fail(STATUS_CODE.SessionNotFound, `session '${id}' not found`);
  return s;
}

function checkSessionIfGiven(c: RtspConnection, req: RtspRequest): void {
  if (req.headers.has("Session")) requireSession(c, req);
}

/** Asks access control; throws 404/401/403 as RtspError. */
function allow(c: RtspConnection, req: RtspRequest, path: string, action: Action): string | null {
  const ctx = c.ctx;
  ctx.access ??= new AccessControl(ctx.authShared, ctx.stats);
  return ctx.access.check(ctx.config, c, req, path, action);
}

function describe(c: RtspConnection, req: RtspRequest): Reply {
  const u = url(req);
  const path = stripTrailingSlash(u.path);
  allow(c, req, path, "read");
  const stream = c.ctx.directory.get(path);
  if (!stream) return fail(STATUS_CODE.NotFound, `no stream is published on path '${path}'`);
  const base = req.url.endsWith("/") ? req.url : req.url + "/";
  c.log.debug(`[path ${path}] DESCRIBE`);
  return {
    headers: [["Content-Base", base], ["Content-Type", "application/sdp"]],
    body: new TextEncoder().encode(stream.viewerSdp),
  };
}

async function announce(c: RtspConnection, req: RtspRequest): Promise<Reply> {
  if (c.session !== null) {
    return fail(STATUS_CODE.MethodNotValidInThisState, `ANNOUNCE in state ${c.session.state}`);
  }
  const type = req.headers.get("Content-Type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/sdp") {
    return fail(
      STATUS_CODE.UnsupportedMediaType,
      `ANNOUNCE body must be application/sdp, got '${type ?? "none"}'`,
    );
  }
  const path = stripTrailingSlash(url(req).path);
  if (path === "") return fail(STATUS_CODE.BadRequest, "ANNOUNCE needs a path");
  const user = allow(c, req, path, "publish");
  const text = new TextDecoder().decode(req.body);
  let info;
  try {
    info = streamInfoFromSdp(parseSdp(text));
  } catch (e) {
    if (e instanceof SdpError) return fail(STATUS_CODE.BadRequest, `invalid SDP: ${e.message}`);
    throw e;
  }
  const s = new ServerSession(newSessionId(), c);
  s.setPath(path);
  s.user = user;
  const answer = await c.ctx.directory.claim(path, s.id);
  if (!answer.ok) return fail(STATUS_CODE.NotAcceptable, answer.reason ?? `path '${path}' is busy`);
  if (c.closed) {
    c.ctx.directory.release(path, s.id);
    return {};
  }
  s.claimed = true;
  s.announced = { sdp: text, info, baseUrl: req.url };
  s.state = "announced";
  c.session = s;
  s.log.info(
    `ANNOUNCE: ${info.tracks.map((t) => `${t.media} ${t.encoding}/${t.clockRate}`).join(", ")}${
      user === null ? "" : ` (user '${user}')`
    }`,
  );
  return {};
}

/**
 * Picks the first transport offered that dm-live serves (RTSP-NOTES 4): RTP/AVP over TCP
 * (interleaved), or unicast UDP with client_port when this worker has UDP ports and the peer is
 * IPv4. Anything else gets 461, which makes ffmpeg and VLC retry with another (RTSP-NOTES 18).
 */
function pickTransport(c: RtspConnection, req: RtspRequest): TransportSpec {
  const h = req.headers.get("Transport");
  if (h === undefined) return fail(STATUS_CODE.BadRequest, "SETUP without a Transport header");
  const udpOk = c.ctx.udp !== null && udpKey(c.peerHost, 0) >= 0;
  const spec = parseTransportHeader(h).find((t) =>
    t.protocol === "RTP/AVP" && t.delivery !== "multicast" &&
    (t.lower === "TCP" || (udpOk && t.clientPort !== undefined))
  );
  if (!spec) {
    const served = c.ctx.udp === null
      ? "RTP/AVP/TCP"
      : "RTP/AVP/TCP, or unicast RTP/AVP over IPv4 with client_port";
    return fail(STATUS_CODE.UnsupportedTransport, `no supported transport in '${h}' (${served})`);
  }
  return spec;
}

/** Fixes the session's transport at its first SETUP; a later SETUP may not switch. */
function useTransport(s: ServerSession | null, lower: "TCP" | "UDP"): void {
  const want = lower === "TCP" ? "tcp" : "udp";
  if (s !== null && s.transport !== null && s.transport !== want) {
    fail(
      STATUS_CODE.UnsupportedTransport,
      `SETUP over ${lower} in a session that uses ${s.transport.toUpperCase()}`,
    );
  }
}

/** A UDP client_port pair: n-(n+1) as given, or n alone for n, n+1 (RTSP-NOTES 4). */
function udpPorts(t: TransportSpec): [number, number] {
  const [a, b] = t.clientPort!;
  if (a === 0 || b === 0) {
    return fail(STATUS_CODE.BadRequest, `client_port ${a}-${b} is not a usable port pair`);
  }
  return [a, b];
}

/** Transport answer for a UDP SETUP. */
function udpTransport(c: RtspConnection, ports: [number, number], mode?: "record"): string {
  return serializeTransport({
    protocol: "RTP/AVP",
    lower: "UDP",
    delivery: "unicast",
    clientPort: ports,
    serverPort: c.ctx.udp!.ports,
    ...(mode ? { mode } : {}),
  });
}

/** Interleaved pair for a new track: the one asked for, else the lowest free even pair. */
function channelPair(t: TransportSpec, used: (ch: number) => boolean, track: number): [number, number] {
  if (t.interleaved) {
    const [a, b] = t.interleaved;
    if (b !== a + 1) {
      return fail(STATUS_CODE.BadRequest, `interleaved channels ${a}-${b} are not a pair n-(n+1)`);
    }
    if (used(a) || used(b)) {
      return fail(STATUS_CODE.BadRequest, `interleaved channels ${a}-${b} already in use`);
    }
    return [a, b];
  }
  for (let a = track * 2; a < 254; a += 2) if (!used(a) && !used(a + 1)) return [a, a + 1];
  return fail(STATUS_CODE.UnsupportedTransport, "no free interleaved channel pair");
}

function setup(c: RtspConnection, req: RtspRequest): Reply {
  const hasHeader = req.headers.has("Session");
  let s = c.session;
  if (hasHeader) s = requireSession(c, req);
  else if (s !== null && s.idSent) {
    // A second SETUP must name the session it adds to.
    return fail(
      STATUS_CODE.SessionNotFound,
      "SETUP without Session header on a connection that has a session",
    );
  }
  const t = pickTransport(c, req);
  useTransport(s, t.lower);
  const u = url(req);
  if (s !== null && s.isPublisher) return setupPublisher(s, req, u, t);
  if (t.mode === "record") {
    return fail(STATUS_CODE.MethodNotValidInThisState, "SETUP with mode=record before ANNOUNCE");
  }
  return setupViewer(c, req, s, u, t);
}

function setupPublisher(s: ServerSession, req: RtspRequest, u: RtspUrl, t: TransportSpec): Reply {
  if (s.state !== "announced" && s.state !== "preRecord") {
    return fail(STATUS_CODE.MethodNotValidInThisState, `SETUP in state ${s.state}`);
  }
  const a = s.announced!;
  const track = findPublisherTrack(s, u);
  if (track < 0) return fail(STATUS_CODE.NotFound, `SETUP URL ${req.url} matches no announced media`);
  for (const tr of s.publisherChannels.values()) {
    if (tr === track) return fail(STATUS_CODE.BadRequest, `track ${track} is already set up`);
  }
  if (s.udpClientPorts?.has(track)) return fail(STATUS_CODE.BadRequest, `track ${track} is already set up`);
  if (t.lower === "UDP") {
    const ports = udpPorts(t);
    (s.udpClientPorts ??= new Map()).set(track, ports);
    s.transport = "udp";
    s.state = "preRecord";
    s.idSent = true;
    s.log.debug(`SETUP publisher track ${track} over UDP from ports ${ports[0]}-${ports[1]}`);
    return { headers: [["Transport", udpTransport(s.conn, ports, "record")]] };
  }
  s.transport = "tcp";
  const [rtp, rtcp] = channelPair(t, (ch) => s.publisherChannels.has(ch), track);
  s.publisherChannels.set(rtp, track);
  s.publisherChannels.set(rtcp, -1);
  s.state = "preRecord";
  s.idSent = true;
  s.log.debug(`SETUP publisher track ${track} (${a.info.tracks[track].encoding}) on channels ${rtp}-${rtcp}`);
  return {
    headers: [[
      "Transport",
      serializeTransport({
        protocol: "RTP/AVP",
        lower: "TCP",
        delivery: "unicast",
        interleaved: [rtp, rtcp],
        mode: "record",
      }),
    ]],
  };
}

/**
 * Which announced media a publisher's SETUP URL names: controls are the publisher's own (ffmpeg
 * `streamid=N`, Larix `mediaUUID=...`), relative to the session-level control or the ANNOUNCE URL, or
 * absolute (RTSP-NOTES 2).
 */
function findPublisherTrack(s: ServerSession, u: RtspUrl): number {
  const a = s.announced!;
  const tracks = a.info.tracks;
  const want = normalise(u);
  // A session-level control is the base of relative media controls (RFC 2326 §C.1.1); `*` or
  // none means the ANNOUNCE URL (GStreamer's rtspclientsink sends `*`).
  const base = joinUrl(a.baseUrl, a.info.sessionControl ?? "*");
  for (const tr of tracks) {
    if (tr.control === undefined || tr.control === "*") continue;
    const abs = joinUrl(base, tr.control);
    try {
      if (normalise(parseRtspUrl(abs)) === want) return tr.index;
    } catch {
      // an unparseable control never matches
    }
  }
  for (const target of urlTargets(u)) {
    if (target.path !== s.path) continue;
    if (target.control === "") {
      if (tracks.length === 1) return 0;
      continue;
    }
    const tr = tracks.find((x) => x.control === target.control);
    if (tr) return tr.index;
  }
  return -1;
}

function normalise(u: RtspUrl): string {
  return stripTrailingSlash(u.path) + (u.query === "" ? "" : "?" + u.query);
}

function findViewerTarget(c: RtspConnection, u: RtspUrl): { stream: LocalStream; track: number } {
  let found: LocalStream | undefined;
  let aggregate = false;
  for (const target of urlTargets(u)) {
    const stream = c.ctx.directory.get(target.path);
    if (!stream) continue;
    found = stream;
    if (target.control === "") {
      // VLC and others SETUP the base URL of a single-track stream (RTSP-NOTES 3).
      if (stream.info.tracks.length === 1) return { stream, track: 0 };
      aggregate = true;
      continue;
    }
    const m = /^trackID=(\d+)$/.exec(target.control);
    if (m && Number(m[1]) < stream.info.tracks.length) return { stream, track: Number(m[1]) };
  }
  if (aggregate) {
    return fail(
      STATUS_CODE.AggregateOperationNotAllowed,
      `SETUP on the aggregate URL of a multi-track stream`,
    );
  }
  if (found) return fail(STATUS_CODE.NotFound, `no track of path '${found.path}' matches ${u.path}`);
  return fail(STATUS_CODE.NotFound, `no stream is published for ${u.path}`);
}

function setupViewer(
  c: RtspConnection,
  req: RtspRequest,
  existing: ServerSession | null,
  u: RtspUrl,
  t: TransportSpec,
): Reply {
  if (existing !== null && existing.state !== "initial" && existing.state !== "prePlay") {
    return fail(STATUS_CODE.MethodNotValidInThisState, `SETUP in state ${existing.state}`);
  }
  const { stream, track } = findViewerTarget(c, u);
  if (existing !== null && existing.stream !== null && existing.stream !== stream) {
    return fail(STATUS_CODE.BadRequest, `SETUP of path '${stream.path}' in a session of '${existing.path}'`);
  }
  // A session's first SETUP is where reading is granted (a client may skip DESCRIBE).
  const user = existing === null ? allow(c, req, stream.path, "read") : existing.user;
  if (existing?.viewerChannels.has(track)) {
    return fail(STATUS_CODE.BadRequest, `track ${track} is already set up`);
  }
  if (t.lower === "UDP") {
    const ports = udpPorts(t);
    const s = existing ?? new ServerSession(newSessionId(), c);
    if (!existing) {
      s.setPath(stream.path);
      s.user = user;
      c.session = s;
    }
    s.stream = stream;
    s.transport = "udp";
    // The ring cursor serves the tracks set up; UDP viewers use no channels, 2·track marks them.
    s.viewerChannels.set(track, 2 * track);
    (s.udpClientPorts ??= new Map()).set(track, ports);
    s.state = "prePlay";
    s.idSent = true;
    s.log.debug(`SETUP viewer track ${track} over UDP to ports ${ports[0]}-${ports[1]}`);
    return {
      headers: [
        ["Transport", udpTransport(c, ports)],
        ["Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec)],
      ],
    };
  }
  const used = (ch: number) => {
    if (!existing) return false;
    for (const v of existing.viewerChannels.values()) if (v === ch || v + 1 === ch) return true;
    return false;
  };
  const [rtp, rtcp] = channelPair(t, used, track);
  const s = existing ?? new ServerSession(newSessionId(), c);
  if (!existing) {
    s.setPath(stream.path);
    s.user = user;
    c.session = s;
  }
  s.stream = stream;
  s.transport = "tcp";
  s.viewerChannels.set(track, rtp);
  s.state = "prePlay";
  s.idSent = true;
  s.log.debug(`SETUP viewer track ${track} on channels ${rtp}-${rtcp}`);
  return {
    headers: [
      [
        "Transport",
        serializeTransport({
          protocol: "RTP/AVP",
          lower: "TCP",
          delivery: "unicast",
          interleaved: [rtp, rtcp],
        }),
      ],
      ["Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec)],
    ],
  };
}

/** Whether a PLAY/RECORD/PAUSE URL names the session's path (aggregate or one of its tracks). */
function namesSessionPath(s: ServerSession, u: RtspUrl): boolean {
  return urlTargets(u).some((t) => t.path === s.path);
}

function play(c: RtspConnection, req: RtspRequest): Reply {
  const s = requireSession(c, req);
  if (s.isPublisher) return fail(STATUS_CODE.MethodNotValidInThisState, "PLAY on a publishing session");
  if (s.state !== "prePlay" && s.state !== "play") {
    return fail(STATUS_CODE.MethodNotValidInThisState, `PLAY in state ${s.state}`);
  }
  const u = url(req);
  if (!namesSessionPath(s, u)) {
    return fail(STATUS_CODE.BadRequest, `PLAY of ${u.path} in a session of '${s.path}'`);
  }
  const stream = s.stream!;
  if (stream.ended) return fail(STATUS_CODE.NotFound, `stream on path '${s.path}' has ended`);
  const base = baseUrlOf(req.url, s.path!);
  const trackUrl = (t: number) => `${base}/${trackControl(t)}`;
  const headers: [string, string][] = [["Range", serializeRangeHeader({ start: "now" })]];
  if (s.state === "play") {
    // Some clients send PLAY twice (RTSP-NOTES 6): answer, keep streaming.
    return { headers };
  }
  const v = s.prepareViewer();
  const info = v.rtpInfo(trackUrl);
  if (info.length > 0) headers.push(["RTP-Info", serializeRtpInfoHeader(info)]);
  const path = s.transport === "udp" ? "over UDP" : v.zeroCopy ? "zero-copy path" : "copy path";
  s.log.info(
    `PLAY: ${s.viewerChannels.size} track(s), ${path}${s.user === null ? "" : ` (user '${s.user}')`}`,
  );
  return { headers, after: () => s.startPlaying() };
}

/** The request URL cut back to the stream path (dropping a track control and query). */
function baseUrlOf(reqUrl: string, path: string): string {
  const q = reqUrl.indexOf("?");
  const noQuery = q >= 0 ? reqUrl.slice(0, q) : reqUrl;
  const i = noQuery.indexOf("/" + path);
  return i >= 0 ? noQuery.slice(0, i + 1 + path.length) : stripTrailingSlash(noQuery);
}

async function record(c: RtspConnection, req: RtspRequest): Promise<Reply> {
  const s = requireSession(c, req);
  if (!s.isPublisher || s.state !== "preRecord") {
    return fail(STATUS_CODE.MethodNotValidInThisState, `RECORD in state ${s.state}`);
  }
  if (!namesSessionPath(s, url(req))) {
    return fail(STATUS_CODE.BadRequest, `RECORD of another path than '${s.path}'`);
  }
  const a = s.announced!;
  const setUp = s.publisherTracksSetUp();
  if (setUp !== a.info.tracks.length) {
    return fail(
      STATUS_CODE.MethodNotValidInThisState,
      `RECORD with ${setUp} of ${a.info.tracks.length} announced tracks set up`,
    );
  }
  const ring = s.newRing();
  const answer = await c.ctx.directory.publish(s.path!, s.id, a.sdp, ring.sab);
  if (!answer.ok) {
    return fail(STATUS_CODE.ServiceUnavailable, answer.reason ?? "stream could not be published");
  }
  if (c.closed || c.session !== s) return {}; // gone meanwhile; its release frees the path
  const cont = answer.continued;
  s.startRecording(cont ? new SharedRing(cont.sab) : ring, cont);
  s.streamId = answer.streamId ?? 0;
  s.log.info(
    `RECORD: ${cont ? "continuing" : "publishing"} stream ${s.streamId} over ${
      s.transport === "udp" ? "UDP" : "TCP"
    }`,
  );
  return { headers: [["Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec)]] };
}

function pause(c: RtspConnection, req: RtspRequest): Reply {
  const s = requireSession(c, req);
  if (s.state === "play") {
    s.pause();
    s.log.info("PAUSE");
    return {};
  }
  if (s.state === "prePlay") return {};
  return fail(STATUS_CODE.MethodNotValidInThisState, `PAUSE in state ${s.state}`);
}

function teardown(c: RtspConnection, req: RtspRequest): Reply {
  const s = requireSession(c, req);
  return {
    after: () => {
      s.log.info("TEARDOWN");
      s.end("TEARDOWN");
      if (c.session === s) c.session = null;
    },
  };
}

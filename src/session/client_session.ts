/**
 * The third session role: dm-live as the client of another RTSP server (a camera, another dm-live),
 * pulling one stream into a ring the way a publisher pushes one. One attempt: connect, OPTIONS,
 * DESCRIBE (answering 401 and following redirects), SETUP of every track over TCP interleaved or
 * UDP unicast, the ring announced to every worker, PLAY; then media into a StreamFeed, receiver
 * reports back to the server, keep-alives at half its session timeout, until stop() or a failure.
 * Retries belong to the caller (source_runner.ts). The camera dialects it tolerates are tested in
 * test/server/source_dialects_test.ts (docs/protocol.md §4, §26).
 *
 * Over 300 lines on purpose: the handshake is one sequence whose steps share the connection, the
 * tracks and the session id; split, each piece would need all of them.
 */
import { EDGE_HEADER } from "./cluster_edge.ts";
import { udpKey } from "../net/udp_endpoint.ts";
import { rtpPayloadType } from "../rtp/rtp_header.ts";
import { parseRtcpCompound } from "../rtcp/compound.ts";
import { type ReceiverReport, receiverReportBytes, writeReceiverReport } from "../rtcp/receiver_report.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { clockSsrc } from "../ring/track_clock.ts";
import { DEFAULT_SPLITTER_LIMITS } from "../rtsp/message_splitter.ts";
import type { RtspResponse } from "../rtsp/response.ts";
import { parseSessionHeader } from "../rtsp/session_header.ts";
import { parseTransportHeader, serializeTransport } from "../rtsp/transport_header.ts";
import { parseRtspUrl, type RtspUrl, serializeRtspUrl } from "../rtsp/url.ts";
import { parseSdp, SdpError } from "../sdp/session_description.ts";
import { feedSizing, StreamFeed } from "../stream/stream_feed.ts";
import { type StreamInfo, StreamInfoError, streamInfoFromSdp } from "../stream/stream_info.ts";
import { ClientAuth } from "./client_auth.ts";
import { ClientConnection, type ClientConnectionOwner, ClientError } from "./client_connection.ts";
import { newSessionId } from "./rtsp_session.ts";
import { resolveBaseUrl, resolveControl } from "./track_urls.ts";
import { rtcpRoute, type UdpRouteTarget } from "./udp_ports.ts";
import type { WorkerContext } from "./worker_context.ts";

/** Redirects followed before giving up (301/302/303/307 with Location). */
const MAX_REDIRECTS = 5;
/**
 * The UDP route of RTP that a server sends for several tracks from one port (dm-live itself does:
 * one port pair per worker): the track is read from each packet's payload type.
 */
const BY_PAYLOAD_TYPE = 1 << 20;
/** Default RTSP port (RFC 2326 §3.2). */
const RTSP_PORT = 554;
/** How often receiver reports go to the server (RFC 3550 §6.2's minimum interval). */
const RECEIVER_REPORT_MS = 5000;
/** Keep-alive period when the server names no session timeout (its default is 60 s: RFC 2326 §12.37). */
const DEFAULT_KEEPALIVE_MS = 30_000;

/** What one pull uses: resolved from the path's `source*` keys. */
export interface PullOptions {
  /** The path served here. */
  path: string;
  /** The source URL, credentials included. */
  url: string;
  transport: "tcp" | "udp";
  /** Connecting, each response, and the first media after PLAY must come within this. */
  readTimeoutMs: number;
  /** A cluster edge pull: this node's name, sent in every request (cluster_edge.ts). */
  edge?: string;
}

/** What the caller hears of an attempt. */
export interface PullEvents {
  /** PLAY answered: the stream is published and media flows. */
  playing(): void;
  /**
   * The attempt is over (never after stop()): why, the server's status when it refused a request,
   * and whether UDP was the problem (refused with 461, or no media came), so TCP may do.
   */
  failed(reason: string, info: { status?: number; udpRefused: boolean }): void;
}

/** The caller should try again over TCP: the server refused UDP (461) or no UDP media came. */
export class UdpRefusedError extends ClientError {
  constructor(message: string) {
    super(message);
    this.name = "UdpRefusedError";
  }
}

interface SetupTrack {
  url: string;
  /** TCP: the server's channels for RTP and RTCP. */
  channels?: [number, number];
  /** UDP: the server's RTP and RTCP ports. */
  serverPorts?: [number, number];
}

/** Default port of RTSP over HTTP tunnelling (the HTTP port). */
const TUNNEL_PORT = 80;

/**
 * A source URL read as an rtsp:// URL, and whether to tunnel it through HTTP: `rtsph://` (GStreamer's
 * form) is RTSP over HTTP, on port 80 unless it names one.
 */
export function sourceUrl(url: string): { url: string; tunnel: boolean } {
  const m = /^rtsph:\/\//i.exec(url);
  if (m === null) return { url, tunnel: false };
  const u = parseRtspUrl("rtsp://" + url.slice(m[0].length));
  return { url: serializeRtspUrl({ ...u, port: u.port ?? TUNNEL_PORT }), tunnel: true };
}

/** A URL without its credentials, for logs and the API. */
export function redactUrl(url: string): string {
  try {
    const tunnel = /^rtsph:\/\//i.test(url);
    const u = parseRtspUrl(sourceUrl(url).url);
    const plain = serializeRtspUrl({ ...u, user: undefined, password: undefined });
    return tunnel ? plain.replace(/^rtsp:/, "rtsph:") : plain;
  } catch {
    return "(invalid URL)";
  }
}

export class ClientSession implements ClientConnectionOwner, UdpRouteTarget {
  readonly id = newSessionId();
  readonly #ctx: WorkerContext;
  readonly #o: PullOptions;
  readonly #events: PullEvents;
  #conn: ClientConnection | null = null;
  /** Whether the pull goes through an HTTP tunnel (an rtsph:// source: TCP interleaved only). */
  #tunnel = false;
  #auth: ClientAuth | null = null;
  #session: string | null = null;
  #keepaliveMs = DEFAULT_KEEPALIVE_MS;
  #keepaliveMethod: "GET_PARAMETER" | "OPTIONS" = "OPTIONS";
  #base = "";
  #tracks: SetupTrack[] = [];
  /** Interleaved channel -> track (RTCP channels -1 - track). */
  readonly #channels = new Map<number, number>();
  #feed: StreamFeed | null = null;
  #claimed = false;
  #stopped = false;
  #over = false;
  #udpRoutes: number[] = [];
  /** UDP route key -> the track routed there (BY_PAYLOAD_TYPE once two tracks share it). */
  readonly #routeTrack = new Map<number, number>();
  /** Payload type -> track, for BY_PAYLOAD_TYPE (-1: none). */
  readonly #ptTrack = new Int16Array(128).fill(-1);
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastKeepalive = 0;
  #lastReport = 0;
  /** performance.now() of the last RTP packet (the read timeout watches it). */
  #lastMedia = 0;
  #playingAt = 0;
  /** What the server announced, once DESCRIBE answered. */
  info: StreamInfo | null = null;
  streamId = 0;

  constructor(ctx: WorkerContext, o: PullOptions, events: PullEvents) {
    this.#ctx = ctx;
    this.#o = o;
    this.#events = events;
  }

  /** The stream's ingest figures (packets, bytes, lost, bitrate), once media flows. */
  get feed(): StreamFeed | null {
    return this.#feed;
  }

  get #log() {
    return this.#ctx.log.child(`source ${this.#o.path}`);
  }

  /** Runs the attempt; failures are reported through events.failed, never thrown. */
  async start(): Promise<void> {
    try {
      await this.#handshake();
      if (this.#stopped) return;
      this.#playingAt = this.#lastMedia = performance.now();
      this.#timer = setInterval(this.#tick, 500);
      this.#events.playing();
    } catch (e) {
      const status = (e as { status?: number }).status;
      this.#fail(e instanceof Error ? e.message : String(e), status, e instanceof UdpRefusedError);
    }
  }

  /** Ends the pull: TEARDOWN (not waited for), connection closed, path released. */
  stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const conn = this.#conn;
    if (conn !== null && !conn.closed && this.#session !== null) {
      conn.request("TEARDOWN", this.#base, this.#headers("TEARDOWN", this.#base)).catch(() => {});
    }
    // Give the TEARDOWN a moment to leave; the socket closes either way.
    setTimeout(() => conn?.close(reason), 50);
    this.#release(reason);
  }

  // --- ClientConnectionOwner

  // hot path: no allocation
  frame(channel: number, buf: Uint8Array, start: number, end: number): void {
    const track = this.#channels.get(channel);
    if (track === undefined) return; // a channel we did not ask for: ignored
    if (track >= 0) this.#rtp(track, buf, start, end);
    else this.#rtcp(-1 - track, buf, start, end);
  }

  flush(): void {
    this.#feed?.flush();
  }

  closed(reason: string): void {
    if (!this.#stopped) this.#fail(`connection lost: ${reason}`);
  }

  // --- UdpRouteTarget

  udpDatagram(track: number, buf: Uint8Array, start: number, end: number): void {
    this.#ctx.stats.bytesIn += end - start;
    if (track === BY_PAYLOAD_TYPE) {
      if (end - start < 12) return;
      track = this.#ptTrack[rtpPayloadType(buf, start)];
      if (track < 0) return;
    } else if (track === rtcpRoute(BY_PAYLOAD_TYPE)) {
      this.#rtcp(-1, buf, start, end); // RTCP of several tracks: the clock finds each by its SSRC
      return;
    }
    if (track >= 0) {
      this.#rtp(track, buf, start, end);
      this.#feed?.flush();
    } else this.#rtcp(-1 - track, buf, start, end);
  }

  #rtp(track: number, buf: Uint8Array, start: number, end: number): void {
    const feed = this.#feed;
    if (feed === null) return;
    this.#lastMedia = performance.now();
    this.#ctx.stats.packetsIn++;
    feed.packet(track, buf, start, end);
  }

  #rtcp(track: number, buf: Uint8Array, start: number, end: number): void {
    const packets = parseRtcpCompound(buf, start, end);
    if (packets === null) {
      this.#ctx.stats.rtcpInvalid++;
      return;
    }
    this.#ctx.stats.rtcpIn++;
    this.#feed?.rtcp(track, packets);
  }

  // --- the handshake

  async #handshake(): Promise<void> {
    // The path first: in a cluster the claim is the ownership transaction, so a node that loses it
    // never connects to the camera (one pull for the whole cluster, counted at the camera).
    await this.#claim();
    if (this.#stopped) return;
    const src = sourceUrl(this.#o.url);
    this.#tunnel = src.tunnel;
    let url = src.url;
    let described: RtspResponse | null = null;
    for (let hop = 0; described === null; hop++) {
      const u = parseRtspUrl(url);
      if (u.scheme !== "rtsp") throw new ClientError(`${u.scheme}:// sources are not supported`);
      this.#auth ??= new ClientAuth(u.user ?? "", u.password ?? "");
      const target = requestUrl(u);
      await this.#connect(u);
      await this.#options(target);
      const res = await this.#send("DESCRIBE", target, [["Accept", "application/sdp"]]);
      if ([301, 302, 303, 307].includes(res.status)) {
        const to = res.headers.get("Location");
        if (to === undefined || hop >= MAX_REDIRECTS) {
          throw new ClientError(
            `DESCRIBE: ${res.status} ${to === undefined ? "without Location" : "too many redirects"}`,
          );
        }
        this.#log.info(`redirected to ${redactUrl(to)}`);
        // Left on purpose: not a lost connection, which would fail the attempt under way.
        this.#conn?.close("redirected", false);
        this.#conn = null;
        url = withCredentials(to, u);
        continue;
      }
      expectOk("DESCRIBE", res);
      described = res;
      url = target;
    }
    const sdpText = new TextDecoder().decode(described.body);
    let info: StreamInfo;
    try {
      info = streamInfoFromSdp(parseSdp(sdpText));
    } catch (e) {
      if (e instanceof SdpError || e instanceof StreamInfoError) {
        throw new ClientError(`the server's SDP cannot be relayed: ${e.message}`);
      }
      throw e;
    }
    this.info = info;
    for (const t of info.tracks) {
      for (const f of t.formats ?? [t]) {
        if (this.#ptTrack[f.payloadType] < 0) this.#ptTrack[f.payloadType] = t.index;
      }
    }
    this.#base = resolveBaseUrl(
      url,
      described.headers.get("Content-Base") ?? described.headers.get("Content-Location"),
      info.sessionControl,
    );
    this.#tracks = info.tracks.map((t) => ({ url: resolveControl(this.#base, t.control) }));
    for (let t = 0; t < this.#tracks.length; t++) await this.#setup(t);
    await this.#publish(sdpText, info);
    const play = await this.#send("PLAY", this.#base, [["Range", "npt=0.000-"]]);
    expectOk("PLAY", play);
    this.#log.info(
      `playing ${redactUrl(this.#o.url)} over ${this.#o.transport.toUpperCase()}: ${
        info.tracks.map((t) => `${t.media} ${t.encoding}/${t.clockRate}`).join(", ")
      }`,
    );
  }

  async #connect(u: RtspUrl): Promise<void> {
    this.#conn = await ClientConnection.connect(u.host, u.port ?? RTSP_PORT, this, {
      timeoutMs: this.#o.readTimeoutMs,
      limits: DEFAULT_SPLITTER_LIMITS,
      poller: this.#ctx.poller,
      tunnelPath: this.#tunnel
        ? "/" + serializeRtspUrl({ ...u, user: undefined, password: undefined }).split("/").slice(3).join("/")
        : undefined,
    });
    if (this.#stopped) this.#conn.close("stopped");
  }

  /** OPTIONS: what the server offers decides the keep-alive; some servers refuse it, which is fine. */
  async #options(url: string): Promise<void> {
    const res = await this.#send("OPTIONS", url);
    const pub = res.headers.get("Public") ?? "";
    this.#keepaliveMethod = /\bGET_PARAMETER\b/i.test(pub) ? "GET_PARAMETER" : "OPTIONS";
  }

  async #setup(t: number): Promise<void> {
    const tr = this.#tracks[t];
    const udp = this.#o.transport === "udp" ? this.#ctx.udp : null;
    if (this.#o.transport === "udp" && udp === null) throw new UdpRefusedError("UDP is off on this worker");
    const offer = udp !== null
      ? serializeTransport({ protocol: "RTP/AVP", lower: "UDP", delivery: "unicast", clientPort: udp.ports })
      : serializeTransport({
        protocol: "RTP/AVP",
        lower: "TCP",
        delivery: "unicast",
        interleaved: [2 * t, 2 * t + 1],
      });
    const res = await this.#send("SETUP", tr.url, [["Transport", offer]]);
    if (res.status === 461 && udp !== null) throw new UdpRefusedError("the server refused UDP (461)");
    expectOk(`SETUP of track ${t}`, res);
    const s = res.headers.get("Session");
    if (s !== undefined && this.#session === null) {
      const { id, timeoutSec } = parseSessionHeader(s);
      this.#session = id;
      if (timeoutSec !== undefined && timeoutSec > 0) {
        this.#keepaliveMs = Math.max(1000, (timeoutSec * 1000) / 2);
      }
    }
    const answer = parseTransportHeader(res.headers.get("Transport") ?? "")[0];
    if (udp !== null) {
      const ports = answer?.serverPort;
      if (ports === undefined) throw new ClientError(`SETUP of track ${t}: no server_port in the answer`);
      tr.serverPorts = ports;
      const host = this.#conn!.remoteHost;
      this.#route(udpKey(host, ports[0]), t);
      this.#route(udpKey(host, ports[1]), rtcpRoute(t));
      return;
    }
    // Servers may pick other channels than asked: theirs count.
    const ch = answer?.interleaved ?? [2 * t, 2 * t + 1];
    tr.channels = ch;
    this.#channels.set(ch[0], t);
    this.#channels.set(ch[1], -1 - t);
  }

  #route(key: number, track: number): void {
    const udp = this.#ctx.udp;
    if (udp === null || key < 0) return;
    const before = this.#routeTrack.get(key);
    if (before !== undefined && before !== track) {
      track = track >= 0 ? BY_PAYLOAD_TYPE : rtcpRoute(BY_PAYLOAD_TYPE);
    }
    this.#routeTrack.set(key, track);
    if (!udp.addRoute(key, { session: this, track })) {
      throw new ClientError(`UDP port ${key % 65536} of the server is already routed to another session`);
    }
    if (before === undefined) this.#udpRoutes.push(key);
  }

  /** Resolved once no claim of this attempt is in flight (any release already posted). */
  #claimSettled: Promise<void> = Promise.resolve();

  /**
   * Resolves once this attempt holds no claim that main.ts has not been told to release: a pull that
   * replaces it on the same worker claims after that, so the old claim never refuses the new one.
   */
  get settled(): Promise<void> {
    return this.#claimSettled;
  }

  /** Claims the path for this attempt (released when it ends). */
  async #claim(): Promise<void> {
    const path = this.#o.path;
    const done = Promise.withResolvers<void>();
    this.#claimSettled = done.promise;
    try {
      const claim = await this.#ctx.directory.claim(path, this.id, undefined, this.#o.edge !== undefined);
      if (!claim.ok) {
        throw new ClientError(`path '${path}' is busy: ${claim.reason ?? "claimed by another session"}`);
      }
      this.#claimed = true;
      // Stopped while the claim was asked: stop() found nothing to release yet.
      if (this.#stopped) this.#release("stopped");
    } finally {
      done.resolve();
    }
  }

  /** Publishes the stream (main.ts makes its ring), or continues the stream a last attempt left. */
  async #publish(sdp: string, info: StreamInfo): Promise<void> {
    const dir = this.#ctx.directory;
    const path = this.#o.path;
    const cfg = this.#ctx.config;
    const answer = await dir.publish(path, this.id, sdp, info.tracks.length);
    if (!answer.ok) throw new ClientError(`the stream could not be published: ${answer.reason ?? "refused"}`);
    if (this.#stopped) return;
    const cont = answer.continued;
    const ctx = this.#ctx;
    const streamId = answer.streamId ?? 0;
    this.#feed = new StreamFeed(new SharedRing(cont ? cont.sab : answer.ring!), {
      info,
      holds: () => ctx.config.ingest,
      audioStartWindowMs: cfg.viewer.audioStartWindowMs,
      onInvalid: (n) => {
        ctx.stats.invalidPackets += n;
        this.#log.warn(`dropped ${n} packets from the source that are not RTP`);
      },
      continued: cont === undefined
        ? undefined
        : { served: dir.get(path)?.info ?? info, leftAtMs: cont.leftAtMs },
      sizing: feedSizing(cfg.ring, streamId, dir),
    });
    this.streamId = streamId;
    this.#punchUdp();
  }

  /** UDP: a first packet to each server port, so a NAT between us opens the way back (docs/protocol.md §10). */
  #punchUdp(): void {
    const udp = this.#ctx.udp;
    if (udp === null || this.#o.transport !== "udp") return;
    const rr = this.#receiverReport();
    for (const tr of this.#tracks) {
      if (tr.serverPorts === undefined) continue;
      const host = this.#conn!.remoteHost;
      udp.rtp.send(rr, 0, rr.length, udp.address(host, tr.serverPorts[0]));
      udp.rtcp.send(rr, 0, rr.length, udp.address(host, tr.serverPorts[1]));
    }
    udp.flush();
  }

  /** Headers of every request after the first answer: Session, Authorization. */
  #headers(
    method: string,
    url: string,
    extra: readonly (readonly [string, string])[] = [],
  ): [string, string][] {
    const h: [string, string][] = extra.map(([k, v]) => [k, v]);
    if (this.#o.edge !== undefined) h.push([EDGE_HEADER, this.#o.edge]);
    if (this.#session !== null) h.push(["Session", this.#session]);
    const a = this.#auth?.authorization(method, url);
    if (a !== undefined) h.push(["Authorization", a]);
    return h;
  }

  /** A request, answered once more with credentials when the server asks for them. */
  async #send(
    method: string,
    url: string,
    extra: readonly (readonly [string, string])[] = [],
  ): Promise<RtspResponse> {
    const conn = this.#conn;
    if (conn === null || this.#stopped) throw new ClientError("stopped");
    let res = await conn.request(method, url, this.#headers(method, url, extra));
    for (let i = 0; res.status === 401 && i < 2; i++) {
      const refusal = this.#auth!.challenged(res.headers.getAll("WWW-Authenticate"));
      if (refusal !== null) throw statusError(`${method}: 401 Unauthorized (${refusal})`, 401);
      res = await conn.request(method, url, this.#headers(method, url, extra));
    }
    if (res.status === 401) throw statusError(`${method}: 401 Unauthorized (credentials refused)`, 401);
    if (res.status < 300) this.#auth?.accepted();
    return res;
  }

  // --- while playing

  readonly #tick = (): void => {
    if (this.#stopped || this.#over) return;
    const now = performance.now();
    if (now - this.#lastMedia > this.#o.readTimeoutMs) {
      const what = this.#lastMedia === this.#playingAt ? "no media after PLAY" : "no media";
      const err = `${what} for ${this.#o.readTimeoutMs} ms`;
      this.#fail(err, undefined, this.#o.transport === "udp" && this.#lastMedia === this.#playingAt);
      return;
    }
    if (now - this.#lastKeepalive >= this.#keepaliveMs) {
      this.#lastKeepalive = now;
      this.#keepalive();
    }
    if (now - this.#lastReport >= RECEIVER_REPORT_MS) {
      this.#lastReport = now;
      this.#sendReports();
    }
  };

  /** GET_PARAMETER when the server offers it, else OPTIONS; one refusal of GET_PARAMETER switches. */
  #keepalive(): void {
    const method = this.#keepaliveMethod;
    this.#send(method, this.#base).then((res) => {
      if (res.status >= 400 && method === "GET_PARAMETER") this.#keepaliveMethod = "OPTIONS";
    }).catch(() => {
      // A lost connection is reported by the connection itself.
    });
  }

  #sendReports(): void {
    const rr = this.#receiverReport();
    const conn = this.#conn;
    const udp = this.#ctx.udp;
    for (const tr of this.#tracks) {
      if (tr.channels !== undefined) conn?.sendFrame(tr.channels[1], rr);
      else if (tr.serverPorts !== undefined && udp !== null) {
        udp.rtcp.send(rr, 0, rr.length, udp.address(conn!.remoteHost, tr.serverPorts[1]));
      }
    }
    udp?.flush();
  }

  /**
   * A receiver report with a block per track that has packets (RFC 3550 §6.4.2): the source's SSRC
   * and the highest sequence number received; loss and jitter are not measured here (0).
   */
  #receiverReport(): Uint8Array {
    const ring = this.#feed?.ingest.writer.ring;
    const rr: ReceiverReport = { ssrc: reporterSsrc(this.id), reports: [] };
    for (let t = 0; ring !== undefined && t < ring.trackCount; t++) {
      const seq = ring.trackLastSeq(t);
      if (seq === undefined) continue;
      rr.reports.push({
        ssrc: clockSsrc(ring.header, t),
        fractionLost: 0,
        cumulativeLost: 0,
        highestSeq: seq,
        jitter: 0,
        lastSr: 0,
        delaySinceLastSr: 0,
      });
    }
    const b = new Uint8Array(receiverReportBytes(rr));
    writeReceiverReport(rr, b, 0);
    return b;
  }

  #fail(reason: string, status?: number, udpRefused = false): void {
    if (this.#stopped || this.#over) return;
    this.#over = true;
    this.#conn?.close(reason);
    this.#release(reason);
    this.#events.failed(reason, { status, udpRefused });
  }

  #release(reason: string): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#udpRoutes.length > 0) this.#ctx.udp?.removeRoutes(this, this.#udpRoutes);
    this.#udpRoutes = [];
    const feed = this.#feed;
    if (feed !== null) {
      feed.detach();
      this.#log.info(`pull ended (${reason}); ${feed.ingest.writer.packets} packets relayed`);
    }
    if (this.#claimed) this.#ctx.directory.release(this.#o.path, this.id);
    this.#claimed = false;
  }
}

/** The URL requests name: the source URL without its credentials. */
function requestUrl(u: RtspUrl): string {
  return serializeRtspUrl({ ...u, user: undefined, password: undefined });
}

/** A redirect's target with the original credentials when it brings none. */
function withCredentials(to: string, from: RtspUrl): string {
  try {
    const u = parseRtspUrl(to);
    if (u.user !== undefined || from.user === undefined) return to;
    return serializeRtspUrl({ ...u, user: from.user, password: from.password });
  } catch {
    throw new ClientError(`redirect to an invalid URL`);
  }
}

function statusError(message: string, status: number): ClientError {
  return Object.assign(new ClientError(message), { status });
}

function expectOk(what: string, res: RtspResponse): void {
  if (res.status >= 200 && res.status < 300) return;
  throw statusError(`${what}: ${res.status} ${res.reason}`, res.status);
}

/** Our SSRC as a reporter (RFC 3550 §8: random; here derived from the session id). */
function reporterSsrc(id: string): number {
  return parseInt(id.slice(0, 8), 16) >>> 0;
}

/**
 * The HTTP API (loopback by default): `GET /v1/streams`, `GET /v1/sessions`,
 * `POST /v1/sessions/{id}/kick` (JSON) and `GET /metrics` (Prometheus text); with api.debug,
 * `POST /v1/debug/crash/{worker}`. Figures come from the workers' exact counters, asked for on
 * each request. Every request passes `api.ips` and `api.users` first (api_access.ts), read from the
 * server's current config.
 */
import type { ServerHandle } from "../cluster/cluster.ts";
import { addReport, noReports, type ViewerReportSummary, type WorkerReport } from "../stats/reports.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { clockSource } from "../ring/track_clock.ts";
import { CLOCK_SOURCE_SENDER_REPORT, CLOCK_SOURCE_SERVER } from "../ring/ring_layout.ts";
import type { GopSize, RingStreamReport } from "../stats/reports.ts";
import type { Logger } from "../log/logger.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { streamInfoFromSdp } from "../stream/stream_info.ts";
import { renderMetrics } from "./metrics.ts";
import { ApiAccess } from "./api_access.ts";

export interface ApiHandle {
  readonly port: number;
  close(): Promise<void>;
}

/** One published stream as /v1/streams lists it. */
export interface StreamStatus {
  path: string;
  streamId: number;
  publisher: { worker: number; session: string };
  /**
   * `clock`: where the NTP↔RTP mapping in viewers' Sender Reports comes from: the publisher's own
   * Sender Reports, the server's clock (a publisher that sends none), or null before any packet.
   */
  tracks: { media: string; codec: string; clockRate: number; clock: "publisher" | "server" | null }[];
  viewers: { total: number; tcp: number; udp: number; perWorker: Record<string, number> };
  /** The viewers' RTCP receiver reports (the latest of each), over all workers. */
  viewerReports: ViewerReportSummary;
  /**
   * Measured at the publisher's worker (null while it does not answer): RTP bits per second over
   * the last few seconds, RTP packets and bytes taken in, sequence gaps, and the last complete GOP.
   */
  bitrate: number | null;
  packetsIn: number | null;
  bytesIn: number | null;
  packetsLost: number | null;
  gop: GopSize | null;
  /** The stream's current ring (its size class follows the stream: docs/ring.md). */
  ring: RingStreamReport | null;
}

/** The streams and their viewers, from the directory and the workers' reports. */
export function streamStatus(server: ServerHandle, reports: WorkerReport[]): StreamStatus[] {
  return server.directory.streams().map((a) => {
    let info: StreamStatus["tracks"] = [];
    const ring = new SharedRing(server.directory.rings.current(a.streamId) ?? a.sab);
    try {
      info = streamInfoFromSdp(parseSdp(a.sdp)).tracks.map((t, i) => ({
        media: t.media,
        codec: t.encoding,
        clockRate: t.clockRate,
        clock: clockName(i < ring.trackCount ? clockSource(ring.header, i) : 0),
      }));
    } catch {
      // the SDP was accepted at ANNOUNCE; an odd one still lists its stream
    }
    const viewers = { total: 0, tcp: 0, udp: 0, perWorker: {} as Record<string, number> };
    const viewerReports = noReports();
    for (const r of reports) {
      const s = r.streams.find((x) => x.streamId === a.streamId);
      if (s === undefined) continue;
      const v = s.viewerReports;
      if (v.count > 0) {
        addReport(viewerReports, {
          fractionLost: v.fractionLostMax,
          cumulativeLost: v.cumulativeLost,
          jitterMs: v.jitterMaxMs,
          roundTripMs: v.roundTripMaxMs,
        }, v.count);
      }
      viewers.tcp += s.tcp;
      viewers.udp += s.udp;
      viewers.total += s.tcp + s.udp;
      viewers.perWorker[String(r.worker)] = s.tcp + s.udp;
    }
    const p = reports.find((r) => r.worker === a.worker)?.published.find((x) => x.streamId === a.streamId);
    return {
      path: a.path,
      streamId: a.streamId,
      publisher: { worker: a.worker, session: a.sessionId },
      tracks: info,
      viewers,
      viewerReports,
      bitrate: p?.bitrate ?? null,
      packetsIn: p?.packets ?? null,
      bytesIn: p?.bytes ?? null,
      packetsLost: p?.lost ?? null,
      gop: p?.gop ?? null,
      ring: server.directory.rings.streamReport(a.streamId),
    };
  });
}

function clockName(source: number): "publisher" | "server" | null {
  return source === CLOCK_SOURCE_SENDER_REPORT
    ? "publisher"
    : source === CLOCK_SOURCE_SERVER
    ? "server"
    : null;
}

/** Options of the API beyond its address. */
export interface ApiOptions {
  /** api.debug: serve `POST /v1/debug/crash/{worker}` (crash-recovery tests). */
  debug?: boolean;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers });
const notFound = (what: string) => json({ error: `not found: ${what}` }, 404);

/** Routes one request. */
async function route(req: Request, server: ServerHandle, opts: ApiOptions, log: Logger): Promise<Response> {
  const path = new URL(req.url).pathname;
  const only = (method: string) =>
    req.method === method
      ? null
      : json({ error: `${req.method} not allowed on ${path}` }, 405, { Allow: method });

  if (path === "/metrics") {
    if (only("GET")) return only("GET")!;
    const c = server.cluster;
    const cluster = c === null ? undefined : {
      synced: c.synced,
      members: c.members().length,
      ownedStreams: c.ownedCount(),
      edgePulls: server.sources.running().filter((r) => r.from !== undefined).length,
      ...c.counters,
    };
    const main = {
      restarts: server.restarts,
      cluster,
      hooks: server.hooks.counters,
      runOnReady: server.readyCommands.counters,
      rings: server.directory.rings.report(),
    };
    return new Response(renderMetrics(await server.stats(), main), {
      headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }
  if (path === "/v1/cluster") {
    if (only("GET")) return only("GET")!;
    const c = server.cluster;
    if (c === null) return json({ error: "this node is not in a cluster (no cluster: section)" }, 404);
    const now = Date.now();
    const states = new Map(
      (await server.stats()).flatMap((r) => r.sources.filter((s) => s.edge).map((s) => [s.path, s] as const)),
    );
    return json({
      node: c.name,
      advertise: c.advertise,
      synced: c.synced,
      lastError: c.lastError,
      members: c.members().sort((a, b) => a.name < b.name ? -1 : 1).map((m) => ({
        name: m.name,
        advertise: m.advertise,
        viewers: m.viewers,
        publishers: m.publishers,
        load: m.load,
        leaseAgeMs: now - m.leaseSince,
        reportAgeMs: now - m.updatedAt,
      })),
      owners: [...c.owners()].map(([p, o]) => ({ path: p, node: o.node }))
        .sort((a, b) => a.path < b.path ? -1 : 1),
      edges: server.sources.running().filter((r) => r.from !== undefined).map((r) => {
        const st = states.get(r.path);
        return {
          path: r.path,
          from: r.from,
          worker: r.worker,
          state: st?.state ?? "idle",
          attempts: st?.attempts ?? 0,
          lastError: st?.lastError ?? null,
          bitrate: st?.bitrate ?? 0,
        };
      }),
    });
  }
  if (path === "/v1/streams") {
    return only("GET") ?? json({ streams: streamStatus(server, await server.stats()) });
  }
  if (path === "/v1/rings") {
    return only("GET") ??
      json({ ...server.directory.rings.report(), poolMaxBytes: server.config.ring.poolBytes });
  }
  if (path === "/v1/sources") {
    if (only("GET")) return only("GET")!;
    const reports = await server.stats();
    return json({
      sources: reports.flatMap((r) => r.sources.map((s) => ({ ...s, worker: r.worker })))
        .sort((a, b) => a.path < b.path ? -1 : 1),
    });
  }
  if (path === "/v1/sessions") {
    return only("GET") ?? json({ sessions: await server.sessions() });
  }
  const kick = /^\/v1\/sessions\/([^/]+)\/kick$/.exec(path);
  if (kick) {
    const denied = only("POST");
    if (denied) return denied;
    let id: string;
    try {
      id = decodeURIComponent(kick[1]);
    } catch {
      return json({ error: `malformed session id in ${path}` }, 400);
    }
    const worker = await server.kick(id);
    if (worker === null) return notFound(`session '${id}'`);
    log.info(`API: kicked session ${id} on worker ${worker}`);
    return json({ kicked: id, worker });
  }
  const crash = opts.debug ? /^\/v1\/debug\/crash\/(\d+)$/.exec(path) : null;
  if (crash) {
    const denied = only("POST");
    if (denied) return denied;
    const worker = Number(crash[1]);
    if (!server.crash(worker)) return notFound(`running worker ${worker}`);
    log.warn(`API (api.debug): crashing worker ${worker}`);
    return json({ crashing: worker }, 202);
  }
  return notFound(path);
}

/** Serves the API on address:port (port 0: any free one). */
export function startApi(
  address: string,
  port: number,
  server: ServerHandle,
  log: Logger,
  opts: ApiOptions = {},
): Promise<ApiHandle> {
  const { promise, resolve } = Promise.withResolvers<ApiHandle>();
  const access = new ApiAccess(server.auth, log);
  const httpServer = Deno.serve({
    hostname: address,
    port,
    onListen: (addr) => {
      log.info(
        `API on http://${address}:${addr.port} (/v1/streams, /v1/sources, /v1/sessions, /v1/cluster, /metrics)`,
      );
      resolve({ port: addr.port, close: () => httpServer.shutdown() });
    },
  }, (req, info) => {
    const peer = "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "";
    return access.check(server.config, req, peer) ?? route(req, server, opts, log);
  });
  return promise;
}

/**
 * The HTTP API (loopback by default): `GET /v1/streams` (JSON) and `GET /metrics` (Prometheus
 * text). Figures come from the workers' exact counters, asked for on each request.
 */
import type { ServerHandle } from "../cluster/cluster.ts";
import type { WorkerReport } from "../cluster/messages.ts";
import type { Logger } from "../log/logger.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { streamInfoFromSdp } from "../stream/stream_info.ts";
import { renderMetrics } from "./metrics.ts";

export interface ApiHandle {
  readonly port: number;
  close(): Promise<void>;
}

/** One published stream as /v1/streams lists it. */
export interface StreamStatus {
  path: string;
  streamId: number;
  publisher: { worker: number; session: string };
  tracks: { media: string; codec: string; clockRate: number }[];
  viewers: { total: number; tcp: number; udp: number; perWorker: Record<string, number> };
}

/** The streams and their viewers, from the directory and the workers' reports. */
export function streamStatus(server: ServerHandle, reports: WorkerReport[]): StreamStatus[] {
  return server.directory.streams().map((a) => {
    let info: StreamStatus["tracks"] = [];
    try {
      info = streamInfoFromSdp(parseSdp(a.sdp)).tracks.map((t) => ({
        media: t.media,
        codec: t.encoding,
        clockRate: t.clockRate,
      }));
    } catch {
      // the SDP was accepted at ANNOUNCE; an odd one still lists its stream
    }
    const viewers = { total: 0, tcp: 0, udp: 0, perWorker: {} as Record<string, number> };
    for (const r of reports) {
      const s = r.streams.find((x) => x.streamId === a.streamId);
      if (s === undefined) continue;
      viewers.tcp += s.tcp;
      viewers.udp += s.udp;
      viewers.total += s.tcp + s.udp;
      viewers.perWorker[String(r.worker)] = s.tcp + s.udp;
    }
    return {
      path: a.path,
      streamId: a.streamId,
      publisher: { worker: a.worker, session: a.sessionId },
      tracks: info,
      viewers,
    };
  });
}

/** Serves the API on address:port (port 0: any free one). */
export function startApi(
  address: string,
  port: number,
  server: ServerHandle,
  log: Logger,
): Promise<ApiHandle> {
  const { promise, resolve } = Promise.withResolvers<ApiHandle>();
  const httpServer = Deno.serve({
    hostname: address,
    port,
    onListen: (addr) => {
      log.info(`API on http://${address}:${addr.port} (/v1/streams, /metrics)`);
      resolve({ port: addr.port, close: () => httpServer.shutdown() });
    },
  }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/v1/streams" && url.pathname !== "/metrics") {
      return new Response(`not found: ${url.pathname}\n`, { status: 404 });
    }
    if (req.method !== "GET") {
      return new Response(`${req.method} not allowed\n`, { status: 405, headers: { Allow: "GET" } });
    }
    const reports = await server.stats();
    if (url.pathname === "/metrics") {
      return new Response(renderMetrics(reports), {
        headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    return Response.json({ streams: streamStatus(server, reports) });
  });
  return promise;
}

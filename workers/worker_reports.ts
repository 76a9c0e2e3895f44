/** What a worker tells main.ts about itself: counters and load (metrics, /v1/streams) and its sessions (/v1/sessions). */
import type { WorkerContext } from "../src/session/worker_context.ts";
import type { RtspConnection } from "../src/session/rtsp_connection.ts";
import type { MergeWindow } from "../src/stream/merge_window.ts";
import { PublisherSession } from "../src/session/publisher_session.ts";
import { ViewerSession } from "../src/session/viewer_session.ts";
import {
  addReport,
  noReports,
  type PublishedReport,
  type SessionReport,
  type SourceStatus,
  type ViewerReportSummary,
  type WorkerReport,
} from "../src/stats/reports.ts";

/** The API's name for a connection that has no session yet. */
export function connectionId(worker: number, c: RtspConnection): string {
  return `conn-${worker}-${c.serial}`;
}

/** Counters, viewers per stream and the streams published here, at this moment. */
export function workerReport(
  ctx: WorkerContext,
  connections: Iterable<RtspConnection>,
  sources: SourceStatus[] = [],
  mergeWindow: Pick<MergeWindow, "ms" | "busy"> = { ms: 0, busy: NaN },
): WorkerReport {
  let viewersPlaying = 0;
  let publishers = 0;
  const streams = new Map<
    number,
    { streamId: number; tcp: number; udp: number; viewerReports: ViewerReportSummary }
  >();
  const published: PublishedReport[] = [];
  const now = performance.now();
  for (const c of connections) {
    const s = c.session;
    if (s instanceof ViewerSession && s.state === "play") {
      viewersPlaying++;
      const id = s.stream.streamId;
      let e = streams.get(id);
      if (e === undefined) streams.set(id, e = { streamId: id, tcp: 0, udp: 0, viewerReports: noReports() });
      if (s.transport === "udp") e.udp++;
      else e.tcp++;
      const rr = s.reception?.summary(now);
      if (rr) addReport(e.viewerReports, rr);
    } else if (s instanceof PublisherSession && s.state === "record") {
      publishers++;
      const ingest = s.feed?.ingest;
      // streamId is 0 until every worker has acknowledged the stream (RECORD's answer).
      if (ingest !== undefined && s.streamId > 0) {
        const w = ingest.writer;
        published.push({
          streamId: s.streamId,
          packets: w.packets,
          bytes: w.bytes,
          lost: ingest.lost,
          bitrate: Math.round(ingest.rate.perSecond(now, w.bytes) * 8),
          gop: ingest.lastGop,
          ringBytes: w.ring.sab.byteLength,
        });
      }
    }
  }
  // Sources feed their streams like publishers: the same figures.
  for (const s of sources) {
    if (s.state !== "playing" || s.streamId === 0) continue;
    published.push({
      streamId: s.streamId,
      packets: s.packets,
      bytes: s.bytes,
      lost: s.lost,
      bitrate: s.bitrate,
      gop: s.gop,
      ringBytes: s.ringBytes,
    });
  }
  const m = Deno.memoryUsage();
  return {
    ...ctx.stats,
    worker: ctx.worker,
    viewersPlaying,
    publishers,
    streams: [...streams.values()],
    published,
    sources,
    mergeWindowMs: mergeWindow.ms,
    busy: Number.isNaN(mergeWindow.busy) ? -1 : mergeWindow.busy,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
  };
}

/** Every connection of the worker, with its session's figures. */
export function sessionReports(worker: number, connections: Iterable<RtspConnection>): SessionReport[] {
  const out: SessionReport[] = [];
  for (const c of connections) {
    const s = c.session;
    const row: SessionReport = {
      id: s?.id ?? connectionId(worker, c),
      worker,
      peer: c.peer,
      path: s?.path ?? null,
      role: s?.role ?? "none",
      state: s?.state ?? "connected",
      transport: s?.transport ?? null,
      tls: c.encrypted,
      user: s?.user ?? null,
      created: new Date(s?.created ?? c.opened).toISOString(),
      bytesIn: c.bytesIn + (s?.udpBytesIn ?? 0),
      bytesOut: c.writer.bytesWritten + (s?.udpBytesOut ?? 0),
    };
    const sink = s instanceof ViewerSession ? s.sink : null;
    if (sink !== null) {
      row.packetsOut = sink.packetsSent;
      row.skips = sink.reader.skips;
      row.skippedPackets = sink.reader.skippedPackets;
      const rr = (s as ViewerSession).reception?.summary(performance.now());
      if (rr) row.receiverReport = rr;
    }
    out.push(row);
  }
  return out;
}

/** The connection whose session id (or, without a session, connection id) is `target`. */
export function findConnection(
  worker: number,
  connections: Iterable<RtspConnection>,
  target: string,
): RtspConnection | undefined {
  for (const c of connections) {
    if (c.session?.id === target || connectionId(worker, c) === target) return c;
  }
  return undefined;
}

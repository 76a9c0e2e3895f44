/** What a worker tells main.ts about itself: counters and load (metrics, /v1/streams) and its sessions (/v1/sessions). */
import type { WorkerContext } from "../session/worker_context.ts";
import type { RtspConnection } from "../session/rtsp_connection.ts";
import type { PublishedReport, SessionReport, ViewerReportSummary, WorkerReport } from "./messages.ts";

/** The API's name for a connection that has no session yet. */
export function connectionId(worker: number, c: RtspConnection): string {
  return `conn-${worker}-${c.serial}`;
}

/** Counters, viewers per stream and the streams published here, at this moment. */
export function workerReport(ctx: WorkerContext): WorkerReport {
  let viewersPlaying = 0;
  let publishers = 0;
  const streams = new Map<
    number,
    { streamId: number; tcp: number; udp: number; viewerReports: ViewerReportSummary }
  >();
  const published: PublishedReport[] = [];
  const now = performance.now();
  for (const c of ctx.connections) {
    const s = c.session;
    if (s?.state === "play") {
      viewersPlaying++;
      const id = s.stream!.streamId;
      let e = streams.get(id);
      if (e === undefined) streams.set(id, e = { streamId: id, tcp: 0, udp: 0, viewerReports: noReports() });
      if (s.transport === "udp") e.udp++;
      else e.tcp++;
      const rr = s.reception?.summary(now);
      if (rr) addReport(e.viewerReports, rr);
    } else if (s?.state === "record") {
      publishers++;
      const ingest = s.ingest;
      // streamId is 0 until every worker has acknowledged the stream (RECORD's answer).
      if (ingest !== null && s.streamId > 0) {
        const w = ingest.writer;
        published.push({
          streamId: s.streamId,
          packets: w.packets,
          bytes: w.bytes,
          lost: ingest.lost,
          bitrate: Math.round(ingest.rate.perSecond(now, w.bytes) * 8),
          gop: ingest.lastGop,
        });
      }
    }
  }
  const m = Deno.memoryUsage();
  return {
    ...ctx.stats,
    worker: ctx.worker,
    viewersPlaying,
    publishers,
    streams: [...streams.values()],
    published,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
  };
}

/** A summary of no receiver reports. */
export function noReports(): ViewerReportSummary {
  return { count: 0, fractionLostMax: 0, cumulativeLost: 0, jitterMaxMs: 0, roundTripMaxMs: null };
}

/** Adds one viewer's figures (or another worker's summary, `count` viewers) to a summary. */
export function addReport(
  to: ViewerReportSummary,
  r: { fractionLost: number; cumulativeLost: number; jitterMs: number; roundTripMs: number | null },
  count = 1,
): void {
  to.count += count;
  to.fractionLostMax = Math.max(to.fractionLostMax, r.fractionLost);
  to.cumulativeLost += r.cumulativeLost;
  to.jitterMaxMs = Math.max(to.jitterMaxMs, r.jitterMs);
  if (r.roundTripMs !== null) to.roundTripMaxMs = Math.max(to.roundTripMaxMs ?? 0, r.roundTripMs);
}

/** Every connection of the worker, with its session's figures. */
export function sessionReports(ctx: WorkerContext): SessionReport[] {
  const out: SessionReport[] = [];
  for (const c of ctx.connections) {
    const s = c.session;
    const row: SessionReport = {
      id: s?.id ?? connectionId(ctx.worker, c),
      worker: ctx.worker,
      peer: c.peer,
      path: s?.path ?? null,
      role: s === null ? "none" : s.isPublisher ? "publish" : "read",
      state: s?.state ?? "connected",
      transport: s?.transport ?? null,
      user: s?.user ?? null,
      created: new Date(s?.created ?? c.opened).toISOString(),
      bytesIn: c.bytesIn + (s?.udpBytesIn ?? 0),
      bytesOut: c.writer.bytesWritten + (s?.udpBytesOut ?? 0),
    };
    const v = s?.viewer;
    if (v) {
      row.packetsOut = v.packetsSent;
      row.skips = v.skips;
      row.skippedPackets = v.skippedPackets;
      const rr = s!.reception?.summary(performance.now());
      if (rr) row.receiverReport = rr;
    }
    out.push(row);
  }
  return out;
}

/** The connection whose session id (or, without a session, connection id) is `target`. */
export function findConnection(ctx: WorkerContext, target: string): RtspConnection | undefined {
  for (const c of ctx.connections) {
    if (c.session?.id === target || connectionId(ctx.worker, c) === target) return c;
  }
  return undefined;
}

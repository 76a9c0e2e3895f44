/**
 * What workers report to main.ts (counters, load, sessions) and the API serves: plain data, the
 * same shapes on both sides of postMessage. The producers (ingest, a viewer's reception, the
 * worker's report builder) fill them; nothing here imports them.
 */
import type { WorkerStats } from "./worker_stats.ts";

/** The last complete GOP: from one GOP start (the SPS/PPS before a keyframe, or the keyframe) to the next. */
export interface GopSize {
  packets: number;
  bytes: number;
  /** Video frames (distinct RTP timestamps on the video track). */
  frames: number;
}

export type SourceState = "idle" | "connecting" | "playing" | "retrying";

/** One source as the API shows it, with its stream's ingest figures (streamId 0 before its first PLAY). */
export interface SourceStatus extends PublishedReport {
  path: string;
  /** The source URL without credentials. */
  url: string;
  state: SourceState;
  /** The transport of the current (or next) attempt. */
  transport: "tcp" | "udp";
  attempts: number;
  failures: number;
  lastError: string | null;
  /** ISO time of the last state change. */
  since: string;
  /** A cluster edge pull (relaying another node's stream), not a configured source. */
  edge: boolean;
}

/** A viewer's latest reception figures over its tracks, as /v1/sessions shows them. */
export interface ReceptionSummary {
  /** Largest fraction of packets lost (0..1) in the last interval reported, over the tracks. */
  fractionLost: number;
  /** Packets lost since it started receiving, summed over the tracks. */
  cumulativeLost: number;
  /** Largest interarrival jitter, in ms (to 0.01 ms). */
  jitterMs: number;
  /** Round trip from our last Sender Report to its report, ms to 0.01 (null until it echoes one). */
  roundTripMs: number | null;
  /** How long ago the latest report arrived, ms. */
  ageMs: number;
}

/** A stream published on this worker, as its ingest measured it (exact counts since RECORD). */
export interface PublishedReport {
  streamId: number;
  /** RTP packets and bytes taken into the ring. */
  packets: number;
  bytes: number;
  /** RTP sequence gaps over all tracks. */
  lost: number;
  /** RTP bits per second over the last few seconds. */
  bitrate: number;
  gop: GopSize | null;
  /** Bytes of the stream's ring (its SharedArrayBuffer: header, slots and data). */
  ringBytes: number;
}

/**
 * Every stream ring's memory as main.ts holds it (cluster/ring_directory.ts): /metrics and
 * GET /v1/rings. Bytes are whole SharedArrayBuffers (header, slot index, data).
 */
export interface RingDirectoryReport {
  /** Rings streams write or may move to. */
  liveRings: number;
  liveBytes: number;
  /** Rings streams left that readers are still on (given back once the last one moves on or closes). */
  retiredRings: number;
  retiredBytes: number;
  /** Ended rings kept for new streams (ring.poolBytes at most). */
  poolRings: number;
  poolBytes: number;
  /** Since start: rings made anew, handed out from the pool, put in it, let go (the pool full), moves. */
  allocated: number;
  reused: number;
  pooled: number;
  dropped: number;
  moves: number;
  /** The classes' data bytes, smallest first. */
  classes: number[];
  /** The pool per class. */
  pool: { dataBytes: number; rings: number; bytes: number }[];
}

/** A stream's current ring, as /v1/streams lists it. */
export interface RingStreamReport {
  /** The whole SharedArrayBuffer. */
  bytes: number;
  dataBytes: number;
  slots: number;
  /** Moves to another size so far. */
  moves: number;
}

/** Viewers' RTCP receiver reports on one stream: the latest of each viewer that sent one. */
export interface ViewerReportSummary {
  /** Viewers whose reports are counted. */
  count: number;
  /** Largest fraction lost (0..1) of the last interval any of them reported. */
  fractionLostMax: number;
  /** Packets they reported lost since they started, summed. */
  cumulativeLost: number;
  /** Largest interarrival jitter reported, ms. */
  jitterMaxMs: number;
  /** Largest round trip (Sender Report to receiver report), ms; null while none echoed one. */
  roundTripMaxMs: number | null;
}

/** A worker's counters plus what it is serving now. */
/** The media worker's HLS muxing and recordings (workers/worker_media.ts). */
export interface MediaReport {
  /** Streams muxed for HLS now, and muxings started since the worker started. */
  hlsMuxers: number;
  hlsMuxersStarted: number;
  hlsParts: number;
  /** Bytes the HLS windows hold. */
  hlsBytes: number;
  /** Streams being recorded now. */
  recordings: number;
  recordFiles: number;
  recordBytes: number;
  /** Fragments not written (a disk behind, or no file could be opened). */
  recordFragmentsDropped: number;
  /** Directories, files or writes that failed. */
  recordErrors: number;
  /** Streams whose HLS muxing or recording could not make an init segment (no usable SPS/PPS...). */
  muxInitFailures: number;
}

export interface WorkerReport extends WorkerStats {
  worker: number;
  /** The media worker only: HLS and recording. */
  media?: MediaReport;
  viewersPlaying: number;
  publishers: number;
  /** Playing viewers per stream on this worker, by transport, and what their receiver reports say. */
  streams: { streamId: number; tcp: number; udp: number; viewerReports: ViewerReportSummary }[];
  /** Streams whose publisher is on this worker. */
  published: PublishedReport[];
  /** The sources this worker pulls. */
  sources: SourceStatus[];
  /** The merge window this worker's passes wait now (ms; stream/merge_window.ts). */
  mergeWindowMs: number;
  /** The worker thread's busy fraction over the last second (0..1; -1 where it cannot be measured). */
  busy: number;
  /** This worker's V8 heap (bytes); RSS is the whole process's. */
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** One connection and its session (if any), as GET /v1/sessions lists it. */
export interface SessionReport {
  /** The session id; before the connection has a session, `conn-<worker>-<n>`. Either can be kicked. */
  id: string;
  worker: number;
  /** The peer's `host:port`. */
  peer: string;
  path: string | null;
  role: "publish" | "read" | "none";
  /** The session's state, or "connected" while there is no session. */
  state: string;
  /** Lower transport of the media, once SETUP chose it. */
  transport: "tcp" | "udp" | null;
  /** Whether the connection is RTSPS (TLS), its interleaved media included. */
  tls: boolean;
  user: string | null;
  /** ISO time the session (or, before one, the connection) was made. */
  created: string;
  /** Bytes from the peer (RTSP connection and the session's UDP) and to it. */
  bytesIn: number;
  bytesOut: number;
  /** Playing viewers: packets sent, slow-viewer skips and the packets they jumped over. */
  packetsOut?: number;
  skips?: number;
  skippedPackets?: number;
  /** Playing viewers that sent RTCP receiver reports: the latest figures. */
  receiverReport?: ReceptionSummary;
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

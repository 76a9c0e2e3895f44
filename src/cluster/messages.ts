/**
 * Messages between main.ts (owner of the stream directory) and the RTSP workers.
 * Only stream rings are shared memory; everything else goes through these.
 */
import type { Config } from "../config.ts";
import type { WorkerStats } from "../session/worker_context.ts";
import type { AuthShared } from "../auth/auth_shared.ts";
import type { GopSize } from "../stream/ingest.ts";
import type { ReceptionSummary } from "../session/viewer_reception.ts";

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
export interface WorkerReport extends WorkerStats {
  worker: number;
  viewersPlaying: number;
  publishers: number;
  /** Playing viewers per stream on this worker, by transport, and what their receiver reports say. */
  streams: { streamId: number; tcp: number; udp: number; viewerReports: ViewerReportSummary }[];
  /** Streams whose publisher is on this worker. */
  published: PublishedReport[];
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

/** A published stream as every worker learns of it. */
export interface StreamAnnouncement {
  streamId: number;
  path: string;
  /** The publisher's SDP as received (the worker derives the viewers' SDP from it). */
  sdp: string;
  sab: SharedArrayBuffer;
  /** Worker index of the publisher. */
  worker: number;
  sessionId: string;
}

export type MainToWorker =
  | { type: "init"; worker: number; config: Config; auth: AuthShared }
  | { type: "claimResult"; id: number; ok: boolean; reason?: string }
  | {
    type: "publishResult";
    id: number;
    ok: boolean;
    streamId: number;
    reason?: string;
    /** The path's previous stream, which this publisher continues (same codecs, within the grace period). */
    continued?: { sab: SharedArrayBuffer; leftAtMs: number };
  }
  | { type: "streamAdded"; stream: StreamAnnouncement }
  | { type: "streamRemoved"; streamId: number; path: string }
  /** `collect` runs a full GC first when V8 exposes gc (--v8-flags=--expose-gc), for live-heap figures. */
  | { type: "statsRequest"; id: number; collect?: boolean }
  | { type: "sessionsRequest"; id: number }
  /** Close the connection whose session (or connection) id is `target`, if it is on this worker. */
  | { type: "kick"; id: number; target: string }
  /** A reloaded config (keys that need a restart already kept at their running values). */
  | { type: "reload"; config: Config }
  /** api.debug only: throw an uncaught exception, to test crash recovery. */
  | { type: "crash" }
  | { type: "shutdown" };

export type WorkerToMain =
  | { type: "ready"; worker: number; port: number }
  | { type: "fatal"; worker: number; message: string }
  /** An uncaught error; the worker closed its sockets and exits. */
  | { type: "crashed"; worker: number; message: string }
  | { type: "claim"; id: number; path: string; sessionId: string }
  | { type: "release"; path: string; sessionId: string }
  | { type: "publish"; id: number; path: string; sessionId: string; sdp: string; sab: SharedArrayBuffer }
  | { type: "unpublish"; streamId: number }
  | { type: "streamAck"; streamId: number }
  | { type: "statsResult"; id: number; report: WorkerReport }
  | { type: "sessionsResult"; id: number; sessions: SessionReport[] }
  | { type: "kickResult"; id: number; found: boolean }
  /** Shutdown done: how many connections it closed and how many of them had a session. */
  | { type: "closed"; worker: number; connections: number; sessions: number };

const MAIN_TYPES: ReadonlySet<string> = new Set<MainToWorker["type"]>([
  "init",
  "claimResult",
  "publishResult",
  "streamAdded",
  "streamRemoved",
  "statsRequest",
  "sessionsRequest",
  "kick",
  "reload",
  "crash",
  "shutdown",
]);
const WORKER_TYPES: ReadonlySet<string> = new Set<WorkerToMain["type"]>([
  "ready",
  "fatal",
  "crashed",
  "claim",
  "release",
  "publish",
  "unpublish",
  "streamAck",
  "statsResult",
  "sessionsResult",
  "kickResult",
  "closed",
]);

/** Narrows a posted value to a message from main. */
export function isMainToWorker(v: unknown): v is MainToWorker {
  return typeof v === "object" && v !== null && MAIN_TYPES.has((v as { type?: unknown }).type as string);
}

/** Narrows a posted value to a message from a worker. */
export function isWorkerToMain(v: unknown): v is WorkerToMain {
  return typeof v === "object" && v !== null && WORKER_TYPES.has((v as { type?: unknown }).type as string);
}

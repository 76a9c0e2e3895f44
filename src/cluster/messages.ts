/**
 * Messages between main.ts (owner of the stream directory) and the RTSP workers.
 * Only stream rings are shared memory; everything else goes through these.
 */
import type { Config } from "../config.ts";
import type { WorkerStats } from "../session/worker_context.ts";
import type { AuthShared } from "../auth/auth_shared.ts";

/** A worker's counters plus what it is serving now. */
export interface WorkerReport extends WorkerStats {
  worker: number;
  viewersPlaying: number;
  publishers: number;
  /** Playing viewers per stream on this worker, by transport. */
  streams: { streamId: number; tcp: number; udp: number }[];
  /** This worker's V8 heap (bytes); RSS is the whole process's. */
  heapUsed: number;
  heapTotal: number;
  external: number;
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
  | { type: "publishResult"; id: number; ok: boolean; streamId: number; reason?: string }
  | { type: "streamAdded"; stream: StreamAnnouncement }
  | { type: "streamRemoved"; streamId: number; path: string }
  /** `collect` runs a full GC first when V8 exposes gc (--v8-flags=--expose-gc), for live-heap figures. */
  | { type: "statsRequest"; id: number; collect?: boolean }
  | { type: "shutdown" };

export type WorkerToMain =
  | { type: "ready"; worker: number; port: number }
  | { type: "fatal"; worker: number; message: string }
  | { type: "claim"; id: number; path: string; sessionId: string }
  | { type: "release"; path: string; sessionId: string }
  | { type: "publish"; id: number; path: string; sessionId: string; sdp: string; sab: SharedArrayBuffer }
  | { type: "unpublish"; streamId: number }
  | { type: "streamAck"; streamId: number }
  | { type: "statsResult"; id: number; report: WorkerReport }
  | { type: "closed"; worker: number };

const MAIN_TYPES: ReadonlySet<string> = new Set([
  "init",
  "claimResult",
  "publishResult",
  "streamAdded",
  "streamRemoved",
  "statsRequest",
  "shutdown",
]);
const WORKER_TYPES: ReadonlySet<string> = new Set([
  "ready",
  "fatal",
  "claim",
  "release",
  "publish",
  "unpublish",
  "streamAck",
  "statsResult",
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

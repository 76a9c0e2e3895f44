/**
 * Messages between main.ts (owner of the stream directory and of every stream ring's memory) and the
 * workers: the RTSP workers and the media worker (HLS and recordings), which reads the rings like
 * any worker and gets the same stream, ring, reload and shutdown messages. Only stream rings are
 * shared memory; everything else goes through these.
 */
import type { Config } from "../config.ts";
import type { AuthShared } from "../auth/auth_shared.ts";
import type { SessionReport, WorkerReport } from "../stats/reports.ts";
import type { StreamAnnouncement } from "../stream/stream_announcement.ts";
import type { SourceConfig } from "../paths/path_config.ts";
import type { HookEventBody } from "../hooks/hook_event.ts";

export type { SessionReport, StreamAnnouncement, WorkerReport };

/**
 * What a worker runs: "rtsp" accepts RTSP (and has its UDP ports); "media" serves hls.port and writes
 * the recordings, with no RTSP or UDP socket (workers/media_runtime.ts).
 */
export type WorkerRole = "rtsp" | "media";

export type MainToWorker =
  /** `role`: "rtsp" when absent. */
  | { type: "init"; worker: number; config: Config; auth: AuthShared; role?: WorkerRole }
  /** `limit`: refused by limits.maxStreams or maxStreamsPerAddress, not because the path is taken. */
  /** `unavailable`: in a cluster, etcd could not be asked who owns the path (503). */
  | { type: "claimResult"; id: number; ok: boolean; reason?: string; limit?: boolean; unavailable?: boolean }
  | {
    type: "publishResult";
    id: number;
    ok: boolean;
    streamId: number;
    reason?: string;
    /** A new stream's first ring (main.ts allocates every ring: cluster/ring_directory.ts). */
    ring?: SharedArrayBuffer;
    /** The path's previous stream, which this publisher continues (same codecs, within the grace period). */
    continued?: { sab: SharedArrayBuffer; leftAtMs: number };
  }
  | { type: "streamAdded"; stream: StreamAnnouncement }
  /** Playing RTSP viewers per stream over all workers (an answer to viewersRequest). */
  | { type: "viewersResult"; id: number; viewers: Record<number, number> }
  | { type: "streamRemoved"; streamId: number; path: string }
  /** A ring the stream may move to (its writer asked for another size); every worker acknowledges it. */
  | { type: "ringAdded"; streamId: number; sab: SharedArrayBuffer }
  /** The answer to a ringRequest, once every worker has the ring (ok false: the stream ended). */
  | { type: "ringGrant"; id: number; ok: boolean; sab?: SharedArrayBuffer }
  /** The stream moved off ring `ringId` (or will not use it): release it once no reader is on it. */
  | { type: "ringRetired"; streamId: number; ringId: number }
  /**
   * Pull `path` from `source` (its URL with the pattern's groups substituted) until sourceStop;
   * `edge`: this node's name, when the pull relays another cluster node's stream.
   */
  | { type: "sourceStart"; path: string; source: SourceConfig; edge?: string }
  /** A demanded path will not come: no node has it (404) or the cluster cannot be asked (503). */
  | { type: "demandResult"; path: string; status: 404 | 503; reason: string }
  | { type: "sourceStop"; path: string; reason: string }
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
  /** `port`: an RTSP worker's RTSP port; the media worker's HLS port (0: HLS off or its port taken). */
  | { type: "ready"; worker: number; port: number }
  | { type: "fatal"; worker: number; message: string }
  /** An uncaught error; the worker closed its sockets and exits. */
  | { type: "crashed"; worker: number; message: string }
  /** `peer`: a publisher's address (limits.maxStreamsPerAddress); none for a configured source. */
  /** `edge`: an edge pull's claim (it relays another node's stream: no cluster ownership). */
  | { type: "claim"; id: number; path: string; sessionId: string; peer?: string; edge?: boolean }
  | { type: "release"; path: string; sessionId: string }
  /** `tracks`: the stream's media sections (its first ring is made for them). */
  | { type: "publish"; id: number; path: string; sessionId: string; sdp: string; tracks: number }
  | { type: "unpublish"; streamId: number }
  | { type: "streamAck"; streamId: number }
  /** The stream's writer wants a ring of `dataBytes` (a ring class) to move to. */
  | { type: "ringRequest"; id: number; streamId: number; dataBytes: number }
  | { type: "ringAck"; ringId: number }
  /** The stream's writer moved to ring `ringId`. */
  | { type: "ringMoved"; streamId: number; ringId: number }
  /** A ring granted that the writer will not use. */
  | { type: "ringDiscard"; ringId: number }
  /** This worker has no reader on ring `ringId` and will not use it again. */
  | { type: "ringReleased"; ringId: number }
  /**
   * A viewer asks for a path without a stream here (DESCRIBE): its source's pull starts, or in a
   * cluster an edge pull from its owner; `edge`: the asker is another node's edge pull, which must
   * never start one (no loops).
   */
  | { type: "sourceDemand"; path: string; edge?: boolean }
  /** This worker's viewers of a stream went from none to some (count > 0) or back to none. */
  | { type: "readers"; streamId: number; path: string; count: number }
  /** The media worker's page lists the streams with their viewers: main.ts sums every worker's. */
  | { type: "viewersRequest"; id: number }
  /** An event for hooks.url (posted only while it is set), stamped when it happened; main.ts queues it. */
  | { type: "hook"; timeMs: number; event: HookEventBody }
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
  "viewersResult",
  "streamRemoved",
  "ringAdded",
  "ringGrant",
  "ringRetired",
  "sourceStart",
  "sourceStop",
  "demandResult",
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
  "ringRequest",
  "ringAck",
  "ringMoved",
  "ringDiscard",
  "ringReleased",
  "sourceDemand",
  "readers",
  "hook",
  "viewersRequest",
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

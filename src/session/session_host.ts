import type { Logger } from "../log/logger.ts";
import type { WriteQueue } from "../net/write_queue.ts";
import type { WorkerContext } from "./worker_context.ts";

/**
 * What a session needs of the connection that carries it (rtsp_connection.ts): the worker, the
 * write queue its responses and TCP media share, and a way to close. Sessions see only this, so
 * the connection can import them without a cycle.
 */
export interface SessionHost {
  readonly ctx: WorkerContext;
  /** Names the peer; built per use. */
  readonly log: Logger;
  readonly writer: WriteQueue;
  /** The peer's address without the port. */
  readonly peerHost: string;
  readonly closed: boolean;
  /** performance.now() of the last thing received from the peer (UDP datagrams count too). */
  lastSeen: number;
  /** Media will arrive on this connection (RECORD): reads take up to `bytes` at once. */
  expectMedia(bytes: number): void;
  close(reason: string): void;
  /** Sends what is queued, then closes (at the latest after graceMs). */
  closeAfterDrain(reason: string, graceMs: number): void;
}

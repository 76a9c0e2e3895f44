import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import type { WorkerStats } from "../stats/worker_stats.ts";
import type { AuthShared } from "../auth/auth_shared.ts";
import type { AccessControl } from "./access_control.ts";
import type { StreamRegistry } from "./stream_registry.ts";
import type { WorkerUdp } from "./udp_ports.ts";
import type { EpollPoller } from "../net/epoll_poller.ts";
import type { PendingBodies } from "./pending_bodies.ts";
import type { HookEventBody } from "../hooks/hook_event.ts";
import type { ConnectionRate } from "./connection_rate.ts";
import type { ErrorAnswerLog } from "./error_answer_log.ts";

/** What every connection and session of a worker shares; made by the worker's runtime. */
export interface WorkerContext {
  readonly worker: number;
  /** Replaced on reload (SIGHUP); read it per request, never keep a section of it. */
  config: Config;
  readonly log: Logger;
  readonly directory: StreamRegistry;
  readonly stats: WorkerStats;
  /** This worker's UDP ports, or null when UDP is off (udp.portBase 0) or could not bind. */
  readonly udp: WorkerUdp | null;
  /** The worker's epoll (FFI backend), or null (Deno sockets): outgoing connections use it too. */
  readonly poller: EpollPoller | null;
  /** Nonce key and failure table shared by all workers. */
  readonly authShared: AuthShared;
  /** Announced, unfinished request bodies per address (limits.maxPendingBodyBytesPerAddress). */
  readonly pendingBodies: PendingBodies;
  /** Sends an event to main.ts's hook queue (nothing while hooks.url is empty); never waits. */
  readonly hook: (event: HookEventBody) => void;
  /** Path permissions and authentication; made on first use (see access_control.ts). */
  access?: AccessControl;
  /** New connections per address and second (limits.maxConnectionsPerSecondPerAddress); made on first use. */
  connectionRate?: ConnectionRate;
  /** The bound on error answers' log lines per address and worker; made on first use. */
  errorAnswers?: ErrorAnswerLog;
}

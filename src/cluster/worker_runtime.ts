import type { Config } from "../config.ts";
import { Logger, type LogSink } from "../log/logger.ts";
import type { ByteSocket, SocketListener } from "../net/byte_socket.ts";
import { DenoListener } from "../net/deno_listener.ts";
import { EpollPoller } from "../net/epoll_poller.ts";
import { FfiListener } from "../net/ffi_listener.ts";
import { resolveBackend } from "../net/backend.ts";
import { RtspConnection } from "../session/rtsp_connection.ts";
import { newWorkerStats, type WorkerContext } from "../session/worker_context.ts";
import type { MainToWorker, WorkerReport, WorkerToMain } from "./messages.ts";
import { WorkerDirectory } from "./worker_directory.ts";
import { WorkerUdp } from "../session/udp_ports.ts";
import type { WorkerStats } from "../session/worker_context.ts";
import type { AuthShared } from "../auth/auth_shared.ts";

/** This worker's UDP port pair, or null (UDP off, or its ports taken: logged, TCP still serves). */
function openUdp(
  config: Config,
  worker: number,
  poller: EpollPoller | null,
  stats: WorkerStats,
  log: Logger,
) {
  if (config.udp.portBase === 0) return null;
  try {
    return new WorkerUdp(config, worker, poller, stats, log);
  } catch (e) {
    const base = config.udp.portBase + 2 * worker;
    log.error(`UDP off on this worker: ports ${base}-${base + 1} not available (${(e as Error).message})`);
    return null;
  }
}

/** The tick whose lateness measures event-loop lag. */
const LAG_TICK_MS = 100;
/** How often idle connections are looked for. */
const SWEEP_INTERVAL_MS = 1000;

/** Everything one RTSP worker runs: its listener, its connections, its view of the directory. */
export class WorkerRuntime {
  readonly ctx: WorkerContext;
  readonly #post: (msg: WorkerToMain) => void;
  readonly #listener: SocketListener;
  readonly #poller: EpollPoller | null = null;
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(
    worker: number,
    config: Config,
    post: (msg: WorkerToMain) => void,
    authShared: AuthShared,
    sink?: LogSink,
  ) {
    const log = new Logger(config.log.level, `w${worker}`, sink, config.log.format === "json");
    const directory = new WorkerDirectory(
      post,
      config.viewer.mergeWindowMs,
      log,
      () => this.ctx.udp?.flush(),
    );
    const stats = newWorkerStats();
    const ffi = resolveBackend(config.net.backend) === "ffi";
    if (ffi) {
      this.#poller = new EpollPoller((e) =>
        log.error(`socket event handler failed: ${(e as Error)?.stack ?? e}`)
      );
    }
    const udp = openUdp(config, worker, this.#poller, stats, log);
    this.ctx = { worker, config, log, directory, stats, connections: new Set(), udp, authShared };
    this.#post = post;
    if (this.#poller !== null) {
      this.#listener = new FfiListener(config.rtsp.address, config.rtsp.port, this.#poller, log);
    } else {
      this.#listener = new DenoListener(config.rtsp.address, config.rtsp.port, log);
    }
    this.#sweep = setInterval(this.#closeIdle, SWEEP_INTERVAL_MS);
    this.#lagTimer = setInterval(this.#measureLag, LAG_TICK_MS);
  }

  readonly #lagTimer: ReturnType<typeof setInterval>;
  #lastTick = performance.now();

  readonly #measureLag = (): void => {
    const now = performance.now();
    const lag = now - this.#lastTick - LAG_TICK_MS;
    this.#lastTick = now;
    if (lag > this.ctx.stats.loopLagMaxMs) this.ctx.stats.loopLagMaxMs = lag;
  };

  /** Starts accepting and tells main.ts the worker is ready. */
  start(): void {
    this.#poller?.run().catch((e) => this.ctx.log.error(`poller failed: ${e}`));
    this.#listener.serve(this.#accept);
    this.#post({ type: "ready", worker: this.ctx.worker, port: this.#listener.port });
  }

  /** Handles a message from main.ts. */
  handle(msg: MainToWorker): void {
    if (msg.type === "statsRequest") {
      if (msg.collect) (globalThis as { gc?: () => void }).gc?.();
      this.#post({ type: "statsResult", id: msg.id, report: this.report() });
      this.ctx.stats.loopLagMaxMs = 0; // a maximum per report

      return;
    }
    if (msg.type === "shutdown") {
      this.stop("server shutting down");
      this.#post({ type: "closed", worker: this.ctx.worker });
      return;
    }
    this.ctx.directory.handle(msg);
  }

  /** Counters and current load of this worker. */
  report(): WorkerReport {
    let viewersPlaying = 0;
    let publishers = 0;
    const streams = new Map<number, { streamId: number; tcp: number; udp: number }>();
    for (const c of this.ctx.connections) {
      const s = c.session;
      if (s?.state === "play") {
        viewersPlaying++;
        const id = s.stream!.streamId;
        let e = streams.get(id);
        if (e === undefined) streams.set(id, e = { streamId: id, tcp: 0, udp: 0 });
        if (s.transport === "udp") e.udp++;
        else e.tcp++;
      } else if (s?.state === "record") publishers++;
    }
    const m = Deno.memoryUsage();
    return {
      ...this.ctx.stats,
      worker: this.ctx.worker,
      viewersPlaying,
      publishers,
      streams: [...streams.values()],
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    };
  }

  /** Stops accepting and closes every connection. */
  stop(reason: string): void {
    clearInterval(this.#sweep);
    clearInterval(this.#lagTimer);
    this.#listener.close();
    for (const c of [...this.ctx.connections]) c.close(reason);
    this.ctx.udp?.close();
    this.#poller?.stop();
    for (const s of this.ctx.directory.streams()) s.end();
  }

  readonly #accept = (sock: ByteSocket): void => {
    const stats = this.ctx.stats;
    const max = this.ctx.config.limits.maxConnectionsPerWorker;
    if (max > 0 && this.ctx.connections.size >= max) {
      stats.connectionsRefused++;
      this.ctx.log.warn(
        `refused ${sock.peer}: ${max} connections open`,
      );
      sock.close();
      return;
    }
    const c = new RtspConnection(this.ctx, sock);
    this.ctx.connections.add(c);
    stats.connectionsOpen++;
    stats.connectionsTotal++;
    c.run();
  };

  readonly #closeIdle = (): void => {
    const deadline = performance.now() - this.ctx.config.sessionTimeoutMs;
    for (const c of this.ctx.connections) {
      if (c.lastSeen < deadline) {
        c.close(`timed out: nothing received for ${this.ctx.config.sessionTimeoutMs} ms`);
      }
    }
  };
}

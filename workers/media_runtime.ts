/**
 * The media worker's composition root: a worker of its own, beside the RTSP workers, for the HLS
 * port and the recordings (worker_media.ts). It opens no RTSP or UDP socket; it keeps a replica of
 * the stream directory like every worker (streamAdded/streamRemoved, ring moves and their acks)
 * and reads the rings through RingTaps. Nothing but taps reads here, so its streams' fan-out passes
 * have no merge window: a tap is woken as soon as the ring's watch sees the writer publish.
 *
 * @module
 */
import type { Config } from "../src/config.ts";
import { Logger, type LogSink } from "../src/log/logger.ts";
import type { WorkerContext } from "../src/session/worker_context.ts";
import type { MainToWorker, WorkerToMain } from "../src/cluster/messages.ts";
import type { WorkerReport } from "../src/stats/reports.ts";
import { workerReport } from "./worker_reports.ts";
import { WorkerDirectory } from "../src/cluster/worker_directory.ts";
import { WorkerMedia } from "./worker_media.ts";
import { newWorkerStats } from "../src/stats/worker_stats.ts";
import { ThreadBusy } from "../src/stats/thread_busy.ts";
import { PendingBodies } from "../src/session/pending_bodies.ts";
import type { AuthShared } from "../src/auth/auth_shared.ts";
import type { HookEventBody } from "../src/hooks/hook_event.ts";

/** The tick whose lateness measures event-loop lag (as an RTSP worker's). */
const LAG_TICK_MS = 100;
/** How often the thread's busy fraction is sampled. */
const BUSY_INTERVAL_MS = 1000;

/** No merge window: a pass here only wakes taps, which read in a task of their own. */
const NO_MERGE_WINDOW = Object.freeze({ ms: 0, maxMs: 0 });

/** Everything the media worker runs: HLS, recordings and its view of the directory. */
export class MediaRuntime {
  readonly ctx: WorkerContext;
  readonly #directory: WorkerDirectory;
  readonly #media: WorkerMedia;
  readonly #post: (msg: WorkerToMain) => void;
  readonly #busy = new ThreadBusy();
  /** The last second's busy fraction (NaN: not measurable), for the report. */
  #busyNow = NaN;
  readonly #busyTimer: ReturnType<typeof setInterval>;
  readonly #lagTimer: ReturnType<typeof setInterval>;
  #lastTick = performance.now();
  #stopped = false;
  /** Settles once HLS is closed and every recording's file finished (after stop()). */
  #finished: Promise<void> = Promise.resolve();

  constructor(
    worker: number,
    config: Config,
    post: (msg: WorkerToMain) => void,
    authShared: AuthShared,
    sink?: LogSink,
  ) {
    const log = new Logger(config.log.level, "media", sink, config.log.format === "json");
    this.#post = post;
    const directory = this.#directory = new WorkerDirectory(post, NO_MERGE_WINDOW, log);
    const hook = (event: HookEventBody) => {
      if (this.ctx.config.hooks.url !== "") post({ type: "hook", timeMs: Date.now(), event });
    };
    this.ctx = {
      worker,
      config,
      log,
      directory,
      stats: newWorkerStats(),
      udp: null,
      poller: null,
      authShared,
      pendingBodies: new PendingBodies(),
      hook,
    };
    this.#media = new WorkerMedia(this.ctx, directory, post);
    this.#busyTimer = setInterval(() => this.#busyNow = this.#busy.sample(), BUSY_INTERVAL_MS);
    this.#lagTimer = setInterval(() => {
      const now = performance.now();
      const lag = now - this.#lastTick - LAG_TICK_MS;
      this.#lastTick = now;
      if (lag > this.ctx.stats.loopLagMaxMs) this.ctx.stats.loopLagMaxMs = lag;
    }, LAG_TICK_MS);
  }

  /** Opens the HLS port (its failure is logged) and tells main.ts the worker is ready. */
  start(): void {
    try {
      this.#media.start();
    } catch (e) {
      this.ctx.log.error(`HLS and recording: ${(e as Error)?.stack ?? e}`);
    }
    this.#post({ type: "ready", worker: this.ctx.worker, port: this.#media.hlsPort });
  }

  /** Handles a message from main.ts. */
  handle(msg: MainToWorker): void {
    switch (msg.type) {
      case "statsRequest":
        if (msg.collect) (globalThis as { gc?: () => void }).gc?.();
        this.#post({ type: "statsResult", id: msg.id, report: this.report() });
        this.ctx.stats.loopLagMaxMs = 0; // a maximum per report
        return;
      case "sessionsRequest":
        this.#post({ type: "sessionsResult", id: msg.id, sessions: [] });
        return;
      case "kick":
        this.#post({ type: "kickResult", id: msg.id, found: false });
        return;
      case "sourceStart":
      case "sourceStop":
        // main.ts gives sources to RTSP workers only.
        this.ctx.log.warn(`${msg.type} for ${msg.path} sent to the media worker: ignored`);
        return;
      case "reload":
        this.ctx.config = msg.config;
        this.ctx.log.setLevel(msg.config.log.level);
        return;
      case "crash":
        this.ctx.log.warn("crashing on request of the API (api.debug)");
        setTimeout(() => {
          throw new Error("crash requested through the API (api.debug)");
        }, 0);
        return;
      case "viewersResult":
        this.#media.viewersResult(msg.id, msg.viewers);
        return;
      case "shutdown":
        this.stop("server shutting down");
        // Recordings finish their files first (main.ts waits SHUTDOWN_GRACE_MS at most).
        this.#finished.finally(() =>
          this.#post({ type: "closed", worker: this.ctx.worker, connections: 0, sessions: 0 })
        );
        return;
      default:
        this.#directory.handle(msg);
        if (msg.type === "streamAdded") this.#media.streamAdded(msg.stream.path);
        else if (msg.type === "streamRemoved") this.#media.streamRemoved(msg.streamId);
    }
  }

  /** Counters and load of this worker: no connections, its thread's busy fraction, HLS and recording. */
  report(): WorkerReport {
    const r = workerReport(this.ctx, [], [], { ms: 0, busy: this.#busyNow });
    r.media = this.#media.report();
    return r;
  }

  /**
   * Stops HLS and the recordings (their files are finished: `finished`) and ends the streams'
   * taps. It has no connection: it answers 0 of each.
   */
  stop(_reason: string): { connections: number; sessions: number } {
    if (this.#stopped) return { connections: 0, sessions: 0 };
    this.#stopped = true;
    clearInterval(this.#busyTimer);
    clearInterval(this.#lagTimer);
    this.#finished = this.#media.close().catch((e) =>
      this.ctx.log.error(`stopping: could not close HLS and recordings: ${(e as Error)?.stack ?? e}`)
    );
    for (const s of this.#directory.streams()) {
      try {
        s.end();
      } catch (e) {
        this.ctx.log.error(`stopping: could not end stream ${s.path}: ${(e as Error)?.stack ?? e}`);
      }
    }
    return { connections: 0, sessions: 0 };
  }

  /** Settles once stop() has closed HLS and finished the recordings. */
  get finished(): Promise<void> {
    return this.#finished;
  }
}

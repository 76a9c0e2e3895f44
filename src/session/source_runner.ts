/**
 * One pulled source in the worker main.ts chose for it: attempts (client_session.ts) one after the
 * other until stopped, with exponential backoff and jitter between failures (`sourceRetryMinMs`
 * doubling to `sourceRetryMaxMs`, the first connection included), UDP then TCP when the transport is
 * `auto`; each attempt and its cause one log line and a counter. Viewers stay attached across a
 * retry: the stream waits for the next attempt like a stream whose publisher reconnects.
 */
import type { SourceConfig } from "../paths/path_config.ts";
import type { SourceState, SourceStatus } from "../stats/reports.ts";
import { ClientSession, redactUrl } from "./client_session.ts";
import type { WorkerContext } from "./worker_context.ts";

/** The wait before the attempt after `failures` failures in a row: doubling, capped, jittered down by up to half. */
export function retryDelayMs(failures: number, minMs: number, maxMs: number, random = Math.random): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

export class SourceRunner {
  readonly path: string;
  readonly #ctx: WorkerContext;
  readonly #cfg: SourceConfig;
  #state: SourceState = "idle";
  #since = Date.now();
  #transport: "tcp" | "udp";
  #session: ClientSession | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #attempts = 0;
  #failures = 0;
  /** Failures since the last attempt that played. */
  #inARow = 0;
  #lastError: string | null = null;

  readonly #edge: string | undefined;

  /** cfg.url is the path's own (pattern groups already substituted); edge: this node's name for an edge pull. */
  constructor(ctx: WorkerContext, path: string, cfg: SourceConfig, edge?: string) {
    this.#ctx = ctx;
    this.path = path;
    this.#cfg = cfg;
    this.#edge = edge;
    // Through an HTTP tunnel (rtsph://) media is interleaved: TCP whatever sourceTransport says.
    const tunnel = /^rtsph:\/\//i.test(cfg.url);
    this.#transport = tunnel || cfg.transport === "tcp" || (cfg.transport === "auto" && ctx.udp === null)
      ? "tcp"
      : "udp";
  }

  get state(): SourceState {
    return this.#state;
  }

  get #log() {
    return this.#ctx.log.child(`source ${this.path}`);
  }

  /** Starts the first attempt, after `after` (a replaced pull's claim settling) when given. */
  start(after?: Promise<void>): void {
    if (this.#stopped || this.#session !== null) return;
    if (after === undefined) return this.#attempt();
    after.then(() => {
      if (!this.#stopped && this.#session === null) this.#attempt();
    });
  }

  /**
   * Ends the pull for good (the last viewer left, the config changed, shutdown); resolves once its
   * claim is released or was never held (ClientSession.settled).
   */
  stop(reason: string): Promise<void> {
    const settled = this.#session?.settled ?? Promise.resolve();
    if (this.#stopped) return settled;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#session?.stop(reason);
    this.#session = null;
    this.#enter("idle");
    this.#log.info(`stopped: ${reason}`);
    return settled;
  }

  status(): SourceStatus {
    const s = this.#session;
    const ingest = s?.feed?.ingest;
    const now = performance.now();
    return {
      path: this.path,
      url: redactUrl(this.#cfg.url),
      state: this.#state,
      transport: this.#transport,
      attempts: this.#attempts,
      failures: this.#failures,
      lastError: this.#lastError,
      since: new Date(this.#since).toISOString(),
      edge: this.#edge !== undefined,
      streamId: s?.streamId ?? 0,
      packets: ingest?.writer.packets ?? 0,
      bytes: ingest?.writer.bytes ?? 0,
      lost: ingest?.lost ?? 0,
      bitrate: ingest === undefined ? 0 : Math.round(ingest.rate.perSecond(now, ingest.writer.bytes) * 8),
      gop: ingest?.lastGop ?? null,
      ringBytes: ingest?.writer.ring.sab.byteLength ?? 0,
    };
  }

  #enter(state: SourceState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#since = Date.now();
    this.#ctx.hook({
      event: "source.state",
      path: this.path,
      worker: this.#ctx.worker,
      state,
      previous,
      url: redactUrl(this.#cfg.url),
      error: state === "retrying" ? this.#lastError : null,
      edge: this.#edge !== undefined,
    });
  }

  #attempt(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#attempts++;
    this.#ctx.stats.sourceAttempts++;
    this.#enter("connecting");
    const transport = this.#transport;
    this.#log.info(
      `attempt ${this.#attempts}: pulling ${redactUrl(this.#cfg.url)} over ${transport.toUpperCase()}`,
    );
    const session: ClientSession = new ClientSession(this.#ctx, {
      path: this.path,
      url: this.#cfg.url,
      transport,
      readTimeoutMs: this.#cfg.readTimeoutMs,
      edge: this.#edge,
    }, {
      playing: () => {
        if (this.#session !== session) return;
        this.#inARow = 0;
        this.#lastError = null;
        this.#enter("playing");
      },
      failed: (reason, info) => {
        if (this.#session !== session) return;
        this.#session = null;
        this.#failed(reason, info.udpRefused);
      },
    });
    this.#session = session;
    session.start();
  }

  #failed(reason: string, udpRefused: boolean): void {
    this.#failures++;
    this.#ctx.stats.sourceFailures++;
    this.#lastError = reason;
    if (this.#stopped) return;
    if (udpRefused && this.#cfg.transport === "auto" && this.#transport === "udp") {
      // auto: UDP refused or silent, TCP at once (and from now on).
      this.#transport = "tcp";
      this.#log.warn(`attempt ${this.#attempts} failed: ${reason}; trying TCP`);
      this.#enter("retrying");
      this.#timer = setTimeout(() => this.#attempt(), 0);
      return;
    }
    this.#inARow++;
    const wait = retryDelayMs(this.#inARow, this.#cfg.retryMinMs, this.#cfg.retryMaxMs);
    this.#log.warn(`attempt ${this.#attempts} failed: ${reason}; retrying in ${wait} ms`);
    this.#enter("retrying");
    this.#timer = setTimeout(() => this.#attempt(), wait);
  }
}

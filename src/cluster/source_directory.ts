/**
 * main.ts's side of pulled sources: which worker pulls which path, started and stopped so that each
 * source is pulled once for the whole server. Always-on sources (exact paths, `sourceOnDemand:
 * false`) start with the server and on reload; on-demand ones when a viewer asks (a worker's
 * `sourceDemand`) and stop once no worker has had a viewer of the stream for
 * `sourceOnDemandCloseAfterMs`. A source is pulled by the worker its path hashes to, so sources
 * spread over the cores; a worker that dies is given its sources back once replaced.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { type SourceConfig, sourceUrlFor } from "../paths/path_config.ts";
import { PathRules } from "../paths/path_rules.ts";
import type { MainToWorker } from "./messages.ts";

interface Running {
  worker: number;
  source: SourceConfig;
  /** The resolved source as JSON: a reload that changes it restarts the pull. */
  key: string;
  /** Workers with viewers of the path's stream now. */
  readers: Set<number>;
  closeTimer: ReturnType<typeof setTimeout> | undefined;
}

/** A stable FNV-1a hash of a path, for placement. */
function hashPath(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class SourceDirectory {
  readonly #log: Logger;
  readonly #post: (worker: number, msg: MainToWorker) => void;
  readonly #workers: number;
  readonly #running = new Map<string, Running>();
  readonly #ready = new Set<number>();
  #config: Config;
  #rules: PathRules;
  #stopped = false;

  constructor(
    log: Logger,
    config: Config,
    workers: number,
    post: (worker: number, msg: MainToWorker) => void,
  ) {
    this.#log = log;
    this.#config = config;
    this.#rules = new PathRules(config.paths);
    this.#workers = workers;
    this.#post = post;
  }

  /** The source `path` is pulled from under the current config (URL with the pattern's groups), or undefined. */
  sourceFor(path: string): SourceConfig | undefined {
    const m = this.#rules.match(path);
    const src = m?.config.source;
    return src === undefined ? undefined : { ...src, url: sourceUrlFor(src.url, m!.groups) };
  }

  /**
   * How long the stream of `path` waits for its source's next attempt when an attempt ends, or
   * undefined when no source pulls it: at least one capped retry and a read timeout.
   */
  graceFor(path: string, reconnectGraceMs: number): number | undefined {
    const r = this.#running.get(path);
    if (r === undefined) return undefined;
    return Math.max(reconnectGraceMs, r.source.retryMaxMs + r.source.readTimeoutMs);
  }

  /** Paths pulled now and the worker of each (for the API). */
  running(): { path: string; worker: number }[] {
    return [...this.#running].map(([path, r]) => ({ path, worker: r.worker }));
  }

  /** A (re)loaded config: always-on sources started, changed or removed ones stopped or restarted. */
  configure(config: Config): void {
    this.#config = config;
    this.#rules = new PathRules(config.paths);
    for (const [path, r] of [...this.#running]) {
      const now = this.sourceFor(path);
      if (now === undefined) this.#stop(path, "the config no longer has a source for the path");
      else if (JSON.stringify(now) !== r.key) this.#stop(path, "its source changed in the config");
    }
    for (const [name, entry] of Object.entries(config.paths)) {
      if (name.startsWith("~") || entry.source === undefined || entry.source.onDemand) continue;
      if (!this.#running.has(name)) this.#start(name);
    }
  }

  /** A worker is ready (at start, or replaced): it pulls its sources again. */
  workerReady(index: number): void {
    this.#ready.add(index);
    if (this.#stopped) return;
    for (const [path, r] of this.#running) {
      if (r.worker === index) this.#post(index, { type: "sourceStart", path, source: r.source });
    }
  }

  /** A worker died: its pulls died with it, they start again when it is replaced. */
  workerGone(index: number): void {
    this.#ready.delete(index);
    for (const r of this.#running.values()) if (r.worker === index) r.readers.clear();
  }

  /** A viewer asked for a path: its source starts if it has one and is not pulled. */
  demand(_from: number, path: string): void {
    const src = this.sourceFor(path);
    if (src === undefined) return;
    const r = this.#running.get(path) ?? this.#start(path);
    if (r === undefined || !src.onDemand) return;
    // Until the viewer plays (or never does): wait for the start, then the close delay.
    if (r.readers.size === 0) {
      this.#closeLater(path, r, src.onDemandStartTimeoutMs + src.onDemandCloseAfterMs);
    }
  }

  /** Worker `from` has `count` viewers of the stream on `path` (0: none any more). */
  readers(from: number, path: string, count: number): void {
    const r = this.#running.get(path);
    if (r === undefined) return;
    if (count > 0) r.readers.add(from);
    else r.readers.delete(from);
    if (!r.source.onDemand) return;
    if (r.readers.size > 0) this.#cancelClose(r);
    else this.#closeLater(path, r, r.source.onDemandCloseAfterMs);
  }

  /** Stops every pull (shutdown). */
  stopAll(): void {
    this.#stopped = true;
    for (const path of [...this.#running.keys()]) this.#stop(path, "server shutting down");
  }

  #start(path: string): Running | undefined {
    if (this.#stopped) return undefined;
    const source = this.sourceFor(path);
    if (source === undefined) return undefined;
    const worker = hashPath(path) % this.#workers;
    const r: Running = {
      worker,
      source,
      key: JSON.stringify(source),
      readers: new Set(),
      closeTimer: undefined,
    };
    this.#running.set(path, r);
    this.#log.info(
      `[path ${path}] source ${source.onDemand ? "asked for" : "always on"}: pulled by worker ${worker}`,
    );
    if (this.#ready.has(worker)) this.#post(worker, { type: "sourceStart", path, source });
    return r;
  }

  #stop(path: string, reason: string): void {
    const r = this.#running.get(path);
    if (r === undefined) return;
    this.#cancelClose(r);
    this.#running.delete(path);
    this.#log.info(`[path ${path}] source stopped: ${reason}`);
    this.#post(r.worker, { type: "sourceStop", path, reason });
  }

  #closeLater(path: string, r: Running, ms: number): void {
    this.#cancelClose(r);
    r.closeTimer = setTimeout(() => {
      r.closeTimer = undefined;
      if (this.#running.get(path) === r && r.readers.size === 0) {
        this.#stop(path, `no viewer for ${r.source.onDemandCloseAfterMs} ms`);
      }
    }, ms);
  }

  #cancelClose(r: Running): void {
    if (r.closeTimer !== undefined) clearTimeout(r.closeTimer);
    r.closeTimer = undefined;
  }
}

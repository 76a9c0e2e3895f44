/**
 * main.ts's side of pulled sources: which worker pulls which path, started and stopped so that each
 * source is pulled once for the whole server. Always-on sources (exact paths, `sourceOnDemand:
 * false`) start with the server and on reload; on-demand ones when a viewer asks (a worker's
 * `sourceDemand`) and stop once no worker has had a viewer of the stream for
 * `sourceOnDemandCloseAfterMs`. A source is pulled by the worker its path hashes to, so sources
 * spread over the cores; a worker that dies is given its sources back once replaced.
 *
 * In a cluster (docs/cluster.md) a `source:` path is pulled by one node, its owner or else the first
 * live member in the path's rendezvous order; every other node, and every path published on another
 * node, is served here by an edge pull from that node: a pull like any source (on demand, retried,
 * the stream kept through a retry), marked as an edge's, moved when the owner changes.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { type SourceConfig, sourceUrlFor } from "../paths/path_config.ts";
import { PathRules } from "../paths/path_rules.ts";
import type { MainToWorker } from "./messages.ts";
import type { OwnerInfo } from "./cluster_node.ts";

/** What the source directory asks of the cluster (cluster_node.ts implements it). */
export interface ClusterView {
  readonly name: string;
  /** Whether etcd's view can be trusted now (lease alive, watches delivering). */
  readonly synced: boolean;
  /** The node that pulls a `source:` path. */
  pullerOf(path: string): OwnerInfo | undefined;
  /** The node where the path is published (or its source pulled). */
  ownerOf(path: string): OwnerInfo | undefined;
}

interface Running {
  worker: number;
  source: SourceConfig;
  /** An edge pull: the node it pulls from. */
  edge?: OwnerInfo;
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
  readonly #cluster: ClusterView | null;

  constructor(
    log: Logger,
    config: Config,
    workers: number,
    post: (worker: number, msg: MainToWorker) => void,
    cluster: ClusterView | null = null,
  ) {
    this.#log = log;
    this.#config = config;
    this.#rules = new PathRules(config.paths);
    this.#workers = workers;
    this.#post = post;
    this.#cluster = cluster;
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

  /** Paths pulled now, the worker of each, and for an edge pull the node it pulls from (for the API). */
  running(): { path: string; worker: number; from?: string }[] {
    return [...this.#running].map(([path, r]) => ({ path, worker: r.worker, from: r.edge?.node }));
  }

  /** Whether this node pulls the configured source of `path` (always, but in a cluster). */
  #pullsHere(path: string): boolean {
    const c = this.#cluster;
    return c === null || (c.synced && c.pullerOf(path)?.node === c.name);
  }

  /** The node an edge pull of `path` comes from now (source paths: its puller; others: its owner). */
  #edgeTarget(path: string): OwnerInfo | undefined {
    const c = this.#cluster!;
    return this.sourceFor(path) !== undefined ? c.pullerOf(path) : c.ownerOf(path);
  }

  /** An edge pull of `path` from `from`: on demand, over TCP, retried quickly (cluster.edge*). */
  #edgeSource(path: string, from: OwnerInfo): SourceConfig {
    const cc = this.#config.cluster!;
    return {
      url: `${from.advertise}/${path}`,
      transport: "tcp",
      onDemand: true,
      onDemandStartTimeoutMs: cc.edgeStartTimeoutMs,
      onDemandCloseAfterMs: cc.edgeCloseAfterMs,
      readTimeoutMs: this.sourceFor(path)?.readTimeoutMs ?? 10_000,
      retryMinMs: cc.edgeRetryMinMs,
      retryMaxMs: cc.edgeRetryMaxMs,
    };
  }

  /**
   * The cluster changed (members, owners, reachability): sources move to the node that pulls them,
   * edge pulls follow their owner, and a path this node now has itself is no longer pulled from
   * another.
   */
  rebalance(): void {
    const c = this.#cluster;
    if (c === null || this.#stopped || !c.synced) return;
    for (const [path, r] of [...this.#running]) {
      if (r.edge === undefined) {
        const puller = c.pullerOf(path);
        if (puller !== undefined && puller.node !== c.name) {
          this.#stop(path, `node ${puller.node} pulls it for the cluster`);
        }
        continue;
      }
      const to = this.#edgeTarget(path);
      if (to === undefined || to.node === r.edge.node && to.advertise === r.edge.advertise) continue;
      if (to.node === c.name) this.#stop(path, "this node has the path itself now");
      else this.#moveEdge(path, r, to);
    }
    this.#startAlwaysOn();
  }

  /** A local publisher or source of the path took ownership: an edge pull of it stops. */
  ownedHere(path: string): void {
    const r = this.#running.get(path);
    if (r?.edge !== undefined) this.#stop(path, "this node publishes the path itself now");
  }

  #moveEdge(path: string, r: Running, to: OwnerInfo): void {
    this.#log.info(`[path ${path}] its owner is now node ${to.node}: the edge pull moves there`);
    r.edge = to;
    r.source = this.#edgeSource(path, to);
    r.key = JSON.stringify(r.source);
    // The worker replaces its runner; the stream waits for the new pull like any reconnect.
    if (this.#ready.has(r.worker)) {
      this.#post(r.worker, { type: "sourceStart", path, source: r.source, edge: this.#cluster!.name });
    }
  }

  #startAlwaysOn(): void {
    for (const [name, entry] of Object.entries(this.#config.paths)) {
      if (name.startsWith("~") || entry.source === undefined || entry.source.onDemand) continue;
      const r = this.#running.get(name);
      if (r !== undefined && r.edge === undefined) continue;
      if (!this.#pullsHere(name)) continue;
      if (r !== undefined) this.#stop(name, "this node pulls the source itself now");
      this.#start(name);
    }
  }

  /** A (re)loaded config: always-on sources started, changed or removed ones stopped or restarted. */
  configure(config: Config): void {
    this.#config = config;
    this.#rules = new PathRules(config.paths);
    for (const [path, r] of [...this.#running]) {
      if (r.edge !== undefined) continue; // follows the cluster, not the config (rebalance)
      const now = this.sourceFor(path);
      if (now === undefined) this.#stop(path, "the config no longer has a source for the path");
      else if (JSON.stringify(now) !== r.key) this.#stop(path, "its source changed in the config");
    }
    this.#startAlwaysOn();
  }

  /** A worker is ready (at start, or replaced): it pulls its sources again. */
  workerReady(index: number): void {
    this.#ready.add(index);
    if (this.#stopped) return;
    for (const [path, r] of this.#running) {
      if (r.worker !== index) continue;
      const edge = r.edge === undefined ? undefined : this.#cluster!.name;
      this.#post(index, { type: "sourceStart", path, source: r.source, edge });
    }
  }

  /** A worker died: its pulls died with it, they start again when it is replaced. */
  workerGone(index: number): void {
    this.#ready.delete(index);
    for (const r of this.#running.values()) if (r.worker === index) r.readers.clear();
  }

  /**
   * A viewer on worker `from` asked for a path: its source starts if it has one (pulled here) and
   * is not pulled; in a cluster, a path pulled or published on another node gets an edge pull from
   * there, and one no node has is refused at once (404, or 503 while etcd cannot be trusted).
   * `fromEdge`: the viewer is another node's edge pull, served only what this node pulls itself.
   */
  demand(from: number, path: string, fromEdge = false): void {
    const src = this.sourceFor(path);
    const c = this.#cluster;
    const refuse = (status: 404 | 503, reason: string) =>
      this.#post(from, { type: "demandResult", path, status, reason });
    if (src !== undefined && this.#pullsHere(path)) {
      const r0 = this.#running.get(path);
      if (r0?.edge !== undefined) this.#stop(path, "this node pulls the source itself now");
      const r = this.#running.get(path) ?? this.#start(path);
      if (r === undefined || !src.onDemand) return;
      // Until the viewer plays (or never does): wait for the start, then the close delay.
      if (r.readers.size === 0) {
        this.#closeLater(path, r, src.onDemandStartTimeoutMs + src.onDemandCloseAfterMs);
      }
      return;
    }
    if (c === null) return;
    if (fromEdge) {
      if (src !== undefined) refuse(404, `node ${c.name} does not pull the source of path '${path}'`);
      return;
    }
    if (!c.synced) {
      return refuse(503, `the cluster's etcd is not reachable: cannot find who has path '${path}'`);
    }
    const to = this.#edgeTarget(path);
    if (to === undefined) return refuse(404, `no node of the cluster publishes path '${path}'`);
    if (to.node === c.name) return; // published here: the stream is on its way
    let r = this.#running.get(path);
    if (r === undefined) r = this.#start(path, to);
    else if (r.edge !== undefined && r.edge.node !== to.node) this.#moveEdge(path, r, to);
    if (r !== undefined && r.readers.size === 0) {
      const cc = this.#config.cluster!;
      this.#closeLater(path, r, cc.edgeStartTimeoutMs + cc.edgeCloseAfterMs);
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

  /** Starts the pull of the path's source, or with `edge` an edge pull from that node. */
  #start(path: string, edge?: OwnerInfo): Running | undefined {
    if (this.#stopped) return undefined;
    const source = edge === undefined ? this.sourceFor(path) : this.#edgeSource(path, edge);
    if (source === undefined) return undefined;
    const worker = hashPath(path) % this.#workers;
    const r: Running = {
      worker,
      source,
      edge,
      key: JSON.stringify(source),
      readers: new Set(),
      closeTimer: undefined,
    };
    this.#running.set(path, r);
    const what = edge !== undefined
      ? `edge pull from node ${edge.node} (${edge.advertise})`
      : `source ${source.onDemand ? "asked for" : "always on"}`;
    this.#log.info(`[path ${path}] ${what}: pulled by worker ${worker}`);
    const node = edge === undefined ? undefined : this.#cluster!.name;
    if (this.#ready.has(worker)) this.#post(worker, { type: "sourceStart", path, source, edge: node });
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

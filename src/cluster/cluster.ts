import { type Config, workerCount } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { isWorkerToMain, type MainToWorker, type WorkerRole, type WorkerToMain } from "./messages.ts";
import type { SessionReport, WorkerReport } from "../stats/reports.ts";
import { StreamDirectory } from "./stream_directory.ts";
import { SourceDirectory } from "./source_directory.ts";
import { resolveBackend } from "../net/backend.ts";
import { type AuthShared, newAuthShared } from "../auth/auth_shared.ts";
import { RestartBackoff } from "./restart_backoff.ts";
import { ClusterNode } from "./cluster_node.ts";
import { EtcdStore } from "../etcd/etcd_store.ts";
import { HookQueue } from "../hooks/hook_queue.ts";
import { hookEvent, type HookEventBody } from "../hooks/hook_event.ts";
import { ReadyCommands, readyEnv } from "./ready_commands.ts";
import { PathRules } from "../paths/path_rules.ts";
import { releasePages } from "../ring/ring_memory.ts";

/** The worker entry module, for both roles; `deno compile --include` must name the same file. */
export const WORKER_MODULE = new URL("../../workers/rtsp_worker.ts", import.meta.url);

/**
 * How long shutdown waits for the workers to close their connections before terminating them.
 * Closing is synchronous in each worker, so this bounds only a worker that is stuck.
 */
export const SHUTDOWN_GRACE_MS = 3000;
/** Longest a SIGTERM/SIGINT shutdown takes: main.ts exits this long after the signal, whatever hangs. */
export const SHUTDOWN_BOUND_MS = SHUTDOWN_GRACE_MS + 2000;
/** How long hook events still queued at shutdown (the last stops among them) may take to go out. */
export const HOOKS_FLUSH_MS = 1000;

/** A running server. */
export interface ServerHandle {
  /** The RTSP port every RTSP worker listens on (the real one when the config said 0). */
  readonly port: number;
  /** RTSP workers: indices 0..workers-1 (their UDP ports are udp.portBase + 2 * index). */
  readonly workers: number;
  /**
   * The media worker's index (HLS port, recordings; it accepts no RTSP), `workers`, or null while
   * the config needs none (hls.enabled false and no path with record: true).
   */
  readonly mediaWorker: number | null;
  /** The HLS port the media worker listens on; 0 while HLS is off or its port could not be had. */
  readonly hlsPort: number;
  readonly directory: StreamDirectory;
  readonly sources: SourceDirectory;
  /** This node's cluster membership, or null on a single node. */
  readonly cluster: ClusterNode | null;
  /** Workers started again after one died or failed to start. */
  readonly restarts: number;
  /** The hook events' queue (hooks.url), for its counters. */
  readonly hooks: HookQueue;
  /** The paths' runOnReady children, for their counters. */
  readonly readyCommands: ReadyCommands;
  /** The config it runs now: the one it started with, then each reload's (restart-only keys kept). */
  readonly config: Config;
  /** The auth state its workers share (nonce key, failure table); the API counts failures in it too. */
  readonly auth: AuthShared;
  /**
   * Every live worker's counters and load, the RTSP workers' by index, then the media worker's
   * (its `media` field set); `collect` asks for a GC first (see messages.ts).
   */
  stats(collect?: boolean): Promise<WorkerReport[]>;
  /** Every connection of every live worker, with its session. */
  sessions(): Promise<SessionReport[]>;
  /** Closes the connection with this session (or connection) id; its worker, or null if none has it. */
  kick(id: string): Promise<number | null>;
  /** api.debug: makes a worker throw an uncaught exception; false when it is not running. */
  crash(worker: number): boolean;
  /** Sends a reloaded config (restart-only keys already kept) to every worker, and to replacements. */
  reload(config: Config): void;
  /** Stops accepting, closes every session and terminates the workers. */
  stop(): Promise<void>;
}

/** One worker index: the Worker serving it now, or none while it waits to be restarted. */
interface Slot {
  readonly index: number;
  readonly role: WorkerRole;
  worker: Worker | null;
  ready: boolean;
  /** performance.now() of the current worker's start, for the backoff's reset. */
  startedAt: number;
  readonly backoff: RestartBackoff;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Request ids the current worker has not answered; answered with null if it dies. */
  readonly pending: Set<number>;
  /** Set during stop(): told when the worker has closed everything (or died). */
  onClosed: ((r: { connections: number; sessions: number }) => void) | null;
}

type Answer = WorkerReport | SessionReport[] | boolean | null;

/**
 * Whether the config needs the media worker: HLS is on, or a path records. Without either it is not
 * started (a thread and its heap for nothing); a reload that turns recording on starts it then.
 */
export function needsMediaWorker(config: Config): boolean {
  return config.hls.enabled || Object.values(config.paths).some((p) => p.record !== undefined);
}

/**
 * Starts one RTSP worker per core (or config.workers), all listening on one port with SO_REUSEPORT,
 * and, when the config needs it, the media worker (index `workers`: the HLS port and the
 * recordings, no RTSP or UDP socket; it reads the rings like any worker, so HLS and recording never
 * run on an RTSP worker's thread). With port 0 the first worker picks a free port and the others
 * join it. A worker that dies (either role) is logged and replaced on the same index (same port,
 * same UDP ports), after a backoff that grows while it keeps dying; the others serve on meanwhile.
 */
export async function startServer(config: Config, log: Logger): Promise<ServerHandle> {
  const count = workerCount(config);
  let node: ClusterNode | null = null;
  // Publishers that leave during shutdown end their streams at once.
  const directory = new StreamDirectory(
    log.child("main"),
    (path) =>
      stopping
        ? 0
        : sources.graceFor(path, current.ingest.reconnectGraceMs) ?? current.ingest.reconnectGraceMs,
    () => current.limits,
    config.cluster === null ? null : {
      acquire: (path) => node!.acquire(path),
      release: (path) => node!.release(path),
      owned: (path) => sources.ownedHere(path),
    },
    {
      published: (s, by) => {
        hook({
          event: "publish.start",
          path: s.path,
          streamId: s.streamId,
          worker: s.worker,
          session: s.sessionId,
          peer: by.peer,
          kind: by.kind,
        });
      },
      ready: (s) => readyCommands.ready(s.path, s.streamId),
      removed: (s, reason) => {
        hook({ event: "publish.stop", path: s.path, streamId: s.streamId, reason });
        readyCommands.ended(s.path, s.streamId);
      },
    },
    // The ring section needs a restart: the directory keeps the one it started with.
    { settings: config.ring, onIdle: (sab) => void releasePages(sab) },
  );
  // Hook events from main.ts and the workers, in one queue; `node` once the cluster name is known.
  const hooks = new HookQueue(() => current.hooks, log.child("main"));
  const hook = (e: HookEventBody, timeMs = Date.now()) => {
    if (current.hooks.url !== "") hooks.push(hookEvent(e, timeMs, current.cluster?.node || undefined));
  };
  let readyRules = { paths: config.paths, rules: new PathRules(config.paths) };
  const readyCommands = new ReadyCommands(log.child("main"), {
    // The config in force at the stream's start: a reload applies to the next stream of a path.
    commandFor: (path) => {
      if (readyRules.paths !== current.paths) {
        readyRules = { paths: current.paths, rules: new PathRules(current.paths) };
      }
      return readyRules.rules.match(path)?.config.runOnReady;
    },
    env: (path) => readyEnv(current.rtsp.address, port, path),
  });
  const sources = new SourceDirectory(
    log.child("main"),
    config,
    count,
    (w, m) => slots[w]?.worker?.postMessage(m),
    config.cluster === null ? null : {
      get name() {
        return node!.name;
      },
      get synced() {
        return node!.synced;
      },
      pullerOf: (path) => node!.pullerOf(path),
      ownerOf: (path) => node!.ownerOf(path),
    },
  );
  const newSlot = (index: number, role: WorkerRole): Slot => ({
    index,
    role,
    worker: null,
    ready: false,
    startedAt: 0,
    backoff: new RestartBackoff(),
    restartTimer: undefined,
    pending: new Set(),
    onClosed: null,
  });
  /** The RTSP workers' slots by index, then the media worker's (index count) once it exists. */
  const slots: Slot[] = Array.from({ length: count }, (_, index) => newSlot(index, "rtsp"));
  let hlsPort = 0;
  let current = config;
  let port = config.rtsp.port;
  let started = false;
  let stopping = false;
  let restarts = 0;
  let nextRequestId = 1;
  const requests = new Map<number, { slot: Slot; resolve: (a: Answer) => void }>();
  const auth = newAuthShared();

  /** The config a worker starts with: the latest reload, on the port the first worker got. */
  const workerConfig = (): Config => ({ ...current, rtsp: { ...current.rtsp, port } });

  const answer = (id: number, a: Answer) => {
    const r = requests.get(id);
    if (r === undefined) return;
    requests.delete(id);
    r.slot.pending.delete(id);
    r.resolve(a);
  };

  /** Sends a request to a slot's worker; null if it has none or it dies before answering. */
  const ask = <A extends Answer>(slot: Slot, make: (id: number) => MainToWorker): Promise<A | null> => {
    const w = slot.worker;
    if (w === null || !slot.ready) return Promise.resolve(null);
    const id = nextRequestId++;
    return new Promise((resolve) => {
      requests.set(id, { slot, resolve: resolve as (a: Answer) => void });
      slot.pending.add(id);
      w.postMessage(make(id));
    });
  };

  /** The slot's worker is gone: free what it held, then restart it unless the server is stopping. */
  const died = (slot: Slot, worker: Worker, why: string): void => {
    if (slot.worker !== worker) return;
    worker.terminate();
    slot.worker = null;
    slot.ready = false;
    directory.removeWorker(slot.index);
    sources.workerGone(slot.index);
    for (const id of [...slot.pending]) answer(id, null);
    slot.onClosed?.({ connections: 0, sessions: 0 });
    if (stopping || !started) {
      log.error(`worker ${slot.index} ${why}`);
      return;
    }
    const wait = slot.backoff.next(performance.now() - slot.startedAt);
    const loop = slot.backoff.failures > 1 ? ` (failure ${slot.backoff.failures} in a row)` : "";
    log.error(`worker ${slot.index} ${why}; restarting it in ${wait / 1000} s${loop}`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      restarts++;
      spawn(slot).then(
        (p) =>
          log.info(
            slot.role === "media"
              ? `worker ${slot.index} (media) restarted${p > 0 ? `, HLS on port ${p}` : ""}`
              : `worker ${slot.index} restarted, listening on port ${port}`,
          ),
        () => {}, // died() logged it and scheduled the next attempt
      );
    }, wait);
  };

  /** Starts a worker on a slot; resolves with its port once it listens. */
  const spawn = (slot: Slot): Promise<number> => {
    const name = slot.role === "media" ? "media" : `w${slot.index}`;
    const worker = new Worker(WORKER_MODULE, { type: "module", name });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = performance.now();
    return new Promise<number>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent) => {
        const msg = e.data as unknown;
        if (!isWorkerToMain(msg) || slot.worker !== worker) return;
        switch (msg.type) {
          case "ready":
            slot.ready = true;
            // The media worker is told of every stream and ring like an RTSP worker (it reads them)...
            directory.addWorker({ index: slot.index, post: (m: MainToWorker) => worker.postMessage(m) });
            // ...but pulls no source: those go to RTSP workers (SourceDirectory hashes over `count`).
            if (slot.role === "media") hlsPort = msg.port;
            else if (started) sources.workerReady(slot.index);
            resolve(msg.port);
            return;
          case "fatal":
            died(slot, worker, `failed to start: ${msg.message}`);
            reject(new Error(`worker ${slot.index}: ${msg.message}`));
            return;
          case "crashed":
            died(slot, worker, `crashed: ${msg.message}`);
            reject(new Error(`worker ${slot.index} crashed: ${msg.message}`));
            return;
          case "closed":
            slot.onClosed?.(msg);
            return;
          case "statsResult":
            return answer(msg.id, msg.report);
          case "sessionsResult":
            return answer(msg.id, msg.sessions);
          case "kickResult":
            return answer(msg.id, msg.found);
          case "sourceDemand":
            return sources.demand(slot.index, msg.path, msg.edge === true);
          case "readers":
            return sources.readers(slot.index, msg.path, msg.count);
          case "hook":
            return hook(msg.event, msg.timeMs);
          case "viewersRequest":
            handle.stats().then((reports) => {
              const viewers: Record<number, number> = {};
              for (const r of reports) {
                for (const s of r.streams) viewers[s.streamId] = (viewers[s.streamId] ?? 0) + s.tcp + s.udp;
              }
              worker.postMessage({ type: "viewersResult", id: msg.id, viewers } satisfies MainToWorker);
            });
            return;
          default:
            directory.handle(slot.index, msg as WorkerToMain);
        }
      };
      // What the worker could not catch itself (see workers/rtsp_worker.ts): it is gone.
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        died(slot, worker, `crashed: ${e.message}`);
        reject(new Error(`worker ${slot.index} crashed: ${e.message}`));
      };
      worker.postMessage(
        {
          type: "init",
          worker: slot.index,
          config: workerConfig(),
          auth,
          role: slot.role,
        } satisfies MainToWorker,
      );
    });
  };

  if (needsMediaWorker(config)) slots.push(newSlot(count, "media"));
  try {
    port = await spawn(slots[0]);
    await Promise.all(slots.slice(1).map(spawn));
  } catch (e) {
    for (const s of slots) s.worker?.terminate();
    throw e;
  }
  started = true;
  let reportTimer: ReturnType<typeof setInterval> | undefined;
  if (config.cluster !== null) {
    // The node's name and address, now that the port is known; workers see them resolved.
    const cc = { ...config.cluster, ...clusterIdentity(config, port) };
    current = { ...current, cluster: cc };
    for (const s of slots) {
      s.worker?.postMessage({ type: "reload", config: workerConfig() } satisfies MainToWorker);
    }
    node = new ClusterNode(
      new EtcdStore({ endpoints: cc.etcd, callTimeoutMs: cc.etcdTimeoutMs }),
      { name: cc.node, advertise: cc.advertise, prefix: cc.prefix, leaseTtlMs: cc.leaseTtlMs },
      log,
      () => sources.rebalance(),
    );
    await node.start();
    const report = async () => {
      const r = await handle.stats();
      node?.report({
        viewers: r.reduce((n, w) => n + w.viewersPlaying, 0),
        publishers: r.reduce((n, w) => n + w.publishers, 0),
        load: r.reduce((m, w) => Math.max(m, w.busy), -1),
      });
    };
    reportTimer = setInterval(() => report().catch(() => {}), cc.reportIntervalMs);
  }
  for (const s of slots) if (s.role === "rtsp") sources.workerReady(s.index);
  sources.configure(current);
  const mediaLine = () =>
    `HLS and recordings on worker ${count} (media)${hlsPort > 0 ? `, HLS on port ${hlsPort}` : ""}`;
  log.info(
    `listening on rtsp://${config.rtsp.address}:${port} with ${count} worker(s), ${
      resolveBackend(config.net.backend)
    } sockets on ${Deno.build.arch}${slots.length > count ? `; ${mediaLine()}` : ""}`,
  );

  /** A reload that needs the media worker when none runs (recording turned on) starts it. */
  const startMedia = (): void => {
    if (slots.length > count || stopping) return;
    const slot = newSlot(count, "media");
    slots.push(slot);
    spawn(slot).then(
      () => log.info(`started for the reloaded config: ${mediaLine()}`),
      () => {}, // died() logged it and scheduled the next attempt
    );
  };

  const handle: ServerHandle = {
    port,
    workers: count,
    get mediaWorker() {
      return slots.length > count ? count : null;
    },
    get hlsPort() {
      return hlsPort;
    },
    directory,
    sources,
    get cluster() {
      return node;
    },
    get restarts() {
      return restarts;
    },
    hooks,
    readyCommands,
    get config() {
      return current;
    },
    auth,
    async stats(collect = false) {
      const reports = await Promise.all(
        slots.map((s) => ask<WorkerReport>(s, (id) => ({ type: "statsRequest", id, collect }))),
      );
      return reports.filter((r) => r !== null);
    },
    async sessions() {
      const lists = await Promise.all(
        slots.map((s) => ask<SessionReport[]>(s, (id) => ({ type: "sessionsRequest", id }))),
      );
      return lists.flatMap((l) => l ?? []);
    },
    async kick(target: string) {
      const found = await Promise.all(
        slots.map((s) => ask<boolean>(s, (id) => ({ type: "kick", id, target }))),
      );
      const i = found.indexOf(true);
      return i < 0 ? null : i;
    },
    crash(worker: number) {
      const s = slots[worker];
      if (s?.worker == null || !s.ready) return false;
      s.worker.postMessage({ type: "crash" } satisfies MainToWorker);
      return true;
    },
    reload(config: Config) {
      // The cluster section needs a restart: the running node's identity stays.
      current = { ...config, cluster: current.cluster };
      sources.configure(config);
      // A worker still starting gets it after its init (messages keep their order).
      const msg = { type: "reload", config: workerConfig() } satisfies MainToWorker;
      for (const s of slots) s.worker?.postMessage(msg);
      if (needsMediaWorker(current)) startMedia();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(reportTimer);
      sources.stopAll();
      directory.close();
      // Their input is about to end: the children stop now, alongside the workers.
      const children = readyCommands.stopAll();
      let connections = 0;
      let sessions = 0;
      let answered = 0;
      const live = slots.filter((s) => s.worker !== null);
      const closed = live.map((s) =>
        new Promise<void>((resolve) => {
          s.onClosed = (r) => {
            s.onClosed = null;
            connections += r.connections;
            sessions += r.sessions;
            answered++;
            resolve();
          };
          s.worker!.postMessage({ type: "shutdown" } satisfies MainToWorker);
        })
      );
      for (const s of slots) clearTimeout(s.restartTimer);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => timer = setTimeout(r, SHUTDOWN_GRACE_MS));
      await Promise.race([Promise.all(closed), timeout]);
      clearTimeout(timer);
      for (const s of slots) s.worker?.terminate();
      // The workers' last events (read.stop, publish.stop) are queued by now.
      await Promise.all([children, hooks.close(HOOKS_FLUSH_MS)]);
      // Last: the lease's revocation removes this node's streams for the other nodes at once.
      await node?.stop();
      const stuck = live.length - answered;
      log.info(
        `closed ${sessions} session(s) on ${connections} connection(s)${
          stuck > 0
            ? `; ${stuck} worker(s) did not finish within ${SHUTDOWN_GRACE_MS} ms and were terminated`
            : ""
        }`,
      );
    },
  };
  return handle;
}

/** This node's name (cluster.node, else the host name) and how the others reach it (cluster.advertise). */
export function clusterIdentity(config: Config, port: number): { node: string; advertise: string } {
  const cc = config.cluster!;
  const host = Deno.hostname();
  const addr = config.rtsp.address;
  const reach = addr === "0.0.0.0" || addr === "::" ? host : addr.includes(":") ? `[${addr}]` : addr;
  return {
    node: cc.node !== "" ? cc.node : host.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63),
    advertise: cc.advertise !== "" ? cc.advertise : `rtsp://${reach}:${port}`,
  };
}

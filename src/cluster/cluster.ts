import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { isWorkerToMain, type MainToWorker, type WorkerReport, type WorkerToMain } from "./messages.ts";
import { StreamDirectory } from "./stream_directory.ts";
import { resolveBackend } from "../net/backend.ts";
import { newAuthShared } from "../auth/auth_shared.ts";

/** The worker entry module; `deno compile --include` must name the same file. */
export const WORKER_MODULE = new URL("../../workers/rtsp_worker.ts", import.meta.url);

/** How long shutdown waits for workers to close their connections. */
const SHUTDOWN_GRACE_MS = 3000;

/** A running server. */
export interface ServerHandle {
  /** The RTSP port every worker listens on (the real one when the config said 0). */
  readonly port: number;
  readonly workers: number;
  readonly directory: StreamDirectory;
  /** Every live worker's counters and load; `collect` asks for a GC first (see messages.ts). */
  stats(collect?: boolean): Promise<WorkerReport[]>;
  /** Stops accepting, closes every session and terminates the workers. */
  stop(): Promise<void>;
}

interface Slot {
  index: number;
  worker: Worker;
  closed: Promise<void>;
}

/**
 * Starts one RTSP worker per core (or config.workers), all listening on one port with SO_REUSEPORT.
 * With port 0 the first worker picks a free port and the others join it.
 */
export async function startServer(config: Config, log: Logger): Promise<ServerHandle> {
  const count = config.workers > 0 ? config.workers : Math.max(1, navigator.hardwareConcurrency || 1);
  const directory = new StreamDirectory(log.child("main"));
  const slots: Slot[] = [];
  let port = config.rtsp.port;
  let stopping = false;
  let nextStatsId = 1;
  const statsWaiters = new Map<number, (r: WorkerReport) => void>();
  const auth = newAuthShared();

  const spawn = (index: number, cfg: Config): Promise<number> => {
    const worker = new Worker(WORKER_MODULE, { type: "module", name: `w${index}` });
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => closedResolve = r);
    const slot: Slot = { index, worker, closed };
    slots.push(slot);
    return new Promise<number>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent) => {
        const msg = e.data as unknown;
        if (!isWorkerToMain(msg)) return;
        switch (msg.type) {
          case "ready":
            directory.addWorker({ index, post: (m: MainToWorker) => worker.postMessage(m) });
            resolve(msg.port);
            return;
          case "fatal":
            reject(new Error(`worker ${index}: ${msg.message}`));
            return;
          case "closed":
            closedResolve();
            return;
          case "statsResult":
            statsWaiters.get(msg.id)?.(msg.report);
            statsWaiters.delete(msg.id);
            return;
          default:
            directory.handle(index, msg as WorkerToMain);
        }
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        log.error(`worker ${index} crashed: ${e.message}`);
        directory.removeWorker(index);
        closedResolve();
        if (!stopping) reject(new Error(`worker ${index} crashed: ${e.message}`));
      };
      worker.postMessage({ type: "init", worker: index, config: cfg, auth } satisfies MainToWorker);
    });
  };

  try {
    port = await spawn(0, config);
    const rest = { ...config, rtsp: { ...config.rtsp, port } };
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(i + 1, rest)));
  } catch (e) {
    for (const s of slots) s.worker.terminate();
    throw e;
  }
  log.info(
    `listening on rtsp://${config.rtsp.address}:${port} with ${count} worker(s), ${
      resolveBackend(config.net.backend)
    } sockets`,
  );

  return {
    port,
    workers: count,
    directory,
    stats(collect = false) {
      return Promise.all(slots.map((s) =>
        new Promise<WorkerReport>((resolve) => {
          const id = nextStatsId++;
          statsWaiters.set(id, resolve);
          s.worker.postMessage({ type: "statsRequest", id, collect } satisfies MainToWorker);
        })
      ));
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const s of slots) s.worker.postMessage({ type: "shutdown" } satisfies MainToWorker);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => timer = setTimeout(r, SHUTDOWN_GRACE_MS));
      await Promise.race([Promise.all(slots.map((s) => s.closed)), timeout]);
      clearTimeout(timer);
      for (const s of slots) s.worker.terminate();
    },
  };
}

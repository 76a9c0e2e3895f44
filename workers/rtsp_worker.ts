/// <reference lib="deno.worker" />
// Worker entry: takes its config and role from main.ts and runs one WorkerRuntime (an RTSP worker)
// or one MediaRuntime (the media worker: HLS and recordings). One entry for both, so that
// `deno compile --include workers/rtsp_worker.ts` still names every worker module. Its one duty of
// its own: on an uncaught error, close the worker's sockets and files before main.ts replaces it.
import { isMainToWorker, type MainToWorker, type WorkerToMain } from "../src/cluster/messages.ts";
import type { Logger } from "../src/log/logger.ts";
import { WorkerRuntime } from "./worker_runtime.ts";
import { MediaRuntime } from "./media_runtime.ts";

/** What this entry needs of either runtime. */
interface Runtime {
  readonly ctx: { readonly log: Logger };
  start(): void;
  handle(msg: MainToWorker): void;
  stop(reason: string): unknown;
  readonly finished: Promise<void>;
}

/** Longest a crashing worker waits for its poller to close the epoll fd (its wait is 500 ms). */
const CRASH_CLOSE_MS = 1000;

let runtime: Runtime | null = null;
let index = -1;
let crashing = false;
const post = (msg: WorkerToMain) => self.postMessage(msg);

/**
 * An uncaught error or rejection. With the FFI backend the sockets are raw fds, which a Worker that
 * dies leaves open: its SO_REUSEPORT listener would keep taking connections nobody accepts, and
 * its UDP ports would stay bound against the replacement. So the error is stopped here (it would
 * otherwise reach main.ts at once, as an ErrorEvent, and end the worker), everything is closed,
 * and main.ts is told with a `crashed` message before the worker closes itself.
 */
async function crash(e: Event, message: string, detail: unknown): Promise<void> {
  e.preventDefault();
  if (crashing) return;
  crashing = true;
  const rt = runtime;
  runtime = null;
  if (rt !== null) {
    rt.ctx.log.error(`uncaught: ${(detail as Error)?.stack ?? detail}`);
    rt.stop(`worker crashed: ${message}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([rt.finished, new Promise((r) => timer = setTimeout(r, CRASH_CLOSE_MS))]);
    clearTimeout(timer);
  }
  post({ type: "crashed", worker: index, message });
  self.close();
}

self.addEventListener("error", (e) => crash(e, e.message, e.error ?? e.message));
self.addEventListener("unhandledrejection", (e) => {
  const why = e.reason instanceof Error ? e.reason.message : String(e.reason);
  crash(e, `unhandled rejection: ${why}`, e.reason);
});

self.onmessage = (e: MessageEvent) => {
  const msg = e.data;
  if (!isMainToWorker(msg)) return;
  if (msg.type === "init") {
    index = msg.worker;
    let rt: Runtime | null = null;
    try {
      rt = msg.role === "media"
        ? new MediaRuntime(msg.worker, msg.config, post, msg.auth)
        : new WorkerRuntime(msg.worker, msg.config, post, msg.auth);
      rt.start();
      runtime = rt;
    } catch (err) {
      // A failing constructor closes what it opened; a failing start() leaves it to stop().
      rt?.stop("worker failed to start");
      post({ type: "fatal", worker: msg.worker, message: (err as Error).message });
      self.close();
    }
    return;
  }
  if (runtime === null) {
    // Crashing or failed: only shutdown needs an answer (main.ts learns of the rest otherwise).
    if (msg.type === "shutdown") post({ type: "closed", worker: index, connections: 0, sessions: 0 });
    return;
  }
  runtime.handle(msg);
};

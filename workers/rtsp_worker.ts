/// <reference lib="deno.worker" />
// Worker entry: takes its config from main.ts and runs one WorkerRuntime; no logic of its own.
import { isMainToWorker, type WorkerToMain } from "../src/cluster/messages.ts";
import { WorkerRuntime } from "../src/cluster/worker_runtime.ts";

let runtime: WorkerRuntime | null = null;
const post = (msg: WorkerToMain) => self.postMessage(msg);

self.onmessage = (e: MessageEvent) => {
  const msg = e.data;
  if (!isMainToWorker(msg)) return;
  if (msg.type === "init") {
    try {
      runtime = new WorkerRuntime(msg.worker, msg.config, post, msg.auth);
      runtime.start();
    } catch (err) {
      post({ type: "fatal", worker: msg.worker, message: (err as Error).message });
    }
    return;
  }
  runtime?.handle(msg);
};

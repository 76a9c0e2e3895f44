/** Test helper for failure_limiter_test.ts: records failures from another thread, then reports. */
/// <reference lib="deno.worker" />
import { FailureLimiter } from "./failure_limiter.ts";

/** What the test sends: the table, a start barrier ([arrived, go]) and the failures to record. */
export interface LimiterJob {
  table: SharedArrayBuffer;
  secret: Uint8Array;
  barrier: SharedArrayBuffer;
  keys: string[];
  rounds: number;
  nowMs: number;
}

self.onmessage = (e: MessageEvent<LimiterJob>) => {
  const { table, secret, barrier, keys, rounds, nowMs } = e.data;
  const limiter = new FailureLimiter(table, { maxFailures: 1 << 30, failureWindowMs: 60_000 }, secret);
  // Start together so the workers really race on the same slots.
  const b = new Int32Array(barrier);
  Atomics.add(b, 0, 1);
  Atomics.wait(b, 1, 0);
  for (let r = 0; r < rounds; r++) for (const k of keys) limiter.recordFailure(k, nowMs);
  self.postMessage("done");
  self.close();
};

import assert from "node:assert/strict";
import { FAILURE_SLOT_FIELDS, FAILURE_SLOTS, newAuthShared } from "./auth_shared.ts";
import { failureKeyHash, FailureLimiter } from "./failure_limiter.ts";
import type { LimiterJob } from "./_failure_limiter_worker.ts";

const T = 1_700_000_000_000; // a second boundary
const limits = { maxFailures: 3, failureWindowMs: 60_000 };

/** Two different keys that land in the same slot. */
function collidingKeys(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0;; i++) {
    const key = `10.0.${i >> 8}.${i & 255}`;
    const slot = failureKeyHash(key) & (FAILURE_SLOTS - 1);
    const other = seen.get(slot);
    if (other !== undefined) return [other, key];
    seen.set(slot, key);
  }
}

Deno.test("FailureLimiter blocks at maxFailures within the window and unblocks in a new one", () => {
  const limiter = new FailureLimiter(newAuthShared().failures, limits);
  assert.equal(limiter.isBlocked("1.2.3.4", T), false);
  limiter.recordFailure("1.2.3.4", T);
  limiter.recordFailure("1.2.3.4", T + 10_000);
  assert.equal(limiter.failures("1.2.3.4", T + 10_000), 2);
  assert.equal(limiter.isBlocked("1.2.3.4", T + 10_000), false);
  limiter.recordFailure("1.2.3.4", T + 59_000);
  assert.equal(limiter.isBlocked("1.2.3.4", T + 59_000), true);
  assert.equal(limiter.isBlocked("1.2.3.5", T + 59_000), false);
  // The window opened at T ends at T + 60 s, whatever happened since.
  assert.equal(limiter.isBlocked("1.2.3.4", T + 60_000), false);
  assert.equal(limiter.failures("1.2.3.4", T + 60_000), 0);
  limiter.recordFailure("1.2.3.4", T + 61_000);
  assert.equal(limiter.failures("1.2.3.4", T + 61_000), 1);
  assert.equal(limiter.isBlocked("1.2.3.4", T + 61_000), false);
});

Deno.test("FailureLimiter with maxFailures 0 never blocks", () => {
  const limiter = new FailureLimiter(newAuthShared().failures, { maxFailures: 0, failureWindowMs: 60_000 });
  for (let i = 0; i < 10; i++) limiter.recordFailure("1.2.3.4", T);
  assert.equal(limiter.isBlocked("1.2.3.4", T), false);
});

Deno.test("FailureLimiter instances over one buffer share counts (two workers' views)", () => {
  const shared = newAuthShared();
  const a = new FailureLimiter(shared.failures, limits);
  const b = new FailureLimiter(new Int32Array(shared.failures), limits);
  a.recordFailure("192.0.2.1", T);
  b.recordFailure("192.0.2.1", T + 1);
  assert.equal(a.isBlocked("192.0.2.1", T + 2), false);
  a.recordFailure("192.0.2.1", T + 2);
  assert.equal(b.isBlocked("192.0.2.1", T + 3), true);
  // The slot records which address opened the window.
  const view = new Int32Array(shared.failures);
  const slot = (failureKeyHash("192.0.2.1") & (FAILURE_SLOTS - 1)) * FAILURE_SLOT_FIELDS;
  assert.equal(view[slot], failureKeyHash("192.0.2.1"));
  assert.equal(view[slot + 2], 3);
});

Deno.test("FailureLimiter counts a collision with an open window on that window, and reuses an ended one", () => {
  const [x, y] = collidingKeys();
  const limiter = new FailureLimiter(newAuthShared().failures, limits);
  limiter.recordFailure(x, T);
  limiter.recordFailure(x, T);
  limiter.recordFailure(y, T + 1000);
  assert.equal(limiter.isBlocked(x, T + 1000), true);
  assert.equal(limiter.isBlocked(y, T + 1000), true); // shares the block: stricter
  // After the window, y takes the slot over with a fresh count.
  limiter.recordFailure(y, T + 70_000);
  assert.equal(limiter.failures(y, T + 70_000), 1);
  assert.equal(limiter.isBlocked(x, T + 70_000), false);
});

Deno.test("FailureLimiter refuses a table of the wrong size", () => {
  assert.throws(() => new FailureLimiter(new Int32Array(10), limits), RangeError);
});

/** Runs `n` Workers that start together and each record `rounds` failures per key at `nowMs`. */
async function raceWorkers(
  table: SharedArrayBuffer,
  n: number,
  keys: string[],
  rounds: number,
  nowMs: number,
) {
  const barrier = new SharedArrayBuffer(8);
  const b = new Int32Array(barrier);
  const done = Array.from({ length: n }, () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL("./_failure_limiter_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = () => resolve();
      w.onerror = (e) => reject(e);
      const job: LimiterJob = { table, barrier, keys, rounds, nowMs };
      w.postMessage(job);
    }));
  while (Atomics.load(b, 0) < n) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(b, 1, 1);
  Atomics.notify(b, 1);
  await Promise.all(done);
}

/** `n` keys that each have a slot of their own. */
function keysWithOwnSlots(n: number): string[] {
  const used = new Set<number>();
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const key = `2001:db8:${i.toString(16)}::/64`;
    const slot = failureKeyHash(key) & (FAILURE_SLOTS - 1);
    if (used.has(slot)) continue;
    used.add(slot);
    out.push(key);
  }
  return out;
}

Deno.test("FailureLimiter loses no count when Workers add to the same slots at once", async () => {
  const shared = newAuthShared();
  const keys = keysWithOwnSlots(8);
  const rounds = 20_000;
  await raceWorkers(shared.failures, 4, keys, rounds, T);
  const limiter = new FailureLimiter(shared.failures, limits);
  for (const k of keys) assert.equal(limiter.failures(k, T), 4 * rounds, k);
});

Deno.test("FailureLimiter opens each new window once when Workers race to open it", async () => {
  const shared = newAuthShared();
  const keys = keysWithOwnSlots(1000);
  const old = new FailureLimiter(shared.failures, limits);
  for (const k of keys) for (let i = 0; i < 50; i++) old.recordFailure(k, T);
  // Every slot holds an ended window of 50; all workers hit each slot's first failure together.
  const later = T + 120_000;
  await raceWorkers(shared.failures, 4, keys, 3, later);
  for (const k of keys) assert.equal(old.failures(k, later), 4 * 3, k);
});

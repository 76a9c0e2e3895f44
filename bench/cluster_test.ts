import assert from "node:assert/strict";
import { joinSchedule, recoveryOf, refusalKind, setValue, split, summarize } from "./cluster.ts";
import { percentile } from "./measure.ts";
import type { StallSample } from "./load_client.ts";

Deno.test("percentile and summarize: fanout's nearest-rank percentiles; NaN and -Infinity when empty", () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1, unsorted
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([7], 0), 7);
  assert.deepEqual(summarize([3, 1, 2]), { n: 3, p50: 2, p95: 3, p99: 3, max: 3 });
  const none = summarize([]);
  assert.equal(none.n, 0);
  assert.ok(Number.isNaN(none.p50) && Number.isNaN(none.p99));
  assert.equal(none.max, -Infinity);
});

Deno.test("split: shares differ by at most one, larger first, and add up", () => {
  assert.deepEqual(split(300, 3), [100, 100, 100]);
  assert.deepEqual(split(301, 3), [101, 100, 100]);
  assert.deepEqual(split(5, 3), [2, 2, 1]);
  assert.deepEqual(split(7, 1), [7]);
  assert.equal(split(1001, 7).reduce((a, b) => a + b, 0), 1001);
});

Deno.test("joinSchedule: warm joins alternate owner and edges over the streams; one cold join per node, apart from the warm ones", () => {
  const from = 10_000;
  const to = 22_000;
  const s = joinSchedule(3, 2, 8, from, to);
  const warm = s.filter((x) => x.kind === "warm");
  const cold = s.filter((x) => x.kind === "cold");
  assert.equal(warm.length, 8);
  assert.deepEqual(warm.map((x) => x.node), [0, 1, 0, 2, 0, 1, 0, 2]);
  assert.deepEqual(warm.filter((x) => x.node === 0).map((x) => x.stream), [0, 1, 0, 1]);
  assert.deepEqual(warm.filter((x) => x.node !== 0).map((x) => x.stream), [0, 1, 0, 1]);
  // Edges first, then the owner; every one on the cold stream, inside the phase, 750 ms (half a 1.5 s slot) from any warm join.
  assert.deepEqual(cold.map((x) => x.node), [1, 2, 0]);
  for (const c of cold) {
    assert.equal(c.stream, -1);
    assert.ok(c.at > from && c.at < to);
    for (const w of warm) assert.ok(Math.abs(c.at - w.at) >= 750 - 1e-9, `${c.at} vs ${w.at}`);
  }
  // Sorted by time.
  for (let i = 1; i < s.length; i++) assert.ok(s[i].at >= s[i - 1].at);
  // No warm joiners: the cold ones still spread over the phase.
  const only = joinSchedule(2, 1, 0, 0, 9000);
  assert.deepEqual(only.map((x) => [x.node, x.at]), [[1, 3000], [0, 6000]]);
});

Deno.test("recoveryOf: fresh packets after the kill; lost without packets at the end; replays measured back over what the viewer had", () => {
  const killedAt = 1_000_000;
  const holdUntil = killedAt + 10_000;
  const base: StallSample = {
    url: "rtsp://127.0.0.3:1/bench/s0",
    maxMs: 2000,
    endAt: killedAt + 1990,
    lastAt: holdUntil - 20,
    longGaps: 1,
    freshAt: killedAt + 2010,
    replayed: 0,
    replayedOldest: 0,
    newestBefore: killedAt - 30,
  };
  assert.deepEqual(recoveryOf(base, killedAt, holdUntil), {
    kind: "recovered",
    freshMs: 2010,
    resumeMs: 1990,
    waitMs: 2000,
    replayed: 0,
    replayedSpanMs: 0,
  });
  const replay = recoveryOf({ ...base, replayed: 160, replayedOldest: killedAt - 1630 }, killedAt, holdUntil);
  assert.equal(replay.kind === "recovered" && replay.replayedSpanMs, 1600);
  assert.deepEqual(recoveryOf({ ...base, lastAt: holdUntil - 5000 }, killedAt, holdUntil), { kind: "lost" });
  assert.deepEqual(recoveryOf({ ...base, lastAt: 0 }, killedAt, holdUntil), { kind: "lost" });
  assert.deepEqual(recoveryOf({ ...base, freshAt: 0 }, killedAt, holdUntil), { kind: "stale" });
  // Its longest wait ended before the kill: no resume time, the fresh time still counts.
  const early = recoveryOf({ ...base, endAt: killedAt - 500 }, killedAt, holdUntil);
  assert.equal(early.kind === "recovered" && early.resumeMs, null);
});

Deno.test("setValue: the last --set of a key wins; refusalKind drops the URL", () => {
  const args = ["--set", "cluster.leaseTtlMs=2000", "--workers", "1", "--set", "cluster.leaseTtlMs=5000"];
  assert.equal(setValue(args, "cluster.leaseTtlMs"), "5000");
  assert.equal(setValue(args, "cluster.edgeRetryMinMs"), undefined);
  assert.equal(setValue(["--set", "a.bc=1"], "a.b"), undefined);
  const url = "rtsp://127.0.0.3:18574/bench/s0";
  assert.equal(refusalKind(`ANNOUNCE ${url}: 406 Not Acceptable`, url), "ANNOUNCE URL: 406 Not Acceptable");
});

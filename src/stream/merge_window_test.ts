import assert from "node:assert/strict";
import { LOWER_FRACTION, MergeWindow, MIN_STEP_MS } from "./merge_window.ts";

function window(maxMs = 33, busyPercent = 50) {
  const limits = { maxMs, busyPercent };
  return { w: new MergeWindow(() => limits), limits };
}

Deno.test("merge window: 0 while the worker has CPU to spare", () => {
  const { w } = window();
  assert.equal(w.ms, 0);
  for (const busy of [0, 0.1, 0.3, 0.5]) {
    w.update(busy);
    assert.equal(w.ms, 0, `busy ${busy}`);
  }
});

Deno.test("merge window: doubles each update above the threshold, up to mergeWindowMs", () => {
  const { w } = window(33, 50);
  const seen: number[] = [];
  for (let i = 0; i < 7; i++) {
    w.update(0.6);
    seen.push(w.ms);
  }
  assert.deepEqual(seen, [MIN_STEP_MS, 4, 8, 16, 32, 33, 33]);
});

Deno.test("merge window: holds between the two thresholds, halves back to 0 below the lower", () => {
  const { w } = window(33, 50);
  for (let i = 0; i < 6; i++) w.update(0.9);
  assert.equal(w.ms, 33);
  // Its own lower load (the window works) does not undo it at once.
  w.update(0.5 * LOWER_FRACTION + 0.01);
  assert.equal(w.ms, 33);
  w.update(0.4);
  assert.equal(w.ms, 33);
  const seen: number[] = [];
  for (let i = 0; i < 7; i++) {
    w.update(0.1);
    seen.push(w.ms);
  }
  assert.deepEqual(seen, [16.5, 8.25, 4.125, 2.0625, 1.03125, 0, 0]);
});

Deno.test("merge window: busyPercent 0 fixes it at mergeWindowMs; 100 never merges", () => {
  const fixed = window(33, 0).w;
  assert.equal(fixed.ms, 33);
  fixed.update(0);
  assert.equal(fixed.ms, 33);
  const never = window(33, 100).w;
  for (const busy of [0.2, 0.99, 1]) never.update(busy);
  assert.equal(never.ms, 0);
});

Deno.test("merge window: no thread clock (NaN) keeps the fixed window", () => {
  const { w } = window(40, 50);
  w.update(NaN);
  assert.equal(w.ms, 40);
});

Deno.test("merge window: a reload's limits apply at the next update", () => {
  const { w, limits } = window(33, 50);
  for (let i = 0; i < 6; i++) w.update(0.8);
  assert.equal(w.ms, 33);
  limits.maxMs = 10;
  w.update(0.8);
  assert.equal(w.ms, 10);
  limits.busyPercent = 90;
  w.update(0.8);
  assert.equal(w.ms, 10, "0.8 is between 0.63 and 0.9: held");
  w.update(0.5);
  assert.equal(w.ms, 5);
});

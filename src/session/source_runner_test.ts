import assert from "node:assert/strict";
import { retryDelayMs } from "./source_runner.ts";

Deno.test("retryDelayMs() doubles from the minimum to the maximum, jittered down by up to half", () => {
  const top = () => 1;
  const bottom = () => 0;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, 1000, 30_000, top)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
  ]);
  assert.deepEqual([1, 2, 6].map((n) => retryDelayMs(n, 1000, 30_000, bottom)), [500, 1000, 15000]);
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(3, 1000, 30_000);
    assert.ok(d >= 2000 && d <= 4000);
  }
});

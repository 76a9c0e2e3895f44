import assert from "node:assert/strict";
import { RESTART_MAX_MS, RESTART_MIN_MS, RESTART_RESET_MS, RestartBackoff } from "./restart_backoff.ts";

Deno.test("RestartBackoff doubles the wait per failure in a row, up to the cap", () => {
  const b = new RestartBackoff();
  const waits = Array.from({ length: 8 }, () => b.next(100));
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(RESTART_MIN_MS, waits[0]);
  assert.equal(RESTART_MAX_MS, waits.at(-1));
  assert.equal(b.failures, 8);
});

Deno.test("RestartBackoff starts over after a worker ran long enough", () => {
  const b = new RestartBackoff();
  b.next(0);
  b.next(0);
  assert.equal(b.next(RESTART_RESET_MS - 1), 4000, "a short run is still the loop");
  assert.equal(b.next(RESTART_RESET_MS), RESTART_MIN_MS);
  assert.equal(b.failures, 1);
});

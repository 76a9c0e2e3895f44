import assert from "node:assert/strict";
import { ThreadBusy } from "./thread_busy.ts";
import { libc } from "../net/libc.ts";

// libc stays loaded for the life of the process, as in the server: load it before any test runs.
libc();

Deno.test("thread busy: a spinning thread reads busier than a sleeping one, both within 0..1", async () => {
  const b = new ThreadBusy();
  assert.ok(b.available, "the thread clock is measurable on Linux with FFI");
  const until = performance.now() + 150;
  while (performance.now() < until) { /* spin */ }
  const spinning = b.sample();
  await new Promise((r) => setTimeout(r, 150));
  const sleeping = b.sample();
  assert.ok(spinning >= 0 && spinning <= 1 && sleeping >= 0 && sleeping <= 1, `${spinning} ${sleeping}`);
  assert.ok(spinning > sleeping, `spinning ${spinning} vs sleeping ${sleeping}`);
});

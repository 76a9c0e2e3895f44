/**
 * V8 flags dm-live runs with: `deno task start`, the compiled executable (baked in by `deno task
 * compile`), the benchmark's and the tests' server processes. deno.json repeats them; keep the two
 * the same.
 *
 * --max-semi-space-size=2 (MiB): V8 grows each isolate's young generation (up to 2 x 16 MiB) with
 * allocation, and a Sender Report every 5 s per viewer is enough to get it there: at 19,000 viewers
 * that was ~5 KiB of RSS per viewer, all headroom. The data path allocates next to nothing, so a
 * small young generation costs no CPU (measured: README "Measured").
 */
export const SERVER_V8_FLAGS = "--v8-flags=--max-semi-space-size=2";

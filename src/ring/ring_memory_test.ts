import assert from "node:assert/strict";
import { canReleasePages, releasePages } from "./ring_memory.ts";

Deno.test("releasePages() zeroes a buffer's whole pages and gives back its resident memory", () => {
  if (!canReleasePages()) {
    console.log("no FFI here: releasePages() does nothing, and says so");
    assert.equal(releasePages(new SharedArrayBuffer(1 << 20)), false);
    return;
  }
  const bytes = 32 << 20;
  const sab = new SharedArrayBuffer(bytes);
  const u = new Uint8Array(sab);
  u.fill(7);
  const before = Deno.memoryUsage().rss;
  assert.equal(releasePages(sab), true);
  const after = Deno.memoryUsage().rss;
  assert.ok(before - after > bytes / 2, `resident memory fell by ${(before - after) >> 20} MiB`);
  assert.equal(u[bytes >> 1], 0, "a whole page reads as zeros");
  assert.equal(u[0] === 0 || u[0] === 7, true, "the partial first page may keep its bytes");
  u[bytes >> 1] = 3;
  assert.equal(u[bytes >> 1], 3, "and the buffer is usable again");
});

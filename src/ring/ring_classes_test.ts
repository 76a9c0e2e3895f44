import assert from "node:assert/strict";
import { RingClasses } from "./ring_classes.ts";
import { ringByteLength } from "./ring_layout.ts";

Deno.test("RingClasses: powers of two from ring.minBytes to ring.bytes, slots scaled with bytes", () => {
  const c = new RingClasses(256 * 1024, 8 << 20, 32768);
  assert.deepEqual(c.all.map((x) => [x.dataBytes >> 10, x.slotCount]), [
    [256, 1024],
    [512, 2048],
    [1024, 4096],
    [2048, 8192],
    [4096, 16384],
    [8192, 32768],
  ]);
  assert.equal(c.smallest.byteLength, ringByteLength(1024, 256 * 1024));
  assert.equal(c.largest.dataBytes, 8 << 20);
  assert.equal(c.of(1 << 20)?.slotCount, 4096);
  assert.equal(c.of(3 << 20), undefined);
});

Deno.test("RingClasses.fit(): the smallest class with room for the bytes and the packets, else the largest", () => {
  const c = new RingClasses(256 * 1024, 8 << 20, 32768);
  assert.equal(c.fit(0, 0).dataBytes, 256 * 1024);
  assert.equal(c.fit(256 * 1024 + 1, 10).dataBytes, 512 * 1024);
  assert.equal(c.fit(1000, 3000).dataBytes, 1 << 20, "small packets: the slots decide");
  assert.equal(c.fit(64 << 20, 0).dataBytes, 8 << 20);
});

Deno.test("RingClasses: a config with only ring.bytes (below ring.minBytes) keeps one class of that size", () => {
  const c = new RingClasses(256 * 1024, 131072, 32768);
  assert.deepEqual(c.all.map((x) => [x.dataBytes, x.slotCount]), [[131072, 32768]]);
  const tiny = new RingClasses(131072, 1 << 20, 64);
  assert.deepEqual(tiny.all.map((x) => x.slotCount), [16, 16, 32, 64], "at least 16 slots");
  assert.throws(() => new RingClasses(100_000, 1 << 20, 64), RangeError);
});

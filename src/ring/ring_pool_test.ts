import assert from "node:assert/strict";
import { RingClasses } from "./ring_classes.ts";
import { RingPool } from "./ring_pool.ts";
import { RingWriter } from "./ring_writer.ts";
import { SharedRing } from "./shared_ring.ts";
import { HDR } from "./ring_layout.ts";

const classes = new RingClasses(1 << 17, 1 << 19, 256);
const [c128, c256, c512] = classes.all;

const buffer = (c: typeof c128) => new SharedArrayBuffer(c.byteLength);

Deno.test("RingPool hands a buffer back only for its class, newest first, and counts", () => {
  const idle: SharedArrayBuffer[] = [];
  const pool = new RingPool(() => 10 << 20, (sab) => idle.push(sab));
  const a = buffer(c128), b = buffer(c128), c = buffer(c256);
  assert.ok(pool.put(a, c128) && pool.put(b, c128) && pool.put(c, c256));
  assert.deepEqual(idle, [a, b, c], "each buffer told as it goes idle (its pages given back)");
  assert.equal(pool.rings, 3);
  assert.equal(pool.bytes, 2 * c128.byteLength + c256.byteLength);
  assert.equal(pool.take(c512), null);
  assert.equal(pool.take(c128), b);
  assert.equal(pool.take(c128), a);
  assert.equal(pool.take(c128), null);
  assert.deepEqual(pool.classes(), [{ dataBytes: c256.dataBytes, rings: 1, bytes: c256.byteLength }]);
  assert.deepEqual(pool.counters, { reused: 2, pooled: 3, dropped: 0 });
});

Deno.test("RingPool keeps at most ring.poolBytes: the largest class goes first, a buffer larger than every pooled one is not kept", () => {
  let max = c256.byteLength + c128.byteLength;
  const pool = new RingPool(() => max);
  const first = buffer(c256), second = buffer(c128), third = buffer(c256), small = buffer(c128);
  pool.put(first, c256);
  pool.put(second, c128);
  assert.equal(
    pool.put(third, c256),
    true,
    "no room beside both: the oldest of the largest class (first) goes",
  );
  assert.equal(pool.bytes, c128.byteLength + c256.byteLength);
  assert.equal(pool.put(small, c128), true, "a small one pushes out a large one");
  assert.deepEqual(pool.classes().map((x) => [x.dataBytes, x.rings]), [[c128.dataBytes, 2]]);
  assert.equal(pool.put(buffer(c256), c256), false, "larger than every pooled one, and no room: not kept");
  assert.equal(pool.put(buffer(c512), c512), false, "larger than the whole bound");
  assert.ok(pool.bytes <= max);
  assert.equal(pool.take(c128), small);
  assert.equal(pool.take(c128), second);
  max = 0;
  assert.equal(pool.put(buffer(c128), c128), false, "0: no pool");
  assert.deepEqual(pool.counters, { reused: 2, pooled: 4, dropped: 5 });
  assert.equal(pool.rings, 0);
});

Deno.test("a ring made from a pooled buffer never shows its last stream's packets", () => {
  const pool = new RingPool(() => 10 << 20);
  // Stream A fills its ring, with a GOP start, clock and RTP state; then its ring is pooled.
  const sab = new SharedArrayBuffer(c128.byteLength);
  const a = SharedRing.init(sab, {
    slotCount: c128.slotCount,
    dataBytes: c128.dataBytes,
    trackCount: 2,
    id: 1,
  });
  const wa = new RingWriter(a);
  const p = new Uint8Array(1000).fill(0xaa);
  p[0] = 0x80;
  for (let i = 0; i < 300; i++) {
    const s = wa.append(p, 0, p.length, i % 2, i);
    if (i % 50 === 0) wa.markGopStart(s);
  }
  wa.publish();
  Atomics.store(a.header, HDR.MOVED_TO, 9);
  pool.put(sab, c128);
  // Stream B gets the buffer: empty, its own id and track count, nothing of A reachable.
  const again = pool.take(c128)!;
  assert.equal(again, sab);
  const b = SharedRing.init(again, {
    slotCount: c128.slotCount,
    dataBytes: c128.dataBytes,
    trackCount: 1,
    id: 2,
  });
  assert.deepEqual(
    [b.id, b.trackCount, b.head(), b.tail(), b.writePos(), b.gopStart(), b.movedTo(), b.ended()],
    [2, 1, 0, 0, 0, undefined, 0, false],
  );
  assert.ok(b.slots.every((w) => w === 0), "the slot index is cleared");
  // Readers take packets from TAIL to HEAD through their slots: none.
  assert.equal(b.head() - b.tail(), 0, "a reader finds nothing");
  const wb = new RingWriter(b);
  assert.equal(b.trackLastSeq(0), undefined, "no RTP-Info left from stream A");
  const q = new Uint8Array(100).fill(0xbb);
  q[0] = 0x80;
  wb.markGopStart(wb.append(q, 0, q.length, 0, 0));
  wb.publish();
  assert.deepEqual([b.tail(), b.head(), b.gopStart()], [0, 1, 0]);
  const off = b.rtpOffset(0);
  assert.equal(b.slotLen(0), 104);
  assert.ok(b.data.subarray(off + 1, off + 100).every((x) => x === 0xbb), "only B's bytes");
});

import assert from "node:assert/strict";
import { RingWriter } from "./ring_writer.ts";
import { SharedRing } from "./shared_ring.ts";
import { FRAME_HEADER_BYTES } from "./ring_layout.ts";

const DATA = 1 << 17;

function packet(n: number, fill: number): Uint8Array {
  const p = new Uint8Array(n).fill(fill);
  p[0] = 0x80;
  return p;
}

Deno.test("RingWriter.append() frames packets as `$ 2·track len` and publishes on publish()", () => {
  const ring = SharedRing.create(64, DATA, 2);
  const w = new RingWriter(ring);
  const p = packet(100, 7);
  w.append(p, 0, p.length, 1, 0);
  assert.equal(ring.head(), 0, "not visible before publish");
  w.publish();
  assert.equal(ring.head(), 1);
  const off = ring.slotOffset(0);
  assert.deepEqual([...ring.data.subarray(off, off + 4)], [0x24, 2, 0, 100]);
  assert.deepEqual(ring.data.subarray(off + 4, off + 104), p);
  assert.equal(ring.slotLen(0), 100 + FRAME_HEADER_BYTES);
  assert.equal(ring.slotTrack(0), 1);
});

Deno.test("RingWriter never splits a frame across the end of the data area", () => {
  const ring = SharedRing.create(1024, DATA, 1);
  const w = new RingWriter(ring);
  const p = packet(1000, 1);
  for (let i = 0; i < 300; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  for (let s = ring.tail(); s !== ring.head(); s++) {
    assert.ok(ring.slotOffset(s) + ring.slotLen(s) <= DATA, `packet ${s} fits`);
  }
});

Deno.test("RingWriter evicts the oldest packets before overwriting them (tail moves first)", () => {
  const ring = SharedRing.create(1024, DATA, 1);
  const w = new RingWriter(ring);
  const p = packet(1000, 1);
  const perLap = Math.floor(DATA / 1004);
  for (let i = 0; i < perLap; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  assert.equal(ring.tail(), 0);
  w.append(p, 0, p.length, 0, 0);
  w.publish();
  assert.equal(ring.tail(), 1, "packet 0's bytes were reused");
  const limit = ring.writePos() - DATA;
  assert.ok(ring.slotPos(ring.tail()) - limit >= 0, "tail packet is intact");
});

Deno.test("RingWriter evicts by index capacity when packets are small", () => {
  const ring = SharedRing.create(16, DATA, 1);
  const w = new RingWriter(ring);
  const p = packet(20, 1);
  for (let i = 0; i < 40; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  assert.equal(ring.head(), 40);
  assert.equal(ring.head() - ring.tail(), 16);
});

Deno.test("RingWriter keeps the newest GOP start and forgets it once evicted", () => {
  const ring = SharedRing.create(1024, DATA, 1);
  const w = new RingWriter(ring);
  const p = packet(1000, 1);
  const seq = w.append(p, 0, p.length, 0, 0);
  w.markGopStart(seq);
  w.publish();
  assert.equal(ring.gopStart(), 0);
  assert.ok(ring.isGopStart(0));
  for (let i = 0; i < 200; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  assert.equal(ring.gopStart(), undefined, "GOP larger than the ring");
  assert.equal(ring.header[9], 1, "GOPS_EVICTED counted");
});

Deno.test("RingWriter keeps order and eviction right across the 2^31 sequence and position wrap", () => {
  const ring = SharedRing.create(64, DATA, 1);
  const start = { seq: 0x7fffffff - 100, pos: 0x7fffffff - 50_000 };
  const w = new RingWriter(ring, start);
  const p = packet(996, 1);
  for (let i = 0; i < 400; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  const head = ring.head();
  const tail = ring.tail();
  assert.equal((head - start.seq) | 0, 400);
  assert.equal((head - tail) | 0, 64, "index capacity bounds the window");
  let s = tail;
  let runs = 0;
  while (s !== head) {
    const end = ring.runEnd(s, head, 1 << 30);
    assert.ok(((end - s) | 0) > 0);
    s = end;
    runs++;
  }
  assert.ok(runs <= 2, "at most one break, at the physical wrap");
  for (let q = tail; q !== head; q = (q + 1) | 0) {
    assert.ok(((ring.slotPos(q) - (ring.writePos() - DATA)) | 0) >= 0, `packet ${q} intact`);
  }
});

Deno.test("SharedRing.runEnd() stops at the wrap, at maxBytes, and at head", () => {
  const ring = SharedRing.create(1024, DATA, 1);
  const w = new RingWriter(ring);
  const p = packet(996, 1); // 1000 bytes framed
  for (let i = 0; i < 140; i++) w.append(p, 0, p.length, 0, 0);
  w.publish();
  const head = ring.head();
  const tail = ring.tail();
  assert.equal(ring.runEnd(tail, head, 3000), tail + 3);
  const end = ring.runEnd(tail, head, 1 << 30);
  assert.equal(ring.slotOffset(end), 0, "run ends where the writer jumped back to offset 0");
  assert.equal(ring.runEnd(end, head, 1 << 30), head);
});

Deno.test("a reader in another worker sees every packet intact and in order", async () => {
  const ring = SharedRing.create(4096, 1 << 20, 1);
  const w = new RingWriter(ring);
  const worker = new Worker(new URL("./testdata/ring_reader_worker.ts", import.meta.url), { type: "module" });
  const messages: unknown[] = [];
  let notify = () => {};
  worker.onmessage = (e) => {
    messages.push(e.data);
    notify();
  };
  const next = () =>
    new Promise<unknown>((r) => {
      if (messages.length > 0) return r(messages.shift());
      notify = () => r(messages.shift());
    });
  worker.postMessage({ sab: ring.sab });
  assert.equal(await next(), "ready");
  const buf = new Uint8Array(1500);
  for (let i = 0; i < 5000; i++) {
    const n = 100 + (i % 1200);
    buf[0] = 0x80;
    buf[2] = (i >> 8) & 0xff;
    buf[3] = i & 0xff;
    buf.fill(i & 0xff, 12, n);
    w.append(buf, 0, n, 0, 0);
    if (i % 7 === 0) w.publish();
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  w.end();
  const r = await next() as { count: number; errors: number };
  worker.terminate();
  assert.deepEqual(r, { count: 5000, errors: 0 });
});

Deno.test("RingWriter.resume() goes on where another writer stopped, keeping its packets and GOP start", () => {
  const ring = SharedRing.create(16, 1 << 17, 2);
  const first = new RingWriter(ring);
  const p = new Uint8Array(200).fill(7);
  for (let i = 0; i < 20; i++) {
    const seq = first.append(p, 0, p.length, i % 2, i);
    if (i === 10) first.markGopStart(seq);
  }
  first.publish();
  const before = { head: ring.head(), tail: ring.tail(), pos: ring.writePos(), gop: ring.gopStart() };
  assert.equal(before.gop, 10);
  const next = RingWriter.resume(ring);
  assert.equal(next.nextSeq, before.head);
  assert.deepEqual(
    { head: ring.head(), tail: ring.tail(), pos: ring.writePos(), gop: ring.gopStart() },
    before,
  );
  // 16 slots: one more packet evicts the oldest, as the first writer would have.
  assert.equal(next.append(p, 0, p.length, 0, 20), 20);
  next.publish();
  assert.equal(ring.head(), 21);
  assert.equal(ring.tail(), 21 - 16);
  assert.equal(ring.writePos(), before.pos + 204);
  assert.equal(ring.gopStart(), 10, "the GOP start survives the handover");
});

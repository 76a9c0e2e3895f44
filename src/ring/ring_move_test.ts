import assert from "node:assert/strict";
import { CLOCK_SOURCE_SERVER, HDR } from "./ring_layout.ts";
import { RingReader } from "./ring_reader.ts";
import { RingWriter } from "./ring_writer.ts";
import { SharedRing } from "./shared_ring.ts";
import { newClockMapping, readClockMapping, writeClockMapping } from "./track_clock.ts";
import { TestChain } from "./testdata/ring_chain.ts";
import { type MovingReadResult, readMovingStream } from "./testdata/ring_moving_reader.ts";

const POLICY = { skipLagPercent: 50, dropLagPercent: 75 };

/** Packet i: i in its RTP timestamp field and its last byte. */
function packet(i: number, n = 500): Uint8Array {
  const p = new Uint8Array(n).fill(i & 0xff);
  p[0] = 0x80;
  new DataView(p.buffer).setUint32(4, i);
  return p;
}

/** The index a packet carries. */
function indexAt(ring: SharedRing, seq: number): number {
  return new DataView(ring.data.buffer, ring.data.byteOffset).getUint32(ring.rtpOffset(seq) + 4);
}

function counters() {
  return { skips: 0, skippedPackets: 0, drops: 0 };
}

/** Takes every packet the reader has, in its ring of the moment; returns their indexes. */
function drain(r: RingReader): number[] {
  const out: number[] = [];
  while (r.ready()) {
    for (let s = r.pos; s !== r.head; s = (s + 1) | 0) {
      assert.ok(r.intact(s), `packet ${s} intact`);
      out.push(indexAt(r.ring, s));
    }
    r.advance(r.head);
  }
  return out;
}

Deno.test("RingWriter.offer(): the move copies from the newest GOP start, and a reader goes on at the same sequence", () => {
  const small = SharedRing.create(64, 1 << 17, 2, 1);
  const big = SharedRing.create(256, 1 << 18, 2, 2);
  const chain = new TestChain([small.sab, big.sab]);
  const w = new RingWriter(small);
  let i = 0;
  const add = (n: number, gopAt = -1) => {
    for (let k = 0; k < n; k++, i++) {
      const s = w.append(packet(i), 0, 500, i % 2, i);
      if (k === gopAt) w.markGopStart(s);
    }
  };
  add(10, 2);
  w.publish();
  writeClockMapping(small.header, 1, 11, 22, 33, CLOCK_SOURCE_SERVER);
  const r = new RingReader(chain.rings.get(1)!, POLICY, counters(), chain);
  assert.deepEqual(drain(r), [2, 3, 4, 5, 6, 7, 8, 9], "starts at the GOP start");
  add(5);
  w.publish();
  const moved: number[] = [];
  w.onMove = (from, to) => moved.push(from.id, to.id);
  w.offer(big);
  assert.equal(w.offered, big);
  w.publish();
  assert.equal(w.ring, small, "no move without new packets");
  add(3);
  w.publish();
  assert.deepEqual(moved, [1, 2]);
  assert.equal(w.ring, big);
  assert.equal(w.offered, null);
  assert.equal(small.movedTo(), 2, "the old ring says where the stream went");
  assert.equal(small.head(), 18, "and has every packet appended");
  assert.equal(big.tail(), 2, "the new ring starts at the GOP start");
  assert.equal(big.head(), 18);
  assert.equal(big.gopStart(), 2);
  assert.ok(big.writePos() - small.writePos() >= 0, "byte positions go on");
  const m = newClockMapping();
  assert.ok(readClockMapping(big.header, 1, m), "the clock mapping moved along");
  assert.deepEqual([m.ntpSeconds, m.ntpFraction, m.rtpTimestamp], [11, 22, 33]);
  assert.equal(big.trackLastSeq(1), small.trackLastSeq(1));
  for (let s = 2; s < 18; s++) {
    assert.equal(indexAt(big, s), s, `packet ${s} copied`);
    assert.equal(big.slotTrack(s), s % 2);
    assert.equal(big.slotTime(s), s);
  }
  // The reader takes what is left of the old ring, then goes on in the new one.
  assert.deepEqual(chain.holds.get(1), 1);
  const got = drain(r);
  assert.deepEqual(got, [10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(r.ring.id, 2);
  assert.equal(r.moves, 1);
  assert.deepEqual([...chain.holds], [[2, 1]], "the old ring is let go, the new one held");
  add(4);
  w.publish();
  assert.deepEqual(drain(r), [18, 19, 20, 21]);
  // A new reader starts in the new ring at the GOP start it kept.
  const late = new RingReader(big, POLICY, counters(), chain);
  assert.equal(late.pos, 2);
  late.close();
  r.close();
  assert.equal(chain.holds.size, 0);
});

Deno.test("RingReader: a head read before the writer's last publish and its move does not skip that publish", () => {
  const small = SharedRing.create(64, 1 << 17, 1, 1);
  const big = SharedRing.create(256, 1 << 18, 1, 2);
  const chain = new TestChain([small.sab, big.sab]);
  const w = new RingWriter(small);
  let i = 0;
  const add = (n: number, gopAt = -1) => {
    for (let k = 0; k < n; k++, i++) {
      const s = w.append(packet(i), 0, 500, 0, i);
      if (k === gopAt) w.markGopStart(s);
    }
    w.publish();
  };
  add(10, 0);
  const old = chain.rings.get(1)!;
  const r = new RingReader(old, POLICY, counters(), chain);
  assert.deepEqual(drain(r), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The reader reads HEAD (10) ...
  const stale = old.head();
  // ... then the writer publishes 10-14 (a GOP starting at 12) and moves: the copy starts at 12.
  add(5, 2);
  w.offer(big);
  add(1);
  assert.equal(w.ring, big);
  assert.equal(big.tail(), 12);
  // The reader's first head read is the stale one, as if it had been read before the publish.
  let first = true;
  const head = old.head.bind(old);
  old.head = () => first ? (first = false, stale) : head();
  assert.deepEqual(drain(r), [10, 11, 12, 13, 14, 15], "10 and 11 from the old ring, then on in the new one");
  assert.equal(r.skips, 0);
  assert.equal(r.ring.id, 2);
  r.close();
});

Deno.test("RingWriter moves to a smaller ring only once the copy takes at most half of it", () => {
  const big = SharedRing.create(1024, 1 << 19, 1, 1);
  const small = SharedRing.create(256, 1 << 17, 1, 2);
  const w = new RingWriter(big);
  let i = 0;
  const frame = (n: number, key: boolean) => {
    for (let k = 0; k < n; k++, i++) {
      const s = w.append(packet(i, 1000), 0, 1000, 0, 0);
      if (key && k === 0) w.markGopStart(s);
    }
    w.publish();
  };
  frame(80, true); // 80 KB since the GOP start: more than half of 128 KiB
  w.offer(small);
  frame(2, false);
  assert.equal(w.ring, big, "the GOP so far does not fit in half the small ring");
  frame(5, true); // a new GOP: 5 KB to copy
  assert.equal(w.ring, small);
  assert.equal(small.tail(), 82, "from the last published head (older than the new GOP start)");
  assert.equal(small.gopStart(), 82);
});

Deno.test("RingWriter: a move copies from a pinned sequence (parameter sets) so a later mark finds it", () => {
  const a = SharedRing.create(64, 1 << 17, 1, 1);
  const b = SharedRing.create(64, 1 << 17, 1, 2);
  const w = new RingWriter(a);
  let i = 0;
  const one = () => w.append(packet(i++), 0, 500, 0, 0);
  w.markGopStart(one());
  for (let k = 0; k < 200; k++) one(); // evicts the GOP start: the ring has none now
  w.publish();
  assert.equal(a.gopStart(), undefined);
  const params = one();
  w.pin(params);
  w.publish(); // the parameter sets published alone
  w.offer(b);
  const key = one();
  w.publish();
  assert.equal(w.ring, b);
  assert.equal(b.tail(), params, "the copy starts at the pinned parameter sets");
  w.markGopStart(key);
  w.markGopStart(params);
  w.pin(null);
  w.publish();
  assert.equal(b.gopStart(), params, "the GOP starts at them in the new ring");
  assert.ok(b.isGopStart(params) && b.isGopStart(key));
});

Deno.test("RingReader keeps a ring it lent memory of until the write settles, then lets it go", () => {
  const a = SharedRing.create(64, 1 << 17, 1, 1);
  const b = SharedRing.create(64, 1 << 17, 1, 2);
  const chain = new TestChain([a.sab, b.sab]);
  const w = new RingWriter(a);
  w.markGopStart(w.append(packet(0), 0, 500, 0, 0));
  w.publish();
  const r = new RingReader(chain.rings.get(1)!, POLICY, counters(), chain);
  assert.deepEqual(drain(r), [0]);
  w.offer(b);
  w.append(packet(1), 0, 500, 0, 0);
  w.publish();
  // The old ring's last packet, lent to a write that does not finish at once.
  assert.ok(r.ready());
  assert.equal(r.ring.id, 1);
  r.borrow(r.pos);
  r.advance(r.head);
  w.append(packet(2), 0, 500, 0, 0);
  w.publish();
  assert.ok(r.ready(), "on in the next ring");
  assert.equal(r.ring.id, 2);
  assert.deepEqual([...chain.holds].sort(), [[1, 1], [2, 1]], "both held while the write is under way");
  assert.equal(r.safe(b.writePos()), true);
  r.release();
  assert.deepEqual([...chain.holds], [[2, 1]]);
  r.close();
  r.close();
  assert.equal(chain.holds.size, 0, "close() is idempotent");
});

Deno.test("RingReader waits at a moved ring's head until its worker has the next ring", () => {
  const a = SharedRing.create(64, 1 << 17, 1, 1);
  const b = SharedRing.create(64, 1 << 17, 1, 2);
  const chain = new TestChain([a.sab]);
  const w = new RingWriter(a);
  w.markGopStart(w.append(packet(0), 0, 500, 0, 0));
  w.publish();
  const r = new RingReader(chain.rings.get(1)!, POLICY, counters(), chain);
  assert.deepEqual(drain(r), [0]);
  w.offer(b);
  w.append(packet(1), 0, 500, 0, 0);
  w.publish();
  assert.deepEqual(drain(r), [1], "the old ring has every packet appended before the move");
  assert.equal(Atomics.load(a.header, HDR.MOVED_TO), 2);
  assert.equal(r.ready(), false, "at its head, without the next ring");
  assert.equal(r.ring.id, 1);
  chain.add(b.sab);
  w.append(packet(2), 0, 500, 0, 0);
  w.publish();
  assert.deepEqual(drain(r), [2], "then goes on at the same sequence");
  assert.equal(r.ring.id, 2);
});

Deno.test("moves across the 2^31 sequence and position wrap keep every packet once, in order", () => {
  // Each ring once (a ring moved off is pooled, never offered again): small, large, small, ...
  const rings = [1, 2, 3, 4, 5].map((id) =>
    SharedRing.create(id % 2 === 0 ? 128 : 64, id % 2 === 0 ? 1 << 18 : 1 << 17, 1, id)
  );
  const chain = new TestChain(rings.map((r) => r.sab));
  const w = new RingWriter(rings[0], { seq: 0x7fffffff - 30, pos: 0x7fffffff - 40_000 });
  const r = new RingReader(chain.rings.get(1)!, POLICY, counters(), chain);
  const got: number[] = [];
  let i = 0;
  for (let gop = 0; gop < 12; gop++) {
    if (gop % 3 === 2) w.offer(rings[Math.floor(gop / 3) + 1]);
    for (let k = 0; k < 20; k++, i++) {
      const s = w.append(packet(i, 200 + (i % 7) * 100), 0, 200 + (i % 7) * 100, 0, 0);
      if (k === 0) w.markGopStart(s);
      if (k % 4 === 3) {
        w.publish();
        got.push(...drain(r));
      }
    }
  }
  assert.ok(w.moves >= 3, `${w.moves} moves`);
  assert.deepEqual(got, got.map((_, k) => got[0] + k), "every packet once, in order");
  assert.equal(got[got.length - 1], i - 1);
});

Deno.test("a writer in a Worker moving its stream through 40 rings: readers in two threads get every packet once, in order", async () => {
  // Rings of two sizes, alternately; none is written past its size, so no reader is ever lapped.
  const sabs = Array.from(
    { length: 40 },
    (_, k) => SharedRing.create(k % 2 ? 512 : 256, k % 2 ? 1 << 18 : 1 << 17, 2, k + 1).sab,
  );
  const packets = 40 * 100;
  const reader = new Worker(new URL("./testdata/ring_moving_reader_worker.ts", import.meta.url), {
    type: "module",
  });
  const writer = new Worker(new URL("./testdata/ring_moving_writer_worker.ts", import.meta.url), {
    type: "module",
  });
  const readerDone = new Promise<MovingReadResult>((resolve) => {
    reader.onmessage = (e) => {
      if (e.data === "ready") writer.postMessage({ sabs, packets, gop: 20, batch: 3, perRing: 100 });
      else resolve(e.data);
    };
  });
  const writerDone = new Promise<{ moves: number }>((resolve) => writer.onmessage = (e) => resolve(e.data));
  const here = readMovingStream(sabs);
  reader.postMessage({ sabs });
  const [w, there, mine] = await Promise.all([writerDone, readerDone, here]);
  reader.terminate();
  writer.terminate();
  assert.equal(w.moves, 39);
  for (const r of [there, mine]) {
    assert.deepEqual(r, { count: packets, errors: 0, moves: 39, held: 0 });
  }
});

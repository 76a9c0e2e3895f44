import assert from "node:assert/strict";
import { HDR } from "./ring_layout.ts";
import { RingReader } from "./ring_reader.ts";
import { RingWriter } from "./ring_writer.ts";
import { SharedRing } from "./shared_ring.ts";

const DATA = 1 << 17;
const POLICY = { skipLagPercent: 50, dropLagPercent: 75 };

function packet(i: number, n = 200): Uint8Array {
  const p = new Uint8Array(n).fill(i & 0xff);
  p[0] = 0x80;
  new DataView(p.buffer).setUint32(4, i);
  return p;
}

/** The index a packet carries (the writer puts it in the RTP timestamp field). */
function indexAt(ring: SharedRing, seq: number): number {
  const o = ring.rtpOffset(seq);
  return new DataView(ring.data.buffer, ring.data.byteOffset).getUint32(o + 4);
}

Deno.test("RingReader starts at the newest GOP start, else waits for the next one", () => {
  const ring = SharedRing.create(1024, DATA, 2);
  const w = new RingWriter(ring);
  w.append(packet(0), 0, 200, 0, 0);
  w.publish();
  const r = new RingReader(ring, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  assert.equal(r.waitingForKey, true);
  assert.equal(r.ready(), false, "no GOP start yet");
  const s = w.append(packet(1), 0, 200, 0, 0);
  w.markGopStart(s);
  w.append(packet(2), 0, 200, 1, 0);
  w.publish();
  assert.equal(r.ready(), true);
  assert.equal(r.pos, s, "moved to the GOP start");
  assert.equal(r.head, s + 2);
  assert.equal(r.firstOf(1), s + 1);
  const late = new RingReader(ring, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  assert.equal(late.pos, s, "a new reader starts at the newest GOP start");
  assert.equal(late.waitingForKey, false);
});

Deno.test("RingReader skips when lapped or too far behind, to the newest GOP start or the next", () => {
  const ring = SharedRing.create(4096, DATA, 1);
  const w = new RingWriter(ring);
  const counters = { skips: 0, skippedPackets: 0, drops: 0 };
  let i = 0;
  const add = (n: number, gopAt = -1) => {
    for (let k = 0; k < n; k++, i++) {
      const s = w.append(packet(i, 1000), 0, 1000, 0, 0);
      if (k === gopAt) w.markGopStart(s);
    }
    w.publish();
  };
  add(1, 0);
  const r = new RingReader(ring, POLICY, counters);
  assert.ok(r.ready());
  r.advance(r.head);
  add(80, 70); // ~62% of the ring behind: past skipLag, a GOP start ahead
  assert.ok(r.ready());
  assert.equal(counters.skips, 1);
  assert.match(r.lastSkip!, /too far behind: skipped to the newest keyframe/);
  assert.equal(indexAt(ring, r.pos), 71);
  assert.equal(r.skippedPackets, 70);
  r.advance(r.head);
  add(200); // laps the reader, no GOP start after it
  assert.equal(r.ready(), false, "waits for the next keyframe");
  assert.match(r.lastSkip!, /lapped by the ring: waiting for the next keyframe/);
  assert.equal(counters.skips, 2);
  add(3, 1);
  assert.ok(r.ready());
  assert.equal(indexAt(ring, r.pos), i - 2, "starts at the GOP start");
});

Deno.test("RingReader with a writer in another Worker: every packet taken is intact, in order, and restarts at GOP starts", async () => {
  const ring = SharedRing.create(1 << 12, 1 << 18, 2);
  const packets = 60_000;
  const gop = 50;
  const worker = new Worker(new URL("./testdata/ring_writer_worker.ts", import.meta.url), { type: "module" });
  const done = new Promise<void>((resolve) => worker.onmessage = () => resolve());
  const counters = { skips: 0, skippedPackets: 0, drops: 0 };
  const policy = { skipLagPercent: 50, dropLagPercent: 75 };
  const skipLagBytes = (1 << 18) / 2;
  let r: RingReader | null = null;
  let prev = -1;
  let skipsSeen = 0;
  let taken = 0;
  let restarts = 0;
  let runs = 0;
  const copy = new Uint8Array(1 << 16);
  const view = new DataView(copy.buffer);
  worker.postMessage({ sab: ring.sab, packets, gop, batch: 7, minBytes: 40, maxBytes: 1400 });
  for (;;) {
    const head = Atomics.load(ring.header, HDR.HEAD);
    if (r === null && head > 0) r = new RingReader(ring, policy, counters);
    while (r !== null && r.ready()) {
      const from = r.pos;
      const to = r.head;
      // Copy the run first (as a TCP viewer's copy path does), then check it was intact.
      let n = 0;
      const starts: number[] = [];
      for (let s = from; s !== to && n < copy.length - 1500; s = (s + 1) | 0) {
        const off = ring.slotOffset(s);
        const len = ring.slotLen(s);
        copy.set(ring.data.subarray(off, off + len), n);
        starts.push(n);
        n += len;
      }
      const end = (from + starts.length) | 0;
      r.advance(end);
      if (!r.intact(from)) {
        r.rewind(from);
        continue;
      }
      const fresh = r.skips !== skipsSeen || prev < 0;
      skipsSeen = r.skips;
      for (let k = 0; k < starts.length; k++) {
        const o = starts[k];
        const len = ((copy[o + 2] << 8) | copy[o + 3]) + 4;
        const idx = view.getUint32(o + 8);
        assert.equal(copy[o], 0x24, "a frame starts with $");
        assert.equal(copy[o + 1], (idx % 2) << 1, "its channel is its track's");
        assert.equal(copy[o + len - 1], idx & 0xff, `packet ${idx} intact to its last byte`);
        if (k === 0 && fresh) {
          assert.equal(idx % gop, 0, `after a start or skip, packet ${idx} is a GOP start`);
          assert.ok(idx > prev, "never back in time");
          restarts++;
        } else {
          assert.equal(idx, prev + 1, "in order, nothing left out without a skip");
        }
        prev = idx;
        taken++;
      }
      // Now and then a reader that stalls until the writer is past its skip lag (or done), so the
      // lag and lapping rules run whatever the machine's speed.
      if (++runs % 40 === 0) {
        const at = ring.slotPos(r.pos);
        while (!ring.ended() && ((ring.writePos() - at) | 0) <= skipLagBytes) {
          Atomics.wait(ring.header, HDR.HEAD, Atomics.load(ring.header, HDR.HEAD), 5);
        }
      }
    }
    if (ring.ended() && (r === null || r.pos === ring.head())) break;
    const w = Atomics.waitAsync(ring.header, HDR.HEAD, head, 100);
    if (w.async) await w.value;
  }
  await done;
  worker.terminate();
  assert.ok(taken > 0 && prev <= packets - 1);
  assert.ok(counters.skips > 0, "the stalls made the reader skip");
  // One ready() may skip twice (too far behind, then lapped) before the reader takes a packet.
  assert.ok(restarts >= 2 && restarts <= counters.skips + 1, `${restarts} restarts, ${counters.skips} skips`);
  assert.equal(counters.drops, 0);
});

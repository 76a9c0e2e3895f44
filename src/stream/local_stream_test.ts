import assert from "node:assert/strict";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { AV_SDP } from "../sdp/testdata/av_sdp.ts";
import { LocalStream, type StreamSubscriber } from "./local_stream.ts";

function stream(mergeWindowMs = 0, maxMs = 33) {
  const ring = SharedRing.create(64, 1 << 17, 2);
  const writer = new RingWriter(ring);
  const local = new LocalStream({
    streamId: 1,
    path: "p",
    sdp: AV_SDP,
    sab: ring.sab,
    worker: 0,
    sessionId: "s",
  }, { ms: mergeWindowMs, maxMs });
  return { ring, writer, local };
}

class Viewer implements StreamSubscriber {
  streamSlot = -1;
  wakes = 0;
  constructor(readonly busyMs = 0, readonly perPacket = false) {}
  wake(): void {
    this.wakes++;
    const until = performance.now() + this.busyMs;
    while (performance.now() < until) { /* a slow socket write */ }
  }
  streamEnded(): void {}
}

const publish = (w: RingWriter) => {
  const p = new Uint8Array(12);
  p[0] = 0x80;
  w.append(p, 0, p.length, 0, 0);
  w.publish();
};

Deno.test("LocalStream wakes every viewer once per publish; unsubscribing keeps the others", async () => {
  const { writer, local } = stream();
  const vs = Array.from({ length: 5 }, () => new Viewer());
  for (const v of vs) local.subscribe(v);
  local.unsubscribe(vs[1]);
  assert.equal(local.viewerCount, 4);
  assert.equal(vs[1].streamSlot, -1);
  publish(writer);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(vs.map((v) => v.wakes), [1, 0, 1, 1, 1]);
  local.end();
  assert.equal(local.viewerCount, 0);
});

Deno.test("LocalStream lets the event loop in during a long pass, and still wakes every viewer", async () => {
  const { writer, local } = stream();
  // 640 viewers of 0.05 ms: a 32 ms pass, sliced every ~4 ms.
  const vs = Array.from({ length: 640 }, () => new Viewer(0.05));
  for (const v of vs) local.subscribe(v);
  let timerRanMidPass = false;
  publish(writer);
  await new Promise((r) => setTimeout(r, 0)); // the watch's wake starts the pass
  setTimeout(() => timerRanMidPass = vs.some((v) => v.wakes === 0) && vs.some((v) => v.wakes === 1), 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(timerRanMidPass, "a timer ran between slices of the pass");
  assert.ok(vs.every((v) => v.wakes === 1), "every viewer woken once");
  local.end();
});

Deno.test("LocalStream: after a long pass the next waits as long; with UDP viewers at most mergeWindowMs", async () => {
  for (const [maxMs, perPacket, waits] of [[0, true, false], [1000, true, true], [0, false, true]] as const) {
    const { writer, local } = stream(0, maxMs);
    // One viewer whose write takes 100 ms: a 100 ms pass.
    const v = new Viewer(100, perPacket);
    local.subscribe(v);
    publish(writer);
    while (v.wakes < 1) await new Promise((r) => setTimeout(r, 5));
    // The second publish right after the first pass. A timer set now fires after the pass it
    // would start at once (the pass holds the thread), and before one that waits.
    let timerFirst = false;
    publish(writer);
    setTimeout(() => timerFirst = v.wakes < 2, 50);
    while (v.wakes < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(
      timerFirst,
      waits,
      `mergeWindowMs ${maxMs}, per packet ${perPacket}: ${timerFirst ? "waited" : "passed at once"}`,
    );
    local.end();
  }
});

/**
 * A stream on ring 1 whose writer has published a GOP start, a reader there, and ring 2 made for a
 * move (not added yet); afterSlice and onRingFree are the LocalStream's.
 */
function streamToMove(afterSlice: () => void, onRingFree: (id: number) => void) {
  const a = SharedRing.create(64, 1 << 17, 2, 1);
  const b = SharedRing.create(64, 1 << 17, 2, 2);
  const writer = new RingWriter(a);
  const local = new LocalStream(
    { streamId: 1, path: "p", sdp: AV_SDP, sab: a.sab, worker: 0, sessionId: "s" },
    { ms: 0, maxMs: 33 },
    afterSlice,
    () => {},
    onRingFree,
  );
  const key = new Uint8Array(12);
  key[0] = 0x80;
  writer.markGopStart(writer.append(key, 0, key.length, 0, 0));
  writer.publish();
  const reader = local.newReader({ skipLagPercent: 50, dropLagPercent: 75 }, {
    skips: 0,
    skippedPackets: 0,
    drops: 0,
  });
  return { b, writer, local, reader };
}

Deno.test("LocalStream follows its stream's moves and gives a ring back once it is retired and no reader is on it", () => {
  const freed: number[] = [];
  const { b, writer, local, reader } = streamToMove(() => {}, (id) => freed.push(id));
  assert.equal(local.addRing(b.sab), 2);
  writer.offer(b);
  publish(writer);
  // main.ts's ringRetired (or a wake) makes the stream follow the move; a reader is still on ring 1.
  local.retireRing(1);
  assert.equal(local.ring.id, 2);
  assert.deepEqual(freed, []);
  while (reader.ready()) reader.advance(reader.head);
  assert.equal(reader.ring.id, 2, "the reader went on in ring 2");
  assert.deepEqual(freed, [1], "ring 1 is given back once its last reader left it");
  local.end();
  assert.deepEqual(freed, [1], "ring 2 is held by the reader");
  reader.close();
  assert.deepEqual(freed, [1, 2]);
  assert.throws(() =>
    local.newReader({ skipLagPercent: 50, dropLagPercent: 75 }, { skips: 0, skippedPackets: 0, drops: 0 })
  );
});

Deno.test("LocalStream: a ring its viewers leave during a pass is given back only after the slice's batches are sent", async () => {
  const events: string[] = [];
  const { b, writer, local, reader } = streamToMove(
    () => events.push("batches sent"),
    (id) => events.push(`ring ${id} freed`),
  );
  // A UDP viewer: queues what it reads (datagrams sent at the slice's end), moving on as it goes.
  const viewer: StreamSubscriber = {
    streamSlot: -1,
    wake() {
      while (reader.ready()) {
        events.push(`queued from ring ${reader.ring.id}`);
        reader.advance(reader.head);
      }
    },
    streamEnded() {},
  };
  local.subscribe(viewer);
  local.addRing(b.sab);
  writer.offer(b);
  publish(writer);
  local.retireRing(1);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(reader.ring.id, 2, "the viewer went on in ring 2 during the pass");
  assert.deepEqual(events, ["queued from ring 1", "batches sent", "ring 1 freed"]);
  local.unsubscribe(viewer);
  reader.close();
  local.end();
});

Deno.test("LocalStream: a ring added for a move that never happens is given back when the stream ends", () => {
  const a = SharedRing.create(64, 1 << 17, 2, 1);
  const freed: number[] = [];
  const local = new LocalStream(
    { streamId: 1, path: "p", sdp: AV_SDP, sab: a.sab, worker: 0, sessionId: "s" },
    { ms: 0, maxMs: 33 },
    () => {},
    () => {},
    (id) => freed.push(id),
  );
  local.addRing(SharedRing.create(64, 1 << 17, 2, 5).sab);
  local.retireRing(5);
  assert.deepEqual(freed, [5], "retired unused: back at once");
  local.addRing(SharedRing.create(64, 1 << 17, 2, 6).sab);
  local.end();
  assert.deepEqual(freed.sort(), [1, 5, 6]);
  assert.equal(local.addRing(SharedRing.create(64, 1 << 17, 2, 7).sab), 7);
  assert.deepEqual(freed.sort(), [1, 5, 6, 7], "after the end: back at once");
});

Deno.test("LocalStream counts its worker once on the ring while it has prompt viewers; late-tolerant ones do not count; the count follows moves", () => {
  const { b, writer, local, reader } = streamToMove(() => {}, () => {});
  const a = local.ring;
  const other = new LocalStream(
    { streamId: 1, path: "p", sdp: AV_SDP, sab: a.sab, worker: 0, sessionId: "s" },
    { ms: 0, maxMs: 33 },
  );
  const tap = Object.assign(new Viewer(), { prompt: false });
  local.subscribe(tap);
  assert.equal(a.promptReaders(), 0, "an HLS or recording tap does not count");
  const v1 = new Viewer();
  const v2 = new Viewer();
  local.subscribe(v1);
  local.subscribe(v2);
  assert.equal(a.promptReaders(), 1, "one worker, however many viewers");
  assert.equal(local.promptViewers, 2);
  const w = new Viewer();
  other.subscribe(w);
  assert.equal(a.promptReaders(), 2, "another worker's viewers");
  local.unsubscribe(v1);
  assert.equal(a.promptReaders(), 2);
  local.unsubscribe(v2);
  assert.equal(a.promptReaders(), 1, "this worker's last prompt viewer left; the tap stays");
  local.subscribe(v1);

  // The writer moves to ring b: each worker's count moves when that worker follows.
  local.addRing(b.sab);
  other.addRing(b.sab);
  writer.offer(b);
  publish(writer);
  local.retireRing(1);
  assert.equal(a.promptReaders(), 1, "the other worker has not followed yet");
  assert.equal(b.promptReaders(), 1);
  other.retireRing(1);
  assert.equal(a.promptReaders(), 0);
  assert.equal(b.promptReaders(), 2);

  other.unsubscribe(w);
  assert.equal(b.promptReaders(), 1);
  local.end();
  assert.equal(b.promptReaders(), 0, "an ended stream's viewers are gone");
  assert.equal(local.promptViewers, 0);
  reader.close();
});

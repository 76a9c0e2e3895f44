import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import type { MainToWorker } from "./messages.ts";
import { RingDirectory } from "./ring_directory.ts";

const SETTINGS = { bytes: 1 << 20, slots: 1024, minBytes: 1 << 18, poolBytes: 8 << 20 };

function setup(workers = [0, 1, 2], settings = SETTINGS) {
  const sent: [number, MainToWorker][] = [];
  const idle: SharedArrayBuffer[] = [];
  const live = new Set(workers);
  const dir = new RingDirectory(
    settings,
    (w, m) => sent.push([w, m]),
    () => live,
    new Logger("error"),
    (s) => idle.push(s),
  );
  const of = (type: MainToWorker["type"]) => sent.filter(([, m]) => m.type === type);
  return { dir, sent, idle, live, of };
}

/** Makes `writer` move to the ring of grant `g` (what a feed does with an offer). */
function moveTo(writer: RingWriter, sab: SharedArrayBuffer): void {
  writer.offer(new SharedRing(sab));
  const p = new Uint8Array(100);
  p[0] = 0x80;
  writer.markGopStart(writer.append(p, 0, p.length, 0, 0));
  writer.publish();
}

Deno.test("RingDirectory: a stream starts in the smallest class; a ring for a move is granted once every worker has it", () => {
  const { dir, of } = setup();
  const sab = dir.first(7, 2);
  const first = new SharedRing(sab);
  assert.deepEqual([first.dataBytes, first.slotCount, first.trackCount], [1 << 18, 256, 2]);
  assert.ok(first.id > 0);
  dir.request(0, 1, 7, 1 << 19);
  const added = of("ringAdded");
  assert.deepEqual(added.map(([w]) => w), [0, 1, 2], "every worker is told of the new ring");
  const next = new SharedRing((added[0][1] as Extract<MainToWorker, { type: "ringAdded" }>).sab);
  assert.deepEqual([next.dataBytes, next.slotCount, next.trackCount, next.head()], [1 << 19, 512, 2, 0]);
  dir.ack(0, next.id);
  dir.ack(2, next.id);
  assert.equal(of("ringGrant").length, 0, "not before worker 1 has it");
  dir.ack(1, next.id);
  assert.deepEqual(of("ringGrant").map(([w, m]) => [w, m.type === "ringGrant" && m.ok]), [[0, true]]);
  assert.equal(dir.report().liveRings, 2);
  assert.equal(dir.report().liveBytes, first.sab.byteLength + next.sab.byteLength);
  dir.request(0, 2, 7, 3 << 18);
  dir.request(0, 3, 99, 1 << 19);
  assert.deepEqual(
    of("ringGrant").slice(1).map(([, m]) => m.type === "ringGrant" && m.ok),
    [false, false],
    "no such class, no such stream",
  );
});

Deno.test("RingDirectory: the ring a stream moved off is retired, and pooled once every worker released it", () => {
  const { dir, of, idle } = setup();
  const first = new SharedRing(dir.first(7, 1));
  dir.request(0, 1, 7, 1 << 19);
  const sab = (of("ringAdded")[0][1] as Extract<MainToWorker, { type: "ringAdded" }>).sab;
  for (const w of [0, 1, 2]) dir.ack(w, new SharedRing(sab).id);
  const writer = new RingWriter(first);
  moveTo(writer, sab);
  assert.equal(first.movedTo(), new SharedRing(sab).id);
  // main.ts follows the move from the ring itself, even before the writer's ringMoved arrives.
  assert.equal(dir.current(7), sab);
  assert.deepEqual(of("ringRetired").map(([w]) => w), [0, 1, 2]);
  dir.moved(7, new SharedRing(sab).id); // the message, late: nothing more
  assert.equal(of("ringRetired").length, 3);
  assert.deepEqual([dir.report().retiredRings, dir.report().moves], [1, 1]);
  dir.released(0, first.id);
  dir.released(2, first.id);
  assert.equal(dir.report().poolRings, 0, "worker 1 still has a reader on it");
  dir.released(1, first.id);
  assert.deepEqual([dir.report().retiredRings, dir.report().poolRings], [0, 1]);
  assert.deepEqual(idle, [first.sab], "its pages given back as it was pooled");
  // The next stream's first ring is that buffer, cleared, with a new id.
  const again = new SharedRing(dir.first(8, 2));
  assert.equal(again.sab, first.sab);
  assert.ok(again.id !== first.id);
  assert.deepEqual([again.head(), again.movedTo(), again.trackCount], [0, 0, 2]);
  assert.deepEqual([dir.report().reused, dir.report().allocated], [1, 2]);
});

Deno.test("RingDirectory: an ended stream's rings are marked ended, and pooled as workers release them", () => {
  const { dir, of } = setup([0, 1]);
  const first = new SharedRing(dir.first(7, 1));
  dir.request(1, 1, 7, 1 << 19);
  const pending = new SharedRing((of("ringAdded")[0][1] as Extract<MainToWorker, { type: "ringAdded" }>).sab);
  dir.ack(0, pending.id);
  dir.streamEnded(7);
  assert.ok(first.ended() && pending.ended());
  dir.ack(1, pending.id);
  assert.equal(
    of("ringGrant").at(-1)![1].type === "ringGrant" && (of("ringGrant").at(-1)![1] as { ok: boolean }).ok,
    false,
    "no grant for an ended stream",
  );
  for (const w of [0, 1]) {
    dir.released(w, first.id);
    dir.released(w, pending.id);
  }
  assert.deepEqual([dir.report().liveRings, dir.report().retiredRings, dir.report().poolRings], [0, 0, 2]);
  assert.equal(dir.current(7), undefined);
});

Deno.test("RingDirectory: a worker that exits releases everything and acknowledges nothing; one that starts is told", () => {
  const { dir, of, live } = setup([0, 1]);
  const first = new SharedRing(dir.first(7, 1));
  dir.request(0, 1, 7, 1 << 19);
  const pending = new SharedRing((of("ringAdded")[0][1] as Extract<MainToWorker, { type: "ringAdded" }>).sab);
  dir.ack(0, pending.id);
  live.delete(1);
  dir.removeWorker(1);
  assert.equal(of("ringGrant").length, 1, "granted without the worker that left");
  // A new worker 2 gets the stream's rings (its streamAdded, and the pending one).
  live.add(2);
  dir.addWorker(2);
  assert.deepEqual(dir.pendingFor(7), [pending.sab]);
  dir.streamEnded(7);
  for (const r of [first, pending]) dir.released(0, r.id);
  assert.equal(dir.report().poolRings, 0, "worker 2 still holds both");
  for (const r of [first, pending]) dir.released(2, r.id);
  assert.equal(dir.report().poolRings, 2);
});

Deno.test("RingDirectory: a ring granted and not used (ringDiscard) is retired; the requester leaving discards its grant", () => {
  const { dir, of, live } = setup([0, 1]);
  dir.first(7, 1);
  dir.request(0, 1, 7, 1 << 19);
  const a = new SharedRing((of("ringAdded")[0][1] as Extract<MainToWorker, { type: "ringAdded" }>).sab);
  dir.discard(a.id);
  assert.deepEqual(of("ringRetired").map(([w, m]) => [w, m.type === "ringRetired" && m.ringId]), [[0, a.id], [
    1,
    a.id,
  ]]);
  dir.released(0, a.id);
  dir.released(1, a.id);
  assert.equal(dir.report().poolRings, 1);
  assert.equal(new SharedRing(a.sab).movedTo(), 0);
  // Worker 1 asks, then exits before every worker has the ring: the ring is not used.
  dir.request(1, 2, 7, 1 << 19);
  const b = new SharedRing((of("ringAdded").at(-1)![1] as Extract<MainToWorker, { type: "ringAdded" }>).sab);
  assert.equal(b.sab, a.sab, "the discarded ring, from the pool");
  live.delete(1);
  dir.removeWorker(1);
  assert.deepEqual(of("ringRetired").at(-1), [0, { type: "ringRetired", streamId: 7, ringId: b.id }]);
  dir.released(0, b.id);
  assert.equal(dir.report().poolRings, 1);
});

Deno.test("RingDirectory: requests of two workers with the same id are granted each to its worker", () => {
  const { dir, of } = setup([0, 1]);
  dir.first(7, 1);
  dir.first(8, 1);
  dir.request(0, 5, 7, 1 << 19);
  dir.request(1, 5, 8, 1 << 19);
  for (const [, m] of of("ringAdded")) {
    const id = new SharedRing((m as Extract<MainToWorker, { type: "ringAdded" }>).sab).id;
    dir.ack(0, id);
    dir.ack(1, id);
  }
  const grants = of("ringGrant").map((
    [w, m],
  ) => [w, m.type === "ringGrant" && m.ok && new SharedRing(m.sab!).dataBytes]);
  assert.deepEqual(grants, [[0, 1 << 19], [1, 1 << 19]]);
});

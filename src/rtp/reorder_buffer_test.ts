import assert from "node:assert/strict";
import { ReorderBuffer, seqDistance } from "./reorder_buffer.ts";

/** A buffer and what it released, as sequence numbers read back from the packets. */
function setup(maxPackets = 8, maxDelayMs = 50) {
  const rb = new ReorderBuffer(maxPackets, maxDelayMs);
  const out: number[] = [];
  const release = (b: Uint8Array, s: number, e: number) => {
    assert.equal(e - s, 12 + 3, "the whole packet");
    out.push((b[s + 2] << 8) | b[s + 3]);
  };
  const push = (seq: number, now = 0) => {
    const p = new Uint8Array(15);
    p[0] = 0x80;
    p[2] = seq >> 8;
    p[3] = seq & 0xff;
    rb.push(p, 0, p.length, seq, now, release);
  };
  return { rb, out, push, release };
}

Deno.test("seqDistance is signed and wraps at 65536", () => {
  assert.equal(seqDistance(10, 12), 2);
  assert.equal(seqDistance(12, 10), -2);
  assert.equal(seqDistance(65535, 0), 1);
  assert.equal(seqDistance(0, 65535), -1);
});

Deno.test("ReorderBuffer releases packets in order at once", () => {
  const { rb, out, push } = setup();
  for (const s of [100, 101, 102]) push(s);
  assert.deepEqual(out, [100, 101, 102]);
  assert.equal(rb.waiting, 0);
  assert.equal(rb.lost + rb.late + rb.duplicates + rb.reordered, 0);
});

Deno.test("ReorderBuffer puts swapped packets back in order", () => {
  const { rb, out, push } = setup();
  for (const s of [1, 3, 2, 4, 6, 5]) push(s);
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6]);
  assert.equal(rb.reordered, 2);
  assert.equal(rb.lost, 0);
});

Deno.test("ReorderBuffer drops duplicates and late packets, counted", () => {
  const { rb, out, push } = setup();
  push(1);
  push(3);
  push(3); // duplicate while waiting
  push(2);
  push(2); // late: already released
  assert.deepEqual(out, [1, 2, 3]);
  assert.equal(rb.duplicates, 1);
  assert.equal(rb.late, 1);
});

Deno.test("ReorderBuffer gives up on a packet when the gap passes the bound", () => {
  const { rb, out, push } = setup(4);
  push(10);
  push(12); // 11 missing
  push(13);
  push(14);
  assert.deepEqual(out, [10]);
  push(15); // 15 - 11 = 4: no room to wait for 11 any longer
  assert.deepEqual(out, [10, 12, 13, 14, 15]);
  assert.equal(rb.lost, 1);
  push(11); // arrives after all
  assert.equal(rb.late, 1);
});

Deno.test("ReorderBuffer releases after maxDelayMs when the missing packet never comes", () => {
  const { rb, out, push, release } = setup(8, 50);
  push(1, 0);
  push(3, 10);
  push(4, 20);
  assert.equal(rb.deadline(), 60, "the oldest waiting packet arrived at 10");
  rb.expire(59, release);
  assert.deepEqual(out, [1], "not yet");
  rb.expire(60, release);
  assert.deepEqual(out, [1, 3, 4]);
  assert.equal(rb.lost, 1);
  assert.equal(rb.deadline(), -1);
});

Deno.test("ReorderBuffer keeps order across the 65535 -> 0 wrap", () => {
  const { rb, out, push } = setup(8);
  for (const s of [65533, 65535, 65534, 1, 0, 2]) push(s);
  assert.deepEqual(out, [65533, 65534, 65535, 0, 1, 2]);
  assert.equal(rb.lost, 0);
  // Slots stay distinct across the wrap with a size that does not divide 65536.
  const odd = setup(5);
  for (const s of [65534, 0, 1, 65535]) odd.push(s);
  assert.deepEqual(odd.out, [65534, 65535, 0, 1]);
});

Deno.test("ReorderBuffer takes a large jump as a new sequence base, not as loss", () => {
  const { rb, out, push } = setup(8);
  push(100);
  push(102);
  push(40000); // the sender restarted
  assert.deepEqual(out, [100, 102, 40000]);
  assert.equal(rb.resyncs, 1);
  assert.equal(rb.lost, 1, "only the hole before the waiting packet");
  push(40001);
  assert.deepEqual(out.slice(-1), [40001]);
});

Deno.test("ReorderBuffer: shuffled and partly dropped packets come out in order, drops counted", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const { rb, out, push, release } = setup(16, 1000);
  const sent: number[] = [];
  for (let i = 0; i < 5000; i++) sent.push((60000 + i) & 0xffff);
  // Each packet arrives up to 4 places early or late; 2 % are dropped; the first (the start) stays.
  const arrival = sent.map((s, i) => ({ s, key: i === 0 ? -1 : i + rand() * 4 }))
    .sort((a, b) => a.key - b.key).map((x) => x.s);
  const dropped = new Set(arrival.filter((_, i) => i > 0 && rand() < 0.02));
  for (const s of arrival) if (!dropped.has(s)) push(s);
  rb.releaseAll(release);
  assert.deepEqual(out, sent.filter((s) => !dropped.has(s)));
  assert.equal(rb.lost, dropped.size - (dropped.has(sent[sent.length - 1]) ? 1 : 0));
  assert.equal(rb.late + rb.duplicates, 0);
});

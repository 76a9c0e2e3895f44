import assert from "node:assert/strict";
import { ReadBuffer } from "./read_buffer.ts";

function fill(rb: ReadBuffer, bytes: number[]) {
  const s = rb.spare();
  s.set(bytes);
  rb.end += bytes.length;
}

Deno.test("ReadBuffer.makeRoom() slides unconsumed bytes down before growing", () => {
  const rb = new ReadBuffer(4, 16);
  fill(rb, [1, 2, 3, 4]);
  rb.start = 2;
  assert.equal(rb.makeRoom(), true);
  assert.equal(rb.capacity, 4);
  assert.deepEqual([...rb.buf.subarray(rb.start, rb.end)], [3, 4]);
  assert.equal(rb.spare().length, 2);
});

Deno.test("ReadBuffer.makeRoom() doubles up to the cap, then refuses", () => {
  const rb = new ReadBuffer(4, 8);
  fill(rb, [1, 2, 3, 4]);
  assert.equal(rb.makeRoom(), true);
  assert.equal(rb.capacity, 8);
  fill(rb, [5, 6, 7, 8]);
  assert.equal(rb.makeRoom(), false);
  assert.deepEqual([...rb.buf.subarray(0, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("ReadBuffer.spare() reuses its view while nothing moved", () => {
  const rb = new ReadBuffer(8, 8);
  const a = rb.spare();
  assert.equal(rb.spare(), a);
  fill(rb, [1]);
  assert.notEqual(rb.spare(), a);
  rb.start = rb.end;
  rb.makeRoom();
  assert.equal(rb.spare().byteOffset, 0);
});

Deno.test("ReadBuffer.release() frees an empty buffer; the next spare() allocates it again", () => {
  const rb = new ReadBuffer(8, 16);
  fill(rb, [1, 2]);
  rb.release();
  assert.equal(rb.capacity, 8, "unconsumed bytes keep the buffer");
  rb.start = rb.end;
  rb.release();
  assert.equal(rb.capacity, 0);
  assert.equal(rb.spare().length, 8);
  fill(rb, [3]);
  assert.deepEqual([...rb.buf.subarray(rb.start, rb.end)], [3]);
});

Deno.test("ReadBuffer.reserve() grows keeping the unconsumed bytes, within the cap, and after a release", () => {
  const rb = new ReadBuffer(8, 64);
  fill(rb, [1, 2, 3, 4]);
  rb.start = 1;
  rb.reserve(32);
  assert.equal(rb.capacity, 32);
  assert.deepEqual([...rb.buf.subarray(rb.start, rb.end)], [2, 3, 4]);
  assert.equal(rb.spare().length, 29);
  rb.reserve(1000);
  assert.equal(rb.capacity, 64, "the cap holds");
  rb.reserve(16);
  assert.equal(rb.capacity, 64, "never shrinks");
  rb.start = rb.end;
  rb.release();
  assert.equal(rb.spare().length, 64, "a released buffer comes back at the reserved size");
});

/** "Receives" bytes through a target as a socket's read would: into spare(), then end += n. */
function receive(rb: ReadBuffer, target: { spare(): Uint8Array }, bytes: number[]): void {
  const into = target.spare();
  into.set(bytes);
  rb.end += bytes.length;
}

Deno.test("ReadBuffer.lend(): connections read through the worker's shared buffer and keep only their leftovers", () => {
  const a = new ReadBuffer(1024, 65540);
  const b = new ReadBuffer(1024, 65540);
  a.lend();
  b.lend();
  receive(a, a.lent, [1, 2, 3, 4, 5]);
  const sharedBuf = a.buf;
  assert.equal(sharedBuf.length, 64 * 1024, "the shared buffer");
  a.start = 3; // consumed 1, 2, 3; 4, 5 are half a message
  a.stash();
  assert.notEqual(a.buf, sharedBuf);
  assert.equal(a.buf.length, 2048, "a small buffer of its own for the leftover");
  assert.deepEqual([...a.buf.subarray(a.start, a.end)], [4, 5]);

  // Another connection reads into the same shared buffer meanwhile, over where a's bytes were.
  receive(b, b.lent, [9, 9, 9, 9, 9, 9, 9, 9]);
  assert.equal(b.buf, sharedBuf);
  b.start = b.end;
  b.stash();

  // a's next read goes on after its leftover, in the shared buffer again.
  receive(a, a.lent, [6, 7]);
  assert.equal(a.buf, sharedBuf);
  assert.deepEqual([...a.buf.subarray(a.start, a.end)], [4, 5, 6, 7]);
});

Deno.test("ReadBuffer: a read not through `lent` never goes into the shared buffer", () => {
  const a = new ReadBuffer(1024, 65540);
  a.lend();
  receive(a, a.lent, [1, 2, 3]);
  const sharedBuf = a.buf;
  a.start = 1;
  // A pending read (ByteSocket.read) fills spare() later, when others may use the shared buffer.
  receive(a, a, [4]);
  assert.notEqual(a.buf, sharedBuf);
  assert.deepEqual([...a.buf.subarray(a.start, a.end)], [2, 3, 4]);
});

Deno.test("ReadBuffer.lend(): a large leftover (a request's body) goes on in the connection's own buffer", () => {
  const a = new ReadBuffer(1024, 1 << 20);
  a.lend();
  const big = new Array(20000).fill(7);
  receive(a, a.lent, big);
  a.stash();
  assert.equal(a.buf.length, 32768);
  const own = a.buf;
  receive(a, a.lent, [8]);
  assert.equal(a.buf, own, "more than a quarter of the shared buffer left over: read on in its own");
  assert.equal(a.end - a.start, 20001);
  a.start = a.end - 1; // the message is consumed
  receive(a, a.lent, [9]);
  assert.notEqual(a.buf, own, "back in the shared buffer");
  assert.deepEqual([...a.buf.subarray(a.start, a.end)], [8, 9]);
  a.stash();
  assert.equal(a.buf.length, 2048, "the large buffer is not kept");
});

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

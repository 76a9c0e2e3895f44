import assert from "node:assert/strict";
import { BoxWriter } from "./box_writer.ts";
import { hex } from "../rtp/testdata/hex.ts";

/** A full box inside a box, with every field width: the writer's whole vocabulary once. */
function writeSample(w: BoxWriter): void {
  w.start("moov");
  w.startFull("tfdt", 1, 0x020001).u64(0x1_0000_0002).end();
  w.start("free").u8(0x1ff).u16(0xabcd).u24(0x123456).u32(-2).fourcc("url ").bytes(Uint8Array.of(9, 8)).zeros(
    2,
  );
  w.end();
  w.end();
}

const SAMPLE = hex(
  "00000036 6d6f6f76" + // moov, 8 + 20 + 26 bytes
    "00000014 74666474 01 020001 00000001 00000002" + // tfdt v1, flags 0x020001, 2^32 + 2
    "0000001a 66726565 ff abcd 123456 fffffffe 75726c20 0908 0000", // free, 8 + 18: masked u8, u16, u24, -2, 'url ', bytes, zeros
);

Deno.test("BoxWriter writes big-endian fields and patches nested sizes on end()", () => {
  const buf = new Uint8Array(SAMPLE.length + 4).fill(0xee);
  const w = new BoxWriter(buf, 2);
  writeSample(w);
  assert.equal(w.position, 2 + SAMPLE.length);
  assert.equal(w.depth, 0);
  assert.deepEqual(buf.subarray(2, 2 + SAMPLE.length), SAMPLE);
  assert.deepEqual([buf[0], buf[1], buf[buf.length - 2], buf[buf.length - 1]], [0xee, 0xee, 0xee, 0xee]);
});

Deno.test("BoxWriter without a buffer counts exactly the bytes it would write", () => {
  const counter = new BoxWriter();
  writeSample(counter);
  assert.equal(counter.position, SAMPLE.length);
  // skip() leaves bytes for the caller: counted, not written.
  const buf = new Uint8Array(4).fill(7);
  assert.equal(new BoxWriter(buf).skip(4).position, 4);
  assert.deepEqual(buf, Uint8Array.of(7, 7, 7, 7));
});

Deno.test("BoxWriter.reset() rebinds one writer to another buffer", () => {
  const w = new BoxWriter();
  const a = new Uint8Array(SAMPLE.length);
  writeSample(w.reset(a, 0));
  assert.deepEqual(a, SAMPLE);
  const b = new Uint8Array(SAMPLE.length + 1);
  writeSample(w.reset(b, 1));
  assert.deepEqual(b.subarray(1), SAMPLE);
});

Deno.test("BoxWriter throws RangeError instead of writing past its buffer or unbalancing boxes", async (t) => {
  await t.step("buffer too small", () => {
    const w = new BoxWriter(new Uint8Array(10));
    assert.throws(() => writeSample(w), {
      name: "RangeError",
      message: /Buffer too small.*12 bytes needed, 10 given/,
    });
  });
  await t.step("end() without start()", () => {
    assert.throws(() => new BoxWriter().end(), { name: "RangeError", message: /without an open box/ });
  });
  await t.step("nesting past 16", () => {
    const w = new BoxWriter();
    for (let i = 0; i < 16; i++) w.start("moov");
    assert.throws(() => w.start("moov"), { name: "RangeError", message: /deeper than 16/ });
  });
});

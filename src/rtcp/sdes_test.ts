import assert from "node:assert/strict";
import { parseSdes, SDES_ITEM, sdesBytes, type SdesChunk, writeSdes } from "./sdes.ts";

/** One chunk with a CNAME, as RFC 3550 §6.5 lays it out: items, a null byte, padding to 32 bits. */
const GOLDEN = new Uint8Array([
  0x81,
  202,
  0x00,
  4, // V=2 SC=1, PT=202, length 4 words (20 bytes)
  0x00,
  0x07,
  0x1d,
  0xe0, // SSRC
  1,
  7,
  0x75,
  0x73,
  0x65,
  0x72,
  0x40,
  0x68,
  0x6f, // CNAME "user@ho"
  0,
  0,
  0, // end of items, padded to the boundary
]);

Deno.test("parseSdes() reads a chunk's CNAME; writeSdes() writes the same bytes", () => {
  const chunks: SdesChunk[] = [{ ssrc: 0x71de0, items: [{ type: SDES_ITEM.CNAME, text: "user@ho" }] }];
  assert.deepEqual(parseSdes(GOLDEN, 0, GOLDEN.length), chunks);
  assert.equal(sdesBytes(chunks), 20);
  const buf = new Uint8Array(20).fill(0xee);
  assert.equal(writeSdes(chunks, buf, 0), 20);
  assert.deepEqual(buf, GOLDEN);
});

Deno.test("SDES round-trips several chunks and items, UTF-8 text, and an item list that ends on a boundary", () => {
  const chunks: SdesChunk[] = [
    { ssrc: 1, items: [{ type: SDES_ITEM.CNAME, text: "ab" }] }, // 4 + 4 + 1: padded to 12
    {
      ssrc: 2,
      items: [{ type: SDES_ITEM.CNAME, text: "caméra@host" }, { type: SDES_ITEM.TOOL, text: "dm-live" }],
    },
    { ssrc: 3, items: [] }, // just the null byte, padded
  ];
  const n = sdesBytes(chunks);
  assert.equal(n % 4, 0);
  const buf = new Uint8Array(n);
  assert.equal(writeSdes(chunks, buf, 0), n);
  assert.deepEqual(parseSdes(buf, 0, n), chunks);
});

Deno.test("parseSdes() refuses a chunk without its terminating null byte, or running past the packet", () => {
  const noEnd = new Uint8Array([0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 0x61, 0x62]);
  assert.equal(parseSdes(noEnd, 0, noEnd.length), null);
  const overrun = new Uint8Array([0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 0x61, 0x62]);
  assert.equal(parseSdes(overrun, 0, overrun.length), null);
  const missingChunk = Uint8Array.from(GOLDEN, (b, i) => (i === 0 ? 0x82 : b));
  assert.equal(parseSdes(missingChunk, 0, missingChunk.length), null);
  assert.equal(parseSdes(Uint8Array.from(GOLDEN, (b, i) => (i === 1 ? 203 : b)), 0, 20), null);
});

Deno.test("writeSdes() refuses an item longer than 255 bytes", () => {
  const buf = new Uint8Array(600);
  assert.throws(
    () => writeSdes([{ ssrc: 1, items: [{ type: SDES_ITEM.NOTE, text: "x".repeat(256) }] }], buf, 0),
    RangeError,
  );
});

import assert from "node:assert/strict";
import { type Bye, byeBytes, parseBye, writeBye } from "./bye.ts";

/** Two sources leaving with a reason, as RFC 3550 §6.6 lays it out. */
const GOLDEN = new Uint8Array([
  0x82,
  203,
  0x00,
  4, // V=2 SC=2, PT=203, length 4 words (20 bytes)
  0x00,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  0x02,
  5,
  0x62,
  0x79,
  0x65,
  0x21,
  0x21,
  0,
  0, // reason "bye!!", padded
]);

Deno.test("parseBye() reads the sources and the reason; writeBye() writes the same bytes", () => {
  const bye: Bye = { ssrcs: [1, 2], reason: "bye!!" };
  assert.deepEqual(parseBye(GOLDEN, 0, GOLDEN.length), bye);
  assert.equal(byeBytes(bye), 20);
  const buf = new Uint8Array(20);
  assert.equal(writeBye(bye, buf, 0), 20);
  assert.deepEqual(buf, GOLDEN);
});

Deno.test("a BYE without a reason round-trips; one whose reason runs past the packet is refused", () => {
  const buf = new Uint8Array(8);
  assert.equal(writeBye({ ssrcs: [0xfeedface], reason: "" }, buf, 0), 8);
  assert.deepEqual(parseBye(buf, 0, 8), { ssrcs: [0xfeedface], reason: "" });
  const bad = Uint8Array.from(GOLDEN, (b, i) => (i === 12 ? 9 : b));
  assert.equal(parseBye(bad, 0, bad.length), null);
  assert.equal(parseBye(GOLDEN, 0, 8), null, "sources past the end");
});

import assert from "node:assert/strict";
import { mutator } from "./mutate.ts";
import { Prng } from "./prng.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const REQUEST = enc("OPTIONS rtsp://h/p RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: x\r\n\r\n");
const PACKET = Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa, 0xbb);

Deno.test("mutator() replays: the same seed gives the same inputs", () => {
  for (const kind of ["text", "binary"] as const) {
    const m = mutator({ kind });
    const a = new Prng(42);
    const b = new Prng(42);
    for (let i = 0; i < 200; i++) {
      assert.deepEqual(m(a, REQUEST, [REQUEST, PACKET]), m(b, REQUEST, [REQUEST, PACKET]));
    }
  }
});

Deno.test("mutator() never changes its input, returns fresh buffers and honours maxBytes", () => {
  const before = REQUEST.slice();
  const m = mutator({ kind: "text", maxBytes: 40, maxMutations: 8 });
  const rng = new Prng(9);
  let changed = 0;
  for (let i = 0; i < 1000; i++) {
    const out = m(rng, REQUEST, [REQUEST]);
    assert.notEqual(out.buffer, REQUEST.buffer);
    assert.ok(out.length <= 40);
    if (out.length !== REQUEST.length || out.some((b, k) => b !== REQUEST[k])) changed++;
  }
  assert.deepEqual(REQUEST, before);
  assert.ok(changed > 900, `most outputs differ from the input (${changed})`);
});

Deno.test("mutator() text mutations duplicate header lines and put boundary numbers in", () => {
  const m = mutator({ kind: "text", maxMutations: 1 });
  const rng = new Prng(3);
  let duplicated = false;
  let boundary = false;
  for (let i = 0; i < 2000 && !(duplicated && boundary); i++) {
    const text = new TextDecoder().decode(m(rng, REQUEST, [REQUEST]));
    if ((text.match(/CSeq: 1\r\n/g) ?? []).length === 2) duplicated = true;
    if (/CSeq: (65536|4294967296|99999999999999999999)\r\n/.test(text)) boundary = true;
  }
  assert.ok(duplicated, "a header line got duplicated");
  assert.ok(boundary, "a number got a boundary value");
});

Deno.test("mutator() binary mutations write boundary values into fields and handle empty input", () => {
  const m = mutator({ kind: "binary", maxMutations: 1 });
  const rng = new Prng(5);
  let ffff = false;
  for (let i = 0; i < 3000 && !ffff; i++) {
    const out = m(rng, PACKET, [PACKET]);
    for (let k = 0; k + 1 < out.length; k++) if (out[k] === 0xff && out[k + 1] === 0xff) ffff = true;
  }
  assert.ok(ffff, "a 16-bit field became 0xffff");
  for (let i = 0; i < 100; i++) assert.ok(m(rng, new Uint8Array(), [new Uint8Array()]) instanceof Uint8Array);
});

import assert from "node:assert/strict";
import { type Box, FieldReader, Fmp4ParseError, MAX_BOX_DEPTH, readBoxes } from "./box_reader.ts";
import { hex } from "../rtp/testdata/hex.ts";

/** A box tree by type and offsets, children nested: what readBoxes() returns, written compactly. */
type Tree = [type: string, start: number, bodyStart: number, end: number, children?: Tree[]];

function tree(boxes: readonly Box[]): Tree[] {
  return boxes.map((b) =>
    b.children === undefined
      ? [b.type, b.start, b.bodyStart, b.end]
      : [b.type, b.start, b.bodyStart, b.end, tree(b.children)]
  );
}

const cases: { name: string; bytes: string; tree: Tree[] }[] = [
  { name: "one leaf box", bytes: "0000000c 66726565 01020304", tree: [["free", 0, 8, 12]] },
  { name: "empty leaf box", bytes: "00000008 6d646174", tree: [["mdat", 0, 8, 8]] },
  {
    name: "container with two children, then a sibling",
    bytes: "00000018 6d6f6f76 00000008 7472616b 00000008 6d766578 | 00000008 66726565",
    tree: [["moov", 0, 8, 24, [["trak", 8, 16, 16, []], ["mvex", 16, 24, 24, []]]], ["free", 24, 32, 32]],
  },
  {
    name: "largesize (size 1) with a 64-bit size",
    bytes: "00000001 6d646174 00000000 00000012 aabb",
    tree: [["mdat", 0, 16, 18]],
  },
  {
    name: "size 0 at the top level runs to the end",
    bytes: "00000008 66726565 | 00000000 6d646174 010203",
    tree: [["free", 0, 8, 8], ["mdat", 8, 16, 19]],
  },
  {
    name: "stsd and a sample entry: children after their fixed fields",
    bytes:
      "0000003c 73747364 00000000 00000001 | 0000002c 6d703461 000000000000 0001 00000000 00000000 0002 0010 " +
      "0000 0000 bb800000 | 00000008 65736473",
    tree: [["stsd", 0, 8, 60, [["mp4a", 16, 24, 60, [["esds", 52, 60, 60]]]]]],
  },
  {
    name: "unknown types are leaves, even when their body looks like boxes",
    bytes: "00000010 75647461 00000008 66726565",
    tree: [["udta", 0, 8, 16]],
  },
];

Deno.test("readBoxes() reads types and extents, children of containers included", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(tree(readBoxes(hex(c.bytes))), c.tree));
  await t.step("within [start, end) of a larger buffer", () => {
    const bytes = hex("ffff 0000000c 66726565 01020304 ffff");
    assert.deepEqual(tree(readBoxes(bytes, 2, 14)), [["free", 2, 10, 14]]);
  });
});

Deno.test("readBoxes() throws Fmp4ParseError for sizes that do not fit", async (t) => {
  const nested = (depth: number) => {
    let bytes = hex("00000008 66726565");
    for (let i = 0; i < depth; i++) {
      const outer = new Uint8Array(bytes.length + 8);
      new DataView(outer.buffer).setUint32(0, outer.length);
      outer.set([0x6d, 0x6f, 0x6f, 0x76], 4);
      outer.set(bytes, 8);
      bytes = outer;
    }
    return bytes;
  };
  const errors: { name: string; bytes: Uint8Array; message: RegExp }[] = [
    {
      name: "size below the header",
      bytes: hex("00000007 66726565"),
      message: /size 7, less than its header/,
    },
    {
      name: "size past the end",
      bytes: hex("00000010 66726565 00"),
      message: /past the end of its parent by 7 bytes/,
    },
    { name: "stray bytes after a box", bytes: hex("00000008 66726565 0000"), message: /2 stray bytes/ },
    { name: "largesize cut", bytes: hex("00000001 6d646174 0000"), message: /cut in its largesize/ },
    {
      name: "largesize below 16",
      bytes: hex("00000001 6d646174 00000000 0000000f"),
      message: /less than its header/,
    },
    { name: "largesize past 2^53", bytes: hex("00000001 6d646174 00200000 00000000"), message: /past 2\^53/ },
    {
      name: "size 0 inside a container",
      bytes: hex("00000010 6d6f6f76 00000000 66726565"),
      message: /size 0 inside/,
    },
    {
      name: "child past its parent",
      bytes: hex("00000010 6d6f6f76 00000010 66726565 | 00000000"),
      message: /past the end/,
    },
    {
      name: "sample entry shorter than its fixed fields",
      bytes: hex("00000010 6d703461 00000000 00000001"),
      message: /shorter than its 28 fixed bytes/,
    },
    {
      name: "QuickTime sound description version 3",
      bytes: hex("00000024 6d703461 000000000000 0001 0003 000000000000 0002 0010 0000 0000 bb800000"),
      message: /'mp4a' at 0 has an unknown version/,
    },
    { name: `nesting past ${MAX_BOX_DEPTH}`, bytes: nested(MAX_BOX_DEPTH), message: /nested deeper than 16/ },
    { name: "non-text type is shown in hex", bytes: hex("00000004 00ff0102"), message: /0x00ff0102/ },
  ];
  for (const c of errors) {
    await t.step(c.name, () =>
      assert.throws(() => readBoxes(c.bytes), (e: unknown) => {
        assert.ok(e instanceof Fmp4ParseError, String(e));
        assert.ok(e instanceof SyntaxError);
        assert.match(e.message, c.message);
        return true;
      }));
  }
  await t.step(`nesting of exactly ${MAX_BOX_DEPTH - 1} containers is read`, () => {
    assert.equal(readBoxes(nested(MAX_BOX_DEPTH - 1)).length, 1);
  });
  await t.step("a range outside the buffer is a RangeError (the caller's mistake)", () => {
    assert.throws(() => readBoxes(new Uint8Array(4), 0, 8), RangeError);
  });
});

Deno.test("FieldReader reads big-endian fields and refuses to read past its box", () => {
  const bytes = hex("0000001a 74657374 01 fffe 000102 ffffffff 00000001 00000002");
  const [box] = readBoxes(bytes);
  const r = FieldReader.body(bytes, box);
  assert.deepEqual([r.u8(), r.i16(), r.u24()], [1, -2, 0x000102]);
  assert.equal(r.i32(), -1);
  assert.equal(r.remaining, 8);
  assert.throws(() => r.bytes(9), {
    name: "Fmp4ParseError",
    message: /Box 'test' is truncated: 9 bytes needed/,
  });
  assert.equal(r.u64(), 0x1_0000_0002);
  assert.throws(() => r.u8(), Fmp4ParseError);
  const big = hex("00200000 00000000");
  assert.throws(() => new FieldReader(big, 0, 8, "'tfdt'").u64(), { message: /past 2\^53/ });
});

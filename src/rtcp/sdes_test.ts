import assert from "node:assert/strict";
import { parseSdes, SDES_ITEM, sdesBytes, type SdesChunk, writeSdes } from "./sdes.ts";
import { assertWrittenRoundTrip, fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

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

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

const sdesCases: GoldenCase<Uint8Array, SdesChunk[] | null>[] = [
  {
    name: "RFC 3550 layout, one CNAME",
    input: GOLDEN,
    parsed: [{ ssrc: 0x71de0, items: [{ type: SDES_ITEM.CNAME, text: "user@ho" }] }],
    canonical: GOLDEN,
  },
  {
    name: "GStreamer 1.22 CNAME and TOOL",
    input: hex(
      "81ca000c5d51a11b011c757365723238343732363739363640686f73742d613032663239626106094753747265616d6572000000",
    ),
    parsed: [{
      ssrc: 1565630747,
      items: [{ type: SDES_ITEM.CNAME, text: "user2847267966@host-a02f29ba" }, {
        type: SDES_ITEM.TOOL,
        text: "GStreamer",
      }],
    }],
    canonical: hex(
      "81ca000c5d51a11b011c757365723238343732363739363640686f73742d613032663239626106094753747265616d6572000000",
    ),
  },
  { name: "a BYE is not SDES", input: hex("81cb000162ab6868"), parsed: null },
];

const readSdes = (b: Uint8Array) => parseSdes(b, 0, b.length);
const writeChunks = (chunks: SdesChunk[]) => {
  const out = new Uint8Array(sdesBytes(chunks));
  writeSdes(chunks, out, 0);
  return out;
};

Deno.test("parseSdes() reads the golden packets", (t) => goldenParseSteps(t, sdesCases, readSdes));

Deno.test("writeSdes() writes the golden packets", (t) =>
  goldenSerializeSteps(t, sdesCases.filter((c) => c.parsed !== null), (c) => writeChunks(c!), readSdes));

Deno.test("parseSdes() fuzz: corpus and mutated packets give null or chunks that rewrite, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtcp_sdes",
    label: "parseSdes()",
    seeds: goldenSeeds(sdesCases, (c) => [c.input]),
    check: (input) => {
      const chunks = readsOnlyItsBytes(input, parseSdes);
      if (chunks !== null) assertWrittenRoundTrip(chunks, sdesBytes, writeSdes, parseSdes);
    },
    count: 3000,
    seed: 202,
    kind: "binary",
    maxBytes: 1024,
  });
});

import assert from "node:assert/strict";
import { BoxWriter } from "./box_writer.ts";
import { readBoxes } from "./box_reader.ts";
import {
  descriptorLengthSize,
  type EsdsInfo,
  MAX_DESCRIPTOR_LENGTH,
  parseEsds,
  readDescriptorLength,
  writeDescriptorLength,
  writeEsds,
} from "./esds.ts";
import { Fmp4ParseError } from "./box_reader.ts";
import { fuzzSteps, parseOrRefuse, readsOnlyItsBytes, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";
import { hex, toHex } from "../rtp/testdata/hex.ts";

/** sizeOfInstance (14496-1 §8.3.3): 7 bits a byte, high bit on all but the last, fewest bytes. */
const lengthCases: { name: string; length: number; bytes: string }[] = [
  { name: "0", length: 0, bytes: "00" },
  { name: "5", length: 5, bytes: "05" },
  { name: "127, the largest in one byte", length: 127, bytes: "7f" },
  { name: "128 needs two", length: 128, bytes: "8100" },
  { name: "16383, the largest in two", length: 16383, bytes: "ff7f" },
  { name: "16384 needs three", length: 16384, bytes: "818000" },
  { name: "2^21 needs four", length: 0x20_0000, bytes: "81808000" },
  { name: "2^28 - 1, the largest", length: MAX_DESCRIPTOR_LENGTH, bytes: "ffffff7f" },
];

function writeLength(length: number): string {
  const buf = new Uint8Array(4);
  const w = new BoxWriter(buf);
  writeDescriptorLength(w, length);
  assert.equal(w.position, descriptorLengthSize(length));
  return toHex(buf.subarray(0, w.position));
}

Deno.test("descriptor lengths are written in the fewest bytes and read back", async (t) => {
  for (const c of lengthCases) {
    await t.step(c.name, () => {
      assert.equal(writeLength(c.length), c.bytes);
      assert.deepEqual(readDescriptorLength(hex(c.bytes), 0, c.bytes.length / 2), [
        c.length,
        c.bytes.length / 2,
      ]);
    });
  }
  await t.step("ffmpeg's padded 4-byte form (80 80 80 nn) reads as the same length", () => {
    assert.deepEqual(readDescriptorLength(hex("80808005"), 0, 4), [5, 4]);
    assert.deepEqual(readDescriptorLength(hex("8005"), 0, 2), [5, 2]);
  });
  await t.step("a fifth byte, a cut length and an unwritable length are refused", () => {
    assert.throws(() => readDescriptorLength(hex("8080808005"), 0, 5), {
      name: "Fmp4ParseError",
      message: /past 4 bytes/,
    });
    assert.throws(() => readDescriptorLength(hex("8080"), 0, 2), {
      name: "Fmp4ParseError",
      message: /truncated/,
    });
    assert.throws(() => descriptorLengthSize(MAX_DESCRIPTOR_LENGTH + 1), RangeError);
    assert.throws(() => descriptorLengthSize(-1), RangeError);
  });
});

/** esds bodies (after the box header): the muxer's own, and what other writers put there. */
const esdsCases: { name: string; body: string; info: EsdsInfo; canonical?: string }[] = [
  {
    name: "the muxer's: AAC LC 48 kHz stereo (1190), one-byte lengths",
    // version/flags | ES_Descriptor 03 len 25: ES_ID 0, flags 0
    // | DecoderConfigDescriptor 04 len 17: 0x40 MPEG-4 Audio, 0x15 = AudioStream << 2 | reserved 1, buffer 0,
    //   max 0, avg 0 | DecoderSpecificInfo 05 len 2: 1190 | SLConfigDescriptor 06 len 1: 02
    body: "00000000 | 03 19 0000 00 | 04 11 40 15 000000 00000000 00000000 | 05 02 1190 | 06 01 02",
    info: { objectTypeIndication: 0x40, streamType: 5, decoderSpecificInfo: hex("1190") },
    canonical: "00000027 65736473",
  },
  {
    name: "ffmpeg 5.1's: every length padded to 4 bytes, ES_ID = track id, bitrates set",
    body: "00000000 03808080 25 0002 00 04808080 17 40 15 000000 00003e80 00003e80 05808080 05 158856e500 " +
      "06808080 01 02",
    info: { objectTypeIndication: 0x40, streamType: 5, decoderSpecificInfo: hex("158856e500") },
  },
  {
    name: "ES_Descriptor with dependsOn, URL and OCR fields, and a descriptor before the config",
    body:
      "00000000 03 20 0001 e0 0002 02 6869 0003 | 0a 00 | 04 0f 40 15 000000 00000000 00000000 05 00 | 06 01 02",
    info: { objectTypeIndication: 0x40, streamType: 5, decoderSpecificInfo: new Uint8Array(0) },
  },
  {
    name: "DecoderConfigDescriptor without DecoderSpecificInfo",
    body: "00000000 03 15 0000 00 04 0d 6b 15 000000 00000000 00000000 06 01 02",
    info: { objectTypeIndication: 0x6b, streamType: 5, decoderSpecificInfo: new Uint8Array(0) },
  },
];

function parseBody(body: Uint8Array): EsdsInfo {
  return parseEsds(body, 0, body.length);
}

Deno.test("parseEsds() reads the decoder configuration whatever the length form", async (t) => {
  for (const c of esdsCases) await t.step(c.name, () => assert.deepEqual(parseBody(hex(c.body)), c.info));
});

Deno.test("writeEsds() writes the canonical esds box that parseEsds() reads back", async (t) => {
  for (const c of esdsCases) {
    if (c.canonical === undefined) continue;
    await t.step(c.name, () => {
      const buf = new Uint8Array(64);
      const w = new BoxWriter(buf);
      writeEsds(w, c.info.decoderSpecificInfo);
      assert.equal(toHex(buf.subarray(0, w.position)), toHex(hex(c.canonical! + c.body)));
      const [box] = readBoxes(buf, 0, w.position);
      assert.deepEqual(parseEsds(buf, box.bodyStart, box.end), c.info);
    });
  }
  await t.step("a config of 200 bytes takes two-byte lengths", () => {
    const dsi = new Uint8Array(200).fill(7);
    const counter = new BoxWriter();
    writeEsds(counter, dsi);
    // 12 + ES(1 + 2 + 3 + DCD(1 + 2 + 13 + DSI(1 + 2 + 200)) + SL 3)
    assert.equal(counter.position, 12 + 1 + 2 + 3 + (1 + 2 + 13 + (1 + 2 + 200)) + 3);
    const buf = new Uint8Array(counter.position);
    writeEsds(new BoxWriter(buf), dsi);
    assert.deepEqual(parseEsds(buf, 8, buf.length).decoderSpecificInfo, dsi);
  });
});

Deno.test("parseEsds() throws Fmp4ParseError for descriptors that overrun or are missing", async (t) => {
  const errors: { name: string; body: string; message: RegExp }[] = [
    { name: "no body", body: "0000", message: /truncated/ },
    { name: "version 1", body: "01000000 03 00", message: /version 1/ },
    { name: "not an ES_Descriptor", body: "00000000 04 00", message: /not ES_Descriptor/ },
    { name: "ES_Descriptor longer than the box", body: "00000000 03 19 0000 00", message: /overruns/ },
    { name: "ES_Descriptor cut in its fixed fields", body: "00000000 03 02 0000", message: /truncated/ },
    { name: "URL longer than the descriptor", body: "00000000 03 04 0000 40 09", message: /truncated/ },
    {
      name: "no DecoderConfigDescriptor",
      body: "00000000 03 06 0000 00 06 01 02",
      message: /no DecoderConfigDescriptor/,
    },
    {
      name: "DecoderConfigDescriptor cut",
      body: "00000000 03 07 0000 00 04 02 4015",
      message: /DecoderConfigDescriptor is truncated/,
    },
    {
      name: "DecoderSpecificInfo overruns",
      body: "00000000 03 14 0000 00 04 0f 40 15 000000 00000000 00000000 05 05 11",
      message: /overruns/,
    },
  ];
  for (const c of errors) {
    await t.step(c.name, () =>
      assert.throws(() => parseBody(hex(c.body)), (e: unknown) => {
        assert.ok(e instanceof Fmp4ParseError, String(e));
        assert.match(e.message, c.message);
        return true;
      }));
  }
});

/** parseEsds()'s convention: Fmp4ParseError, or a config that writeEsds() writes back to the same. */
function checkEsds(input: Uint8Array): void {
  const info = readsOnlyItsBytes(
    input,
    (buf, start, end) => parseOrRefuse(() => parseEsds(buf, start, end), (e) => e instanceof Fmp4ParseError),
  );
  if (info === REFUSED) return;
  const counter = new BoxWriter();
  writeEsds(counter, info.decoderSpecificInfo);
  const buf = new Uint8Array(counter.position);
  writeEsds(new BoxWriter(buf), info.decoderSpecificInfo);
  assert.deepEqual(parseEsds(buf, 8, buf.length), { ...info, objectTypeIndication: 0x40, streamType: 5 });
}

Deno.test("parseEsds() fuzz: corpus and mutated bodies refuse with Fmp4ParseError or write back", async (t) => {
  await fuzzSteps(t, {
    corpus: "fmp4_esds",
    label: "parseEsds()",
    seeds: goldenSeeds(esdsCases, (c) => [hex(c.body)]),
    check: checkEsds,
    count: 3000,
    seed: 1449614,
    kind: "binary",
    maxBytes: 512,
  });
});

import assert from "node:assert/strict";
import {
  type Fragment,
  fragmentHeaderSize,
  fragmentSize,
  nalUnitsSize,
  type ParsedFragment,
  parseFragment,
  parseFragments,
  sampleSize,
  serializeFragment,
  splitNalUnits,
  writeFragment,
  writeFragmentHeader,
  writeNalUnits,
} from "./fragment.ts";
import { Fmp4ParseError, readBoxes } from "./box_reader.ts";
import {
  assertRoundTrip,
  assertWrittenRoundTrip,
  fuzzSteps,
  parseOrRefuse,
  readsOnlyItsBytes,
  REFUSED,
} from "../testing/fuzz.ts";
import { checkBoxTree, isFmp4ParseError } from "./testdata/boxes.ts";
import { hex, toHex } from "../rtp/testdata/hex.ts";

const DATA = { a: hex("0102030405"), b: hex("060708") };

/** Fragments checked byte by byte against ISO/IEC 14496-12 §8.8, and their canonical parsed form. */
const cases: { name: string; fragment: Fragment; bytes: string; parsed: ParsedFragment }[] = [
  {
    name: "one track, sync then non-sync, no composition offsets: trun v0, 64-bit tfdt",
    fragment: {
      sequenceNumber: 7,
      tracks: [{
        trackId: 1,
        baseDecodeTime: 0x1_0000_0001,
        samples: [{ duration: 3000, sync: true, data: DATA.a }, {
          duration: 3000,
          sync: false,
          data: DATA.b,
        }],
      }],
    },
    bytes: "00000070 6d6f6f66" +
      "  00000010 6d666864 00000000 | 00000007" + // mfhd: sequence_number 7
      "  00000058 74726166" +
      "    00000010 74666864 00020000 | 00000001" + // tfhd: default-base-is-moof, track 1
      "    00000014 74666474 01000000 | 00000001 00000001" + // tfdt v1: 2^32 + 1
      "    0000002c 7472756e 00000701 | 00000002 | 00000078" + // trun v0: offset|duration|size|flags, 2, moof+8
      "      00000bb8 00000005 02000000" + // 3000, 5 bytes, depends on none
      "      00000bb8 00000003 01010000" + // 3000, 3 bytes, depends on others, non-sync
      "00000010 6d646174 0102030405 060708",
    parsed: {
      sequenceNumber: 7,
      tracks: [{
        trackId: 1,
        baseDecodeTime: 0x1_0000_0001,
        samples: [
          { duration: 3000, sync: true, compositionOffset: 0, size: 5, data: DATA.a },
          { duration: 3000, sync: false, compositionOffset: 0, size: 3, data: DATA.b },
        ],
      }],
    },
  },
  {
    name: "composition offsets, one negative: trun v1 with the offset field",
    fragment: {
      sequenceNumber: 1,
      tracks: [{
        trackId: 1,
        baseDecodeTime: 0,
        samples: [
          { duration: 3000, sync: true, compositionOffset: 6000, size: 5, data: DATA.a },
          { duration: 3000, sync: false, compositionOffset: -3000, data: DATA.b },
        ],
      }],
    },
    bytes: "00000078 6d6f6f66" +
      "  00000010 6d666864 00000000 | 00000001" +
      "  00000060 74726166" +
      "    00000010 74666864 00020000 | 00000001" +
      "    00000014 74666474 01000000 | 00000000 00000000" +
      "    00000034 7472756e 01000f01 | 00000002 | 00000080" + // v1, + composition-time-offset
      "      00000bb8 00000005 02000000 00001770" + // +6000
      "      00000bb8 00000003 01010000 fffff448" + // -3000
      "00000010 6d646174 0102030405 060708",
    parsed: {
      sequenceNumber: 1,
      tracks: [{
        trackId: 1,
        baseDecodeTime: 0,
        samples: [
          { duration: 3000, sync: true, compositionOffset: 6000, size: 5, data: DATA.a },
          { duration: 3000, sync: false, compositionOffset: -3000, size: 3, data: DATA.b },
        ],
      }],
    },
  },
  {
    name: "two tracks in one moof: each data_offset points past the previous track's samples",
    fragment: {
      sequenceNumber: 1,
      tracks: [
        { trackId: 1, baseDecodeTime: 0, samples: [{ duration: 3000, sync: true, nalUnits: [hex("6588")] }] },
        {
          trackId: 2,
          baseDecodeTime: 1024,
          samples: [{ duration: 1024, sync: true, data: hex("a1a2") }, {
            duration: 1024,
            sync: true,
            size: 3,
            data: hex("b1b2b3"),
          }],
        },
      ],
    },
    bytes: "000000bc 6d6f6f66" +
      "  00000010 6d666864 00000000 00000001" +
      "  0000004c 74726166" +
      "    00000010 74666864 00020000 00000001" +
      "    00000014 74666474 01000000 00000000 00000000" +
      "    00000020 7472756e 00000701 00000001 000000c4" + // moof 188 + mdat header 8
      "      00000bb8 00000006 02000000" +
      "  00000058 74726166" +
      "    00000010 74666864 00020000 00000002" +
      "    00000014 74666474 01000000 00000000 00000400" +
      "    0000002c 7472756e 00000701 00000002 000000ca" + // 196 + the video sample's 6 bytes
      "      00000400 00000002 02000000" +
      "      00000400 00000003 02000000" +
      "00000013 6d646174 00000002 6588 | a1a2 | b1b2b3", // the NAL unit after its 4-byte length
    parsed: {
      sequenceNumber: 1,
      tracks: [
        {
          trackId: 1,
          baseDecodeTime: 0,
          samples: [{
            duration: 3000,
            sync: true,
            compositionOffset: 0,
            size: 6,
            data: hex("00000002 6588"),
          }],
        },
        {
          trackId: 2,
          baseDecodeTime: 1024,
          samples: [
            { duration: 1024, sync: true, compositionOffset: 0, size: 2, data: hex("a1a2") },
            { duration: 1024, sync: true, compositionOffset: 0, size: 3, data: hex("b1b2b3") },
          ],
        },
      ],
    },
  },
];

Deno.test("serializeFragment() writes hand-checked moof + mdat bytes", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const bytes = serializeFragment(c.fragment);
      assert.equal(toHex(bytes), toHex(hex(c.bytes)));
      assert.equal(fragmentSize(c.fragment), bytes.length);
    });
  }
});

Deno.test("parseFragment() reads the golden bytes back; the canonical form round-trips at any offset", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(parseFragment(hex(c.bytes)), c.parsed);
      assert.deepEqual(
        assertWrittenRoundTrip(c.parsed, fragmentSize, writeFragment, parseFragment),
        hex(c.bytes),
      );
    });
  }
});

Deno.test("writeFragmentHeader() leaves the sample bytes to the caller: written in place, same bytes", () => {
  const c = cases[2];
  const f: Fragment = {
    ...c.fragment,
    tracks: c.fragment.tracks.map((t) => ({
      ...t,
      samples: t.samples.map((s) => ({ ...s, size: sampleSize(s), data: undefined, nalUnits: undefined })),
    })),
  };
  const buf = new Uint8Array(fragmentSize(f) + 3).fill(0xee);
  let at = 3 + writeFragmentHeader(f, buf, 3);
  assert.equal(at, 3 + fragmentHeaderSize(f));
  at += writeNalUnits([hex("6588")], buf, at);
  buf.set(hex("a1a2 b1b2b3"), at);
  assert.deepEqual(buf.subarray(3), hex(c.bytes));
  assert.throws(() => writeFragment(f, new Uint8Array(fragmentSize(f)), 0), {
    name: "RangeError",
    message: /only a size/,
  });
});

Deno.test("NAL units are written after 4-byte lengths and split back", async (t) => {
  const units = [hex("65 88 84"), hex("06"), new Uint8Array(0)];
  const bytes = hex("00000003 658884 | 00000001 06 | 00000000");
  await t.step("writeNalUnits() and nalUnitsSize()", () => {
    const buf = new Uint8Array(nalUnitsSize(units) + 2);
    assert.equal(writeNalUnits(units, buf, 1), bytes.length);
    assert.deepEqual(buf.subarray(1, 1 + bytes.length), bytes);
    assert.throws(() => writeNalUnits(units, new Uint8Array(10), 0), RangeError);
  });
  await t.step("splitNalUnits() gives views of the units", () => {
    assert.deepEqual(splitNalUnits(bytes), units);
    assert.deepEqual(splitNalUnits(new Uint8Array(0)), []);
  });
  await t.step("splitNalUnits() refuses a cut length or a unit past the sample", () => {
    assert.throws(() => splitNalUnits(hex("000001")), { name: "Fmp4ParseError", message: /length cut at 0/ });
    assert.throws(() => splitNalUnits(hex("00000005 6588")), {
      name: "Fmp4ParseError",
      message: /5 bytes at 0 runs past/,
    });
  });
});

Deno.test("serializeFragment() refuses fragments it cannot write, naming the field", async (t) => {
  const track = (samples: Fragment["tracks"][number]["samples"], extra: object = {}) => ({
    sequenceNumber: 1,
    tracks: [{ trackId: 1, baseDecodeTime: 0, samples, ...extra }],
  });
  const ok = { duration: 1, sync: true, data: hex("00") };
  const errors: { name: string; fragment: Fragment; message: RegExp }[] = [
    { name: "no tracks", fragment: { sequenceNumber: 1, tracks: [] }, message: /at least one track/ },
    {
      name: "sequence number past 32 bits",
      fragment: { ...track([ok]), sequenceNumber: 2 ** 32 },
      message: /sequenceNumber/,
    },
    { name: "track id 0", fragment: track([ok], { trackId: 0 }), message: /trackId/ },
    {
      name: "a track twice",
      fragment: { sequenceNumber: 1, tracks: [track([ok]).tracks[0], track([ok]).tracks[0]] },
      message: /Track 1 appears twice/,
    },
    {
      name: "negative decode time",
      fragment: track([ok], { baseDecodeTime: -1 }),
      message: /baseDecodeTime/,
    },
    {
      name: "decode time past 2^53",
      fragment: track([ok], { baseDecodeTime: 2 ** 53 }),
      message: /baseDecodeTime/,
    },
    { name: "no samples", fragment: track([]), message: /no samples/ },
    { name: "fractional duration", fragment: track([{ ...ok, duration: 1.5 }]), message: /duration/ },
    {
      name: "composition offset past int32",
      fragment: track([{ ...ok, compositionOffset: 2 ** 31 }]),
      message: /compositionOffset/,
    },
    {
      name: "neither size nor data",
      fragment: track([{ duration: 1, sync: true }]),
      message: /needs size, data or nalUnits/,
    },
    {
      name: "size that contradicts the data",
      fragment: track([{ ...ok, size: 2 }]),
      message: /size 2 differs from its 1 bytes/,
    },
  ];
  for (const c of errors) {
    await t.step(c.name, () =>
      assert.throws(() => serializeFragment(c.fragment), (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.match(e.message, c.message);
        return true;
      }));
  }
});

const FFMPEG_FRAGMENT = new URL(
  "../../test/fixtures/fuzz/fmp4_fragment/ffmpeg-5.1_frag_h264_aac_moof_mdat",
  import.meta.url,
);

Deno.test("parseFragment() reads ffmpeg's fragments (tfhd defaults, first-sample flags) and writes them back", () => {
  const bytes = Deno.readFileSync(FFMPEG_FRAGMENT);
  const f = parseFragment(bytes);
  const summary = f.tracks.map((t) => ({
    trackId: t.trackId,
    baseDecodeTime: t.baseDecodeTime,
    samples: t.samples.map((s) => [s.duration, s.size, s.sync, s.compositionOffset]),
  }));
  assert.equal(f.sequenceNumber, 1);
  // What ffprobe -show_packets reports for the same file (dts steps by duration, pts = dts + offset).
  assert.deepEqual(summary, [
    {
      trackId: 1,
      baseDecodeTime: 0,
      samples: [[1311, 1816, true, 1024], [1024, 404, false, 2048], [1024, 256, false, 0]],
    },
    {
      trackId: 2,
      baseDecodeTime: 0,
      samples: [[1024, 357, true, 0], [1024, 310, true, 0], [1024, 307, true, 0], [352, 5, true, 0]],
    },
  ]);
  // ffmpeg keeps SPS and PPS in the avcC: x264's first sample is an SEI and the IDR, length-prefixed.
  assert.deepEqual(splitNalUnits(f.tracks[0].samples[0].data).map((u) => u[0] & 0x1f), [6, 5]);
  assertRoundTrip(f, serializeFragment, (b) => parseFragment(b));
});

Deno.test("parseFragment() without default-base-is-moof: a later traf's data follows the previous one's", () => {
  // cases[2] with both tfhd flags cleared (at 40 and 116) and the audio run's data_offset (at 160)
  // made relative to the end of the video run's data.
  const bytes = hex(cases[2].bytes);
  for (const [at, value] of [[40, "00000000"], [116, "00000000"], [160, "00000000"]] as const) {
    bytes.set(hex(value), at);
  }
  assert.deepEqual(parseFragment(bytes), cases[2].parsed);
});

Deno.test("parseFragments() reads every moof + mdat and skips styp/sidx before them", () => {
  const a = serializeFragment(cases[0].fragment);
  const b = serializeFragment(cases[1].fragment);
  const styp = hex("00000014 73747970 6d736468 00000000 6d736468");
  const all = new Uint8Array([...styp, ...a, ...b]);
  assert.deepEqual(parseFragments(all), [cases[0].parsed, cases[1].parsed]);
  assert.throws(() => parseFragment(all), { name: "Fmp4ParseError", message: /Expected one moof, found 2/ });
});

Deno.test("parseFragment() throws Fmp4ParseError for fragments that do not hold together", async (t) => {
  const golden = hex(cases[0].bytes);
  const patch = (at: number, bytes: string) => {
    const out = golden.slice();
    out.set(hex(bytes), at);
    return out;
  };
  // Offsets in cases[0]: mfhd 8, traf 24, tfhd 32, tfdt 48 (time at 60), trun 68 (flags 76, count 80,
  // data_offset 84), mdat 112 (samples 120..128).
  const moof = readBoxes(golden)[0];
  const errors: { name: string; bytes: Uint8Array; message: RegExp }[] = [
    { name: "moof without mdat", bytes: golden.subarray(0, moof.end), message: /not followed by an mdat/ },
    { name: "no moof at all", bytes: golden.subarray(moof.end), message: /Expected one moof, found 0/ },
    {
      name: "data_offset before the mdat",
      bytes: patch(0x54, "00000010"),
      message: /sample 0 \(5 bytes at 16\) lies outside the mdat/,
    },
    {
      name: "data_offset past the mdat",
      bytes: patch(0x54, "0000007a"),
      message: /sample 1 \(3 bytes at 127\) lies outside/,
    },
    { name: "negative data_offset", bytes: patch(0x54, "ffffff00"), message: /lies outside the mdat/ },
    {
      name: "sample count the trun cannot hold",
      bytes: patch(0x50, "10000000"),
      message: /announces 268435456 samples/,
    },
    {
      name: "trun without durations (no tfhd default)",
      bytes: patch(0x4c, "00000601"),
      message: /sample 0 has no duration/,
    },
    {
      name: "trun without sizes (no tfhd default)",
      bytes: patch(0x4c, "00000501"),
      message: /sample 0 has no size/,
    },
    { name: "no tfdt", bytes: patch(0x34, "74666478"), message: /Missing 'tfdt' in 'traf'/ },
    { name: "no tfhd", bytes: patch(0x24, "74666878"), message: /Missing 'tfhd' in 'traf'/ },
    { name: "no mfhd", bytes: patch(0x0c, "6d666878"), message: /Missing 'mfhd' in 'moof'/ },
    { name: "no traf", bytes: patch(0x1c, "74726178"), message: /has no traf/ },
    { name: "trun with no samples", bytes: patch(0x50, "00000000"), message: /Track 1 has no samples/ },
    { name: "tfdt past 2^53", bytes: patch(0x3c, "00200000"), message: /past 2\^53/ },
  ];
  for (const c of errors) {
    await t.step(c.name, () =>
      assert.throws(() => parseFragment(c.bytes), (e: unknown) => {
        assert.ok(e instanceof Fmp4ParseError, String(e));
        assert.match(e.message, c.message);
        return true;
      }));
  }
  await t.step("two trafs of one track", () => {
    // The second traf's tfhd (at 24 + 76 + 8) names track 1 instead of 2.
    const two = serializeFragment(cases[2].fragment);
    assert.equal(toHex(two.subarray(120, 124)), "00000002");
    two.set(hex("00000001"), 120);
    assert.throws(() => parseFragment(two), { name: "Fmp4ParseError", message: /two trafs of one track/ });
  });
});

/**
 * The fragment reader's convention: Fmp4ParseError, or fragments that write and read back the
 * same, read from their own bytes only; each sample's NAL units split or are refused the same way.
 */
function checkFragments(input: Uint8Array): void {
  checkBoxTree(input);
  const fragments = readsOnlyItsBytes(
    input,
    (buf, s, e) => parseOrRefuse(() => parseFragments(buf, s, e), isFmp4ParseError),
  );
  if (fragments === REFUSED) return;
  for (const f of fragments) {
    assertRoundTrip(f, serializeFragment, (b) => parseFragment(b));
    for (const t of f.tracks) {
      for (const s of t.samples) {
        const units = parseOrRefuse(() => splitNalUnits(s.data), isFmp4ParseError);
        if (units !== REFUSED) assert.equal(nalUnitsSize(units), s.size);
      }
    }
  }
}

Deno.test("parseFragments() fuzz: corpus and mutated fragments refuse with Fmp4ParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "fmp4_fragment",
    label: "parseFragments()",
    seeds: cases.map((c) => hex(c.bytes)),
    check: checkFragments,
    count: 3000,
    seed: 1449688,
    kind: "binary",
    maxBytes: 4096,
  });
});

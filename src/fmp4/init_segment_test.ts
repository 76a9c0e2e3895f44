import assert from "node:assert/strict";
import {
  FILE_TYPE,
  type InitSegment,
  initSegmentSize,
  parseInitSegment,
  serializeInitSegment,
  writeInitSegment,
} from "./init_segment.ts";
import { Fmp4ParseError, readBoxes } from "./box_reader.ts";
import type { AudioTrack, Track, VideoTrack } from "./track.ts";
import {
  assertRoundTrip,
  assertWrittenRoundTrip,
  fuzzSteps,
  parseOrRefuse,
  readsOnlyItsBytes,
  REFUSED,
} from "../testing/fuzz.ts";
import { boxBytes, boxPaths, checkBoxTree, isFmp4ParseError } from "./testdata/boxes.ts";
import { hex, toHex } from "../rtp/testdata/hex.ts";

const AVCC = hex("01 64001f ff e1 0004 6764001f 01 0004 68ee3c80");
const HVCC = hex("01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 00");
const h264: VideoTrack = {
  id: 1,
  codec: "h264",
  timescale: 90000,
  width: 640,
  height: 360,
  decoderConfig: AVCC,
};
const h265: VideoTrack = {
  id: 1,
  codec: "h265",
  timescale: 90000,
  width: 1920,
  height: 1080,
  decoderConfig: HVCC,
};
const aac: AudioTrack = {
  id: 2,
  codec: "aac",
  timescale: 48000,
  channels: 2,
  sampleRate: 48000,
  config: hex("1190"),
};
const opus: AudioTrack = {
  id: 2,
  codec: "opus",
  timescale: 48000,
  channels: 2,
  sampleRate: 48000,
  preSkip: 312,
  outputGain: -256,
};
const pcmu: AudioTrack = { id: 3, codec: "pcmu", timescale: 8000, channels: 1, sampleRate: 8000 };
const pcma: AudioTrack = { id: 1, codec: "pcma", timescale: 8000, channels: 1, sampleRate: 8000 };

/** Init segments in the canonical form parseInitSegment() returns. */
const initCases: { name: string; init: InitSegment }[] = [
  { name: "H.264 alone", init: { tracks: [h264] } },
  { name: "H.265 alone", init: { tracks: [h265] } },
  { name: "AAC alone", init: { tracks: [{ ...aac, id: 1 }] } },
  { name: "Opus alone", init: { tracks: [{ ...opus, id: 7 }] } },
  { name: "G.711 mu-law and A-law", init: { tracks: [pcma, { ...pcmu, id: 2 }] } },
  { name: "H.264 + AAC", init: { tracks: [h264, aac] } },
  { name: "H.265 + Opus + G.711", init: { tracks: [h265, opus, pcmu] } },
];

Deno.test("serializeInitSegment() output reads back to the same tracks, at any offset", async (t) => {
  for (const c of initCases) {
    await t.step(c.name, () => {
      const bytes = assertWrittenRoundTrip(c.init, initSegmentSize, writeInitSegment, parseInitSegment);
      assert.deepEqual(bytes, serializeInitSegment(c.init));
    });
  }
});

Deno.test("init segment layout: ftyp, then moov with one trak per track and mvex/trex", () => {
  const bytes = serializeInitSegment({ tracks: [h264, aac] });
  const trak = (entry: string[], header: string) => [
    "moov/trak",
    "moov/trak/tkhd",
    "moov/trak/mdia",
    "moov/trak/mdia/mdhd",
    "moov/trak/mdia/hdlr",
    "moov/trak/mdia/minf",
    `moov/trak/mdia/minf/${header}`,
    "moov/trak/mdia/minf/dinf",
    "moov/trak/mdia/minf/dinf/dref",
    "moov/trak/mdia/minf/dinf/dref/url ",
    "moov/trak/mdia/minf/stbl",
    "moov/trak/mdia/minf/stbl/stsd",
    ...entry.map((e) => `moov/trak/mdia/minf/stbl/stsd/${e}`),
    "moov/trak/mdia/minf/stbl/stts",
    "moov/trak/mdia/minf/stbl/stsc",
    "moov/trak/mdia/minf/stbl/stsz",
    "moov/trak/mdia/minf/stbl/stco",
  ];
  assert.deepEqual(boxPaths(readBoxes(bytes)), [
    "ftyp",
    "moov",
    "moov/mvhd",
    ...trak(["avc1", "avc1/avcC"], "vmhd"),
    ...trak(["mp4a", "mp4a/esds"], "smhd"),
    "moov/mvex",
    "moov/mvex/trex",
    "moov/mvex/trex",
  ]);
});

/** Boxes checked byte by byte against ISO/IEC 14496-12 (and 14496-14, Opus in ISOBMFF). */
const goldenBoxes: { name: string; tracks: Track[]; path: string; bytes: string }[] = [
  {
    name: "ftyp: iso5, minor 512, compatible iso5 iso6 mp41",
    tracks: [h264],
    path: "ftyp",
    bytes: "0000001c 66747970 | 69736f35 | 00000200 | 69736f35 69736f36 6d703431",
  },
  {
    name: "mvhd: timescale 1000, rate 1.0, volume 1.0, identity matrix, next_track_ID 3",
    tracks: [h264, aac],
    path: "moov/mvhd",
    bytes: "0000006c 6d766864 00000000 | 00000000 00000000 | 000003e8 | 00000000 | 00010000 | 0100 | " +
      "0000 00000000 00000000 | 00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000 | " +
      "000000000000000000000000000000000000000000000000 | 00000003",
  },
  {
    name: "tkhd video: flags enabled|in_movie, track 1, volume 0, 640x360 in 16.16",
    tracks: [h264],
    path: "moov/trak/tkhd",
    bytes:
      "0000005c 746b6864 00000003 | 00000000 00000000 | 00000001 | 00000000 | 00000000 | 0000000000000000 | " +
      "0000 0000 0000 0000 | 00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000 | " +
      "02800000 01680000",
  },
  {
    name: "tkhd audio: volume 1.0, no width or height",
    tracks: [{ ...aac, id: 1 }],
    path: "moov/trak/tkhd",
    bytes:
      "0000005c 746b6864 00000003 | 00000000 00000000 | 00000001 | 00000000 | 00000000 | 0000000000000000 | " +
      "0000 0000 0100 0000 | 00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000 | " +
      "00000000 00000000",
  },
  {
    name: "mdhd: the track's timescale 90000, language und",
    tracks: [h264],
    path: "moov/trak/mdia/mdhd",
    bytes: "00000020 6d646864 00000000 | 00000000 00000000 | 00015f90 | 00000000 | 55c4 | 0000",
  },
  {
    name: "hdlr: vide, name VideoHandler",
    tracks: [h264],
    path: "moov/trak/mdia/hdlr",
    bytes:
      "0000002d 68646c72 00000000 | 00000000 | 76696465 | 000000000000000000000000 | 566964656f48616e646c657200",
  },
  {
    name: "vmhd: flags 1, copy mode, no opcolor",
    tracks: [h264],
    path: "moov/trak/mdia/minf/vmhd",
    bytes: "00000014 766d6864 00000001 | 0000 | 000000000000",
  },
  {
    name: "dinf/dref/url: one self-contained entry",
    tracks: [h264],
    path: "moov/trak/mdia/minf/dinf",
    bytes: "00000024 64696e66 | 0000001c 64726566 00000000 00000001 | 0000000c 75726c20 00000001",
  },
  {
    name: "avc1: reference 1, 640x360, 72 dpi, 1 frame, depth 24, then avcC verbatim",
    tracks: [h264],
    path: "moov/trak/mdia/minf/stbl/stsd",
    bytes: "00000081 73747364 00000000 00000001 | 00000071 61766331 000000000000 0001 | 0000 0000 " +
      "000000000000000000000000 | 0280 0168 | 00480000 00480000 | 00000000 | 0001 | " +
      "0000000000000000000000000000000000000000000000000000000000000000 | 0018 | ffff | " +
      "0000001b 61766343 0164001fffe100046764001f010004 68ee3c80",
  },
  {
    name: "Opus: channelcount 2, samplesize 16, samplerate 48000; dOps big-endian, gain -1 dB, family 0",
    tracks: [opus],
    path: "moov/trak/mdia/minf/stbl/stsd/Opus",
    bytes:
      "00000037 4f707573 000000000000 0001 | 00000000 00000000 | 0002 | 0010 | 0000 | 0000 | bb800000 | " +
      "00000013 644f7073 | 00 | 02 | 0138 | 0000bb80 | ff00 | 00",
  },
  {
    name: "ulaw: QuickTime's G.711 entry as an ISO AudioSampleEntry: mono, 8000 Hz",
    tracks: [pcmu],
    path: "moov/trak/mdia/minf/stbl/stsd/ulaw",
    bytes: "00000024 756c6177 000000000000 0001 | 00000000 00000000 | 0001 | 0010 | 0000 | 0000 | 1f400000",
  },
  {
    name: "empty sample tables",
    tracks: [h264],
    path: "moov/trak/mdia/minf/stbl/stts",
    bytes: "00000010 73747473 00000000 00000000",
  },
  {
    name: "trex: track 1, sample description 1, no other defaults",
    tracks: [h264],
    path: "moov/mvex/trex",
    bytes: "00000020 74726578 00000000 | 00000001 | 00000001 | 00000000 | 00000000 | 00000000",
  },
];

Deno.test("init segment boxes match hand-checked bytes", async (t) => {
  for (const c of goldenBoxes) {
    await t.step(
      c.name,
      () =>
        assert.equal(
          toHex(boxBytes(serializeInitSegment({ tracks: c.tracks }), c.path)),
          toHex(hex(c.bytes)),
        ),
    );
  }
  assert.deepEqual(FILE_TYPE.compatibleBrands, ["iso5", "iso6", "mp41"]);
});

Deno.test("serializeInitSegment() refuses tracks it cannot describe, naming the field", async (t) => {
  const cases: {
    name: string;
    tracks: Track[];
    error: RegExp;
    type?: typeof RangeError | typeof TypeError;
  }[] = [
    { name: "no tracks", tracks: [], error: /at least one track/ },
    {
      name: "track id 0",
      tracks: [{ ...h264, id: 0 }],
      error: /Track id must be an integer 1\.\.4294967295, got 0/,
    },
    { name: "the same id twice", tracks: [h264, { ...aac, id: 1 }], error: /Track id 1 is used twice/ },
    {
      name: "the largest id leaves no next_track_ID",
      tracks: [{ ...h264, id: 0xffff_ffff }],
      error: /next_track_ID/,
    },
    { name: "timescale 0", tracks: [{ ...h264, timescale: 0 }], error: /timescale/ },
    { name: "width past 16 bits", tracks: [{ ...h264, width: 70000 }], error: /width/ },
    { name: "height not an integer", tracks: [{ ...h264, height: 10.5 }], error: /height/ },
    {
      name: "an avcC that is not one",
      tracks: [{ ...h264, decoderConfig: hex("00 64001f ff e1 00") }],
      error: /not an avcC/,
    },
    {
      name: "an hvcC too short",
      tracks: [{ ...h265, decoderConfig: hex("01 02 03") }],
      error: /not an hvcC/,
    },
    { name: "AAC without config", tracks: [{ ...aac, config: undefined }], error: /AudioSpecificConfig/ },
    {
      name: "AAC at 96 kHz needs srat",
      tracks: [{ ...aac, sampleRate: 96000, timescale: 96000 }],
      error: /sampleRate/,
    },
    { name: "no channels", tracks: [{ ...aac, channels: 0 }], error: /channels/ },
    {
      name: "Opus 5.1 needs mapping family 1",
      tracks: [{ ...opus, channels: 6 }],
      error: /mapping family 0/,
    },
    {
      name: "Opus at another timescale",
      tracks: [{ ...opus, timescale: 90000 }],
      error: /Opus timescale must be 48000/,
    },
    { name: "Opus preSkip past 16 bits", tracks: [{ ...opus, preSkip: 70000 }], error: /preSkip/ },
    { name: "Opus gain past Q7.8", tracks: [{ ...opus, outputGain: 40000 }], error: /outputGain/ },
    {
      name: "a codec without a sample entry",
      tracks: [{ ...aac, codec: "mp3" } as unknown as Track],
      error: /codec "mp3" has no MP4 sample entry/,
      type: TypeError,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => serializeInitSegment({ tracks: c.tracks }), (e: unknown) => {
        assert.ok(e instanceof (c.type ?? RangeError), String(e));
        assert.match((e as Error).message, c.error);
        return true;
      });
    });
  }
});

const FFMPEG_INIT = new URL(
  "../../test/fixtures/fuzz/fmp4_init/ffmpeg-5.1_frag_h264_aac_init",
  import.meta.url,
);

Deno.test("parseInitSegment() reads ffmpeg's fragmented MP4 init (edts, udta, v0 entries) to tracks it can write", () => {
  const bytes = Deno.readFileSync(FFMPEG_INIT);
  const init = parseInitSegment(bytes);
  const [v, a] = init.tracks as [VideoTrack, AudioTrack];
  assert.deepEqual({ ...v, decoderConfig: v.decoderConfig.length }, {
    id: 1,
    codec: "h264",
    timescale: 10240,
    width: 64,
    height: 64,
    decoderConfig: v.decoderConfig.length,
  });
  assert.equal(v.decoderConfig[0], 1);
  // ffmpeg writes channelcount 2 in mp4a whatever the stream; the config says mono 8 kHz (1588...).
  assert.deepEqual(a, {
    id: 2,
    codec: "aac",
    timescale: 8000,
    channels: 2,
    sampleRate: 8000,
    config: hex("158856e500"),
  });
  assertRoundTrip(init, serializeInitSegment, (b) => parseInitSegment(b));
});

Deno.test("parseInitSegment() throws Fmp4ParseError for what it cannot mux again", async (t) => {
  const good = serializeInitSegment({ tracks: [h264, aac] });
  const patched = (from: string, to: string, nth = 0) => {
    const out = good.slice();
    let at = -1;
    for (let k = 0; k <= nth; k++) at = toHex(out).indexOf(toHex(new TextEncoder().encode(from)), at + 1);
    out.set(new TextEncoder().encode(to), at / 2);
    return out;
  };
  const cases: { name: string; bytes: Uint8Array; error: RegExp }[] = [
    { name: "no moov", bytes: hex("00000008 66726565"), error: /No 'moov' box: not an init segment/ },
    { name: "moov without trak", bytes: hex("00000008 6d6f6f76"), error: /moov has no trak/ },
    { name: "trak without tkhd", bytes: patched("tkhd", "tkhX"), error: /Missing 'tkhd' in 'trak'/ },
    {
      name: "handler that contradicts the entry",
      bytes: patched("vide", "soun"),
      error: /handler 'soun' does not match/,
    },
    {
      name: "a sample entry it does not write",
      bytes: patched("mp4a", "ipcm"),
      error: /Unsupported sample entry 'ipcm'/,
    },
    { name: "avc1 without avcC", bytes: patched("avcC", "avcX"), error: /Missing 'avcC' in 'avc1'/ },
    { name: "mp4a without esds", bytes: patched("esds", "esdX"), error: /Missing 'esds' in 'mp4a'/ },
    {
      name: "two traks with one id",
      bytes: patched(
        "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00",
        "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
      ),
      error: /same track_ID/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => parseInitSegment(c.bytes), (e: unknown) => {
        assert.ok(e instanceof Fmp4ParseError, String(e));
        assert.match((e as Error).message, c.error);
        return true;
      });
    });
  }
  await t.step("a track the writer would refuse (timescale 0) is refused as a parse error", () => {
    const bytes = good.slice();
    const mdhd = toHex(bytes).indexOf(toHex(new TextEncoder().encode("mdhd"))) / 2;
    bytes.fill(0, mdhd + 16, mdhd + 20);
    assert.throws(() => parseInitSegment(bytes), {
      name: "Fmp4ParseError",
      message: /cannot be muxed again: .*timescale/,
    });
  });
});

/** The reader's convention: Fmp4ParseError, or tracks that write and read back the same, reading only its bytes. */
function checkInit(input: Uint8Array): void {
  checkBoxTree(input);
  const init = readsOnlyItsBytes(
    input,
    (buf, start, end) => parseOrRefuse(() => parseInitSegment(buf, start, end), isFmp4ParseError),
  );
  if (init !== REFUSED) assertRoundTrip(init, serializeInitSegment, (b) => parseInitSegment(b));
}

Deno.test("parseInitSegment() fuzz: corpus and mutated init segments refuse with Fmp4ParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "fmp4_init",
    label: "parseInitSegment()",
    seeds: initCases.map((c) => serializeInitSegment(c.init)),
    check: checkInit,
    count: 3000,
    seed: 1449612,
    kind: "binary",
    maxBytes: 4096,
  });
});

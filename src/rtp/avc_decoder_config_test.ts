import assert from "node:assert/strict";
import {
  avcCodecString,
  type AvcDecoderConfig,
  avcDecoderConfigFromParameterSets,
  parseAvcDecoderConfig,
  serializeAvcDecoderConfig,
} from "./avc_decoder_config.ts";
import { parseH264Sps } from "./h264_sps.ts";
import { nalType, splitAnnexB } from "./testdata/annex_b.ts";
import { assertDecodesLikeClip, clipSamples, encodeClip, findBoxes } from "./testdata/encoded_video.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";
import { hex } from "./testdata/hex.ts";

const highSps = hex("67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1 83 19 60");
const highPps = hex("68 eb e3 cb 22 c0");
const baselineSps = hex("67 42 c0 0d d9 01 41 fb 01 10 00 00 03 00 10 00 00 03 03 20 f1 42 a4 80");
const baselinePps = hex("68 cb 83 cb 20");

const highConfig: AvcDecoderConfig = {
  avcProfileIndication: 100,
  profileCompatibility: 0,
  avcLevelIndication: 31,
  lengthSizeMinusOne: 3,
  sequenceParameterSets: [highSps],
  pictureParameterSets: [highPps],
  highProfile: {
    chromaFormat: 1,
    bitDepthLumaMinus8: 0,
    bitDepthChromaMinus8: 0,
    sequenceParameterSetExt: [],
  },
};

/** avcC payloads: those ffmpeg 5.1.9 wrote into MP4 for libx264 streams, and hand-built ones. */
const cases: GoldenCase<Uint8Array, AvcDecoderConfig>[] = [
  {
    name: "ffmpeg, x264 high 1280x720: with the high-profile extension",
    input: hex(
      "01 64 00 1f ff e1 00 1a 67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1 83 19 60 01 00 06 68 eb e3 cb 22 c0 fd f8 f8 00",
    ),
    parsed: highConfig,
  },
  {
    name: "ffmpeg, x264 baseline 320x240",
    input: hex(
      "01 42 c0 0d ff e1 00 18 67 42 c0 0d d9 01 41 fb 01 10 00 00 03 00 10 00 00 03 03 20 f1 42 a4 80 01 00 05 68 cb 83 cb 20",
    ),
    parsed: {
      avcProfileIndication: 66,
      profileCompatibility: 0xc0,
      avcLevelIndication: 13,
      lengthSizeMinusOne: 3,
      sequenceParameterSets: [baselineSps],
      pictureParameterSets: [baselinePps],
    },
  },
  {
    name: "high profile without the extension (writers before the 2010 edition)",
    input: hex(
      "01 64 00 1f ff e1 00 1a 67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1 83 19 60 01 00 06 68 eb e3 cb 22 c0",
    ),
    parsed: { ...highConfig, highProfile: undefined },
  },
  {
    name: "2-byte lengths, two SPS, two PPS, a 4:2:2 10-bit extension with an SPS extension",
    input: hex(
      "01 7a 00 1f fd e2 00 02 67 7a 00 02 67 7b 02 00 01 68 00 02 68 ce fe fa fa 01 00 02 6d 00",
    ),
    parsed: {
      avcProfileIndication: 122,
      profileCompatibility: 0,
      avcLevelIndication: 31,
      lengthSizeMinusOne: 1,
      sequenceParameterSets: [hex("67 7a"), hex("67 7b")],
      pictureParameterSets: [hex("68"), hex("68 ce")],
      highProfile: {
        chromaFormat: 2,
        bitDepthLumaMinus8: 2,
        bitDepthChromaMinus8: 2,
        sequenceParameterSetExt: [hex("6d 00")],
      },
    },
  },
].map((c) => {
  // The undefined extension stands for "absent": drop the key, which deepStrictEqual would see.
  const parsed = { ...c.parsed };
  if (parsed.highProfile === undefined) delete parsed.highProfile;
  return { ...c, parsed, canonical: c.input };
});

Deno.test("parseAvcDecoderConfig() reads avcC payloads", async (t) => {
  await goldenParseSteps(t, cases, parseAvcDecoderConfig);
});

Deno.test("serializeAvcDecoderConfig() writes them back byte for byte", async (t) => {
  await goldenSerializeSteps(t, cases, serializeAvcDecoderConfig, parseAvcDecoderConfig);
});

Deno.test("parseAvcDecoderConfig() reads reserved bits tolerantly; the serializer sets them", () => {
  const zeros = hex("01 42 c0 0d 03 01 00 02 67 42 00");
  const parsed = parseAvcDecoderConfig(zeros);
  assert.deepEqual(serializeAvcDecoderConfig(parsed), hex("01 42 c0 0d ff e1 00 02 67 42 00"));
});

Deno.test("parseAvcDecoderConfig() throws SyntaxError naming what is wrong", async (t) => {
  const bad: { name: string; input: string; message: RegExp }[] = [
    { name: "empty", input: "", message: /ends before its configurationVersion/ },
    { name: "version 0", input: "00 42 c0 0d ff e1", message: /configurationVersion is 0/ },
    { name: "3-byte lengths", input: "01 42 c0 0d fe e1", message: /lengthSizeMinusOne is 2/ },
    {
      name: "SPS longer than the record",
      input: "01 42 c0 0d ff e1 00 05 67 42",
      message: /SPS 0 runs past the record/,
    },
    { name: "empty SPS", input: "01 42 c0 0d ff e1 00 00 00", message: /SPS 0 is empty/ },
    {
      name: "no PPS count",
      input: "01 42 c0 0d ff e1 00 01 67",
      message: /ends before its numOfPictureParameterSets/,
    },
    {
      name: "extension cut",
      input: "01 64 00 1f ff e0 00 fd f8",
      message: /ends before its bit_depth_chroma_minus8/,
    },
  ];
  for (const c of bad) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseAvcDecoderConfig(hex(c.input)),
        (e) => e instanceof SyntaxError && c.message.test(e.message),
      );
    });
  }
});

Deno.test("serializeAvcDecoderConfig() throws RangeError for what avcC cannot hold", () => {
  assert.throws(
    () => serializeAvcDecoderConfig({ ...highConfig, sequenceParameterSets: Array(32).fill(highSps) }),
    RangeError,
  );
  assert.throws(
    () => serializeAvcDecoderConfig({ ...highConfig, pictureParameterSets: [new Uint8Array(0x10000)] }),
    RangeError,
  );
  assert.throws(() => serializeAvcDecoderConfig({ ...highConfig, lengthSizeMinusOne: 2 }), RangeError);
});

Deno.test("avcDecoderConfigFromParameterSets() builds the record from SPS and PPS", () => {
  assert.deepEqual(avcDecoderConfigFromParameterSets([highSps], [highPps]), highConfig);
  assert.deepEqual(avcDecoderConfigFromParameterSets([baselineSps], [baselinePps]), cases[1].parsed);
  assert.throws(() => avcDecoderConfigFromParameterSets([], [highPps]), RangeError);
  assert.throws(() => avcDecoderConfigFromParameterSets([highPps], [highPps]), SyntaxError);
});

Deno.test("avcCodecString() writes RFC 6381 avc1.PPCCLL", () => {
  assert.equal(avcCodecString(highConfig), "avc1.64001f");
  assert.equal(avcCodecString(cases[1].parsed), "avc1.42c00d");
  assert.equal(avcCodecString(parseAvcDecoderConfig(cases[3].input), "avc3"), "avc3.7a001f");
});

/** libx264 streams whose avcC ffmpeg wrote into the MP4; the record built from the stream's SPS and PPS is compared to it. */
const ENCODERS: { name: string; size: string; args: string[]; pixFmt?: string; codec: string }[] = [
  { name: "baseline 320x240", size: "320x240", args: ["-profile:v", "baseline"], codec: "avc1.42c00d" },
  { name: "main 640x360", size: "640x360", args: ["-profile:v", "main"], codec: "avc1.4d401e" },
  {
    name: "high 1280x720 b-pyramid",
    size: "1280x720",
    args: ["-x264-params", "bframes=3:b-pyramid=normal"],
    codec: "avc1.64001f",
  },
  {
    name: "high10 320x240",
    size: "320x240",
    args: ["-profile:v", "high10"],
    pixFmt: "yuv420p10le",
    codec: "avc1.6e000d",
  },
  {
    name: "high422 320x240",
    size: "320x240",
    args: ["-profile:v", "high422"],
    pixFmt: "yuv422p",
    codec: "avc1.7a000d",
  },
  {
    name: "high444 320x240",
    size: "320x240",
    args: ["-profile:v", "high444"],
    pixFmt: "yuv444p",
    codec: "avc1.f4000d",
  },
];

Deno.test("avcDecoderConfigFromParameterSets() writes the avcC ffmpeg writes, and ffmpeg decodes an MP4 carrying it", async (t) => {
  for (const e of ENCODERS) {
    await t.step(e.name, async () => {
      const clip = await encodeClip("h264", e.size, ["-c:v", "libx264", ...e.args], {
        frames: 10,
        pixFmt: e.pixFmt,
      });
      try {
        const nals = splitAnnexB(clip.bytes);
        const sps = nals.filter((n) => nalType("h264", n) === 7).slice(0, 1);
        const pps = nals.filter((n) => nalType("h264", n) === 8).slice(0, 1);
        const mine = avcDecoderConfigFromParameterSets(sps, pps);
        const ffmpeg = findBoxes(await Deno.readFile(clip.mp4), "avcC")[0];
        assert.ok(ffmpeg !== undefined, "ffmpeg's MP4 has no avcC");
        if (mine.avcProfileIndication === 244) {
          // ffmpeg 5.1 writes the extension for every profile but 66, 77 and 88; ISO/IEC 14496-15
          // §5.3.3.1.2 has it for 100, 110, 122 and 144 only. The rest is field-equal.
          const theirs = parseAvcDecoderConfig(ffmpeg);
          assert.deepEqual(theirs.highProfile, {
            chromaFormat: 3,
            bitDepthLumaMinus8: 0,
            bitDepthChromaMinus8: 0,
            sequenceParameterSetExt: [],
          });
          delete theirs.highProfile;
          assert.deepEqual(mine, theirs);
        } else {
          assert.deepEqual(serializeAvcDecoderConfig(mine), ffmpeg);
        }
        assert.equal(avcCodecString(mine), e.codec);

        // Samples in ffmpeg's order and times, but behind our record: ffmpeg decodes the same frames.
        const config = serializeAvcDecoderConfig(mine);
        await assertDecodesLikeClip(clip, "avc1", config, parseH264Sps(sps[0]), await clipSamples(clip));
      } finally {
        await clip.remove();
      }
    });
  }
});

/** The convention: SyntaxError, or a record whose canonical form reparses equal. */
function checkConfig(input: Uint8Array): void {
  const config = parseOrRefuse(() => parseAvcDecoderConfig(input), (e) => e instanceof SyntaxError);
  if (config === REFUSED) return;
  assertRoundTrip(config, serializeAvcDecoderConfig, parseAvcDecoderConfig);
}

Deno.test("parseAvcDecoderConfig() fuzz: corpus and mutated records give SyntaxError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "avc_decoder_config",
    label: "parseAvcDecoderConfig()",
    seeds: goldenSeeds(cases, (c) => [c.input]),
    check: checkConfig,
    count: 3000,
    seed: 1449615,
    kind: "binary",
    maxBytes: 256,
  });
});

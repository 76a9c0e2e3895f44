import assert from "node:assert/strict";
import {
  hevcCodecString,
  type HevcDecoderConfig,
  hevcDecoderConfigFromParameterSets,
  parseHevcDecoderConfig,
  serializeHevcDecoderConfig,
} from "./hevc_decoder_config.ts";
import { parseH265Sps } from "./h265_sps.ts";
import { writeH265Sps } from "./testdata/parameter_set_writer.ts";
import { nalType, splitAnnexB } from "./testdata/annex_b.ts";
import { assertDecodesLikeClip, clipSamples, encodeClip, findBoxes } from "./testdata/encoded_video.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";
import { hex } from "./testdata/hex.ts";

const vps = hex("40 01 0c 01 ff ff 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f 95 98 09");
const sps = hex(
  "42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f a0 05 02 01 69 65 95 9a 49 32 bc 05 a0 20 00 00 03 00 20 00 00 03 03 21",
);
const pps = hex("44 01 c1 72 b4 62 40");

const x265Config: HevcDecoderConfig = {
  generalProfileSpace: 0,
  generalTierFlag: false,
  generalProfileIdc: 1,
  generalProfileCompatibilityFlags: 0x60000000,
  generalConstraintIndicatorFlags: 0x900000 * 2 ** 24,
  generalLevelIdc: 63,
  minSpatialSegmentationIdc: 0,
  parallelismType: 0,
  chromaFormat: 1,
  bitDepthLumaMinus8: 0,
  bitDepthChromaMinus8: 0,
  avgFrameRate: 0,
  constantFrameRate: 0,
  numTemporalLayers: 1,
  temporalIdNested: true,
  lengthSizeMinusOne: 3,
  arrays: [
    { arrayCompleteness: true, nalUnitType: 32, nalUnits: [vps] },
    { arrayCompleteness: true, nalUnitType: 33, nalUnits: [sps] },
    { arrayCompleteness: true, nalUnitType: 34, nalUnits: [pps] },
  ],
};

const handBuilt: HevcDecoderConfig = {
  generalProfileSpace: 1,
  generalTierFlag: true,
  generalProfileIdc: 2,
  generalProfileCompatibilityFlags: 0x20000000,
  generalConstraintIndicatorFlags: 0xb01234 * 2 ** 24 + 0x56789a,
  generalLevelIdc: 120,
  minSpatialSegmentationIdc: 4095,
  parallelismType: 3,
  chromaFormat: 2,
  bitDepthLumaMinus8: 2,
  bitDepthChromaMinus8: 2,
  avgFrameRate: 7680,
  constantFrameRate: 1,
  numTemporalLayers: 3,
  temporalIdNested: false,
  lengthSizeMinusOne: 1,
  arrays: [
    { arrayCompleteness: false, nalUnitType: 33, nalUnits: [hex("42 01"), hex("42 01 aa")] },
    { arrayCompleteness: false, nalUnitType: 39, nalUnits: [hex("4e 01 05")] },
    { arrayCompleteness: true, nalUnitType: 34, nalUnits: [] },
  ],
};

/** hvcC payloads: ffmpeg 5.1.9's for a libx265 stream, without the settings SEI array it adds, and a hand-built one. */
const cases: GoldenCase<Uint8Array, HevcDecoderConfig>[] = [
  {
    name: "ffmpeg, x265 main 640x360 (its fourth array, x265's settings SEI, left out)",
    input: hex(
      "01 01 60 00 00 00 90 00 00 00 00 00 3f f0 00 fc fd f8 f8 00 00 0f 03 a0 00 01 00 18 40 01 0c 01 ff ff 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f 95 98 09 a1 00 01 00 2a 42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f a0 05 02 01 69 65 95 9a 49 32 bc 05 a0 20 00 00 03 00 20 00 00 03 03 21 a2 00 01 00 07 44 01 c1 72 b4 62 40",
    ),
    parsed: x265Config,
  },
  {
    name:
      "hand-built: profile space A, high tier, every constraint byte, 2-byte lengths, hev1-style arrays, an empty one",
    input: hex(
      "01 62 20 00 00 00 b0 12 34 56 78 9a 78 ff ff ff fe fa fa 1e 00 59 03 21 00 02 00 02 42 01 00 03 42 01 aa 27 00 01 00 03 4e 01 05 a2 00 00",
    ),
    parsed: handBuilt,
  },
].map((c) => ({ ...c, canonical: c.input }));

Deno.test("parseHevcDecoderConfig() reads hvcC payloads", async (t) => {
  await goldenParseSteps(t, cases, parseHevcDecoderConfig);
});

Deno.test("serializeHevcDecoderConfig() writes them back byte for byte", async (t) => {
  await goldenSerializeSteps(t, cases, serializeHevcDecoderConfig, parseHevcDecoderConfig);
});

Deno.test("parseHevcDecoderConfig() throws SyntaxError naming what is wrong", async (t) => {
  const header = "01 01 60 00 00 00 90 00 00 00 00 00 3f f0 00 fc fd f8 f8 00 00 0f";
  const bad: { name: string; input: string; message: RegExp }[] = [
    { name: "shorter than the header", input: "01 01 60", message: /shorter than its header/ },
    { name: "version 2", input: "02" + header.slice(2) + " 00", message: /configurationVersion is 2/ },
    { name: "3-byte lengths", input: header.slice(0, -2) + "0e 00", message: /lengthSizeMinusOne is 2/ },
    { name: "array header cut", input: header + " 01 a0 00", message: /inside array 0's header/ },
    {
      name: "NAL unit past the end",
      input: header + " 01 a0 00 01 00 05 40 01",
      message: /NAL unit 0 runs past the record/,
    },
    { name: "empty NAL unit", input: header + " 01 a0 00 01 00 00", message: /NAL unit 0 is empty/ },
  ];
  for (const c of bad) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseHevcDecoderConfig(hex(c.input)),
        (e) => e instanceof SyntaxError && c.message.test(e.message),
      );
    });
  }
});

Deno.test("serializeHevcDecoderConfig() throws RangeError for fields that do not fit", () => {
  assert.throws(
    () => serializeHevcDecoderConfig({ ...x265Config, generalLevelIdc: 256 }),
    /general_level_idc 256/,
  );
  assert.throws(() => serializeHevcDecoderConfig({ ...x265Config, numTemporalLayers: 8 }), RangeError);
  assert.throws(
    () => serializeHevcDecoderConfig({ ...x265Config, generalConstraintIndicatorFlags: 2 ** 48 }),
    RangeError,
  );
  assert.throws(() => serializeHevcDecoderConfig({ ...x265Config, lengthSizeMinusOne: 2 }), RangeError);
});

Deno.test("hevcDecoderConfigFromParameterSets() builds the record from VPS, SPS and PPS", async (t) => {
  await t.step("libx265's parameter sets give ffmpeg's fields", () => {
    assert.deepEqual(hevcDecoderConfigFromParameterSets([vps], [sps], [pps]), x265Config);
  });
  await t.step("hev1: arrays not complete", () => {
    const c = hevcDecoderConfigFromParameterSets([vps], [sps], [pps], "hev1");
    assert.deepEqual(c.arrays.map((a) => a.arrayCompleteness), [false, false, false]);
  });
  await t.step("a VUI's min_spatial_segmentation_idc keeps the PPS's parallelism (wavefront)", () => {
    const restricted = writeH265Sps({
      width: 64,
      height: 64,
      log2MaxPocLsbMinus4: 4,
      maxNumReorderPics: 2,
      everyBranch: true,
    });
    const c = hevcDecoderConfigFromParameterSets([], [restricted], [pps]);
    assert.deepEqual(
      [c.minSpatialSegmentationIdc, c.parallelismType, c.numTemporalLayers, c.generalLevelIdc],
      [4, 3, 3, 93],
    );
  });
  await t.step("only the flags every parameter set has; the highest level", () => {
    const other = Uint8Array.from(vps);
    other[other.length - 4] = 0x5d; // general_level_idc 93 in this VPS
    const c = hevcDecoderConfigFromParameterSets([other], [sps], [pps]);
    assert.equal(c.generalLevelIdc, 93);
  });
  await t.step(
    "no SPS",
    () => assert.throws(() => hevcDecoderConfigFromParameterSets([vps], [], [pps]), RangeError),
  );
});

Deno.test("hevcCodecString() writes ISO/IEC 14496-15 Annex E hvc1 strings", () => {
  assert.equal(hevcCodecString(x265Config), "hvc1.1.6.L63.90");
  assert.equal(
    hevcCodecString({
      ...x265Config,
      generalLevelIdc: 93,
      generalConstraintIndicatorFlags: 0xb00000 * 2 ** 24,
    }),
    "hvc1.1.6.L93.B0",
  );
  assert.equal(
    hevcCodecString({
      ...x265Config,
      generalProfileIdc: 2,
      generalProfileCompatibilityFlags: 0x20000000,
      generalLevelIdc: 120,
    }),
    "hvc1.2.4.L120.90",
  );
  assert.equal(hevcCodecString(handBuilt, "hev1"), "hev1.A2.4.H120.B0.12.34.56.78.9A");
  assert.equal(hevcCodecString({ ...x265Config, generalConstraintIndicatorFlags: 0 }), "hvc1.1.6.L63.00");
});

/** libx265 streams whose hvcC ffmpeg wrote into the MP4; the record built from the stream is compared to it. */
const ENCODERS: { name: string; size: string; params: string; pixFmt?: string; codec: string }[] = [
  { name: "main 640x360, bframes=4", size: "640x360", params: "bframes=4", codec: "hvc1.1.6.L63.90" },
  {
    name: "main10 1280x720",
    size: "1280x720",
    params: "bframes=3",
    pixFmt: "yuv420p10le",
    codec: "hvc1.2.4.L93.90",
  },
  {
    name: "main 4:4:4 (RExt) 320x240",
    size: "320x240",
    params: "bframes=2",
    pixFmt: "yuv444p",
    codec: "hvc1.4.10.L60.9E.08",
  },
  { name: "two temporal layers", size: "640x360", params: "temporal-layers=1", codec: "hvc1.1.6.L63.90" },
];

Deno.test("hevcDecoderConfigFromParameterSets() writes the hvcC ffmpeg writes, and ffmpeg decodes an MP4 carrying it", async (t) => {
  for (const e of ENCODERS) {
    await t.step(e.name, async () => {
      const args = ["-c:v", "libx265", "-x265-params", `log-level=error:${e.params}`];
      const clip = await encodeClip("h265", e.size, args, { frames: 10, pixFmt: e.pixFmt });
      try {
        const nals = splitAnnexB(clip.bytes);
        const first = (type: number) => nals.filter((n) => nalType("h265", n) === type).slice(0, 1);
        const mine = hevcDecoderConfigFromParameterSets(first(32), first(33), first(34));
        const ffmpeg = findBoxes(await Deno.readFile(clip.mp4), "hvcC")[0];
        assert.ok(ffmpeg !== undefined, "ffmpeg's MP4 has no hvcC");
        // ffmpeg also puts libx265's settings SEI (user data, not declarative) in an array of its
        // own; we leave it out. Given that SEI too, the record is ffmpeg's byte for byte.
        const theirs = parseHevcDecoderConfig(ffmpeg);
        assert.deepEqual(mine, { ...theirs, arrays: theirs.arrays.filter((a) => a.nalUnitType !== 39) });
        const withSei = hevcDecoderConfigFromParameterSets(
          first(32),
          first(33),
          first(34),
          "hvc1",
          first(39),
        );
        assert.deepEqual(serializeHevcDecoderConfig(withSei), ffmpeg);
        assert.equal(hevcCodecString(mine), e.codec);

        const config = serializeHevcDecoderConfig(mine);
        await assertDecodesLikeClip(
          clip,
          "hvc1",
          config,
          parseH265Sps(first(33)[0]),
          await clipSamples(clip),
        );
      } finally {
        await clip.remove();
      }
    });
  }
});

/** The convention: SyntaxError, or a record whose canonical form reparses equal. */
function checkConfig(input: Uint8Array): void {
  const config = parseOrRefuse(() => parseHevcDecoderConfig(input), (e) => e instanceof SyntaxError);
  if (config === REFUSED) return;
  assertRoundTrip(config, serializeHevcDecoderConfig, parseHevcDecoderConfig);
  hevcCodecString(config);
}

Deno.test("parseHevcDecoderConfig() fuzz: corpus and mutated records give SyntaxError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "hevc_decoder_config",
    label: "parseHevcDecoderConfig()",
    seeds: goldenSeeds(cases, (c) => [c.input]),
    check: checkConfig,
    count: 3000,
    seed: 14496153,
    kind: "binary",
    maxBytes: 512,
  });
});

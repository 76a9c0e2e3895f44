import assert from "node:assert/strict";
import {
  type H264Pps,
  type H264SliceHeader,
  type H264Sps,
  type H264Vui,
  parseH264Pps,
  parseH264SliceHeader,
  parseH264Sps,
} from "./h264_sps.ts";
import { RbspError } from "./rbsp.ts";
import { baseH264Sps, writeH264Pps, writeH264Slice, writeH264Sps } from "./testdata/parameter_set_writer.ts";
import { nalType, splitAnnexB } from "./testdata/annex_b.ts";
import {
  assertMatchesTrace,
  encodeClip,
  probeStream,
  traceHeaders,
  traceNalUnits,
} from "./testdata/encoded_video.ts";
import { fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";
import { hex } from "./testdata/hex.ts";

/** The VUI libx264 writes: square pixels, 25 fps timing, bitstream_restriction with its reorder depth. */
function x264Vui(
  log2MaxMvLength: number,
  maxNumReorderFrames: number,
  extra: Partial<H264Vui> = {},
): H264Vui {
  return {
    picStructPresentFlag: false,
    aspectRatioIdc: 1,
    timing: { numUnitsInTick: 1, timeScale: 50, fixedFrameRateFlag: false },
    bitstreamRestriction: {
      motionVectorsOverPicBoundariesFlag: true,
      maxBytesPerPicDenom: 0,
      maxBitsPerMbDenom: 0,
      log2MaxMvLengthHorizontal: log2MaxMvLength,
      log2MaxMvLengthVertical: log2MaxMvLength,
      maxNumReorderFrames,
      maxDecFrameBuffering: maxNumReorderFrames === 0 ? 3 : 4,
    },
    ...extra,
  };
}

/** An SPS that takes every branch the encoders above do not: checked against ffmpeg's own parser below. */
const handBuilt: H264Sps = baseH264Sps({
  profileIdc: 100,
  constraintFlags: 0x40,
  chromaFormatIdc: 3,
  bitDepthLumaMinus8: 2,
  bitDepthChromaMinus8: 2,
  seqScalingMatrixPresentFlag: true,
  seqScalingListPresentFlag: [true, false, true, false, false, false, true, false, false, false, false, true],
  scalingLists: [
    Array.from({ length: 16 }, (_, i) => 16 + i),
    null,
    "default",
    null,
    null,
    null,
    Array.from({ length: 64 }, (_, i) => (i * 7) % 255 + 1),
    null,
    null,
    null,
    null,
    "default",
  ],
  picOrderCntType: 1,
  log2MaxPicOrderCntLsbMinus4: 0,
  offsetForNonRefPic: -3,
  offsetForTopToBottomField: 1,
  offsetForRefFrame: [2, 4, -1],
  frameMbsOnlyFlag: false,
  mbAdaptiveFrameFieldFlag: true,
  picHeightInMapUnitsMinus1: 1,
  frameCropping: {
    frameCropLeftOffset: 1,
    frameCropRightOffset: 2,
    frameCropTopOffset: 0,
    frameCropBottomOffset: 3,
  },
  // 4:4:4 crops in luma samples, field pairs twice vertically: 64 - 3 wide, 64 - 2 * 3 high.
  width: 61,
  height: 58,
  vui: {
    aspectRatioIdc: 255,
    sarWidth: 4,
    sarHeight: 3,
    overscanAppropriateFlag: true,
    videoFormat: 5,
    videoFullRangeFlag: true,
    colourPrimaries: 1,
    transferCharacteristics: 1,
    matrixCoefficients: 1,
    chromaSampleLocTypeTopField: 1,
    chromaSampleLocTypeBottomField: 2,
    timing: { numUnitsInTick: 1001, timeScale: 60000, fixedFrameRateFlag: true },
    nalHrd: {
      cpbCntMinus1: 1,
      bitRateScale: 4,
      cpbSizeScale: 3,
      initialCpbRemovalDelayLengthMinus1: 23,
      cpbRemovalDelayLengthMinus1: 23,
      dpbOutputDelayLengthMinus1: 5,
      timeOffsetLength: 24,
    },
    lowDelayHrdFlag: false,
    picStructPresentFlag: true,
    bitstreamRestriction: {
      motionVectorsOverPicBoundariesFlag: true,
      maxBytesPerPicDenom: 2,
      maxBitsPerMbDenom: 1,
      log2MaxMvLengthHorizontal: 15,
      log2MaxMvLengthVertical: 14,
      maxNumReorderFrames: 1,
      maxDecFrameBuffering: 4,
    },
  },
});

/**
 * SPS NAL units from libx264 (ffmpeg 5.1.9, Debian 12; `ffmpeg -f lavfi -i testsrc=size=WxH:rate=25
 * -pix_fmt P -c:v libx264 ARGS -f h264`), and one built by hand. canonical: what the test writer
 * (testdata/parameter_set_writer.ts) writes back, byte-equal to x264's.
 */
const spsCases: GoldenCase<Uint8Array, H264Sps>[] = [
  {
    name: "x264 -profile:v baseline, 320x240: Constrained Baseline, POC type 2",
    input: hex("67 42 c0 0d d9 01 41 fb 01 10 00 00 03 00 10 00 00 03 03 20 f1 42 a4 80"),
    parsed: baseH264Sps({
      profileIdc: 66,
      constraintFlags: 0xc0,
      levelIdc: 13,
      picOrderCntType: 2,
      log2MaxPicOrderCntLsbMinus4: 0,
      maxNumRefFrames: 3,
      picWidthInMbsMinus1: 19,
      picHeightInMapUnitsMinus1: 14,
      width: 320,
      height: 240,
      vui: x264Vui(9, 0),
    }),
  },
  {
    name: "x264 -profile:v main, 640x360: 368 coded lines cropped by 4 chroma rows",
    input: hex("67 4d 40 1e ec a0 50 17 fc b8 08 80 00 00 03 00 80 00 00 19 07 8b 16 cb"),
    parsed: baseH264Sps({
      picWidthInMbsMinus1: 39,
      picHeightInMapUnitsMinus1: 22,
      frameCropping: {
        frameCropLeftOffset: 0,
        frameCropRightOffset: 0,
        frameCropTopOffset: 0,
        frameCropBottomOffset: 4,
      },
      width: 640,
      height: 360,
      vui: x264Vui(10, 2),
    }),
  },
  {
    name: "x264 -profile:v high -x264-params bframes=3:b-pyramid=normal, 1280x720: 2 frames reordered",
    input: hex("67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 20 f1 83 19 60"),
    parsed: baseH264Sps({
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 31,
      picWidthInMbsMinus1: 79,
      picHeightInMapUnitsMinus1: 44,
      width: 1280,
      height: 720,
      vui: x264Vui(11, 2),
    }),
  },
  {
    name: "x264 -profile:v high422 -pix_fmt yuv422p, 320x240",
    input: hex("67 7a 00 0d bc d9 41 41 fb 01 10 00 00 03 00 10 00 00 03 03 20 f1 42 99 60"),
    parsed: baseH264Sps({
      profileIdc: 122,
      constraintFlags: 0,
      levelIdc: 13,
      chromaFormatIdc: 2,
      picWidthInMbsMinus1: 19,
      picHeightInMapUnitsMinus1: 14,
      width: 320,
      height: 240,
      vui: x264Vui(9, 2),
    }),
  },
  {
    name: "x264 -profile:v high10 -pix_fmt yuv420p10le, 320x240",
    input: hex("67 6e 00 0d a6 cd 94 14 1f b0 11 00 00 03 00 01 00 00 03 00 32 0f 14 29 96"),
    parsed: baseH264Sps({
      profileIdc: 110,
      constraintFlags: 0,
      levelIdc: 13,
      bitDepthLumaMinus8: 2,
      bitDepthChromaMinus8: 2,
      picWidthInMbsMinus1: 19,
      picHeightInMapUnitsMinus1: 14,
      width: 320,
      height: 240,
      vui: x264Vui(9, 2),
    }),
  },
  {
    name: "x264 -profile:v high444 -pix_fmt yuv444p, 320x240: High 4:4:4 Predictive",
    input: hex("67 f4 00 0d 91 9b 28 28 3f 60 22 00 00 03 00 02 00 00 03 00 64 1e 28 53 2c"),
    parsed: baseH264Sps({
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 13,
      chromaFormatIdc: 3,
      picWidthInMbsMinus1: 19,
      picHeightInMapUnitsMinus1: 14,
      width: 320,
      height: 240,
      vui: x264Vui(9, 2),
    }),
  },
  {
    name: "x264 -x264-params interlaced=1, 1920x1080: MBAFF, 1088 lines cropped by 2 field rows",
    input: hex("67 64 00 28 ac d9 40 78 04 4f de 02 20 00 00 03 00 20 00 00 06 43 e2 c5 b2 c0"),
    parsed: baseH264Sps({
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      picWidthInMbsMinus1: 119,
      picHeightInMapUnitsMinus1: 33,
      frameMbsOnlyFlag: false,
      mbAdaptiveFrameFieldFlag: true,
      frameCropping: {
        frameCropLeftOffset: 0,
        frameCropRightOffset: 0,
        frameCropTopOffset: 0,
        frameCropBottomOffset: 2,
      },
      width: 1920,
      height: 1080,
      vui: x264Vui(10, 2, { picStructPresentFlag: true }),
    }),
  },
  {
    name: "hand-built: 4:4:4 10-bit, scaling lists, POC type 1, MBAFF cropping, SAR 255, colour, NAL HRD",
    input: writeH264Sps(handBuilt),
    parsed: handBuilt,
  },
].map((c) => ({ ...c, canonical: c.input }));

Deno.test("parseH264Sps() reads every field of encoders' SPS", async (t) => {
  await goldenParseSteps(t, spsCases, parseH264Sps);
});

Deno.test("parseH264Sps() reads back what the test writer writes, byte-equal to x264", async (t) => {
  await goldenSerializeSteps(t, spsCases, writeH264Sps, parseH264Sps);
});

Deno.test("parseH264Sps() throws RbspError naming what is wrong", async (t) => {
  const base = spsCases[2].input;
  const cases: { name: string; input: Uint8Array; message: RegExp }[] = [
    { name: "a PPS", input: hex("68 eb e3 cb 22 c0"), message: /Not an H.264 SPS/ },
    {
      name: "forbidden_zero_bit set",
      input: Uint8Array.of(0xe7, ...base.subarray(1)),
      message: /Not an H.264 SPS/,
    },
    { name: "header only", input: hex("67"), message: /Not an H.264 SPS/ },
    { name: "cut inside the dimensions", input: base.subarray(0, 8), message: /RBSP ends/ },
    {
      name: "chroma_format_idc 4",
      input: writeH264Sps(baseH264Sps({ profileIdc: 100, chromaFormatIdc: 4 })),
      message: /chroma_format_idc is 4/,
    },
    {
      name: "bit depth 15",
      input: writeH264Sps(baseH264Sps({ profileIdc: 110, bitDepthLumaMinus8: 7 })),
      message: /bit_depth_luma_minus8 is 7/,
    },
    {
      name: "pic_order_cnt_type 3",
      input: writeH264Sps(baseH264Sps({ picOrderCntType: 3 })),
      message: /pic_order_cnt_type is 3/,
    },
    {
      name: "cropping wider than the picture",
      input: writeH264Sps(
        baseH264Sps({
          frameCropping: {
            frameCropLeftOffset: 16,
            frameCropRightOffset: 16,
            frameCropTopOffset: 0,
            frameCropBottomOffset: 0,
          },
        }),
      ),
      message: /cropping leaves 0x64/,
    },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () =>
        assert.throws(
          () => parseH264Sps(c.input),
          (e) => e instanceof RbspError && c.message.test(e.message),
        ),
    );
  }
});

const ppsCases: GoldenCase<Uint8Array, H264Pps>[] = [
  {
    name: "x264 baseline (CAVLC)",
    input: hex("68 cb 83 cb 20"),
    parsed: {
      picParameterSetId: 0,
      seqParameterSetId: 0,
      entropyCodingModeFlag: false,
      bottomFieldPicOrderInFramePresentFlag: false,
    },
  },
  {
    name: "x264 high (CABAC)",
    input: hex("68 eb e3 cb 22 c0"),
    parsed: {
      picParameterSetId: 0,
      seqParameterSetId: 0,
      entropyCodingModeFlag: true,
      bottomFieldPicOrderInFramePresentFlag: false,
    },
  },
  {
    name: "hand-built: ids 7 and 3, bottom field POC present",
    input: writeH264Pps(7, 3, true),
    parsed: {
      picParameterSetId: 7,
      seqParameterSetId: 3,
      entropyCodingModeFlag: true,
      bottomFieldPicOrderInFramePresentFlag: true,
    },
  },
];

Deno.test("parseH264Pps() reads the fields slice headers depend on", async (t) => {
  await goldenParseSteps(t, ppsCases, parseH264Pps);
});

const poc0 = baseH264Sps();
const poc1 = { ...handBuilt, seqParameterSetId: 1 };
const sliceMaps = {
  pps: new Map<number, H264Pps>([
    [0, parseH264Pps(writeH264Pps(0, 0, false))],
    [1, parseH264Pps(writeH264Pps(1, 1, true))],
  ]),
  sps: new Map<number, H264Sps>([[0, poc0], [1, poc1]]),
};

function sliceHeader(overrides: Partial<H264SliceHeader>): H264SliceHeader {
  return {
    nalUnitType: 1,
    nalRefIdc: 2,
    firstMbInSlice: 0,
    sliceType: 5,
    picParameterSetId: 0,
    frameNum: 0,
    fieldPicFlag: false,
    bottomFieldFlag: false,
    idrPicId: 0,
    picOrderCntLsb: 0,
    deltaPicOrderCntBottom: 0,
    deltaPicOrderCnt0: 0,
    deltaPicOrderCnt1: 0,
    ...overrides,
  };
}

const sliceCases: GoldenCase<Uint8Array, H264SliceHeader>[] = [
  {
    name: "IDR, POC type 0",
    input: writeH264Slice({ idr: true, nalRefIdc: 3, frameNum: 0, idrPicId: 5, pocLsb: 0 }, poc0),
    parsed: sliceHeader({ nalUnitType: 5, nalRefIdc: 3, sliceType: 7, idrPicId: 5 }),
  },
  {
    name: "B slice, POC lsb 14 of 64",
    input: writeH264Slice({ idr: false, nalRefIdc: 0, sliceType: 6, frameNum: 3, pocLsb: 14 }, poc0),
    parsed: sliceHeader({ nalRefIdc: 0, sliceType: 6, frameNum: 3, picOrderCntLsb: 14 }),
  },
  {
    name: "POC type 1 with both deltas, frame of an MBAFF stream",
    input: writeH264Slice(
      { idr: false, nalRefIdc: 1, ppsId: 1, frameNum: 9, deltaPoc0: -4, deltaPoc1: 3 },
      poc1,
      true,
    ),
    parsed: sliceHeader({
      nalRefIdc: 1,
      picParameterSetId: 1,
      frameNum: 9,
      deltaPicOrderCnt0: -4,
      deltaPicOrderCnt1: 3,
    }),
  },
];

Deno.test("parseH264SliceHeader() reads a slice header up to its POC fields", async (t) => {
  await goldenParseSteps(t, sliceCases, (nal) => parseH264SliceHeader(nal, sliceMaps.pps, sliceMaps.sps));
});

Deno.test("parseH264SliceHeader() throws RbspError for unknown parameter sets and non-slices", () => {
  const slice = sliceCases[1].input;
  assert.throws(
    () => parseH264SliceHeader(slice, new Map(), sliceMaps.sps),
    /Slice refers to PPS 0, not received/,
  );
  assert.throws(
    () => parseH264SliceHeader(slice, sliceMaps.pps, new Map()),
    (e) => e instanceof RbspError && /refers to SPS 0/.test(e.message),
  );
  assert.throws(
    () => parseH264SliceHeader(hex("67 42 00"), sliceMaps.pps, sliceMaps.sps),
    /Not an H.264 coded slice/,
  );
  assert.throws(() => parseH264SliceHeader(hex("41"), sliceMaps.pps, sliceMaps.sps), RbspError);
});

/** What ffprobe calls each profile_idc (libavcodec's profile names). */
const PROFILE_NAMES: Record<number, string> = {
  66: "Constrained Baseline",
  77: "Main",
  100: "High",
  110: "High 10",
  122: "High 4:2:2",
  244: "High 4:4:4 Predictive",
};

/** Encoders whose SPS, PPS and every slice header are checked against ffmpeg's own parser. */
const ENCODERS: { name: string; size: string; args: string[]; pixFmt?: string }[] = [
  { name: "baseline 320x240", size: "320x240", args: ["-c:v", "libx264", "-profile:v", "baseline"] },
  { name: "main 640x360 (cropped)", size: "640x360", args: ["-c:v", "libx264", "-profile:v", "main"] },
  {
    name: "high 1280x720, bframes=2, b-pyramid",
    size: "1280x720",
    args: ["-c:v", "libx264", "-profile:v", "high", "-x264-params", "bframes=2:b-pyramid=normal"],
  },
  {
    name: "high422 320x240",
    size: "320x240",
    args: ["-c:v", "libx264", "-profile:v", "high422"],
    pixFmt: "yuv422p",
  },
  {
    name: "high10 320x240",
    size: "320x240",
    args: ["-c:v", "libx264", "-profile:v", "high10"],
    pixFmt: "yuv420p10le",
  },
  {
    name: "high444 352x288",
    size: "352x288",
    args: ["-c:v", "libx264", "-profile:v", "high444"],
    pixFmt: "yuv444p",
  },
  {
    name: "interlaced 1920x1080 (MBAFF)",
    size: "1920x1080",
    args: ["-c:v", "libx264", "-x264-params", "interlaced=1"],
  },
];

Deno.test("parseH264Sps(), parseH264Pps(), parseH264SliceHeader() agree with ffmpeg on libx264 streams", async (t) => {
  for (const e of ENCODERS) {
    await t.step(e.name, async () => {
      const clip = await encodeClip("h264", e.size, e.args, { frames: 12, pixFmt: e.pixFmt });
      try {
        const nals = splitAnnexB(clip.bytes);
        const trace = await traceHeaders(clip.raw);
        const spsNal = nals.find((n) => nalType("h264", n) === 7)!;
        const sps = parseH264Sps(spsNal);
        assertMatchesTrace(sps, trace.find((h) => h.title === "Sequence Parameter Set"), 25);
        const pps = parseH264Pps(nals.find((n) => nalType("h264", n) === 8)!);
        assertMatchesTrace(pps, trace.find((h) => h.title === "Picture Parameter Set"), 4);

        const probed = await probeStream(clip.mp4);
        assert.deepEqual(
          {
            width: sps.width,
            height: sps.height,
            profile: PROFILE_NAMES[sps.profileIdc],
            level: sps.levelIdc,
          },
          { width: probed.width, height: probed.height, profile: probed.profile, level: probed.level },
        );

        const slices = nals.filter((n) => nalType("h264", n) === 1 || nalType("h264", n) === 5);
        const traced = trace.filter((h) => h.title === "Slice Header");
        assert.equal(slices.length, traced.length);
        const maps = {
          pps: new Map([[pps.picParameterSetId, pps]]),
          sps: new Map([[sps.seqParameterSetId, sps]]),
        };
        slices.forEach((nal, i) => {
          const header = parseH264SliceHeader(nal, maps.pps, maps.sps);
          const renamed = { ...header, "deltaPicOrderCnt[0]": header.deltaPicOrderCnt0 };
          assertMatchesTrace(renamed, traced[i], 6);
        });
      } finally {
        await clip.remove();
      }
    });
  }
});

Deno.test("parseH264Sps() agrees with ffmpeg on the hand-built SPS", async () => {
  const pps = writeH264Pps(0, 0, true);
  const slice = writeH264Slice(
    { idr: true, nalRefIdc: 3, frameNum: 0, deltaPoc0: 5, deltaPoc1: -2 },
    handBuilt,
    true,
  );
  // ffmpeg reads the headers, then gives up on the slice data the writer filled with junk.
  const trace = await traceNalUnits("h264", [spsCases.at(-1)!.input, pps, slice]);
  assertMatchesTrace(handBuilt, trace.find((h) => h.title === "Sequence Parameter Set"), 50);
});

/** The convention: RbspError, or an SPS the writer writes back to an equal SPS. */
function checkSps(input: Uint8Array): void {
  const sps = parseOrRefuse(() => parseH264Sps(input), (e) => e instanceof RbspError);
  if (sps === REFUSED) return;
  assert.ok(sps.width > 0 && sps.height > 0 && Number.isInteger(sps.width));
  assert.deepStrictEqual(parseH264Sps(writeH264Sps(sps)), sps);
}

Deno.test("parseH264Sps() fuzz: corpus and mutated SPS give RbspError or an SPS that writes back", async (t) => {
  await fuzzSteps(t, {
    corpus: "h264_sps",
    label: "parseH264Sps()",
    seeds: goldenSeeds(spsCases, (c) => [c.input]),
    check: checkSps,
    count: 3000,
    seed: 264,
    kind: "binary",
    maxBytes: 512,
  });
});

/** The convention: RbspError for any bytes, as a slice of either SPS or as a PPS. */
function checkSliceHeader(input: Uint8Array): void {
  const header = parseOrRefuse(
    () => parseH264SliceHeader(input, sliceMaps.pps, sliceMaps.sps),
    (e) => e instanceof RbspError,
  );
  if (header !== REFUSED) assert.ok(Number.isInteger(header.picOrderCntLsb) && header.picOrderCntLsb >= 0);
  const pps = parseOrRefuse(() => parseH264Pps(input), (e) => e instanceof RbspError);
  if (pps !== REFUSED) assert.ok(pps.picParameterSetId <= 255);
}

Deno.test("parseH264SliceHeader() and parseH264Pps() fuzz: corpus and mutated inputs give RbspError or a header", async (t) => {
  await fuzzSteps(t, {
    corpus: "h264_slice_header",
    label: "parseH264SliceHeader()",
    seeds: [...goldenSeeds(sliceCases, (c) => [c.input]), ...goldenSeeds(ppsCases, (c) => [c.input])],
    check: checkSliceHeader,
    count: 3000,
    seed: 7331,
    kind: "binary",
    maxBytes: 128,
  });
});

import assert from "node:assert/strict";
import {
  type H265Pps,
  type H265ProfileTierLevel,
  type H265SliceHeader,
  type H265Sps,
  type H265Vps,
  parseH265Pps,
  parseH265SliceHeader,
  parseH265Sps,
  parseH265Vps,
} from "./h265_sps.ts";
import { RbspError } from "./rbsp.ts";
import { writeH265Pps, writeH265Slice, writeH265Sps } from "./testdata/parameter_set_writer.ts";
import { nalType, splitAnnexB } from "./testdata/annex_b.ts";
import {
  assertMatchesTrace,
  encodeClip,
  probeStream,
  traceHeaders,
  traceNalUnits,
} from "./testdata/encoded_video.ts";
import { fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds } from "../testing/golden.ts";
import { hex } from "./testdata/hex.ts";

/** progressive_source_flag and frame_only_constraint_flag set: what x265 writes. */
const PROGRESSIVE_FRAME_ONLY = 0x900000 * 2 ** 24;

function ptl(profileIdc: number, compatibility: number, levelIdc: number): H265ProfileTierLevel {
  return {
    generalProfileSpace: 0,
    generalTierFlag: false,
    generalProfileIdc: profileIdc,
    generalProfileCompatibilityFlags: compatibility,
    generalConstraintIndicatorFlags: PROGRESSIVE_FRAME_ONLY,
    generalLevelIdc: levelIdc,
    subLayers: [],
  };
}

/** The SPS libx265 3.5 writes (25 fps, one sub-layer, RPS in the slice headers), with `overrides`. */
function x265Sps(overrides: Partial<H265Sps>): H265Sps {
  return {
    spsVideoParameterSetId: 0,
    spsMaxSubLayersMinus1: 0,
    spsTemporalIdNestingFlag: true,
    profileTierLevel: ptl(1, 0x60000000, 63),
    spsSeqParameterSetId: 0,
    chromaFormatIdc: 1,
    separateColourPlaneFlag: false,
    picWidthInLumaSamples: 640,
    picHeightInLumaSamples: 360,
    bitDepthLumaMinus8: 0,
    bitDepthChromaMinus8: 0,
    log2MaxPicOrderCntLsbMinus4: 4,
    spsSubLayerOrderingInfoPresentFlag: true,
    spsMaxDecPicBufferingMinus1: [4],
    spsMaxNumReorderPics: [2],
    spsMaxLatencyIncreasePlus1: [5],
    log2MinLumaCodingBlockSizeMinus3: 0,
    log2DiffMaxMinLumaCodingBlockSize: 3,
    log2MinLumaTransformBlockSizeMinus2: 0,
    log2DiffMaxMinLumaTransformBlockSize: 3,
    maxTransformHierarchyDepthInter: 0,
    maxTransformHierarchyDepthIntra: 0,
    scalingListEnabledFlag: false,
    spsScalingListDataPresentFlag: false,
    ampEnabledFlag: false,
    sampleAdaptiveOffsetEnabledFlag: true,
    pcmEnabledFlag: false,
    numShortTermRefPicSets: 0,
    longTermRefPicsPresentFlag: false,
    numLongTermRefPicsSps: 0,
    spsTemporalMvpEnabledFlag: true,
    strongIntraSmoothingEnabledFlag: true,
    width: 640,
    height: 360,
    vui: {
      neutralChromaIndicationFlag: false,
      fieldSeqFlag: false,
      frameFieldInfoPresentFlag: false,
      vuiHrdParametersPresentFlag: false,
      aspectRatioIdc: 1,
      videoFormat: 5,
      videoFullRangeFlag: false,
      timing: { vuiNumUnitsInTick: 1, vuiTimeScale: 25, vuiPocProportionalToTimingFlag: false },
    },
    ...overrides,
  };
}

const vpsCases: GoldenCase<Uint8Array, H265Vps>[] = [
  {
    name: "x265 main 640x360",
    input: hex("40 01 0c 01 ff ff 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f 95 98 09"),
    parsed: {
      vpsVideoParameterSetId: 0,
      vpsBaseLayerInternalFlag: true,
      vpsBaseLayerAvailableFlag: true,
      vpsMaxLayersMinus1: 0,
      vpsMaxSubLayersMinus1: 0,
      vpsTemporalIdNestingFlag: true,
      profileTierLevel: ptl(1, 0x60000000, 63),
      vpsSubLayerOrderingInfoPresentFlag: true,
      vpsMaxDecPicBufferingMinus1: [4],
      vpsMaxNumReorderPics: [2],
      vpsMaxLatencyIncreasePlus1: [5],
    },
  },
];

/** Every branch encoders we can run do not take; checked against ffmpeg's own parser below. */
const handBuiltSps = writeH265Sps({
  width: 64,
  height: 64,
  log2MaxPocLsbMinus4: 4,
  maxNumReorderPics: 2,
  everyBranch: true,
});

/**
 * SPS NAL units from libx265 3.5 (ffmpeg 5.1.9, Debian 12; `ffmpeg -f lavfi -i testsrc=size=WxH:rate=25
 * -pix_fmt P -c:v libx265 -x265-params log-level=error`), and one built by hand.
 */
const spsCases: GoldenCase<Uint8Array, H265Sps>[] = [
  {
    name: "x265 main 640x360",
    input: hex(
      "42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f a0 05 02 01 69 65 95 9a 49 32 bc 05 a0 20 00 00 03 00 20 00 00 03 03 21",
    ),
    parsed: x265Sps({}),
  },
  {
    name: "x265 main10 (-pix_fmt yuv420p10le) 1920x1080",
    input: hex(
      "42 01 01 02 20 00 00 03 00 90 00 00 03 00 00 03 00 78 a0 03 c0 80 10 e4 d9 65 66 92 4c af 01 68 08 00 00 03 00 08 00 00 03 00 c8 40",
    ),
    parsed: x265Sps({
      profileTierLevel: ptl(2, 0x20000000, 120),
      picWidthInLumaSamples: 1920,
      picHeightInLumaSamples: 1080,
      bitDepthLumaMinus8: 2,
      bitDepthChromaMinus8: 2,
      width: 1920,
      height: 1080,
    }),
  },
  {
    name: "x265 main 320x180: 184 coded lines, conformance window 2 chroma rows",
    input: hex(
      "42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3c a0 0a 08 0b 9f 79 65 66 92 4c af 01 68 08 00 00 03 00 08 00 00 03 00 c8 40",
    ),
    parsed: x265Sps({
      profileTierLevel: ptl(1, 0x60000000, 60),
      picWidthInLumaSamples: 320,
      picHeightInLumaSamples: 184,
      conformanceWindow: {
        confWinLeftOffset: 0,
        confWinRightOffset: 0,
        confWinTopOffset: 0,
        confWinBottomOffset: 2,
      },
      width: 320,
      height: 180,
    }),
  },
  {
    name:
      "hand-built: 3 sub-layers, scaling lists, PCM, explicit and predicted RPS, long-term, full VUI with HRD",
    input: handBuiltSps,
    parsed: x265Sps({
      spsMaxSubLayersMinus1: 2,
      profileTierLevel: {
        ...ptl(1, 0x60000000, 93),
        subLayers: [
          {
            subLayerProfilePresentFlag: true,
            subLayerLevelPresentFlag: true,
            subLayerProfileSpace: 0,
            subLayerTierFlag: false,
            subLayerProfileIdc: 1,
            subLayerProfileCompatibilityFlags: 0x60000000,
            subLayerConstraintIndicatorFlags: PROGRESSIVE_FRAME_ONLY,
            subLayerLevelIdc: 60,
          },
          { subLayerProfilePresentFlag: false, subLayerLevelPresentFlag: true, subLayerLevelIdc: 63 },
        ],
      },
      picWidthInLumaSamples: 64,
      picHeightInLumaSamples: 64,
      conformanceWindow: {
        confWinLeftOffset: 1,
        confWinRightOffset: 2,
        confWinTopOffset: 0,
        confWinBottomOffset: 3,
      },
      spsMaxDecPicBufferingMinus1: [4, 4, 4],
      spsMaxNumReorderPics: [2, 2, 2],
      spsMaxLatencyIncreasePlus1: [0, 0, 0],
      scalingListEnabledFlag: true,
      spsScalingListDataPresentFlag: true,
      pcmEnabledFlag: true,
      numShortTermRefPicSets: 4,
      longTermRefPicsPresentFlag: true,
      numLongTermRefPicsSps: 2,
      // 4:2:0: the window is in chroma samples, 64 - 2 * 3 both ways.
      width: 58,
      height: 58,
      vui: {
        neutralChromaIndicationFlag: false,
        fieldSeqFlag: false,
        frameFieldInfoPresentFlag: true,
        vuiHrdParametersPresentFlag: true,
        aspectRatioIdc: 255,
        sarWidth: 16,
        sarHeight: 11,
        overscanAppropriateFlag: false,
        videoFormat: 5,
        videoFullRangeFlag: false,
        colourPrimaries: 9,
        transferCharacteristics: 16,
        matrixCoeffs: 9,
        chromaSampleLocTypeTopField: 2,
        chromaSampleLocTypeBottomField: 2,
        defaultDisplayWindow: {
          defDispWinLeftOffset: 0,
          defDispWinRightOffset: 0,
          defDispWinTopOffset: 4,
          defDispWinBottomOffset: 4,
        },
        timing: {
          vuiNumUnitsInTick: 1001,
          vuiTimeScale: 30000,
          vuiPocProportionalToTimingFlag: true,
          vuiNumTicksPocDiffOneMinus1: 1,
        },
        bitstreamRestriction: {
          tilesFixedStructureFlag: false,
          motionVectorsOverPicBoundariesFlag: true,
          restrictedRefPicListsFlag: false,
          minSpatialSegmentationIdc: 4,
          maxBytesPerPicDenom: 2,
          maxBitsPerMinCuDenom: 1,
          log2MaxMvLengthHorizontal: 15,
          log2MaxMvLengthVertical: 15,
        },
      },
    }),
  },
];

const x265Pps: H265Pps = {
  ppsPicParameterSetId: 0,
  ppsSeqParameterSetId: 0,
  dependentSliceSegmentsEnabledFlag: false,
  outputFlagPresentFlag: false,
  numExtraSliceHeaderBits: 0,
  signDataHidingEnabledFlag: true,
  cabacInitPresentFlag: false,
  numRefIdxL0DefaultActiveMinus1: 0,
  numRefIdxL1DefaultActiveMinus1: 0,
  initQpMinus26: 0,
  constrainedIntraPredFlag: false,
  transformSkipEnabledFlag: false,
  cuQpDeltaEnabledFlag: true,
  diffCuQpDeltaDepth: 1,
  ppsCbQpOffset: 0,
  ppsCrQpOffset: 0,
  ppsSliceChromaQpOffsetsPresentFlag: false,
  weightedPredFlag: true,
  weightedBipredFlag: false,
  transquantBypassEnabledFlag: false,
  tilesEnabledFlag: false,
  entropyCodingSyncEnabledFlag: true,
};

const ppsCases: GoldenCase<Uint8Array, H265Pps>[] = [
  { name: "x265 (wavefront)", input: hex("44 01 c1 72 b4 62 40"), parsed: x265Pps },
  {
    name: "hand-built: no wavefront",
    input: writeH265Pps(),
    parsed: {
      ...x265Pps,
      signDataHidingEnabledFlag: false,
      cuQpDeltaEnabledFlag: false,
      diffCuQpDeltaDepth: 0,
      weightedPredFlag: false,
      entropyCodingSyncEnabledFlag: false,
    },
  },
];

Deno.test("parseH265Vps() reads a VPS to its sub-layer ordering", async (t) => {
  await goldenParseSteps(t, vpsCases, parseH265Vps);
});

Deno.test("parseH265Sps() reads every field of encoders' SPS", async (t) => {
  await goldenParseSteps(t, spsCases, parseH265Sps);
});

Deno.test("parseH265Pps() reads a PPS to its tile and wavefront flags", async (t) => {
  await goldenParseSteps(t, ppsCases, parseH265Pps);
});

Deno.test("parseH265Sps() throws RbspError naming what is wrong", async (t) => {
  const cases: { name: string; input: Uint8Array; message: RegExp }[] = [
    { name: "a VPS", input: vpsCases[0].input, message: /Not an H.265 SPS/ },
    {
      name: "forbidden_zero_bit set",
      input: Uint8Array.of(0xc2, ...spsCases[0].input.subarray(1)),
      message: /Not an H.265 SPS/,
    },
    { name: "cut inside profile_tier_level", input: spsCases[0].input.subarray(0, 10), message: /RBSP ends/ },
    {
      name: "sps_max_sub_layers_minus1 7",
      input: hex("42 01 0e 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3f"),
      message: /sps_max_sub_layers_minus1 is 7/,
    },
    {
      // libx265 3.5 with multi-pass-opt-rps in its second pass; ffmpeg refuses it too ("Invalid value of delta_poc: 0").
      name: "x265 multi-pass-opt-rps SPS whose RPS does not parse",
      input: hex(
        "42 01 01 04 08 00 00 03 00 9e 08 00 00 03 00 00 3c 90 01 41 01 e2 cb 2b 34 92 64 24 88 00 00 03 00 00 03 00 00 03 00 00 0d 80 00 00 03 00 00 03 00 00 03 00 00 03 00 02 c0 00 09 00 05 00 90 00 68 00 00 12 00 0f 01 6e 04 04 00 08 00 00 03 00 08 00 00 03 00 c8 40",
      ),
      message: /longer than 32 bits/,
    },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () =>
        assert.throws(
          () => parseH265Sps(c.input),
          (e) => e instanceof RbspError && c.message.test(e.message),
        ),
    );
  }
});

const sliceMaps = {
  pps: new Map([[0, parseH265Pps(writeH265Pps())]]),
  sps: new Map([[
    0,
    parseH265Sps(writeH265Sps({ width: 640, height: 360, log2MaxPocLsbMinus4: 4, maxNumReorderPics: 2 })),
  ]]),
};

function sliceHeader(overrides: Partial<H265SliceHeader>): H265SliceHeader {
  return {
    nalUnitType: 1,
    nuhTemporalIdPlus1: 1,
    firstSliceSegmentInPicFlag: true,
    noOutputOfPriorPicsFlag: false,
    slicePicParameterSetId: 0,
    dependentSliceSegmentFlag: false,
    sliceSegmentAddress: 0,
    sliceType: 1,
    picOutputFlag: true,
    slicePicOrderCntLsb: 0,
    ...overrides,
  };
}

const sliceCases: GoldenCase<Uint8Array, H265SliceHeader>[] = [
  {
    name: "IDR_W_RADL: no POC lsb",
    input: writeH265Slice(19, 0, 4),
    parsed: sliceHeader({ nalUnitType: 19, sliceType: 2 }),
  },
  {
    name: "CRA, POC lsb 40",
    input: writeH265Slice(21, 40, 4),
    parsed: sliceHeader({ nalUnitType: 21, sliceType: 2, slicePicOrderCntLsb: 40 }),
  },
  {
    name: "TRAIL_N on sub-layer 2, POC lsb 255",
    input: writeH265Slice(0, 255, 4, 2),
    parsed: sliceHeader({ nalUnitType: 0, nuhTemporalIdPlus1: 3, slicePicOrderCntLsb: 255 }),
  },
];

Deno.test("parseH265SliceHeader() reads a slice segment header to its POC lsb", async (t) => {
  await goldenParseSteps(t, sliceCases, (nal) => parseH265SliceHeader(nal, sliceMaps.pps, sliceMaps.sps));
});

Deno.test("parseH265SliceHeader() throws RbspError for unknown parameter sets and non-slices", () => {
  assert.throws(
    () => parseH265SliceHeader(sliceCases[1].input, new Map(), sliceMaps.sps),
    /PPS 0, not received/,
  );
  assert.throws(() => parseH265SliceHeader(sliceCases[1].input, sliceMaps.pps, new Map()), /refers to SPS 0/);
  assert.throws(
    () => parseH265SliceHeader(spsCases[0].input, sliceMaps.pps, sliceMaps.sps),
    /Not an H.265 slice/,
  );
});

/** Encoders whose VPS, SPS, PPS and every slice header are checked against ffmpeg's own parser. */
const ENCODERS: { name: string; size: string; params: string; pixFmt?: string; profile: string }[] = [
  { name: "main 640x360, bframes=4", size: "640x360", params: "bframes=4", profile: "Main" },
  { name: "main 320x180 (conformance window)", size: "320x180", params: "bframes=0", profile: "Main" },
  {
    name: "main10 1280x720",
    size: "1280x720",
    params: "bframes=3:b-pyramid=0",
    pixFmt: "yuv420p10le",
    profile: "Main 10",
  },
  {
    name: "main 4:4:4 (RExt) 320x240",
    size: "320x240",
    params: "bframes=2",
    pixFmt: "yuv444p",
    profile: "Rext",
  },
  {
    name: "main 4:2:2 10 (RExt) 320x240",
    size: "320x240",
    params: "keyint=5:open-gop=1",
    pixFmt: "yuv422p10le",
    profile: "Rext",
  },
  {
    name: "temporal layers, 2 slices",
    size: "640x360",
    params: "temporal-layers=1:slices=2",
    profile: "Main",
  },
];

Deno.test("parseH265Vps(), parseH265Sps(), parseH265Pps(), parseH265SliceHeader() agree with ffmpeg on libx265 streams", async (t) => {
  for (const e of ENCODERS) {
    await t.step(e.name, async () => {
      const args = ["-c:v", "libx265", "-x265-params", `log-level=error:${e.params}`];
      const clip = await encodeClip("h265", e.size, args, { frames: 12, pixFmt: e.pixFmt });
      try {
        const nals = splitAnnexB(clip.bytes);
        const trace = await traceHeaders(clip.raw);
        const first = (type: number) => nals.find((n) => nalType("h265", n) === type)!;
        assertMatchesTrace(parseH265Vps(first(32)), trace.find((h) => h.title === "Video Parameter Set"), 14);
        const sps = parseH265Sps(first(33));
        assertMatchesTrace(sps, trace.find((h) => h.title === "Sequence Parameter Set"), 45);
        const pps = parseH265Pps(first(34));
        assertMatchesTrace(pps, trace.find((h) => h.title === "Picture Parameter Set"), 22);

        const probed = await probeStream(clip.mp4);
        assert.deepEqual(
          {
            width: sps.width,
            height: sps.height,
            level: sps.profileTierLevel.generalLevelIdc,
            profile: e.profile,
          },
          { width: probed.width, height: probed.height, level: probed.level, profile: probed.profile },
        );

        const slices = nals.filter((n) => nalType("h265", n) <= 31);
        const traced = trace.filter((h) => h.title === "Slice Segment Header");
        assert.equal(slices.length, traced.length);
        const maps = { pps: new Map([[0, pps]]), sps: new Map([[0, sps]]) };
        slices.forEach((nal, i) =>
          assertMatchesTrace(parseH265SliceHeader(nal, maps.pps, maps.sps), traced[i], 4)
        );
      } finally {
        await clip.remove();
      }
    });
  }
});

Deno.test("parseH265Sps() agrees with ffmpeg on the hand-built SPS", async () => {
  const units = [vpsCases[0].input, handBuiltSps, writeH265Pps(), writeH265Slice(19, 0, 4)];
  const trace = await traceNalUnits("h265", units);
  assertMatchesTrace(parseH265Sps(handBuiltSps), trace.find((h) => h.title === "Sequence Parameter Set"), 75);
});

/** The convention: any bytes as VPS, SPS or PPS give RbspError or a value; the SPS a positive size. */
function checkParameterSets(input: Uint8Array): void {
  const isRbsp = (e: unknown) => e instanceof RbspError;
  const sps = parseOrRefuse(() => parseH265Sps(input), isRbsp);
  if (sps !== REFUSED) {
    assert.ok(
      sps.width > 0 && sps.height > 0 && sps.spsMaxNumReorderPics.length === sps.spsMaxSubLayersMinus1 + 1,
    );
  }
  const vps = parseOrRefuse(() => parseH265Vps(input), isRbsp);
  if (vps !== REFUSED) assert.ok(vps.vpsMaxSubLayersMinus1 <= 6);
  const pps = parseOrRefuse(() => parseH265Pps(input), isRbsp);
  if (pps !== REFUSED) assert.ok(pps.ppsPicParameterSetId <= 63);
}

Deno.test("parseH265Vps(), parseH265Sps(), parseH265Pps() fuzz: corpus and mutated inputs give RbspError or a value", async (t) => {
  await fuzzSteps(t, {
    corpus: "h265_parameter_sets",
    label: "parseH265Sps()",
    seeds: [
      ...goldenSeeds(spsCases, (c) => [c.input]),
      ...goldenSeeds(vpsCases, (c) => [c.input]),
      ...goldenSeeds(ppsCases, (c) => [c.input]),
    ],
    check: checkParameterSets,
    count: 3000,
    seed: 265,
    kind: "binary",
    maxBytes: 512,
  });
});

function checkSliceHeader(input: Uint8Array): void {
  const header = parseOrRefuse(
    () => parseH265SliceHeader(input, sliceMaps.pps, sliceMaps.sps),
    (e) => e instanceof RbspError,
  );
  if (header !== REFUSED) assert.ok(header.slicePicOrderCntLsb >= 0 && header.slicePicOrderCntLsb < 256);
}

Deno.test("parseH265SliceHeader() fuzz: corpus and mutated inputs give RbspError or a header", async (t) => {
  await fuzzSteps(t, {
    corpus: "h265_slice_header",
    label: "parseH265SliceHeader()",
    seeds: goldenSeeds(sliceCases, (c) => [c.input]),
    check: checkSliceHeader,
    count: 3000,
    seed: 7798,
    kind: "binary",
    maxBytes: 128,
  });
});

import assert from "node:assert/strict";
import { type DtsExtractor, H264DtsExtractor, H265DtsExtractor } from "./dts_extractor.ts";
import { type H264Sps, parseH264Sps } from "./h264_sps.ts";
import { parseH265Sps } from "./h265_sps.ts";
import { avcDecoderConfigFromParameterSets, serializeAvcDecoderConfig } from "./avc_decoder_config.ts";
import { hevcDecoderConfigFromParameterSets, serializeHevcDecoderConfig } from "./hevc_decoder_config.ts";
import {
  baseH264Sps,
  writeH264Pps,
  writeH264Slice,
  writeH264Sps,
  writeH265Pps,
  writeH265Slice,
  writeH265Sps,
} from "./testdata/parameter_set_writer.ts";
import { accessUnits, nalType, splitAnnexB } from "./testdata/annex_b.ts";
import { assertDecodesLikeClip, encodeClip, probePackets, probeStream } from "./testdata/encoded_video.ts";
import { fuzzSteps } from "../testing/fuzz.ts";
import { Prng } from "../testing/prng.ts";

/** 25 frames/s in the 90 kHz clock. */
const FRAME = 3600;
const BASE = 900000;

/** One frame of a synthetic stream in decoding order: its output index (from the last IDR) and kind. */
interface Frame {
  out: number;
  ref: boolean;
  idr?: boolean;
}

/** x264's bframes=3 b-pyramid=normal decoding order: I0 P4 B2 b1 b3 P8 B6 b5 b7 …, a keyframe every `gop`. */
function pyramid(frames: number, gop = frames): Frame[] {
  const order: Frame[] = [];
  for (let start = 0; start < frames; start += gop) {
    const n = Math.min(gop, frames - start);
    order.push({ out: 0, ref: true, idr: true });
    for (let k = 0; k + 1 < n; k += 4) {
      const top = Math.min(k + 4, n - 1);
      order.push({ out: top, ref: true });
      if (top - k === 4) {
        order.push({ out: k + 2, ref: true }, { out: k + 1, ref: false }, { out: k + 3, ref: false });
      } else for (let j = k + 1; j < top; j++) order.push({ out: j, ref: false });
    }
  }
  return order;
}

/** P-frames only. */
function progressive(frames: number, gop = frames): Frame[] {
  return Array.from({ length: frames }, (_, i) => ({ out: i % gop, ref: true, idr: i % gop === 0 }));
}

/** The pts of each frame: its GOP's start plus its output index, in frame durations. */
function ptsOf(order: readonly Frame[]): number[] {
  let gopStart = 0;
  let seen = 0;
  return order.map((f) => {
    if (f.idr) gopStart = seen;
    seen++;
    return BASE + (gopStart + f.out) * FRAME;
  });
}

/** The access units of a synthetic H.264 stream: SPS + PPS before every IDR, one slice per frame. */
function h264Stream(order: readonly Frame[], sps: H264Sps): Uint8Array[][] {
  const spsNal = writeH264Sps(sps);
  const pps = writeH264Pps();
  const maxLsb = 2 ** (sps.log2MaxPicOrderCntLsbMinus4 + 4);
  const maxFrameNum = 2 ** (sps.log2MaxFrameNumMinus4 + 4);
  let frameNum = 0;
  return order.map((f) => {
    if (f.idr) frameNum = 0;
    const slice = writeH264Slice({
      idr: f.idr ?? false,
      nalRefIdc: f.ref ? 2 : 0,
      frameNum: frameNum % maxFrameNum,
      pocLsb: (2 * f.out) % maxLsb,
      sliceType: f.idr ? 7 : 5,
    }, sps);
    if (f.ref) frameNum++;
    return f.idr ? [spsNal, pps, slice] : [slice];
  });
}

/** The dts the rule gives with depth r: the (r+1)-th largest pts so far, frame durations back before that. */
function expectedDts(pts: readonly number[], r: number): number[] {
  const seen: number[] = [];
  return pts.map((p) => {
    seen.push(p);
    seen.sort((a, b) => b - a);
    return seen.length > r ? seen[r] : seen[seen.length - 1] - (r + 1 - seen.length) * FRAME;
  });
}

function run(extractor: DtsExtractor, aus: readonly Uint8Array[][], pts: readonly number[]): number[] {
  return aus.map((au, i) => extractor.extract(au, pts[i]));
}

/** Strictly increasing and never above pts. */
function assertWellFormed(dts: readonly number[], pts: readonly number[]): void {
  for (let i = 0; i < dts.length; i++) {
    assert.ok(dts[i] <= pts[i], `frame ${i}: dts ${dts[i]} above pts ${pts[i]}`);
    if (i > 0) assert.ok(dts[i] > dts[i - 1], `frame ${i}: dts ${dts[i]} not above ${dts[i - 1]}`);
  }
}

const x264Vui = (maxNumReorderFrames: number) => ({
  picStructPresentFlag: false,
  timing: { numUnitsInTick: 1, timeScale: 50, fixedFrameRateFlag: false },
  bitstreamRestriction: {
    motionVectorsOverPicBoundariesFlag: true,
    maxBytesPerPicDenom: 0,
    maxBitsPerMbDenom: 0,
    log2MaxMvLengthHorizontal: 9,
    log2MaxMvLengthVertical: 9,
    maxNumReorderFrames,
    maxDecFrameBuffering: 4,
  },
});

Deno.test("H264DtsExtractor: the reorder depth the SPS declares", async (t) => {
  await t.step("no B-frames: dts is pts", () => {
    const order = progressive(40, 12);
    const pts = ptsOf(order);
    const x = new H264DtsExtractor();
    assert.deepEqual(run(x, h264Stream(order, baseH264Sps({ vui: x264Vui(0) })), pts), pts);
    assert.equal(x.reorderFrames, 0);
    assert.deepEqual(x.stats, {
      frames: 40,
      unparsed: 0,
      reorderRaised: 0,
      dtsAbovePts: 0,
      timelineRestarts: 0,
    });
  });
  await t.step(
    "b-pyramid, depth 2: the pts two frames back, and 2 frames before the first pts at the start",
    () => {
      const order = pyramid(60, 20);
      const pts = ptsOf(order);
      const x = new H264DtsExtractor();
      // MaxPicOrderCntLsb 32: the lsb wraps every 16 frames, so the POC's MSB is tracked too (the
      // smallest that keeps a reference's POC within half of it from the previous one, §8.2.1).
      const dts = run(
        x,
        h264Stream(order, baseH264Sps({ log2MaxPicOrderCntLsbMinus4: 1, vui: x264Vui(2) })),
        pts,
      );
      assert.deepEqual(dts, expectedDts(pts, 2));
      assert.equal(dts[0], pts[0] - 2 * FRAME, "frame duration from the VUI: 2 * 1 / 50 s");
      assertWellFormed(dts, pts);
      assert.deepEqual({ ...x.stats, frames: 0 }, {
        frames: 0,
        unparsed: 0,
        reorderRaised: 0,
        dtsAbovePts: 0,
        timelineRestarts: 0,
      });
    },
  );
  await t.step("pic_order_cnt_type 2 forbids reordering, whatever the VUI says", () => {
    const order = progressive(10);
    const pts = ptsOf(order);
    const sps = baseH264Sps({ picOrderCntType: 2 });
    assert.deepEqual(run(new H264DtsExtractor(), h264Stream(order, sps), pts), pts);
  });
  await t.step("pic_order_cnt_type 1: POC from frame_num", () => {
    const order = progressive(30, 10);
    const pts = ptsOf(order);
    const sps = baseH264Sps({
      picOrderCntType: 1,
      deltaPicOrderAlwaysZeroFlag: true,
      offsetForRefFrame: [2],
      log2MaxFrameNumMinus4: 0,
    });
    const x = new H264DtsExtractor();
    assert.deepEqual(run(x, h264Stream(order, sps), pts), pts);
    assert.equal(x.stats.unparsed, 0);
  });
});

Deno.test("H264DtsExtractor: an SPS without bitstream_restriction", async (t) => {
  await t.step("b-pyramid: a gap in the POCs raises the depth before the B-frames that fill it come", () => {
    const order = pyramid(64, 32);
    const pts = ptsOf(order);
    const x = new H264DtsExtractor();
    const dts = run(x, h264Stream(order, baseH264Sps()), pts);
    assertWellFormed(dts, pts);
    assert.equal(x.reorderFrames, 2);
    assert.equal(x.stats.dtsAbovePts, 0);
    // Once the depth is known, the rule's dts exactly.
    assert.deepEqual(dts.slice(10), expectedDts(pts, 2).slice(10));
  });
  await t.step("P-frames with a lost frame: one frame behind for a while, then dts is pts again", () => {
    const order = progressive(60).filter((f) => f.out !== 20);
    const pts = ptsOf(order);
    const x = new H264DtsExtractor();
    const dts = run(x, h264Stream(order, baseH264Sps()), pts);
    assertWellFormed(dts, pts);
    assert.deepEqual(dts.slice(0, 20), pts.slice(0, 20));
    assert.deepEqual(dts.slice(40), pts.slice(40));
    assert.equal(x.reorderFrames, 0);
  });
});

Deno.test("H264DtsExtractor: what it cannot read does not throw and is counted", async (t) => {
  const order = pyramid(24, 12);
  const pts = ptsOf(order);
  const aus = h264Stream(order, baseH264Sps({ vui: x264Vui(2) }));
  await t.step("frames before any SPS, and the SDP's parameter sets", () => {
    const x = new H264DtsExtractor();
    const noParams = aus.map((au) => au.filter((n) => (n[0] & 0x1f) !== 7 && (n[0] & 0x1f) !== 8));
    const dts = run(x, noParams, pts);
    assert.equal(x.stats.unparsed, 24);
    // Without a POC the depth comes from pts alone, raised as reordering shows: still increasing.
    for (let i = 1; i < dts.length; i++) assert.ok(dts[i] > dts[i - 1]);
    const y = new H264DtsExtractor();
    y.addParameterSets([aus[0][0], aus[0][1], Uint8Array.of(0x67, 0xff)]);
    assert.deepEqual(run(y, noParams, pts), expectedDts(pts, 2));
    assert.equal(y.stats.unparsed, 0);
  });
  await t.step("damaged slices, empty units, garbage", () => {
    const x = new H264DtsExtractor();
    const damaged = aus.map((
      au,
      i,
    ) => (i % 5 === 3 ? [new Uint8Array(0), Uint8Array.of(0x41), Uint8Array.of(0x09, 0xf0)] : au));
    const dts = run(x, damaged, pts);
    for (let i = 1; i < dts.length; i++) assert.ok(dts[i] > dts[i - 1]);
    assert.equal(x.stats.unparsed, 5);
    assert.doesNotThrow(() => x.extract([], pts.at(-1)! + FRAME));
  });
  await t.step("a repeated pts still gets a larger dts", () => {
    const x = new H264DtsExtractor();
    const progressiveAus = h264Stream(progressive(3), baseH264Sps({ vui: x264Vui(0) }));
    const dts = run(x, progressiveAus, [BASE, BASE, BASE + FRAME]);
    assert.deepEqual(dts, [BASE, BASE + 1, BASE + FRAME]);
    assert.equal(x.stats.dtsAbovePts, 1);
  });
  await t.step("pts more than a second back: a new timeline", () => {
    const x = new H264DtsExtractor();
    const p = progressive(4);
    const progressiveAus = h264Stream(p, baseH264Sps({ vui: x264Vui(0) }));
    const dts = run(x, progressiveAus, [BASE, BASE + FRAME, 1000, 1000 + FRAME]);
    assert.deepEqual(dts, [BASE, BASE + FRAME, 1000, 1000 + FRAME]);
    assert.equal(x.stats.timelineRestarts, 1);
  });
  await t.step("an SPS that declares no reordering for a stream that reorders", () => {
    const x = new H264DtsExtractor();
    const dts = run(x, h264Stream(order, baseH264Sps({ vui: x264Vui(0) })), pts);
    for (let i = 1; i < dts.length; i++) assert.ok(dts[i] > dts[i - 1]);
    assert.equal(x.reorderFrames, 2);
    assert.ok(x.stats.reorderRaised >= 1);
    assert.deepEqual(dts.slice(12), expectedDts(pts, 2).slice(12), "the second GOP has the rule's dts");
  });
});

const H265_IDR = 19;
const H265_CRA = 21;
const H265_TRAIL_R = 1;
const H265_TRAIL_N = 0;
const H265_RASL_N = 8;

/** A synthetic H.265 stream: [NAL type, POC, TemporalId] per frame in decoding order. */
function h265Stream(
  frames: readonly [number, number, number][],
  log2MaxPocLsbMinus4: number,
  reorder: number,
): Uint8Array[][] {
  const sps = writeH265Sps({
    width: 64,
    height: 64,
    log2MaxPocLsbMinus4,
    maxNumReorderPics: reorder,
    timing: [1, 25],
  });
  const pps = writeH265Pps();
  const max = 2 ** (log2MaxPocLsbMinus4 + 4);
  return frames.map(([type, poc, tid]) => {
    const slice = writeH265Slice(type, ((poc % max) + max) % max, log2MaxPocLsbMinus4, tid);
    return type >= 16 ? [sps, pps, slice] : [slice];
  });
}

Deno.test("H265DtsExtractor: POC from slice_pic_order_cnt_lsb, reset at IDR, continued over CRA", async (t) => {
  await t.step("b-pyramid of depth 2 with the lsb wrapping every 16 pictures", () => {
    const order = pyramid(48, 24);
    const pts = ptsOf(order);
    const frames = order.map((
      f,
    ): [number, number, number] => [
      f.idr ? H265_IDR : f.ref ? H265_TRAIL_R : H265_TRAIL_N,
      f.out,
      f.ref ? 0 : 1,
    ]);
    const x = new H265DtsExtractor();
    const dts = run(x, h265Stream(frames, 0, 2), pts);
    assert.deepEqual(dts, expectedDts(pts, 2));
    assert.equal(x.stats.reorderRaised, 0);
  });
  await t.step("open GOP: a CRA's leading pictures come after it and are shown before it", () => {
    // POC 0..7, then CRA at POC 12 whose RASL pictures 8..11 follow it; POC keeps counting.
    const frames: [number, number, number][] = [[H265_IDR, 0, 0]];
    for (let p = 1; p < 8; p++) frames.push([H265_TRAIL_R, p, 0]);
    frames.push([H265_CRA, 12, 0], [H265_RASL_N, 10, 0], [H265_RASL_N, 8, 1], [H265_RASL_N, 9, 1], [
      H265_RASL_N,
      11,
      1,
    ]);
    for (let p = 13; p < 40; p++) frames.push([H265_TRAIL_R, p, 0]);
    const pts = frames.map(([, poc]) => BASE + poc * FRAME);
    const x = new H265DtsExtractor();
    const dts = run(x, h265Stream(frames, 0, 3), pts);
    assertWellFormed(dts, pts);
    assert.deepEqual(dts, expectedDts(pts, 3));
    assert.equal(x.stats.unparsed, 0);
  });
  await t.step("a second IDR restarts the POC at 0", () => {
    const frames: [number, number, number][] = [];
    for (let g = 0; g < 3; g++) {
      for (let p = 0; p < 10; p++) frames.push([p === 0 ? H265_IDR : H265_TRAIL_R, p, 0]);
    }
    const pts = frames.map((_, i) => BASE + i * FRAME);
    const x = new H265DtsExtractor();
    assert.deepEqual(run(x, h265Stream(frames, 0, 0), pts), pts);
    assert.equal(x.stats.reorderRaised, 0);
  });
  await t.step("sub-layer non-reference pictures do not anchor the POC's MSB", () => {
    // TRAIL_N pictures on sub-layer 1 with POCs far from the anchor would otherwise shift the MSB.
    const frames: [number, number, number][] = [[H265_IDR, 0, 0]];
    for (let p = 1; p < 60; p++) {
      frames.push([p % 2 === 0 ? H265_TRAIL_R : H265_TRAIL_N, p, p % 2 === 0 ? 0 : 1]);
    }
    const pts = frames.map((_, i) => BASE + i * FRAME);
    assert.deepEqual(run(new H265DtsExtractor(), h265Stream(frames, 0, 0), pts), pts);
  });
});

/** The convention: any frames, any pts order, never a throw; dts strictly increasing. */
function checkExtractor(input: Uint8Array): void {
  if (input.length < 2) return;
  const x = input[0] % 2 === 0 ? new H264DtsExtractor() : new H265DtsExtractor();
  const rng = new Prng(input[1] + 1);
  let pts = BASE;
  let last = -Infinity;
  // The input is cut into NAL units of 1-40 bytes, grouped 1-4 to a frame.
  let at = 2;
  while (at < input.length) {
    const units: Uint8Array[] = [];
    for (let n = 1 + rng.int(4); n > 0 && at < input.length; n--) {
      const len = 1 + rng.int(40);
      units.push(input.subarray(at, at + len));
      at += len;
    }
    pts += rng.int(3) === 0 ? -FRAME : 2 * FRAME;
    const dts = x.extract(units, pts);
    assert.ok(Number.isFinite(dts) && (dts > last || x.stats.timelineRestarts > 0));
    last = dts;
  }
}

Deno.test("DtsExtractor fuzz: mutated streams never throw and give increasing dts", async (t) => {
  const order = pyramid(12);
  const h264 = h264Stream(order, baseH264Sps({ vui: x264Vui(2) })).flat();
  const h265 = h265Stream(order.map((f) => [f.idr ? H265_IDR : H265_TRAIL_R, f.out, 0]), 0, 2).flat();
  const pack = (codec: number, units: Uint8Array[]) =>
    Uint8Array.of(codec, 7, ...units.flatMap((u) => [...u]));
  await fuzzSteps(t, {
    corpus: "dts_extractor",
    label: "DtsExtractor.extract()",
    seeds: [pack(0, h264), pack(1, h265)],
    check: checkExtractor,
    count: 1500,
    seed: 9000,
    kind: "binary",
    maxBytes: 1024,
  });
});

/** Encoders whose stream the extractor runs on, against the dts the encoder put in its MP4. */
const ENCODERS: {
  name: string;
  codec: "h264" | "h265";
  size: string;
  args: string[];
  frames: number;
  reorder: number;
}[] = [
  {
    name: "x264 bframes=3 b-pyramid=normal",
    codec: "h264",
    size: "640x360",
    args: ["-c:v", "libx264", "-x264-params", "bframes=3:b-pyramid=normal:keyint=40"],
    frames: 90,
    reorder: 2,
  },
  {
    name: "x264 bframes=2, no pyramid",
    codec: "h264",
    size: "320x240",
    args: ["-c:v", "libx264", "-x264-params", "bframes=2:b-pyramid=none"],
    frames: 60,
    reorder: 1,
  },
  {
    name: "x264 without B-frames",
    codec: "h264",
    size: "320x240",
    args: ["-c:v", "libx264", "-bf", "0", "-g", "25"],
    frames: 60,
    reorder: 0,
  },
  {
    name: "x264 baseline",
    codec: "h264",
    size: "320x240",
    args: ["-c:v", "libx264", "-profile:v", "baseline"],
    frames: 40,
    reorder: 0,
  },
  {
    name: "x264 interlaced (MBAFF) with B-frames",
    codec: "h264",
    size: "720x576",
    args: ["-c:v", "libx264", "-x264-params", "interlaced=1:bframes=2"],
    frames: 40,
    reorder: 2,
  },
  {
    name: "x265 bframes=4 (b-pyramid), POC lsb wrapping every 16",
    codec: "h265",
    size: "320x240",
    args: ["-c:v", "libx265", "-x265-params", "log-level=error:bframes=4:log2-max-poc-lsb=4:keyint=50"],
    frames: 90,
    reorder: 2,
  },
  {
    name: "x265 open GOP (CRA with RASL pictures)",
    codec: "h265",
    size: "320x240",
    args: [
      "-c:v",
      "libx265",
      "-x265-params",
      "log-level=error:bframes=3:keyint=20:min-keyint=20:open-gop=1:scenecut=0",
    ],
    frames: 70,
    reorder: -1,
  },
  {
    name: "x265 without B-frames",
    codec: "h265",
    size: "320x240",
    args: ["-c:v", "libx265", "-x265-params", "log-level=error:bframes=0"],
    frames: 40,
    reorder: 0,
  },
  {
    name: "x265 temporal layers",
    codec: "h265",
    size: "320x240",
    args: ["-c:v", "libx265", "-x265-params", "log-level=error:temporal-layers=1:bframes=3"],
    frames: 40,
    reorder: -1,
  },
];

Deno.test("DtsExtractor on encoders' streams: the encoder's reorder delay, and ffmpeg decodes our dts", async (t) => {
  for (const e of ENCODERS) {
    await t.step(e.name, async () => {
      const clip = await encodeClip(e.codec, e.size, e.args, { frames: e.frames });
      try {
        const nals = splitAnnexB(clip.bytes);
        const aus = accessUnits(e.codec, nals);
        const packets = await probePackets(clip.mp4);
        assert.equal(aus.length, packets.length);
        const pts = packets.map((p) => p.pts);
        const x = e.codec === "h264" ? new H264DtsExtractor() : new H265DtsExtractor();
        const dts = run(x, aus, pts);
        assertWellFormed(dts, pts);
        assert.deepEqual({ ...x.stats }, {
          frames: aus.length,
          unparsed: 0,
          reorderRaised: 0,
          dtsAbovePts: 0,
          timelineRestarts: 0,
        });
        const probed = await probeStream(clip.mp4);
        assert.equal(x.reorderFrames, e.reorder >= 0 ? e.reorder : probed.has_b_frames);
        // ffmpeg's dts may start elsewhere; each frame's pts - dts, the reorder delay, is the same.
        const offset = dts[0] - packets[0].dts;
        assert.deepEqual(dts.map((d) => d - offset), packets.map((p) => p.dts));
        if (e.reorder === 0) assert.deepEqual(dts, pts);

        const first = (type: number) => nals.filter((n) => nalType(e.codec, n) === type).slice(0, 1);
        const [entry, config, size] = e.codec === "h264"
          ? [
            "avc1" as const,
            serializeAvcDecoderConfig(avcDecoderConfigFromParameterSets(first(7), first(8))),
            parseH264Sps(first(7)[0]),
          ]
          : [
            "hvc1" as const,
            serializeHevcDecoderConfig(hevcDecoderConfigFromParameterSets(first(32), first(33), first(34))),
            parseH265Sps(first(33)[0]),
          ];
        const samples = aus.map((units, i) => ({ units, dts: dts[i], pts: pts[i], sync: packets[i].key }));
        await assertDecodesLikeClip(clip, entry, config, size, samples);
      } finally {
        await clip.remove();
      }
    });
  }
});

Deno.test("H264DtsExtractor on x264's b-pyramid with the VUI's reorder depth taken out: learnt from the POC", async () => {
  const clip = await encodeClip("h264", "320x240", [
    "-c:v",
    "libx264",
    "-x264-params",
    "bframes=3:b-pyramid=normal:keyint=30",
  ], { frames: 90 });
  try {
    const aus = accessUnits("h264", splitAnnexB(clip.bytes)).map((au) =>
      au.map((nal) => {
        if (nalType("h264", nal) !== 7) return nal;
        const sps = parseH264Sps(nal);
        delete sps.vui?.bitstreamRestriction;
        return writeH264Sps(sps);
      })
    );
    const packets = await probePackets(clip.mp4);
    const pts = packets.map((p) => p.pts);
    const x = new H264DtsExtractor();
    const dts = run(x, aus, pts);
    assertWellFormed(dts, pts);
    assert.equal(x.reorderFrames, 2);
    assert.equal(x.stats.dtsAbovePts, 0);
    const offset = dts.at(-1)! - packets.at(-1)!.dts;
    // From the first P-frame after the first B-frames on, the encoder's own delay.
    assert.deepEqual(dts.slice(8).map((d) => d - offset), packets.slice(8).map((p) => p.dts));
  } finally {
    await clip.remove();
  }
});

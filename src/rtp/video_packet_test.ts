import assert from "node:assert/strict";
import { VIDEO_CODEC, VIDEO_FLAG, videoPacketFlags } from "./video_packet.ts";
import { H264_FLAG, h264IsKeyframeStart, h264PacketFlags } from "./h264.ts";
import { H265_FLAG, h265IsKeyframeStart, h265PacketFlags } from "./h265.ts";
import { fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const { KEYFRAME_START, PARAMETER_SETS, SLICE } = VIDEO_FLAG;

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(" "), (h) => parseInt(h, 16));
}

const cases: { name: string; codec: number; payload: string; flags: number }[] = [
  { name: "H.264 IDR", codec: VIDEO_CODEC.H264, payload: "65 88 84 00", flags: KEYFRAME_START | SLICE },
  { name: "H.264 FU-A middle of IDR", codec: VIDEO_CODEC.H264, payload: "7c 05 aa bb", flags: SLICE },
  { name: "H.264 P slice", codec: VIDEO_CODEC.H264, payload: "41 9a 24 6c", flags: SLICE },
  { name: "H.264 SPS", codec: VIDEO_CODEC.H264, payload: "67 42 c0 1e", flags: PARAMETER_SETS },
  {
    name: "H.264 STAP-A SPS+PPS+IDR",
    codec: VIDEO_CODEC.H264,
    payload: "78 00 02 67 42 00 02 68 ce 00 02 65 88",
    flags: KEYFRAME_START | PARAMETER_SETS | SLICE,
  },
  { name: "H.264 SEI", codec: VIDEO_CODEC.H264, payload: "06 05 11 dc", flags: 0 },
  {
    name: "H.265 IDR_W_RADL",
    codec: VIDEO_CODEC.H265,
    payload: "26 01 af 06",
    flags: KEYFRAME_START | SLICE,
  },
  {
    name: "H.265 FU start of CRA",
    codec: VIDEO_CODEC.H265,
    payload: "62 01 95 aa",
    flags: KEYFRAME_START | SLICE,
  },
  { name: "H.265 FU end of CRA", codec: VIDEO_CODEC.H265, payload: "62 01 55 aa", flags: SLICE },
  { name: "H.265 TRAIL_R", codec: VIDEO_CODEC.H265, payload: "02 01 d0 28", flags: SLICE },
  { name: "H.265 VPS", codec: VIDEO_CODEC.H265, payload: "40 01 0c 01", flags: PARAMETER_SETS },
  {
    name: "H.265 AP VPS+SPS+PPS",
    codec: VIDEO_CODEC.H265,
    payload: "60 01 00 03 40 01 0c 00 03 42 01 01 00 03 44 01 c1",
    flags: PARAMETER_SETS,
  },
  { name: "H.265 prefix SEI", codec: VIDEO_CODEC.H265, payload: "4e 01 05 ff", flags: 0 },
  // The same bytes mean different things per codec: 0x40 is an H.265 VPS, an H.264 NRI-only type 0.
  { name: "H.265 VPS bytes read as H.264", codec: VIDEO_CODEC.H264, payload: "40 01 0c 01", flags: 0 },
  // 0x41 is an H.264 P slice but an H.265 VPS: reading by the wrong codec would start a GOP here.
  {
    name: "H.264 P slice bytes read as H.265",
    codec: VIDEO_CODEC.H265,
    payload: "41 9a 24 6c",
    flags: PARAMETER_SETS,
  },
  { name: "NONE never reports anything", codec: VIDEO_CODEC.NONE, payload: "65 88 84 00", flags: 0 },
  { name: "unknown codec number", codec: 9, payload: "65 88 84 00", flags: 0 },
];

Deno.test("videoPacketFlags() maps each codec's payload to keyframe start, parameter sets, slice", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const p = bytes(c.payload);
      assert.equal(videoPacketFlags(c.codec, p, 0, p.length), c.flags);
    });
  }
});

Deno.test("videoPacketFlags() returns 0 for unreadable bounds of either codec", () => {
  const p = bytes("26 01 af 06");
  for (const codec of [VIDEO_CODEC.H264, VIDEO_CODEC.H265]) {
    assert.equal(videoPacketFlags(codec, p, -1, 4), 0);
    assert.equal(videoPacketFlags(codec, p, 0, 5), 0);
    assert.equal(videoPacketFlags(codec, p, 4, 4), 0);
  }
});

/**
 * videoPacketFlags()'s convention: never throws, reads only the payload, and says what the codec's
 * own reader says. The first input byte picks the codec (0 NONE, 1 H.264, 2 H.265, 3 unknown).
 */
function checkVideoFlags(input: Uint8Array): void {
  if (input.length === 0) return;
  const codec = input[0]! % 4;
  const payload = input.subarray(1);
  const flags = readsOnlyItsBytes(payload, (b, s, e) => videoPacketFlags(codec, b, s, e));
  let want = 0;
  if (codec === VIDEO_CODEC.H264) {
    const f = h264PacketFlags(payload, 0, payload.length);
    want = (h264IsKeyframeStart(f) ? KEYFRAME_START : 0) |
      ((f & (H264_FLAG.SPS | H264_FLAG.PPS)) ? PARAMETER_SETS : 0) |
      ((f & (H264_FLAG.IDR | H264_FLAG.NON_IDR)) ? SLICE : 0);
  } else if (codec === VIDEO_CODEC.H265) {
    const f = h265PacketFlags(payload, 0, payload.length);
    want = (h265IsKeyframeStart(f) ? KEYFRAME_START : 0) |
      ((f & (H265_FLAG.VPS | H265_FLAG.SPS | H265_FLAG.PPS)) ? PARAMETER_SETS : 0) |
      ((f & (H265_FLAG.IRAP | H265_FLAG.NON_IRAP)) ? SLICE : 0);
  }
  assert.equal(flags, want);
}

Deno.test("videoPacketFlags() fuzz: corpus and mutated payloads never throw and agree with the codec readers", async (t) => {
  await fuzzSteps(t, {
    corpus: "video_packet",
    label: "videoPacketFlags()",
    seeds: goldenSeeds(cases, (c) => [Uint8Array.of(c.codec, ...bytes(c.payload))]),
    check: checkVideoFlags,
    count: 3000,
    seed: 6,
    kind: "binary",
    maxBytes: 2048,
  });
});

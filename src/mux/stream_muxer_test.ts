import assert from "node:assert/strict";
import { parseSdp } from "../sdp/session_description.ts";
import { streamInfoFromSdp } from "../stream/stream_info.ts";
import { H264Packetizer } from "../rtp/h264_packetizer.ts";
import { AacPacketizer } from "../rtp/aac_packetizer.ts";
import { parseMpeg4GenericFmtp } from "../rtp/aac.ts";
import { parseFmtpParameters } from "../sdp/media_description.ts";
import { ffmpegAacFrames } from "../rtp/testdata/ffmpeg_elementary.ts";
import { accessUnits, splitAnnexB } from "../rtp/testdata/annex_b.ts";
import { encodeClip, probePackets } from "../rtp/testdata/encoded_video.ts";
import { decodeErrors, probe } from "../fmp4/testdata/media.ts";
import { parseFragment } from "../fmp4/fragment.ts";
import { planMuxTracks } from "./mux_tracks.ts";
import type { FragmentOut } from "./fragmenter.ts";
import { type MuxInfo, StreamMuxer } from "./stream_muxer.ts";

const AAC_FMTP = "streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; " +
  "indexdeltalength=3; config=1188";
const SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=test",
  "t=0 0",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1",
  "a=control:trackID=0",
  "m=audio 0 RTP/AVP 97",
  "a=rtpmap:97 mpeg4-generic/48000/1",
  `a=fmtp:97 ${AAC_FMTP}`,
  "a=control:trackID=1",
  "",
].join("\r\n");

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const V0 = 0xffff_0000; // video timestamps wrap a few frames in
const A0 = 12345;

Deno.test("StreamMuxer: ffmpeg's H.264 and AAC, packetized, come out as fMP4 that ffmpeg decodes without an error", async () => {
  // 2 s at 25 fps with B-frames (b-pyramid), a keyframe every 10; RTP times are the encoder's pts.
  const clip = await encodeClip("h264", "640x480", [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-g",
    "10",
    "-bf",
    "3",
  ], {
    frames: 50,
  });
  const video = accessUnits("h264", splitAnnexB(clip.bytes));
  const times = await probePackets(clip.mp4);
  await clip.remove();
  assert.equal(video.length, times.length);
  const audio = await ffmpegAacFrames(); // 1 s at 48 kHz
  const sd = parseSdp(SDP);
  const plans = planMuxTracks(sd, streamInfoFromSdp(sd), { g711: false });
  assert.deepEqual(plans.map((p) => p.codec), ["h264", "aac"]);
  const inits: { bytes: Uint8Array; info: MuxInfo }[] = [];
  const frags: { f: FragmentOut; unixMs: number }[] = [];
  const m = new StreamMuxer(plans, 0.2, {
    init: (bytes, info) => inits.push({ bytes, info }),
    fragment: (f, unixMs) => frags.push({ f, unixMs }),
  }, (track, ts) => T0 + (track === 0 ? ((ts - V0) | 0) / 90 : 100 + ((ts - A0) | 0) / 48));
  const vp = new H264Packetizer({ payloadType: 96, ssrc: 1 });
  const ap = new AacPacketizer({
    payloadType: 97,
    ssrc: 2,
    clockRate: 48_000,
    config: parseMpeg4GenericFmtp(parseFmtpParameters(AAC_FMTP)),
  });
  // Both tracks in arrival order: by time, audio starting 100 ms after video.
  const events: [number, () => void][] = [];
  const firstPts = Math.min(...times.map((t) => t.pts));
  video.forEach((units, i) => {
    const ts = (V0 + times[i].pts - firstPts) >>> 0;
    events.push([(times[i].dts - times[0].dts) / 90, () => {
      for (const p of vp.packetize({ pts: ts, units, random: false })) m.packet(0, p, 0, p.length);
    }]);
  });
  audio.forEach((frame, i) => {
    const ts = A0 + i * 1024;
    events.push([100 + i * 1024 / 48, () => {
      for (const p of ap.packetize([{ pts: ts, units: [frame], random: true }])) m.packet(1, p, 0, p.length);
    }]);
  });
  events.sort((a, b) => a[0] - b[0]);
  for (const [, go] of events) go();
  m.end();

  assert.equal(inits.length, 1);
  assert.match(inits[0].info.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
  assert.deepEqual([inits[0].info.width, inits[0].info.height], [640, 480]);
  // 5 parts of 200 ms per 400 ms GOP... the keyframe every 10 frames cuts: 10 parts of 5 frames.
  const videoRuns = frags.map(({ f }) =>
    parseFragment(f.bytes).tracks.find((t) => t.trackId === 1)!.samples.length
  );
  assert.deepEqual(videoRuns, Array(10).fill(5));
  assert.deepEqual(frags.map(({ f }) => f.independent), Array(10).fill(null).map((_, i) => i % 2 === 0));
  // Time 0 is the first keyframe's decode instant: its presentation (T0) minus x264's B-frame delay.
  const delay = T0 - frags[0].unixMs;
  assert.ok(
    delay >= 0 && delay <= 3 * 40 && delay % 40 === 0,
    `starts ${delay} ms before the keyframe's time`,
  );
  const audioStart = parseFragment(frags.find(({ f }) => parseFragment(f.bytes).tracks.length === 2)!.f.bytes)
    .tracks[1].baseDecodeTime;
  assert.equal(
    audioStart,
    (100 + delay) * 48,
    `audio placed 100 ms after the first keyframe (delay ${delay}, got ${audioStart})`,
  );

  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    const all = [inits[0].bytes, ...frags.map(({ f }) => f.bytes)];
    await Deno.writeFile(file, new Uint8Array(all.flatMap((b) => [...b])));
    const p = await probe(file);
    assert.deepEqual(p.streams.map((s) => s.codec_name), ["h264", "aac"]);
    assert.equal(await decodeErrors(file), "");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("StreamMuxer: keyframes without usable parameter sets make no init; the sink hears why once", () => {
  const sd = parseSdp(SDP); // H.264 without sprop-parameter-sets
  const plans = planMuxTracks(sd, streamInfoFromSdp(sd), { g711: false }).slice(0, 1);
  const reasons: string[] = [];
  let inits = 0;
  const m = new StreamMuxer(plans, 0.2, {
    init: () => inits++,
    fragment: () => {},
    initFailed: (why) => reasons.push(why),
  }, () => null);
  const vp = new H264Packetizer({ payloadType: 96, ssrc: 1 });
  const idr = new Uint8Array([0x65, 0x88, 0x84, 0x00]);
  // An SPS too short to parse (it does not replace anything), a PPS, an IDR: three keyframes.
  for (let i = 0; i < 3; i++) {
    const units = [new Uint8Array([0x67, 0x42]), new Uint8Array([0x68, 0xce]), idr];
    for (const p of vp.packetize({ pts: i * 9000, units, random: true })) m.packet(0, p, 0, p.length);
  }
  m.end();
  assert.equal(inits, 0);
  assert.equal(m.initFailures, 3, "tried at each keyframe");
  assert.deepEqual(reasons.length, 1, "told once");
  assert.match(reasons[0], /no usable SPS and PPS for its H264 track/);
});

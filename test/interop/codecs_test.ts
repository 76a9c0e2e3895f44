/** ffmpeg publishes H.265 + AAC and audio-only PCM/G.711 streams; ffprobe, ffmpeg and GStreamer play them. */
import assert from "node:assert/strict";
import {
  ffmpegAudioPublisher,
  ffmpegDecode,
  ffmpegH265Publisher,
  ffprobeFrames,
  ffprobeStreams,
  gstDecodeBranches,
  interopTest,
} from "./clients.ts";
import { serverWithPublisher } from "./published_server.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";

const h265Server = (path: string) => serverWithPublisher(path, (url) => ffmpegH265Publisher(url));

interopTest("ffprobe plays an ffmpeg-published H.265+AAC stream; the first video frame is a keyframe", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const s = await h265Server("live/hevc1");
  try {
    const url = s.server.url("live/hevc1");
    const info = await ffprobeStreams(url);
    assert.equal(info.code, 0, info.stderr);
    const video = info.streams.find((x) => x.codec_type === "video");
    const audio = info.streams.find((x) => x.codec_type === "audio");
    assert.equal(video?.codec_name, "hevc");
    assert.equal(video?.width, 640);
    assert.equal(audio?.codec_name, "aac");

    const { code, stderr, lines } = await ffprobeFrames(url, "tcp");
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim(), "", "ffprobe reported no errors");
    const frames = lines.filter((l) => l !== "");
    assert.ok(frames.length >= 30, `decoded ${frames.length} frames`);
    assert.match(frames[0], /^1,/, `first decoded frame is a keyframe (key_frame,pict_type: ${frames[0]})`);
  } finally {
    await s.stop();
  }
});

interopTest("ffmpeg plays H.265+AAC over TCP and decodes 4 s with no errors", ["ffmpeg"], async () => {
  const s = await h265Server("live/hevc2");
  try {
    const { code, stderr } = await ffmpegDecode(s.server.url("live/hevc2"), 4);
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim(), "", "ffmpeg reported no decode errors");
  } finally {
    await s.stop();
  }
});

interopTest("GStreamer rtspsrc decodes H.265 and AAC without errors or warnings", [
  "ffmpeg",
  "gst-launch-1.0",
], async () => {
  const s = await h265Server("live/hevc3");
  try {
    const { buffers, problems } = await gstDecodeBranches(s.server.url("live/hevc3"), {
      video: ["rtph265depay", "h265parse", "avdec_h265"],
      audio: ["rtpmp4gdepay", "aacparse", "avdec_aac"],
    }, (r) => r.buffers.video >= 90 && r.buffers.audio >= 90);
    assert.deepEqual(problems, [], "no GStreamer errors or warnings");
    assert.ok(
      buffers.video >= 90 && buffers.audio >= 90,
      `decoded ${buffers.video} video and ${buffers.audio} audio frames`,
    );
  } finally {
    await s.stop();
  }
});

/** Audio-only streams as ffmpeg publishes them: codec, what ffprobe calls it, GStreamer's decoder. */
const AUDIO = [
  {
    name: "L16 (pcm_s16be, 44.1 kHz stereo: static payload type 10)",
    path: "live/l16",
    rate: 44100,
    args: ["-ac", "2", "-c:a", "pcm_s16be"],
    codec: "pcm_s16be",
    channels: 2,
    gst: ["rtpL16depay", "audioconvert"],
  },
  {
    name: "L16 (pcm_s16be, 16 kHz mono: dynamic payload type with rtpmap)",
    path: "live/l16-16k",
    rate: 16000,
    args: ["-ac", "1", "-c:a", "pcm_s16be"],
    codec: "pcm_s16be",
    channels: 1,
    gst: ["rtpL16depay", "audioconvert"],
  },
  {
    name: "PCMU (pcm_mulaw: static payload type 0, no rtpmap)",
    path: "live/pcmu",
    rate: 8000,
    args: ["-c:a", "pcm_mulaw"],
    codec: "pcm_mulaw",
    channels: 1,
    gst: ["rtppcmudepay", "mulawdec"],
  },
  {
    name: "PCMA (pcm_alaw: static payload type 8, no rtpmap)",
    path: "live/pcma",
    rate: 8000,
    args: ["-c:a", "pcm_alaw"],
    codec: "pcm_alaw",
    channels: 1,
    gst: ["rtppcmadepay", "alawdec"],
  },
];

for (const a of AUDIO) {
  interopTest(`audio-only ${a.name}: ffprobe, ffmpeg and GStreamer play it; a new viewer starts at once`, [
    "ffmpeg",
    "ffprobe",
    "gst-launch-1.0",
  ], async () => {
    // 1.5 s of live audio: more than the 1 s window a new viewer starts with.
    const s = await serverWithPublisher(a.path, (url) => ffmpegAudioPublisher(url, a.rate, a.args), [], 1500);
    try {
      const url = s.server.url(a.path);
      const info = await ffprobeStreams(url);
      assert.equal(info.code, 0, info.stderr);
      assert.deepEqual(
        info.streams.map((x) => [x.codec_type, x.codec_name, x.sample_rate, x.channels]),
        [["audio", a.codec, String(a.rate), a.channels]],
      );

      const play = await ffmpegDecode(url, 2);
      assert.equal(play.code, 0, play.stderr);
      assert.equal(play.stderr.trim(), "", "ffmpeg reported no decode errors");

      await assertStartsAtOnce(s.server.port, a.path, a.rate);

      const gst = await gstDecodeBranches(url, { audio: a.gst }, (r) => r.buffers.audio >= 10);
      assert.deepEqual(gst.problems.filter((l) => /ERROR/.test(l)), [], "no GStreamer errors");
      assert.ok(gst.buffers.audio >= 10, `decoded ${gst.buffers.audio} audio buffers`);
    } finally {
      await s.stop();
    }
  });
}

/**
 * A raw viewer of a live audio-only stream starts right at PLAY with the last
 * `viewer.audioStartWindowMs` (default 1 s) of audio, sent at once from the ring: no keyframe to
 * wait for. ffmpeg paces packets in real time, so live packets alone never span more media than
 * the time they took to come; a start from the ring's window spans that window more.
 */
async function assertStartsAtOnce(port: number, path: string, clockRate: number): Promise<void> {
  const c = await RtspTestClient.connect(port, path);
  try {
    const r = await c.request("SETUP", `${c.url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(r.status, 200, `SETUP ${r.status}`);
    // RTP on channel 0; RTCP sender reports (channel 1) say nothing about the start.
    const spanMs = (fs: { channel: number; payload: Uint8Array }[]) => {
      const ts = fs.filter((f) => f.channel === 0).map((f) =>
        ((f.payload[4] << 24) | (f.payload[5] << 16) | (f.payload[6] << 8) | f.payload[7]) >>> 0
      );
      return ts.length === 0 ? 0 : ((ts.at(-1)! - ts[0]) >>> 0) / clockRate * 1000;
    };
    const sent = performance.now();
    assert.equal((await c.request("PLAY", c.url)).status, 200);
    // The publisher has been live for over 1.5 s and keeps going; 10 s is "never" here.
    // Both figures as of the moment the packets received first span half the window.
    let tookMs = 0;
    let media = 0;
    let got = 0;
    const half = await c.waitFrames((fs) => {
      tookMs = performance.now() - sent;
      media = spanMs(fs);
      got = fs.filter((f) => f.channel === 0).length;
      return media >= 500;
    }, 10_000);
    assert.ok(half, `the first ${got} packets span ${media.toFixed(0)} ms of audio`);
    // Media ahead of the time it took by a quarter of the window (ffmpeg's pacing jitters a packet).
    assert.ok(
      media - tookMs >= 250,
      `the first ${got} packets span ${media.toFixed(0)} ms of audio, came in ${tookMs.toFixed(0)} ms: ` +
        "a live start, not the ring's window",
    );
  } finally {
    c.close();
  }
}

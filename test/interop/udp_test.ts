/** RTP over UDP with real clients: ffmpeg publishes over UDP; ffprobe, ffmpeg and GStreamer play over UDP. */
import assert from "node:assert/strict";
import { interopTest, Proc } from "./clients.ts";
import { publishedServer } from "./published_server.ts";

const ffmpegDecode = (url: string, transport: "tcp" | "udp", seconds: number) =>
  new Proc("ffmpeg", [
    "-hide_banner",
    "-v",
    "error",
    "-rtsp_transport",
    transport,
    "-i",
    url,
    "-t",
    String(seconds),
    "-f",
    "null",
    "-",
  ]);

interopTest("ffmpeg publishes over UDP; ffprobe plays over UDP and the first video frame is a keyframe", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const s = await publishedServer("live/udp1", [], "udp");
  try {
    assert.match(s.server.log, /\[path live\/udp1\] RECORD: publishing stream \d+ over UDP/);
    const frames = new Proc("ffprobe", [
      "-v",
      "error",
      "-rtsp_transport",
      "udp",
      "-select_streams",
      "v:0",
      "-show_entries",
      "frame=key_frame,pict_type",
      "-read_intervals",
      "%+#30",
      "-of",
      "csv=p=0",
      s.server.url("live/udp1"),
    ]);
    assert.equal((await frames.wait(20000)).code, 0, frames.stderr);
    assert.equal(frames.stderr.trim(), "", "ffprobe reported no errors");
    const lines = frames.stdout.trim().split("\n");
    assert.ok(lines.length >= 30, `decoded ${lines.length} frames`);
    assert.equal(lines[0].trim(), "1,I", "first decoded frame is a keyframe");
  } finally {
    await s.stop();
  }
});

interopTest(
  "TCP and UDP ffmpeg viewers of one UDP publisher decode 4 s with no errors",
  ["ffmpeg"],
  async () => {
    const s = await publishedServer("live/udp2", [], "udp");
    try {
      const url = s.server.url("live/udp2");
      const viewers = [ffmpegDecode(url, "udp", 4), ffmpegDecode(url, "tcp", 4)];
      for (const v of viewers) {
        const st = await v.wait(30000);
        assert.equal(st.code, 0, v.stderr);
        assert.equal(v.stderr.trim(), "", "ffmpeg reported no decode errors");
      }
      assert.match(s.server.log, /PLAY: 2 track\(s\), over UDP/);
      assert.match(s.server.log, /PLAY: 2 track\(s\), zero-copy path/);
    } finally {
      await s.stop();
    }
  },
);

interopTest("GStreamer rtspsrc protocols=udp plays and decodes H.264 and AAC", [
  "ffmpeg",
  "gst-launch-1.0",
], async () => {
  const s = await publishedServer("live/udp3", [], "udp");
  try {
    const gst = new Proc("gst-launch-1.0", [
      "-v",
      "rtspsrc",
      `location=${s.server.url("live/udp3")}`,
      "protocols=udp",
      "latency=0",
      "name=s",
      "s.",
      "!",
      "queue",
      "!",
      "rtph264depay",
      "!",
      "h264parse",
      "!",
      "avdec_h264",
      "!",
      "fakesink",
      "name=video",
      "silent=false",
      "sync=false",
      "s.",
      "!",
      "queue",
      "!",
      "rtpmp4gdepay",
      "!",
      "aacparse",
      "!",
      "avdec_aac",
      "!",
      "fakesink",
      "name=audio",
      "silent=false",
      "sync=false",
    ]);
    await new Promise((r) => setTimeout(r, 5000));
    gst.kill();
    await gst.wait(5000);
    const out = gst.stdout + gst.stderr;
    const video = out.match(/video: last-message = chain/g)?.length ?? 0;
    const audio = out.match(/audio: last-message = chain/g)?.length ?? 0;
    assert.ok(video >= 90 && audio >= 90, `decoded ${video} video and ${audio} audio frames in 5 s`);
    assert.doesNotMatch(out, /WARNING|ERROR/, "GStreamer reported no warnings");
  } finally {
    await s.stop();
  }
});

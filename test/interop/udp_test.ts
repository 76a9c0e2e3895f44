/** RTP over UDP with real clients: ffmpeg publishes over UDP; ffprobe, ffmpeg and GStreamer play over UDP. */
import assert from "node:assert/strict";
import { ffprobeFrames, gstDecode, interopTest, Proc } from "./clients.ts";
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
    const { code, stderr, lines } = await ffprobeFrames(s.server.url("live/udp1"), "udp");
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim(), "", "ffprobe reported no errors");
    assert.ok(lines.length >= 30, `decoded ${lines.length} frames`);
    assert.equal(lines[0], "1,I", "first decoded frame is a keyframe");
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
    const { video, audio, problems } = await gstDecode(
      s.server.url("live/udp3"),
      "udp",
      (r) => r.video >= 90 && r.audio >= 90,
    );
    assert.deepEqual(problems, [], "no GStreamer errors or warnings");
    assert.ok(video >= 90 && audio >= 90, `decoded ${video} video and ${audio} audio frames`);
  } finally {
    await s.stop();
  }
});

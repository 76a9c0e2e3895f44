/** GStreamer's rtspsrc plays an ffmpeg-published stream and decodes video and audio. */
import assert from "node:assert/strict";
import { gstDecode, interopTest, Proc, until } from "./clients.ts";
import { publishedServer } from "./published_server.ts";

interopTest("GStreamer rtspsrc plays over TCP and decodes H.264 and AAC without errors", [
  "ffmpeg",
  "gst-launch-1.0",
], async () => {
  const s = await publishedServer("live/gst");
  try {
    const { video, audio, problems } = await gstDecode(
      s.server.url("live/gst"),
      "tcp",
      (r) => r.video >= 90 && r.audio >= 90,
    );
    assert.deepEqual(problems, [], "no GStreamer errors or warnings");
    assert.ok(video >= 90 && audio >= 90, `decoded ${video} video and ${audio} audio frames`);
  } finally {
    await s.stop();
  }
});

interopTest("with UDP off, GStreamer rtspsrc's default transports fall back to TCP after 461 and decode", [
  "ffmpeg",
  "gst-launch-1.0",
], async () => {
  const s = await publishedServer("live/gst-default", ["--set", "udp.portBase=0"]);
  try {
    const gst = new Proc("gst-launch-1.0", [
      "-v",
      "rtspsrc",
      `location=${s.server.url("live/gst-default")}`,
      "latency=0",
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
    ]);
    const decoded = () => (gst.stdout + gst.stderr).match(/video: last-message = chain/g)?.length ?? 0;
    try {
      await until(() => decoded() >= 60, 30_000, "GStreamer to decode 60 video frames");
    } finally {
      gst.kill();
      await gst.wait(5000);
    }
    const video = decoded();
    assert.ok(video >= 60, `decoded ${video} video frames`);
    assert.match(s.server.log, /SETUP [^ ]+: 461 no supported transport in 'RTP\/AVP;unicast;client_port=/);
  } finally {
    await s.stop();
  }
});

/** RTSP over HTTP tunnelling (rtsp.tunnelPort): ffprobe, ffmpeg and GStreamer play through it. */
import assert from "node:assert/strict";
import { interopTest, problemLines, Proc } from "./clients.ts";
import { publishedServer } from "./published_server.ts";

interopTest(
  "ffprobe and ffmpeg (-rtsp_transport http) and GStreamer (rtsph://) play through the HTTP tunnel",
  [
    "ffprobe",
    "ffmpeg",
    "gst-launch-1.0",
  ],
  async () => {
    // rtsp.tunnelPort cannot be 0 (that is off): a reserved port, checked taken at start.
    const s = await publishedServer("live/tun", [], "tcp", {
      tcpPorts: 1,
      argsWith: ([p]) => ["--set", `rtsp.tunnelPort=${p}`],
    });
    const port = s.server.tcpPorts[0];
    try {
      await s.server.waitLog(/RTSP over HTTP tunnelling on port \d+/);
      const url = `rtsp://127.0.0.1:${port}/live/tun`;
      const probe = new Proc("ffprobe", [
        "-v",
        "error",
        "-rtsp_transport",
        "http",
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=key_frame,pict_type",
        "-read_intervals",
        "%+#5",
        "-of",
        "csv=p=0",
        url,
      ]);
      const ps = await probe.wait(20_000);
      assert.equal(ps.code, 0, probe.stderr);
      assert.match(probe.stdout.trim().split("\n")[0], /^1,I/, "first frame a keyframe");
      const ff = new Proc("ffmpeg", [
        "-hide_banner",
        "-v",
        "error",
        "-rtsp_transport",
        "http",
        "-i",
        url,
        "-t",
        "3",
        "-f",
        "null",
        "-",
      ]);
      const fs = await ff.wait(30_000);
      assert.equal(fs.code, 0, ff.stderr);
      assert.equal(ff.stderr.trim(), "", "ffmpeg decodes through the tunnel with no error lines");
      const gst = new Proc("gst-launch-1.0", [
        "rtspsrc",
        `location=rtsph://127.0.0.1:${port}/live/tun`,
        "latency=0",
        "!",
        "rtph264depay",
        "!",
        "h264parse",
        "!",
        "avdec_h264",
        "!",
        "fakesink",
        "num-buffers=60",
      ]);
      const gs = await gst.wait(30_000);
      const out = gst.stdout + gst.stderr;
      assert.equal(gs.code, 0, out);
      assert.match(out, /Got EOS/, "60 decoded frames, then end of stream");
      // Audio's pad may be offered to rtph264depay first ("Delayed linking failed", the pipeline
      // description's linking, not the stream); the 60 decoded frames show video linked.
      assert.deepEqual(problemLines(out), [], out);
      assert.match(s.server.log, /\[conn 127\.0\.0\.1:\d+\] \[session \w+\] \[path live\/tun\] PLAY/);
    } finally {
      await s.stop();
    }
  },
);

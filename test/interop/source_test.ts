/** dm-live pulling GStreamer's RTSP server (a camera stand-in); real players on the relayed path. */
import assert from "node:assert/strict";
import { Camera } from "../support/camera.ts";
import { ServerProcess } from "../support/server_process.ts";
import type { SessionReport } from "../../src/cluster/messages.ts";
import { ffmpegDecode, ffmpegDecoder, ffprobeFrames, gstDecode, interopTest, until } from "./clients.ts";

/** A dm-live process whose `cams/front` is pulled from `url` (written to a config file). */
async function relay(
  url: string,
  keys: Record<string, unknown> = {},
): Promise<{ server: ServerProcess; done(): Promise<void> }> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  const entry = { source: url, ...keys };
  await Deno.writeTextFile(file, `paths:\n  cams/front: ${JSON.stringify(entry)}\n  "~^.*$": {}\n`);
  const server = await ServerProcess.start(["--config", file]);
  return {
    server,
    async done() {
      await server.stop();
      await Deno.remove(file);
    },
  };
}

for (const transport of ["tcp", "udp"] as const) {
  interopTest(
    `a GStreamer RTSP camera pulled over ${transport.toUpperCase()}: ffprobe, ffmpeg and GStreamer play the relayed path`,
    [
      "ffprobe",
      "ffmpeg",
      "gst-launch-1.0",
    ],
    async () => {
      const cam = await Camera.start();
      const r = await relay(cam.url(), { sourceTransport: transport });
      try {
        await r.server.waitLog(/\[source cams\/front\] playing .* over (TCP|UDP)/, 20_000);
        const url = r.server.url("cams/front");
        const probe = await ffprobeFrames(url, "tcp", 10);
        assert.equal(probe.code, 0, probe.stderr);
        assert.match(probe.lines[0], /^1,I/, `first frame a keyframe: ${probe.lines.slice(0, 3)}`);
        const ff = await ffmpegDecode(url, 3);
        assert.equal(ff.code, 0, ff.stderr);
        assert.equal(ff.stderr.trim(), "", "ffmpeg decodes with no error lines");
        const gst = await gstDecode(url, "tcp", (r) => r.video > 30 && r.audio > 10);
        assert.deepEqual(gst.problems, [], "no GStreamer errors or warnings");
        assert.ok(
          gst.video > 30 && gst.audio > 10,
          `decoded ${gst.video} video and ${gst.audio} audio buffers`,
        );
        assert.equal(cam.connections, 1, "one connection to the camera for all three players");
      } finally {
        await r.done();
        await cam.stop();
      }
    },
  );
}

interopTest(
  "an on-demand camera behind Digest: not pulled before a viewer, pulled once, dropped after the last left",
  [
    "ffprobe",
  ],
  async () => {
    const cam = await Camera.start({ user: "admin", pass: "s3cret", method: "digest" });
    const r = await relay(cam.url("admin:s3cret@"), {
      sourceOnDemand: true,
      sourceOnDemandCloseAfterMs: 1000,
    });
    try {
      const url = r.server.url("cams/front");
      assert.equal(cam.connections, 0, "no connection to the camera before the first viewer");
      const [a, b] = await Promise.all([ffprobeFrames(url, "tcp", 5), ffprobeFrames(url, "udp", 5)]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.match(a.lines[0], /^1,I/);
      assert.match(b.lines[0], /^1,I/);
      assert.equal(cam.connections, 1, "two viewers, one pull");
      await r.server.waitLog(/source stopped: no viewer for 1000 ms/, 20_000);
      await until(() => /\[source cams\/front\] pull ended/.test(r.server.log), 5000, "the pull to end");
    } finally {
      await r.done();
      await cam.stop();
    }
  },
);

interopTest(
  "a camera killed and restarted: the pull is retried and an ffmpeg viewer decodes across the gap",
  [
    "ffmpeg",
  ],
  async () => {
    let cam = await Camera.start();
    const port = cam.port;
    const r = await relay(cam.url(), {
      sourceTransport: "tcp",
      sourceRetryMinMs: 200,
      sourceRetryMaxMs: 1000,
    });
    try {
      await r.server.waitLog(/\[source cams\/front\] playing/, 20_000);
      const viewer = ffmpegDecoder(r.server.url("cams/front"), 12);
      // The viewer plays, a good run of packets sent to it, before the camera goes.
      const api = await r.server.apiUrl();
      await until(
        async () => {
          const rows = (await (await fetch(`${api}/v1/sessions`)).json()).sessions as SessionReport[];
          return rows.some((s) => s.role === "read" && s.path === "cams/front" && (s.packetsOut ?? 0) >= 100);
        },
        20_000,
        "the viewer to get 100 packets",
      );
      await cam.stop();
      await r.server.waitLog(/\[source cams\/front\] attempt \d+ failed: .*; retrying in/, 20_000);
      // The same port again (GStreamer takes any free one; ask for this one).
      cam = await Camera.startOn(port);
      await r.server.waitLog(/attempt [2-9]\d*: pulling[\s\S]*\[source cams\/front\] playing/, 30_000);
      const st = await viewer.wait(30_000);
      assert.equal(st.code, 0, viewer.stderr);
      // Known, open (issue 16): with the SDP's SPS/PPS put in before keyframes (this camera sends
      // them in the SDP only), ffmpeg's null muxer now and then reports two frames with the same
      // DTS at a keyframe (about one run in two of this 12 s test; never with the injection off,
      // and at every keyframe when GStreamer itself sends them in-band). A DTS going back, or
      // any other error, still fails.
      const lines = viewer.stderr.split("\n").filter((l) => l.trim() !== "");
      const sameDts = /non monotonically increasing dts to muxer in stream 0: (\d+) >= \1$/;
      assert.deepEqual(
        lines.filter((l) => !sameDts.test(l)),
        [],
        `ffmpeg decoded across the gap without errors:\n${viewer.stderr}`,
      );
    } finally {
      await r.done();
      await cam.stop();
    }
  },
);

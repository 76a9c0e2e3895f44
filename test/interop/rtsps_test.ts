/**
 * RTSPS (rtsp.tls) with real clients and a self-signed certificate: ffmpeg publishes to
 * rtsps://, ffprobe and ffmpeg play it (their TLS does not verify: ffmpeg's tls protocol defaults
 * to tls_verify 0, and its rtsp demuxer takes no -tls_verify), GStreamer's rtspsrc plays it with
 * tls-validation-flags=0, first offering UDP (461 on RTSPS) and then interleaved TCP.
 */
import assert from "node:assert/strict";
import { ffmpegPublisher, ffprobeFrames, gstDecode, interopTest, Proc, until } from "./clients.ts";
import { hasGop } from "./published_server.ts";
import { ServerProcess } from "../support/server_process.ts";
import { makeTestCert } from "../../src/net/testdata/tls_cert.ts";
import type { SessionReport } from "../../src/stats/reports.ts";

interopTest(
  "RTSPS: ffmpeg publishes to rtsps://, ffprobe, ffmpeg and GStreamer (tls-validation-flags=0) play rtsps:// and decode",
  ["ffmpeg", "ffprobe", "gst-launch-1.0"],
  async () => {
    const cert = await makeTestCert();
    const server = await ServerProcess.start(
      ["--set", `rtsp.tls.cert=${cert.certFile}`, "--set", `rtsp.tls.key=${cert.keyFile}`],
      { tcpPorts: 1, argsWith: ([p]) => ["--set", `rtsp.tls.port=${p}`] },
    ).catch(async (e) => {
      await cert.remove();
      throw e;
    });
    const url = `rtsps://127.0.0.1:${server.tcpPorts[0]}/live/sec`;
    let pub: Proc | null = null;
    try {
      await server.waitLog(/RTSPS on port \d+/);
      pub = ffmpegPublisher(url, "tcp");
      await until(
        () => server.log.includes("[path live/sec] RECORD: publishing"),
        15_000,
        "ffmpeg to publish",
      );
      await until(() => hasGop(server, "live/sec"), 15_000, "a GOP of live/sec");
      // The publisher is on the TLS port, interleaved (as ffmpeg does for rtsps://).
      const { sessions } = await (await fetch(`${await server.apiUrl()}/v1/sessions`)).json() as {
        sessions: SessionReport[];
      };
      const publisher = sessions.find((r) => r.role === "publish");
      assert.deepEqual([publisher?.tls, publisher?.transport], [true, "tcp"], JSON.stringify(sessions));

      const probe = await ffprobeFrames(url, "tcp", 5);
      assert.equal(probe.code, 0, probe.stderr);
      assert.match(probe.lines[0], /^1,I/, "the first frame is a keyframe");

      const ff = new Proc("ffmpeg", ["-hide_banner", "-v", "error", "-i", url, "-t", "3", "-f", "null", "-"]);
      const fs = await ff.wait(30_000);
      assert.equal(fs.code, 0, ff.stderr);
      assert.equal(ff.stderr.trim(), "", "ffmpeg decodes 3 s over RTSPS with no error lines");

      const gst = await gstDecode(url, "udp+tcp", (r) => r.video >= 60 && r.audio >= 60, 30, [
        "tls-validation-flags=0",
      ]);
      assert.ok(
        gst.video >= 60 && gst.audio >= 60,
        `GStreamer decoded ${gst.video} video, ${gst.audio} audio`,
      );
      assert.deepEqual(gst.problems, [], gst.output.slice(-3000));
      assert.match(
        server.log,
        /461 no supported transport in 'RTP\/AVP;unicast;client_port=[^']*' \(RTP\/AVP\/TCP: an RTSPS session's media stays inside its TLS connection\)/,
        "GStreamer's UDP offer was refused",
      );
      const plays = server.log.match(/\[path live\/sec\] PLAY: 2 track\(s\)/g)?.length ?? 0;
      assert.ok(plays >= 3, `ffprobe, ffmpeg and GStreamer each played (${plays} PLAY lines)`);
    } finally {
      pub?.kill();
      await pub?.wait(5000);
      const status = await server.stop();
      await cert.remove();
      assert.equal(status.code, 0, server.log);
    }
  },
);

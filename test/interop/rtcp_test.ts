/**
 * RTCP with real clients: ffmpeg keeps audio and video in sync from dm-live's Sender Reports (a
 * stream whose audio starts seconds after the viewer's first video frame: without SRs ffmpeg starts
 * both at 0); GStreamer's rtspsrc plays without RTCP warnings and its receiver reports echo our SRs.
 */
import assert from "node:assert/strict";
import { gstDecode, interopTest, Proc, until } from "./clients.ts";
import { ServerProcess } from "../support/server_process.ts";
import { hasGop } from "./published_server.ts";
import type { SessionReport } from "../../src/cluster/messages.ts";

/** Seconds into the stream at which the publisher's audio begins. */
const AUDIO_LATE_S = 4;

/** ffmpeg publishing H.264 + AAC whose audio starts AUDIO_LATE_S after the video (`-itsoffset`). */
function lateAudioPublisher(url: string): Proc {
  return new Proc("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-re"],
    ...["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"],
    ...["-itsoffset", String(AUDIO_LATE_S), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main", "-g", "30"],
    ...["-x264-params", "repeat-headers=1", "-b:v", "800k", "-c:a", "aac", "-b:a", "64k"],
    ...["-f", "rtsp", "-rtsp_transport", "tcp", url],
  ]);
}

/** ffprobe's packets of url (stream index, pts in s), in the order they arrived, for `seconds`. */
async function probePackets(url: string, transport: "tcp" | "udp", seconds: number) {
  const p = new Proc("ffprobe", [
    ...["-v", "error", "-rtsp_transport", transport, "-show_entries", "packet=stream_index,pts_time"],
    ...["-read_intervals", `%+${seconds}`, "-of", "csv=p=0", url],
  ]);
  const st = await p.wait(30_000);
  assert.equal(st.code, 0, p.stderr);
  return p.stdout.trim().split("\n").map((l) => l.split(",")).filter((f) => f.length >= 2 && f[1] !== "N/A")
    .map(([i, pts]) => ({ stream: Number(i), pts: Number(pts) }));
}

interopTest("ffmpeg keeps audio that starts late in sync with video, from dm-live's Sender Reports", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const server = await ServerProcess.start();
  const pub = lateAudioPublisher(server.url("live/late-audio"));
  try {
    await until(
      () => server.log.includes("[path live/late-audio] RECORD: publishing"),
      15000,
      "ffmpeg to publish",
    );
    // Join with a keyframe in the ring (GOP 1 s) and well before the audio begins.
    await until(() => hasGop(server, "live/late-audio"), 15000, "a GOP in the ring");
    const url = server.url("live/late-audio");
    const runs = await Promise.all([probePackets(url, "tcp", 7), probePackets(url, "udp", 7)]);
    for (const [i, packets] of runs.entries()) {
      const what = i === 0 ? "TCP" : "UDP";
      const video = packets.filter((p) => p.stream === 0);
      const audio = packets.filter((p) => p.stream === 1);
      assert.ok(
        video.length > 100 && audio.length > 50,
        `${what}: ${video.length} video, ${audio.length} audio`,
      );
      // The situation that needs SRs: audio's first packet comes seconds after the first video frame.
      assert.ok(
        audio[0].pts - video[0].pts > 1.5,
        `${what}: audio starts at ${audio[0].pts} s, video at ${video[0].pts} s`,
      );
      // In sync: each audio packet's time is that of the video arriving around it (without SRs
      // ffmpeg starts audio at 0, seconds off), and stays so (no drift).
      let lastVideo = NaN;
      let worst = 0;
      for (const p of packets) {
        if (p.stream === 0) lastVideo = p.pts;
        else if (p.stream === 1 && !Number.isNaN(lastVideo)) {
          worst = Math.max(worst, Math.abs(p.pts - lastVideo));
        }
      }
      assert.ok(worst < 0.35, `${what}: audio up to ${worst.toFixed(3)} s from the video around it`);
    }
  } finally {
    pub.kill();
    await pub.wait(5000);
    assert.equal((await server.stop()).code, 0, server.log);
  }
});

interopTest(
  "GStreamer rtspsrc plays over TCP and UDP without RTCP warnings; its receiver reports echo our SRs",
  [
    "ffmpeg",
    "gst-launch-1.0",
  ],
  async () => {
    const server = await ServerProcess.start();
    const pub = lateAudioPublisher(server.url("live/gst-rtcp"));
    try {
      await until(
        () => server.log.includes("[path live/gst-rtcp] RECORD: publishing"),
        15000,
        "ffmpeg to publish",
      );
      await until(() => hasGop(server, "live/gst-rtcp"), 15000, "a GOP in the ring");
      const api = await server.apiUrl();
      const url = server.url("live/gst-rtcp");
      // GStreamer's first receiver reports come a few seconds in: ask the API while it plays, and
      // keep both playing until both have echoed an SR and decoded enough.
      let echoed: SessionReport[] = [];
      // A round trip is shorter than the viewers have existed.
      const began = Date.now();
      let echoedAt = began;
      const watch = until(
        async () => {
          const r = await fetch(`${api}/v1/sessions`);
          const rows = (await r.json() as { sessions: SessionReport[] }).sessions;
          echoed = rows.filter((s) => s.role === "read" && s.receiverReport?.roundTripMs != null);
          echoedAt = Date.now();
          return echoed.length === 2;
        },
        30_000,
        "both GStreamer viewers' receiver reports to echo an SR",
      );
      const enough = (r: { video: number; audio: number }) =>
        echoed.length === 2 && r.video >= 150 && r.audio >= 100;
      const [tcp, udp] = await Promise.all([
        gstDecode(url, "tcp", enough),
        gstDecode(url, "udp", enough),
        watch,
      ]);
      for (const [what, r] of [["TCP", tcp], ["UDP", udp]] as const) {
        assert.deepEqual(r.problems, [], `${what}: no GStreamer errors or warnings`);
        assert.ok(
          r.video >= 150 && r.audio >= 100,
          `${what}: decoded ${r.video} video and ${r.audio} audio frames`,
        );
      }
      assert.deepEqual(new Set(echoed.map((s) => s.transport)), new Set(["tcp", "udp"]));
      for (const s of echoed) {
        const rr = s.receiverReport!;
        assert.equal(rr.fractionLost, 0, `${s.transport}: no loss on loopback`);
        assert.ok(
          rr.roundTripMs! >= 0 && rr.roundTripMs! <= echoedAt - began,
          `${s.transport}: round trip ${rr.roundTripMs} ms, viewers playing for ${echoedAt - began} ms`,
        );
      }
    } finally {
      pub.kill();
      await pub.wait(5000);
      assert.equal((await server.stop()).code, 0, server.log);
    }
  },
);

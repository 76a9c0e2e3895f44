/** ffmpeg publishes; ffprobe and ffmpeg play over TCP and decode without errors. */
import assert from "node:assert/strict";
import { ffmpegDecoder, ffmpegPublisher, interopTest, Proc } from "./clients.ts";
import { publishedServer } from "./published_server.ts";

interopTest("ffprobe plays an ffmpeg-published H.264+AAC stream; the first video frame is a keyframe", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const s = await publishedServer("live/cam1");
  try {
    const streams = new Proc("ffprobe", [
      "-v",
      "error",
      "-rtsp_transport",
      "tcp",
      "-show_entries",
      "stream=codec_name,codec_type,profile,width,height,sample_rate,channels",
      "-of",
      "json",
      s.server.url("live/cam1"),
    ]);
    assert.equal((await streams.wait(20000)).code, 0, streams.stderr);
    const info = JSON.parse(streams.stdout) as { streams: Record<string, unknown>[] };
    const video = info.streams.find((x) => x.codec_type === "video")!;
    const audio = info.streams.find((x) => x.codec_type === "audio")!;
    assert.equal(video.codec_name, "h264");
    assert.equal(video.profile, "Main");
    assert.equal(video.width, 640);
    assert.equal(audio.codec_name, "aac");
    assert.equal(audio.sample_rate, "44100");

    const frames = new Proc("ffprobe", [
      "-v",
      "error",
      "-rtsp_transport",
      "tcp",
      "-select_streams",
      "v:0",
      "-show_entries",
      "frame=key_frame,pict_type",
      "-read_intervals",
      "%+#30",
      "-of",
      "csv=p=0",
      s.server.url("live/cam1"),
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
  "ffmpeg plays over TCP and decodes 4 s of video and audio with no errors",
  ["ffmpeg"],
  async () => {
    const s = await publishedServer("live/cam2");
    try {
      const play = ffmpegDecoder(s.server.url("live/cam2"), 4);
      const st = await play.wait(30000);
      assert.equal(st.code, 0, play.stderr);
      assert.equal(play.stderr.trim(), "", "ffmpeg reported no decode errors");
    } finally {
      await s.stop();
    }
  },
);

interopTest(
  "with UDP off, ffmpeg's default transport gets 461 for UDP and ffmpeg falls back to TCP",
  ["ffmpeg"],
  async () => {
    const s = await publishedServer("live/cam3", ["--set", "udp.portBase=0"]);
    try {
      const play = new Proc("ffmpeg", [
        "-hide_banner",
        "-v",
        "error",
        "-i",
        s.server.url("live/cam3"),
        "-t",
        "2",
        "-f",
        "null",
        "-",
      ]);
      const st = await play.wait(30000);
      assert.equal(st.code, 0, play.stderr);
      assert.match(
        s.server.log,
        /SETUP rtsp:\/\/[^ ]+: 461 /,
        "the UDP offer was refused with 461, and logged",
      );
    } finally {
      await s.stop();
    }
  },
);

interopTest(
  "a second ffmpeg publisher on a busy path is refused and the first keeps streaming",
  ["ffmpeg"],
  async () => {
    const s = await publishedServer("live/busy");
    try {
      const second = ffmpegPublisher(s.server.url("live/busy"));
      const st = await second.wait(20000);
      assert.notEqual(st.code, 0);
      assert.match(second.stderr, /406/);
      assert.match(s.server.log, /ANNOUNCE [^ ]+: 406 path 'live\/busy' already has a publisher/);
      const play = new Proc("ffmpeg", [
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-i",
        s.server.url("live/busy"),
        "-t",
        "1",
        "-f",
        "null",
        "-",
      ]);
      assert.equal((await play.wait(20000)).code, 0, play.stderr);
    } finally {
      await s.stop();
    }
  },
);

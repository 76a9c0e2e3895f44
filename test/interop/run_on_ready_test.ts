/**
 * runOnReady with ffmpeg, in a dm-live process started as `deno task start` does (-P=server): the
 * path's command reads it and publishes a copy on `<path>_low`, which ffprobe plays; when the
 * publisher stops, the stream ends and the command is stopped with it.
 */
import assert from "node:assert/strict";
import { ServerProcess } from "../support/server_process.ts";
import { ffmpegPublisher, ffprobeStreams, interopTest, until } from "./clients.ts";

/** `ffmpeg -c copy` of the path to `<path>_low`: what a transcoding command looks like, without the CPU. */
const COPY_TO_LOW = 'exec ffmpeg -hide_banner -nostats -loglevel error -rtsp_transport tcp -i "$RTSP_URL" ' +
  '-c copy -f rtsp -rtsp_transport tcp "rtsp://127.0.0.1:$RTSP_PORT/${RTSP_PATH}_low"';

async function metric(api: string, name: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

interopTest(
  "runOnReady: ffmpeg started by the path re-publishes it on <path>_low for ffprobe, and stops with the stream",
  ["ffmpeg", "ffprobe"],
  async () => {
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      file,
      `paths:\n  cams/main:\n    runOnReady: ${JSON.stringify(COPY_TO_LOW)}\n  "~^.*$": {}\n`,
    );
    const server = await ServerProcess.start(["--config", file, "--set", "ingest.reconnectGraceMs=0"]);
    const pub = ffmpegPublisher(server.url("cams/main"));
    try {
      const api = await server.apiUrl();
      await server.waitLog(/\[path cams\/main\] \[runOnReady\] started, pid \d+/, 20_000);
      await server.waitLog(/\[path cams\/main_low\] stream \d+ published/, 20_000);
      assert.doesNotMatch(
        server.log,
        /\[path cams\/main_low\] \[runOnReady\]/,
        "the copy's path runs nothing",
      );
      let probe = await ffprobeStreams(server.url("cams/main_low"));
      for (let i = 0; i < 5 && probe.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        probe = await ffprobeStreams(server.url("cams/main_low"));
      }
      assert.equal(probe.code, 0, probe.stderr);
      const video = probe.streams.find((s) => s.codec_type === "video");
      const audio = probe.streams.find((s) => s.codec_type === "audio");
      assert.equal(video?.codec_name, "h264");
      assert.equal(video?.width, 640);
      assert.equal(audio?.codec_name, "aac");
      assert.equal(await metric(api, "dm_live_run_on_ready_running"), 1);

      pub.kill();
      await pub.wait(5000);
      await server.waitLog(/\[path cams\/main\] stream \d+ removed/, 10_000);
      await server.waitLog(/\[path cams\/main\] \[runOnReady\] stopping pid \d+: stream \d+ ended/, 10_000);
      await server.waitLog(/\[path cams\/main\] \[runOnReady\] stopped: exited \(/, 10_000);
      await server.waitLog(/\[path cams\/main_low\] stream \d+ removed/, 10_000);
      await until(
        async () => await metric(api, "dm_live_run_on_ready_running") === 0,
        5000,
        "no child running",
      );
      assert.equal(await metric(api, "dm_live_run_on_ready_starts_total"), 1);
      assert.equal(
        await metric(api, "dm_live_run_on_ready_restarts_total"),
        0,
        "it never had to be restarted",
      );
      assert.doesNotMatch(server.log, /\[runOnReady\] (exited|could not start)/);
    } finally {
      pub.kill();
      await pub.wait(5000);
      const st = await server.stop();
      await Deno.remove(file);
      assert.equal(st.code, 0, server.log);
    }
  },
);

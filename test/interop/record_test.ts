/**
 * Recording to fMP4 in a dm-live process: a path with `record: true` writes each stream to files
 * of recordSegmentDurationMs, each playable from its start; a file in progress plays up to its last
 * fragment; the stream's end finishes the file; a directory that cannot be written is an error in
 * the log while RTSP viewers play on.
 */
import assert from "node:assert/strict";
import { ServerProcess } from "../support/server_process.ts";
import { ffmpegDecode, ffmpegPublisher, interopTest, Proc, until } from "./clients.ts";

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (e.name.endsWith(".mp4")) out.push(`${d}/${e.name}`);
    }
  };
  await walk(dir).catch(() => {});
  return out.sort();
}

async function probe(file: string) {
  const p = new Proc("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name,width,height:format=duration",
    "-of",
    "json",
    file,
  ]);
  const st = await p.wait(20_000);
  assert.equal(st.code, 0, p.stderr);
  return JSON.parse(p.stdout) as {
    streams: { codec_name: string; width?: number }[];
    format: { duration: string };
  };
}

async function decodeErrors(file: string): Promise<string> {
  const p = new Proc("ffmpeg", ["-hide_banner", "-v", "error", "-i", file, "-f", "null", "-"]);
  await p.wait(30_000);
  return p.stderr.trim();
}

interopTest(
  "record: a stream is written to fMP4 files of recordSegmentDurationMs, each playing from its start; a file in progress plays too",
  ["ffmpeg", "ffprobe"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dm-live-rec-" });
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      file,
      `paths:\n  cams/a:\n    record: true\n    recordPath: ${dir}/%path/%Y-%m-%d_%H-%M-%S-%f\n` +
        "    recordSegmentDurationMs: 2000\n    recordPartDurationMs: 500\n" +
        '  "~^.*$": {}\n',
    );
    const server = await ServerProcess.start(["--config", file, "--set", "ingest.reconnectGraceMs=0"]);
    const pub = ffmpegPublisher(server.url("cams/a"));
    try {
      await server.waitLog(/\[path cams\/a\] recording to .*\.mp4/, 20_000);
      const recordingFrom = performance.now();
      // A file in progress: what is written so far plays.
      await until(
        async () => (await files(dir)).length >= 1 && (await Deno.stat((await files(dir))[0])).size > 50_000,
        20_000,
        "a file with fragments",
      );
      const inProgress = (await files(dir))[0];
      assert.equal(await decodeErrors(inProgress), "", "a file in progress decodes up to its last fragment");
      await until(async () => (await files(dir)).length >= 3, 30_000, "three files of 2 s");
      // RTSP viewers are unaffected meanwhile.
      const rtsp = await ffmpegDecode(server.url("cams/a"), 2);
      assert.equal(rtsp.code, 0, rtsp.stderr);
      // Killed mid-segment (files are 2 s): the last file still plays to its last fragment.
      pub.kill();
      const published = (performance.now() - recordingFrom) / 1000;
      await pub.wait(5000);
      await server.waitLog(/\[path cams\/a\] stream \d+ removed/, 10_000);
      const all = await files(dir);
      assert.ok(all.every((f) => f.startsWith(`${dir}/cams/a/`)), all.join("\n"));
      for (const f of all) {
        const p = await probe(f);
        assert.deepEqual(p.streams.map((s) => s.codec_name), ["h264", "aac"], f);
        assert.equal(p.streams[0].width, 640);
        assert.equal(await decodeErrors(f), "", `${f} decodes with no error line`);
      }
      // Files start at keyframes once the segment duration has passed: about 2 s each (GOP 1 s).
      const durations = [];
      for (const f of all) durations.push(Number((await probe(f)).format.duration));
      for (const d of durations.slice(0, -1)) assert.ok(d >= 1.9 && d <= 3.1, `durations ${durations}`);
      // All of it is there: the files add up to the time published, within a GOP (1 s) and the
      // slack of noticing the log line.
      const total = durations.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - published) <= 1.5, `${total} s recorded of ${published} s published`);
    } finally {
      pub.kill();
      await pub.wait(5000);
      const st = await server.stop();
      await Deno.remove(file);
      await Deno.remove(dir, { recursive: true });
      assert.equal(st.code, 0, server.log);
    }
  },
);

interopTest(
  "record: a directory that cannot be written is logged and counted; RTSP viewers play on",
  ["ffmpeg"],
  async () => {
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      file,
      "paths:\n  cams/a:\n    record: true\n    recordPath: /proc/dm-live-cannot/%path\n" + '  "~^.*$": {}\n',
    );
    const server = await ServerProcess.start(["--config", file]);
    const pub = ffmpegPublisher(server.url("cams/a"));
    try {
      await server.waitLog(
        /\[path cams\/a\] recording: cannot create \/proc\/dm-live-cannot\/cams\/a\.mp4: .*relaying goes on/,
        20_000,
      );
      const rtsp = await ffmpegDecode(server.url("cams/a"), 2);
      assert.equal(rtsp.code, 0, rtsp.stderr);
      assert.equal(rtsp.stderr.trim(), "");
      const metrics = await (await fetch(`${await server.apiUrl()}/metrics`)).text();
      // Counted by the media worker, which main.ts names in its "listening on" line.
      const media = (await server.waitLog(/HLS and recordings on worker (\d+) \(media\)/))[1];
      assert.match(metrics, new RegExp(`^dm_live_record_errors_total\\{worker="${media}"\\} [1-9]`, "m"));
    } finally {
      pub.kill();
      await pub.wait(5000);
      const st = await server.stop();
      await Deno.remove(file);
      assert.equal(st.code, 0, server.log);
    }
  },
);

/** dm-live as a process with an ffmpeg publisher pushing to it, for interop tests. */
import assert from "node:assert/strict";
import { ffmpegPublisher, type Proc, until } from "./clients.ts";
import { ServerProcess, type StartOptions } from "../support/server_process.ts";
import type { StreamStatus } from "../../src/api/http_api.ts";

/** Starts dm-live and an ffmpeg publisher on `path`; waits until the stream is published. */
export function publishedServer(
  path: string,
  args: string[] = [],
  transport: "tcp" | "udp" = "tcp",
  startOpts: StartOptions = {},
) {
  return serverWithPublisher(path, (url) => ffmpegPublisher(url, transport), args, undefined, startOpts);
}

/**
 * Whether the API lists `path` with a complete GOP taken in (so the ring holds at least one, and
 * a new viewer starts at a keyframe).
 */
export async function hasGop(server: ServerProcess, path: string): Promise<boolean> {
  const r = await fetch(`${await server.apiUrl()}/v1/streams`);
  const { streams } = await r.json() as { streams: StreamStatus[] };
  return streams.some((s) => s.path === path && s.gop !== null);
}

/**
 * Starts dm-live and the publisher `start` returns for the stream URL on `path`; waits until the
 * stream is published and the ring holds at least one GOP (the API shows one). An audio-only
 * stream has no GOP: pass `audioSettleMs` to wait that long instead, so the ring holds the audio
 * window (ffmpeg -re publishes in real time: no figure tells how much audio time the ring holds).
 */
export async function serverWithPublisher(
  path: string,
  start: (url: string) => Proc,
  args: string[] = [],
  audioSettleMs?: number,
  startOpts: StartOptions = {},
) {
  const server = await ServerProcess.start(args, startOpts);
  const pub = start(server.url(path));
  try {
    await until(() => server.log.includes(`[path ${path}] RECORD: publishing`), 15000, "ffmpeg to publish");
    if (audioSettleMs === undefined) await until(() => hasGop(server, path), 15000, `a GOP of ${path}`);
    else await new Promise((r) => setTimeout(r, audioSettleMs));
  } catch (e) {
    pub.kill();
    await server.stop();
    throw new Error(`${(e as Error).message}\nffmpeg: ${pub.stderr}\nserver: ${server.log}`);
  }
  return {
    server,
    pub,
    async stop() {
      pub.kill();
      await pub.wait(5000);
      const status = await server.stop();
      assert.equal(status.code, 0, `dm-live exit code on SIGTERM\n${server.log}`);
    },
  };
}

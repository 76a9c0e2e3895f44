/** dm-live as a process with an ffmpeg publisher pushing to it, for interop tests. */
import assert from "node:assert/strict";
import { ffmpegPublisher, type Proc, until } from "./clients.ts";
import { ServerProcess, type StartOptions } from "../support/server_process.ts";

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
 * Starts dm-live and the publisher `start` returns for the stream URL on `path`; waits until the
 * stream is published and `settleMs` more, so the ring holds at least one GOP (or audio window).
 */
export async function serverWithPublisher(
  path: string,
  start: (url: string) => Proc,
  args: string[] = [],
  settleMs = 1500,
  startOpts: StartOptions = {},
) {
  const server = await ServerProcess.start(args, startOpts);
  const pub = start(server.url(path));
  try {
    await until(() => server.log.includes(`[path ${path}] RECORD: publishing`), 15000, "ffmpeg to publish");
    await new Promise((r) => setTimeout(r, settleMs));
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

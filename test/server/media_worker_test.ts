/**
 * The media worker: HLS and recordings run in a worker of their own (index `workers`, after the
 * RTSP workers), which the reports name, which is restarted like any worker when it crashes, and
 * whose muxer says once per stream when it cannot make an init segment.
 */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { ServerProcess } from "../support/server_process.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { startSdpPublisher } from "../support/sdp_publisher.ts";
import { until } from "../support/proc.ts";
import type { WorkerReport } from "../../src/stats/reports.ts";

/** Asks for a path's playlist (which starts its muxing) and reads the answer; its status. */
async function askPlaylist(hlsPort: number, path: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${hlsPort}/${path}/index.m3u8`);
  await r.body?.cancel();
  return r.status;
}

Deno.test("HLS muxing runs on the media worker, not on an RTSP worker; a crashed media worker is restarted", async () => {
  await withServer({ workers: 2 }, async (server, _config, log) => {
    assert.equal(server.workers, 2);
    assert.equal(server.mediaWorker, 2, "the media worker comes after the RTSP workers");
    await log.waitFor(/with 2 worker\(s\).*; HLS and recordings on worker 2 \(media\), HLS on port \d+/);
    assert.ok(server.hlsPort > 0);
    const pub = await startPublisher(server.port, "live/cam");
    await pub.sendFrames(20, 10);
    // The first request starts the muxing (its answer does not matter here).
    await askPlaylist(server.hlsPort, "live/cam");
    const media = async (): Promise<WorkerReport | undefined> =>
      (await server.stats()).find((r) => r.media !== undefined);
    await until(async () => (await media())?.media?.hlsMuxersStarted === 1, 5000, "the muxing to start");
    const reports = await server.stats();
    assert.deepEqual(reports.map((r) => r.worker), [0, 1, 2]);
    assert.deepEqual(
      reports.map((r) => r.media !== undefined),
      [false, false, true],
      "only the media worker reports HLS and recording",
    );
    assert.equal(reports[2].media?.hlsMuxers, 1);
    assert.equal(reports[2].connectionsTotal, 0, "the media worker accepts no RTSP");
    assert.ok((await server.sessions()).every((s) => s.worker < server.workers), "no session on it");

    // Crashed, it is replaced on the same index; HLS comes back on a port of its own (hls.port 0).
    const restarted = log.lines.length;
    assert.ok(server.crash(2));
    await until(
      () => log.lines.slice(restarted).some((l) => /worker 2 \(media\) restarted, HLS on port \d+/.test(l)),
      10_000,
      "the media worker's restart",
    );
    assert.ok(log.lines.slice(restarted).some((l) => /worker 2 crashed: .*restarting it in 1 s/.test(l)));
    await pub.sendFrames(10, 10);
    await askPlaylist(server.hlsPort, "live/cam");
    await until(async () => (await media())?.media?.hlsMuxers === 1, 5000, "the muxing on the new worker");
    assert.equal((await media())?.worker, 2);
    assert.equal(server.restarts, 1);
    pub.close();
  });
});

Deno.test("an RTSP-only config runs no media worker", async () => {
  await withServer({ workers: 2, "hls.enabled": false }, async (server) => {
    assert.equal(server.mediaWorker, null);
    assert.equal(server.hlsPort, 0);
    assert.deepEqual((await server.stats()).map((r) => r.worker), [0, 1]);
  });
});

/** H.264 without sprop-parameter-sets: the init segment needs the SPS and PPS in-band. */
const NO_SPROP_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=no sprop",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1",
  "a=control:streamid=0",
  "",
].join("\r\n");

Deno.test("a stream whose muxer cannot make an init segment is logged once, counted, and its players get 503", async () => {
  const server = await ServerProcess.start(["--workers", "2"]);
  let sending = true;
  let sender: Promise<void> = Promise.resolve();
  try {
    const hls = Number((await server.waitLog(/HLS: http:\/\/[^ ]+:(\d+)\//))[1]);
    const path = "nosps/cam";
    const pub = await startSdpPublisher(server.port, path, NO_SPROP_SDP, [`${server.url(path)}/streamid=0`]);
    let frame = 0;
    // Keyframes whose in-band SPS is two bytes (it does not parse), every 5th frame, until the end.
    sender = (async () => {
      while (sending) {
        const ts = frame * 3000;
        if (frame % 5 === 0) {
          await pub.send([
            {
              track: 0,
              payloadType: 96,
              timestamp: ts,
              payload: [0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce],
              marker: false,
            },
            { track: 0, payloadType: 96, timestamp: ts, payload: [0x65, 0x88, 0x84, frame & 0xff] },
          ]);
        } else {
          await pub.send([{ track: 0, payloadType: 96, timestamp: ts, payload: [0x41, 0x9a, frame & 0xff] }]);
        }
        frame++;
        await new Promise((r) => setTimeout(r, 40));
      }
      pub.close();
    })();
    assert.equal(await askPlaylist(hls, path), 503, "the existing 503 while no init segment can be made");
    const line =
      /WRN media \[path nosps\/cam\] HLS: stream (\d+) cannot be muxed: no init segment, .*SPS and PPS.*; players get 503/;
    await server.waitLog(line);
    // More keyframes and another player: still the one line.
    const seen = frame;
    await until(() => Promise.resolve(frame >= seen + 10), 5000, "two more keyframes");
    assert.equal(await askPlaylist(hls, path), 503);
    assert.equal(server.log.split("\n").filter((l) => line.test(l)).length, 1, server.log);
    const metrics = await (await fetch(`${await server.apiUrl()}/metrics`)).text();
    assert.match(metrics, /^dm_live_mux_init_failures_total\{worker="2"\} 1$/m);
    assert.match(metrics, /^dm_live_mux_init_failures_total\{worker="0"\} 0$/m);
  } finally {
    sending = false;
    await sender.catch(() => {});
    const st = await server.stop();
    assert.equal(st.code, 0, server.log);
  }
});

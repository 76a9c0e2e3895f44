/**
 * ffmpeg's publisher is killed and a new one starts within the grace period: an ffmpeg viewer that
 * started before decodes across the switch with no error, and a raw viewer's RTP sequence numbers
 * run on without a gap on both tracks.
 */
import assert from "node:assert/strict";
import { ffmpegPublisher, interopTest, Proc, until } from "./clients.ts";
import { ServerProcess } from "../support/server_process.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { rtpSequence } from "../../src/rtp/rtp_header.ts";

interopTest(
  "a killed ffmpeg publisher replaced within the grace period: viewers decode on, sequence continuous",
  [
    "ffmpeg",
  ],
  async () => {
    const server = await ServerProcess.start(["--set", "ingest.reconnectGraceMs=5000"]);
    const url = server.url("live/re");
    let pub = ffmpegPublisher(url);
    const raw = await RtspTestClient.connect(server.port, "live/re");
    let viewer: Proc | null = null;
    try {
      await until(() => server.log.includes("[path live/re] RECORD: publishing"), 15000, "ffmpeg to publish");
      viewer = new Proc("ffmpeg", [
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-i",
        url,
        "-t",
        "7",
        "-f",
        "null",
        "-",
      ]);
      const base = (await raw.request("DESCRIBE")).headers.get("Content-Base")!;
      for (const i of [0, 1]) {
        await raw.request("SETUP", `${base}trackID=${i}`, {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
        });
      }
      assert.equal((await raw.request("PLAY", base)).status, 200);
      // Both viewers playing, the raw one with a good run of packets, before the publisher leaves.
      await until(
        () => (server.log.match(/\[path live\/re\] PLAY:/g)?.length ?? 0) >= 2,
        15000,
        "ffmpeg's PLAY",
      );
      assert.ok(await raw.waitFrames((fs) => fs.length >= 150, 15000), `raw viewer got ${raw.frames.length}`);

      pub.kill();
      await pub.wait(5000);
      await until(
        () => server.log.includes("waits 5000 ms for a new publisher"),
        5000,
        "the server to see it leave",
      );
      const before = raw.frames.length;
      // The publisher stays away a while (a real gap, not a synchronisation).
      await new Promise((r) => setTimeout(r, 800));
      pub = ffmpegPublisher(url);
      await until(
        () => server.log.includes("[path live/re] RECORD: continuing stream"),
        15000,
        "the new publisher",
      );
      assert.ok(
        await raw.waitFrames((fs) => fs.length > before + 100, 10000),
        "packets of the new publisher",
      );

      const st = await viewer.wait(20000);
      assert.equal(st.code, 0, viewer.stderr);
      assert.equal(viewer.stderr.trim(), "", `no decode errors across the switch:\n${viewer.stderr}`);
      assert.ok(!raw.closed, "the raw viewer stayed connected");
      for (const ch of [0, 2]) {
        const seqs = raw.frames.filter((f) => f.channel === ch).map((f) => rtpSequence(f.payload, 0));
        for (let i = 1; i < seqs.length; i++) {
          assert.equal(seqs[i], (seqs[i - 1] + 1) & 0xffff, `channel ${ch}: packet ${i} of ${seqs.length}`);
        }
      }
    } finally {
      viewer?.kill();
      raw.close();
      pub.kill();
      await pub.wait(5000);
      await server.stop();
    }
  },
);

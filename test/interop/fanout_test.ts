/** 50 raw viewers of an ffmpeg-published stream, over 2 workers, get every packet in order. */
import assert from "node:assert/strict";
import { interopTest } from "./clients.ts";
import { publishedServer } from "./published_server.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";

const VIEWERS = 50;

interopTest(`${VIEWERS} viewers over 2 workers each get every packet of an ffmpeg stream in order`, [
  "ffmpeg",
], async () => {
  // No reconnect grace period: the viewers are to be closed as soon as the publisher leaves.
  const s = await publishedServer("live/fan", [
    "--workers",
    "2",
    "--log-level",
    "info",
    "--set",
    "ingest.reconnectGraceMs=0",
  ]);
  const viewers: RtspTestClient[] = [];
  try {
    for (let i = 0; i < VIEWERS; i++) {
      const c = await RtspTestClient.connect(s.server.port, "live/fan");
      for (const [t, ch] of [[0, 0], [1, 2]]) {
        const r = await c.request("SETUP", `${c.url}/trackID=${t}`, {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${ch}-${ch + 1}`,
        });
        assert.equal(r.status, 200);
      }
      assert.equal((await c.request("PLAY", c.url)).status, 200);
      viewers.push(c);
    }
    // Every viewer is receiving video and audio (a good run of each) before the publisher leaves.
    const each = (fs: { channel: number }[], ch: number) => fs.filter((f) => f.channel === ch).length;
    for (const v of viewers) {
      assert.ok(
        await v.waitFrames((fs) => each(fs, 0) >= 60 && each(fs, 2) >= 30, 20_000),
        `a viewer got ${each(v.frames, 0)} video and ${each(v.frames, 2)} audio packets`,
      );
    }
    // The publisher leaves: every viewer gets the rest of the stream, then is closed by the server.
    s.pub.kill();
    for (const v of viewers) assert.ok(await v.waitClosed(10000), "viewer closed after the stream ended");

    const perWorker = new Map<string, number>();
    for (
      const m of s.server.log.matchAll(
        / (w\d+) \[conn [^\]]+\] \[session [0-9a-f]+\] \[path live\/fan\] PLAY/g,
      )
    ) {
      perWorker.set(m[1], (perWorker.get(m[1]) ?? 0) + 1);
    }
    assert.equal([...perWorker.values()].reduce((a, b) => a + b, 0), VIEWERS);
    assert.ok(perWorker.size > 1, `viewers spread over workers: ${JSON.stringify([...perWorker])}`);

    const lastVideo = new Set<number>();
    for (const v of viewers) {
      for (const ch of [0, 2]) {
        const seqs = v.frames.filter((f) => f.channel === ch).map((f) => (f.payload[2] << 8) | f.payload[3]);
        assert.ok(seqs.length > 10, `channel ${ch}: ${seqs.length} packets`);
        for (let i = 1; i < seqs.length; i++) {
          assert.equal(seqs[i], (seqs[i - 1] + 1) & 0xffff, `channel ${ch} in order without gaps`);
        }
        if (ch === 0) lastVideo.add(seqs[seqs.length - 1]);
      }
      const firstNal = v.frames.find((f) => f.channel === 0)!.payload[12] & 0x1f;
      assert.ok([5, 7, 24].includes(firstNal), `first video packet starts a GOP (NAL ${firstNal})`);
    }
    assert.equal(lastVideo.size, 1, "every viewer got the publisher's last packet");
  } finally {
    for (const v of viewers) v.close();
    await s.stop();
  }
});

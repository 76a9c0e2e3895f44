/** A viewer that stops reading is dropped (counted); the publisher and the other viewers never notice. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";

/** DESCRIBE/SETUP/PLAY over a raw socket, then never read again. */
async function stalledViewer(port: number, path: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const url = `rtsp://127.0.0.1:${port}/${path}`;
  const enc = new TextEncoder();
  const buf = new Uint8Array(8192);
  let session = "";
  const steps = [
    `SETUP ${url}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
    () =>
      `SETUP ${url}/trackID=1 RTSP/1.0\r\nCSeq: 2\r\nSession: ${session}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n\r\n`,
    () => `PLAY ${url} RTSP/1.0\r\nCSeq: 3\r\nSession: ${session}\r\n\r\n`,
  ];
  for (const step of steps) {
    await conn.write(enc.encode(typeof step === "string" ? step : step()));
    const n = await conn.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.match(text, /^RTSP\/1.0 200/);
    session ||= /Session: ([0-9a-f]+)/.exec(text)![1];
  }
  return conn;
}

Deno.test("a viewer that stops reading is dropped before the ring overwrites its unfinished write", async () => {
  // A 1 MiB ring: the stalled viewer's socket buffers fill, then its unfinished write is lapped.
  await withServer({ workers: 1, "ring.bytes": 1 << 20, "ring.slots": 4096 }, async (server) => {
    const pub = await startPublisher(server.port, "slow");
    await pub.sendFrames(1, 10);
    const stalled = await stalledViewer(server.port, "slow");
    const healthy = await RtspTestClient.connect(server.port, "slow");
    await healthy.request("SETUP", `${healthy.url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    await healthy.request("SETUP", `${healthy.url}/trackID=1`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=2-3",
    });
    assert.equal((await healthy.request("PLAY", healthy.url)).status, 200);
    healthy.onFrame = (() => {
      let last = -1;
      return (f) => {
        if (f.channel !== 0) return;
        const seq = (f.payload[2] << 8) | f.payload[3];
        if (last >= 0) assert.equal(seq, (last + 1) & 0xffff, "healthy viewer: no gap");
        last = seq;
        healthy.frames.length = 0;
        healthy.frames.push(f);
      };
    })();
    // ~30 MB, far more than the stalled socket's buffers hold, in batches the reading viewer gets
    // in full before the next is sent, so only the stalled one falls behind.
    const gotLast = () => {
      const last = (pub.videoSeq - 1) & 0xffff;
      return healthy.waitFrames(
        (fs) => fs.length > 0 && ((fs[0].payload[2] << 8) | fs[0].payload[3]) === last,
        20000,
      );
    };
    for (let i = 0; i < 500; i++) {
      await pub.sendFrames(10, 10, 4, 1400);
      assert.ok(await gotLast(), `healthy viewer got batch ${i}`);
    }
    const [report] = await server.stats();
    assert.ok(
      report.drops + report.skips >= 1,
      `slow viewer counted: drops ${report.drops}, skips ${report.skips}`,
    );
    assert.equal(report.drops, 1, "the stalled viewer was dropped");
    assert.equal(report.viewersPlaying, 1, "only the healthy viewer is left");
    stalled.close();
    healthy.close();
    pub.close();
  });
});

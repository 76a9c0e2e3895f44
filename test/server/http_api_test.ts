import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { Logger } from "../../src/log/logger.ts";
import { startApi, type StreamStatus } from "../../src/api/http_api.ts";

async function playTcp(port: number, path: string): Promise<RtspTestClient> {
  const c = await RtspTestClient.connect(port, path);
  const d = await c.request("DESCRIBE", c.url);
  const base = d.headers.get("Content-Base")!;
  await c.request("SETUP", `${base}trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
  await c.request("SETUP", `${base}trackID=1`, { Transport: "RTP/AVP/TCP;unicast;interleaved=2-3" });
  assert.equal((await c.request("PLAY", base)).status, 200);
  return c;
}

Deno.test("the API lists streams with their viewers and serves Prometheus metrics", async () => {
  await withServer({}, async (server) => {
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const pub = await startPublisher(server.port, "live/a");
    await pub.sendFrames(3, 10);
    const viewers = [await playTcp(server.port, "live/a"), await playTcp(server.port, "live/a")];
    try {
      const base = `http://127.0.0.1:${api.port}`;
      const r = await fetch(`${base}/v1/streams`);
      assert.equal(r.status, 200);
      const { streams } = await r.json() as { streams: StreamStatus[] };
      assert.equal(streams.length, 1);
      const s = streams[0];
      assert.equal(s.path, "live/a");
      assert.deepEqual(s.tracks.map((t) => t.codec), ["H264", "MPEG4-GENERIC"]);
      assert.equal(s.viewers.total, 2);
      assert.equal(s.viewers.tcp, 2);
      assert.equal(s.viewers.udp, 0);
      assert.equal(Object.values(s.viewers.perWorker).reduce((a, b) => a + b, 0), 2);

      const m = await fetch(`${base}/metrics`);
      assert.match(m.headers.get("Content-Type")!, /^text\/plain; version=0\.0\.4/);
      const text = await m.text();
      const sum = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} (\\d+)$`, "gm"))]
          .reduce((a, x) => a + Number(x[1]), 0);
      assert.equal(sum("dm_live_viewers"), 2);
      assert.equal(sum("dm_live_publishers"), 1);
      assert.equal(sum("dm_live_connections_open"), 3);
      assert.equal(sum("dm_live_packets_in_total"), pub.sent[0] + pub.sent[1], "every packet counted once");
      assert.match(text, /^# TYPE dm_live_viewer_drops_total counter$/m);
      const framed = viewers.reduce((n, v) => n + v.frames.reduce((m, f) => m + 4 + f.payload.length, 0), 0);
      assert.ok(framed > 0 && sum("dm_live_bytes_out_total") >= framed, "what viewers were sent is counted");
      assert.match(text, /^dm_live_event_loop_lag_max_ms\{worker="0"\} [\d.]+$/m);

      const nope = await fetch(`${base}/nope`);
      assert.equal(nope.status, 404);
      assert.deepEqual(await nope.json(), { error: "not found: /nope" });
      const post = await fetch(`${base}/metrics`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    } finally {
      for (const v of viewers) v.close();
      pub.client.close();
      await api.close();
    }
  });
});

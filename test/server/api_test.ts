/**
 * The HTTP API against a known load: a synthetic publisher sending a counted stream (with a
 * deliberate hole in its video sequence numbers), viewers over TCP and UDP, and an idle connection.
 */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { playTcp, playUdp } from "../support/viewers.ts";
import { until } from "../support/proc.ts";
import { Logger } from "../../src/log/logger.ts";
import { startApi, type StreamStatus } from "../../src/api/http_api.ts";
import type { SessionReport } from "../../src/cluster/messages.ts";

/** Bytes of RTP in one synthetic GOP of 10 frames (payload 600, 3 IDR fragments): see SyntheticPublisher. */
const GOP_PACKETS = 1 + 3 + 9 + 10;
const GOP_BYTES = (12 + 9) + 3 * (12 + 600) + 9 * (12 + 600) + 10 * (12 + 64);
/** Video sequence numbers the publisher skips: the stream's lost count. */
const SKIPPED = 5;

const local = (c: RtspTestClient) => `127.0.0.1:${(c.conn.localAddr as Deno.NetAddr).port}`;

async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json() as T };
}

/** Sum of a per-worker metric. */
function metric(text: string, name: string): number {
  return [...text.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} ([\\d.]+)$`, "gm"))]
    .reduce((a, x) => a + Number(x[1]), 0);
}

Deno.test("the API's sessions, streams and metrics match a known load; a kicked session's socket closes", async () => {
  await withServer({ workers: 2 }, async (server, config) => {
    const base = config.udp.portBase;
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const url = `http://127.0.0.1:${api.port}`;
    // The publisher's session is made between these.
    const beforePub = Date.now();
    const pub = await startPublisher(server.port, "live/api");
    const afterPub = Date.now();
    const clients: RtspTestClient[] = [pub.client];
    const udp: Awaited<ReturnType<typeof playUdp>>[] = [];
    try {
      await pub.sendFrames(10, 10);
      pub.videoSeq += SKIPPED;
      const tcp = [await playTcp(server.port, "live/api"), await playTcp(server.port, "live/api")];
      udp.push(await playUdp(server.port, "live/api"), await playUdp(server.port, "live/api"));
      const idle = await RtspTestClient.connect(server.port, "live/api");
      assert.equal((await idle.request("OPTIONS")).status, 200);
      clients.push(...tcp, ...udp.map((v) => v.client), idle);

      // 40 frames at 20 per second: a known bitrate.
      const started = performance.now();
      for (let i = 0; i < 20; i++) {
        await pub.sendFrames(2, 10);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      const gops = 5;
      assert.equal(pub.frame, gops * 10);

      // /v1/streams
      const { body: { streams } } = await getJson<{ streams: StreamStatus[] }>(`${url}/v1/streams`);
      assert.equal(streams.length, 1);
      const s = streams[0];
      assert.equal(s.packetsIn, pub.sent[0] + pub.sent[1], "every packet counted once");
      assert.equal(s.packetsIn, gops * GOP_PACKETS);
      assert.equal(s.bytesIn, gops * GOP_BYTES);
      assert.equal(s.packetsLost, SKIPPED, "the hole in the video sequence");
      assert.deepEqual(s.gop, { packets: GOP_PACKETS, bytes: GOP_BYTES, frames: 10 });
      const expected = 4 * GOP_BYTES * 8 / seconds;
      assert.ok(
        s.bitrate! > expected / 2 && s.bitrate! < expected * 2,
        `bitrate ${s.bitrate} near ${Math.round(expected)}`,
      );
      assert.deepEqual([s.viewers.tcp, s.viewers.udp], [2, 2]);

      // /v1/sessions
      const sessions = async () =>
        (await getJson<{ sessions: SessionReport[] }>(`${url}/v1/sessions`)).body.sessions;
      const byPeer = async () => new Map((await sessions()).map((r) => [r.peer, r]));
      let rows = await byPeer();
      assert.equal(rows.size, 6);
      const p = rows.get(local(pub.client))!;
      assert.equal(p.role, "publish");
      assert.equal(p.state, "record");
      assert.equal(p.transport, "tcp");
      assert.equal(p.path, "live/api");
      assert.equal(p.id, streams[0].publisher.session);
      assert.equal(p.user, null);
      const created = Date.parse(p.created);
      assert.ok(created >= beforePub && created <= afterPub, `created ${p.created}`);
      for (const v of tcp) {
        const r = rows.get(local(v))!;
        assert.deepEqual([r.role, r.state, r.transport, r.path], ["read", "play", "tcp", "live/api"]);
        assert.ok(r.packetsOut! > 0);
        assert.equal(r.skips, 0);
      }
      for (const v of udp) {
        const r = rows.get(local(v.client))!;
        assert.deepEqual([r.role, r.state, r.transport], ["read", "play", "udp"]);
        assert.equal(r.worker, (v.serverPorts[0] - base) / 2, "the worker whose UDP port it uses");
        assert.ok(r.bytesOut > 0);
      }
      const i = rows.get(local(idle))!;
      assert.deepEqual([i.role, i.state, i.transport, i.path], ["none", "connected", null, null]);
      assert.match(i.id, /^conn-\d+-\d+$/);
      // Byte counts are exact once everything in flight has arrived.
      await until(
        async () => {
          rows = await byPeer();
          return rows.get(local(pub.client))!.bytesIn === pub.client.bytesWritten &&
            tcp.every((v) => rows.get(local(v))!.bytesOut === v.bytesRead) &&
            rows.get(local(idle))!.bytesIn === idle.bytesWritten;
        },
        5000,
        "per-session bytes equal to what the clients wrote and read",
      );

      // Kick a viewer (by session id) and the idle connection (by connection id).
      const victim = rows.get(local(tcp[0]))!;
      const k = await getJson<{ kicked: string; worker: number }>(`${url}/v1/sessions/${victim.id}/kick`, {
        method: "POST",
      });
      assert.equal(k.status, 200);
      assert.deepEqual(k.body, { kicked: victim.id, worker: victim.worker });
      assert.ok(await tcp[0].waitClosed(), "the kicked viewer's socket closed");
      assert.equal(
        (await fetch(`${url}/v1/sessions/${i.id}/kick`, { method: "POST" }).then((r) => r.json())).kicked,
        i.id,
      );
      assert.ok(await idle.waitClosed());
      assert.equal((await sessions()).length, 4);
      assert.ok(!tcp[1].closed, "the other viewer stays");

      const unknown = await getJson<{ error: string }>(`${url}/v1/sessions/nope/kick`, { method: "POST" });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error, /nope/);
      const wrong = await fetch(`${url}/v1/sessions/${victim.id}/kick`);
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.get("Allow"), "POST");
      await wrong.body?.cancel();

      // /metrics: bytes in are exactly what every client wrote (UDP viewers sent no datagrams).
      await until(
        async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return metric(text, "dm_live_bytes_in_total") === clients.reduce((n, c) => n + c.bytesWritten, 0);
        },
        5000,
        "dm_live_bytes_in_total equal to the bytes the clients wrote",
      );
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.equal(metric(text, "dm_live_packets_in_total"), gops * GOP_PACKETS);
      assert.equal(metric(text, "dm_live_connections_open"), 4);
      assert.equal(metric(text, "dm_live_auth_failures_total"), 0);
      assert.equal(metric(text, "dm_live_auth_refused_total"), 0);
      assert.match(text, /^# TYPE dm_live_viewer_skipped_packets_total counter$/m);
      assert.match(text, /^dm_live_worker_restarts_total 0$/m);
      // The FFI poller's rounds: every event so far came by some (none on Deno's socket backend).
      const ffi = (Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto") !== "deno";
      assert.equal(metric(text, "dm_live_poll_blocking_waits_total") > 0, ffi, "blocking waits counted");
      assert.match(text, /^# TYPE dm_live_poll_ticks_total counter$/m);
    } finally {
      for (const c of clients) c.close();
      for (const v of udp) v.close();
      await api.close();
    }
  });
});

Deno.test("the API answers unknown routes and wrong methods with JSON errors; the crash route needs api.debug", async () => {
  await withServer({}, async (server) => {
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const url = `http://127.0.0.1:${api.port}`;
    try {
      const nope = await getJson<{ error: string }>(`${url}/v1/nope`);
      assert.equal(nope.status, 404);
      assert.equal(nope.body.error, "not found: /v1/nope");
      const crash = await getJson<{ error: string }>(`${url}/v1/debug/crash/0`, { method: "POST" });
      assert.equal(crash.status, 404, "no crash route without api.debug");
      for (const path of ["/metrics", "/v1/streams", "/v1/sessions"]) {
        const r = await getJson<{ error: string }>(`${url}${path}`, { method: "POST" });
        assert.equal(r.status, 405, path);
        assert.match(r.body.error, /POST not allowed/);
      }
      assert.equal(server.restarts, 0);
    } finally {
      await api.close();
    }
  });
});

Deno.test("/metrics shows each worker's merge window and busy ratio: 0 when idle, the bound when fixed", async () => {
  for (const [busyPercent, expected] of [[50, 0], [0, 33]]) {
    await withServer({ "viewer.mergeBusyPercent": busyPercent }, async (server) => {
      const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
      try {
        // The RTSP workers' series (the media worker, index server.workers, has no merge window).
        const rtsp = (text: string, name: string) =>
          [...text.matchAll(new RegExp(`^${name}\\{worker="(\\d+)"\\} (\\S+)$`, "gm"))]
            .filter((m) => Number(m[1]) < server.workers).map((m) => Number(m[2]));
        // The window is set once a second from that second's busy ratio.
        await until(
          async () => {
            const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
            const busy = rtsp(text, "dm_live_worker_busy_ratio");
            return busy.length === 2 && busy.every((b) => b >= 0 && b <= 1);
          },
          5000,
          "a busy ratio within 0..1 from both workers",
        );
        const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
        const windows = rtsp(text, "dm_live_merge_window_ms");
        assert.deepEqual(windows, [expected, expected], `mergeBusyPercent ${busyPercent}`);
      } finally {
        await api.close();
      }
    });
  }
});

Deno.test("/metrics dm_live_poll_tick_ms: a stream nobody plays is read on net.unwatchedReadTickMs, on the fast tick while a viewer plays", async () => {
  await withServer({ "net.readTickMs": 1, "net.unwatchedReadTickMs": 20 }, async (server) => {
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const pub = await startPublisher(server.port, "live/pace");
    // Dense enough that the publisher's worker ticks: a frame every few ms.
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await pub.sendFrames(1);
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    const ticks = async () => {
      const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
      return [...text.matchAll(/^dm_live_poll_tick_ms\{worker="(\d+)"\} (\S+)$/gm)]
        .filter((m) => Number(m[1]) < server.workers).map((m) => Number(m[2]));
    };
    try {
      if ((Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto") === "deno") {
        // Deno's sockets have no poller: nothing ticks.
        await pub.sendFrames(10);
        assert.deepEqual(await ticks(), [0, 0]);
        return;
      }
      await until(
        async () => (await ticks()).includes(20),
        10_000,
        "the publisher's worker on the slow tick",
      );
      // A viewer on the other worker: the publisher's worker learns of it from the ring alone.
      const workerOf = async (c: RtspTestClient) => {
        const { body } = await getJson<{ sessions: SessionReport[] }>(
          `http://127.0.0.1:${api.port}/v1/sessions`,
        );
        return body.sessions.find((r) => r.peer === local(c))?.worker;
      };
      const pubWorker = await workerOf(pub.client);
      let viewer = await playTcp(server.port, "live/pace");
      for (let i = 0; i < 30 && await workerOf(viewer) === pubWorker; i++) {
        viewer.close();
        viewer = await playTcp(server.port, "live/pace");
      }
      assert.notEqual(await workerOf(viewer), pubWorker, "a viewer on the other worker");
      try {
        await until(async () => !(await ticks()).includes(20), 5000, "no slow tick while a viewer plays");
        // Past the second an RTSP request keeps the fast tick: the viewer alone keeps it.
        await new Promise((r) => setTimeout(r, 1500));
        const watched = await ticks();
        assert.ok(watched.every((t) => t === 0 || t === 1), `ticks while watched: ${watched}`);
      } finally {
        viewer.close();
      }
      await until(
        async () => (await ticks()).includes(20),
        10_000,
        "the slow tick again once the viewer left",
      );
    } finally {
      sending = false;
      await sender.catch(() => {});
      pub.close();
      await api.close();
    }
  });
});

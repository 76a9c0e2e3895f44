/**
 * hooks.url against a running server: a receiver on port 0 gets the events of a source that cannot
 * connect, one publish, one read and one wrong password, in the order they happened, retried when
 * it answers 503, and the last ones flushed when the server stops.
 */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { playTcp } from "../support/viewers.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { until } from "../support/proc.ts";
import type { HookEvent } from "../../src/hooks/hook_event.ts";
import { withOverrides } from "../../src/config.ts";

/** An HTTP receiver: each POSTed event in arrival order; the first `fail` POSTs answered 503. */
function receiver(fail: number) {
  const events: HookEvent[] = [];
  const contentTypes = new Set<string>();
  let posts = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json() as HookEvent;
    posts++;
    if (posts <= fail) return new Response("later", { status: 503 });
    contentTypes.add(req.headers.get("Content-Type") ?? "");
    events.push(body);
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/dm-live`,
    events,
    contentTypes,
    posts: () => posts,
    close: () => server.shutdown(),
  };
}

/** A TCP port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("hooks: publish, read, auth failure and source events reach hooks.url in order, retried, flushed at the end", async () => {
  const r = receiver(1);
  const dead = closedPort();
  const started = Date.now();
  const of = (event: string, path?: string) =>
    r.events.filter((e) => e.event === event && (path === undefined || e.path === path));
  const waitFor = (event: string, path?: string, n = 1) =>
    until(() => of(event, path).length >= n, 10_000, `${n} ${event} event(s)${path ? ` of ${path}` : ""}`);
  try {
    await withServer({
      "hooks.url": r.url,
      "hooks.retryMinMs": 50,
      "hooks.retryMaxMs": 100,
      "ingest.reconnectGraceMs": 0,
      paths: {
        "secure/cam": { read: { users: [{ user: "view", pass: "pw" }] } },
        "cams/dead": {
          source: `rtsp://u:secret@127.0.0.1:${dead}/x`,
          sourceRetryMinMs: 60_000,
          sourceRetryMaxMs: 60_000,
        },
        "~^.*$": {},
      },
    }, async (server) => {
      await waitFor("source.state", "cams/dead", 2);

      const pub = await startPublisher(server.port, "live/a");
      await pub.sendFrames(10);
      await waitFor("publish.start");
      const viewer = await playTcp(server.port, "live/a");
      await waitFor("read.start");
      viewer.close();
      await waitFor("read.stop");

      const c = await RtspTestClient.connect(server.port, "secure/cam");
      const first = await c.request("DESCRIBE", c.url);
      assert.equal(first.status, 401, "the challenge, which is no failure");
      const wrong = await c.request("DESCRIBE", c.url, { Authorization: `Basic ${btoa("view:guess")}` });
      assert.equal(wrong.status, 401);
      await waitFor("auth.failure");
      c.close();

      pub.close();
      await waitFor("publish.stop");
      assert.deepEqual(server.hooks.counters, {
        sent: r.events.length,
        failed: 0,
        retries: 1,
        dropped: 0,
        queued: 0,
      });
    });
  } finally {
    await r.close();
  }

  assert.equal(r.posts(), r.events.length + 1, "the POST answered 503 was made again, once");
  assert.deepEqual([...r.contentTypes], ["application/json"]);
  for (const e of r.events) {
    assert.equal("node" in e, false, "no node outside a cluster");
    const t = Date.parse(e.time);
    assert.ok(t >= started - 1000 && t <= Date.now(), `time ${e.time}`);
  }

  const main = r.events.filter((e) => e.event !== "source.state");
  assert.deepEqual(main.map((e) => e.event), [
    "publish.start",
    "read.start",
    "read.stop",
    "auth.failure",
    "publish.stop",
  ]);
  const [start, read, readStop, auth, stop] = main;
  assert.ok(start.event === "publish.start" && read.event === "read.start" && readStop.event === "read.stop");
  assert.ok(auth.event === "auth.failure" && stop.event === "publish.stop");
  assert.deepEqual(Object.keys(start).slice(0, 3), ["event", "time", "path"]);
  assert.equal(start.path, "live/a");
  assert.equal(start.kind, "publisher");
  assert.equal(start.peer, "127.0.0.1");
  assert.match(start.session, /^[0-9a-f]{16}$/);
  assert.equal(read.path, "live/a");
  assert.equal(read.streamId, start.streamId);
  assert.equal(read.transport, "tcp");
  assert.equal(read.user, null);
  assert.equal(read.peer, "127.0.0.1");
  assert.notEqual(read.session, start.session);
  assert.equal(readStop.session, read.session);
  assert.equal(readStop.streamId, start.streamId);
  assert.deepEqual(
    { path: auth.path, user: auth.user, action: auth.action, method: auth.method, peer: auth.peer },
    { path: "secure/cam", user: "view", action: "read", method: "DESCRIBE", peer: "127.0.0.1" },
  );
  assert.match(auth.reason, /wrong password for user 'view'/);
  assert.equal(stop.streamId, start.streamId);
  assert.equal(stop.reason, "publisher left");

  const source = of("source.state", "cams/dead").map((e) => e.event === "source.state" ? e : null!);
  assert.deepEqual(source.map((e) => `${e.previous}>${e.state}`), [
    "idle>connecting",
    "connecting>retrying",
    "retrying>idle",
  ]);
  assert.equal(source[0].url, `rtsp://127.0.0.1:${dead}/x`, "the source URL without its credentials");
  assert.equal(source[0].edge, false);
  assert.equal(source[0].error, null);
  assert.ok(source[1].error !== null && source[1].error.length > 0, "why it retries");
  assert.equal(source[2].error, null);
});

Deno.test("hooks: a reload that sets hooks.url applies to the next events, from main.ts and the workers; one that clears it stops them", async () => {
  const r = receiver(0);
  try {
    await withServer({ "ingest.reconnectGraceMs": 0 }, async (server, config, log) => {
      const pub = await startPublisher(server.port, "live/a");
      await pub.sendFrames(10);
      server.reload(withOverrides(config, { "hooks.url": r.url }));
      // Messages to a worker keep their order: once it answers, it runs the reloaded config.
      await server.stats();
      const viewer = await playTcp(server.port, "live/a");
      await until(() => r.events.length >= 1, 10_000, "read.start");
      viewer.close();
      // (Closed at once, the publisher's worker may tell main.ts before the viewer's does.)
      await until(() => r.events.length >= 2, 10_000, "read.stop");
      pub.close();
      await until(() => r.events.length >= 3, 10_000, "publish.stop");
      assert.deepEqual(r.events.map((e) => e.event), ["read.start", "read.stop", "publish.stop"]);

      server.reload(withOverrides(config, { "hooks.url": "" }));
      await server.stats();
      const again = await startPublisher(server.port, "live/b");
      await playTcp(server.port, "live/b").then((v) => v.close());
      again.close();
      await log.waitFor(/\[path live\/b\] stream \d+ removed/);
      assert.deepEqual(server.hooks.counters, { sent: 3, failed: 0, retries: 0, dropped: 0, queued: 0 });
    });
  } finally {
    await r.close();
  }
  assert.equal(r.events.length, 3);
});

import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { Logger } from "../../src/log/logger.ts";
import { startApi, type StreamStatus } from "../../src/api/http_api.ts";
import type { ServerHandle } from "../../src/cluster/cluster.ts";
import { planReload } from "../../src/cluster/config_reload.ts";
import { type Config, withOverrides } from "../../src/config.ts";

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

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
/** api.users for the tests below: a plain pass, and "sha256:" of "scrape-pw". */
const API_USERS = [
  { user: "ops", pass: "pw" },
  { user: "prom", pass: "sha256:xT7XK4B/kllMyRLQrY9uX75O1kX5bT4ycWvSZh5JAuk=" },
];

/** A GET (or `method`) to the API; the status, the WWW-Authenticate values and the body read. */
async function get(
  base: string,
  path: string,
  authorization?: string,
  method = "GET",
): Promise<{ status: number; challenges: string[]; headers: Headers; body: string }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
  const challenges = r.headers.get("WWW-Authenticate")?.split(/,\s*(?=Basic|Digest)/) ?? [];
  return { status: r.status, challenges, headers: r.headers, body: await r.text() };
}

/** The API on 127.0.0.1 of a server with `overrides`; its log lines kept. */
async function withApi(
  overrides: Record<string, unknown>,
  fn: (base: string, server: ServerHandle, config: Config, lines: string[]) => Promise<void>,
): Promise<void> {
  await withServer(overrides, async (server, config) => {
    const lines: string[] = [];
    const api = await startApi(
      "127.0.0.1",
      0,
      server,
      new Logger("debug", "", (_l, line) => lines.push(line)),
    );
    try {
      await fn(`http://127.0.0.1:${api.port}`, server, config, lines);
    } finally {
      await api.close();
    }
  });
}

Deno.test("api.users: every endpoint, /metrics too, needs HTTP Basic; 401 with the realm without or with wrong credentials", async () => {
  await withApi(
    { "api.users": API_USERS, "auth.realm": "ops room" },
    async (base, _server, _config, lines) => {
      for (const path of ["/v1/streams", "/v1/sources", "/v1/sessions", "/v1/cluster", "/metrics", "/nope"]) {
        const r = await get(base, path);
        assert.equal(r.status, 401, path);
        assert.deepEqual(r.challenges, ['Basic realm="ops room"'], path);
        assert.deepEqual(JSON.parse(r.body), { error: "credentials needed (HTTP Basic)" });
      }
      const kick = await get(base, "/v1/sessions/x/kick", undefined, "POST");
      assert.equal(kick.status, 401, "kick is refused before its route");

      const wrong: [string, string][] = [
        ["wrong password", basic("ops", "guess-1234")],
        ["unknown user", basic("who", "pw")],
        ["the sha256 text as the password", basic("prom", API_USERS[1].pass)],
        ["not Basic", 'Digest username="ops", realm="ops room", nonce="x", uri="/metrics", response="0"'],
        ["unreadable", "Basic !!!"],
      ];
      for (const [what, auth] of wrong) {
        const r = await get(base, "/metrics", auth);
        assert.equal(r.status, 401, what);
        assert.deepEqual(r.challenges, ['Basic realm="ops room"'], what);
      }
      assert.ok(
        lines.some((l) =>
          /WRN .*API: GET \/metrics from 127\.0\.0\.1: 401 wrong password for user 'ops'/.test(l)
        ),
        lines.join("\n"),
      );
      assert.ok(lines.some((l) => /API: GET \/v1\/streams from 127\.0\.0\.1: 401 no credentials/.test(l)));

      // A user name a peer chose reaches the log escaped, on one line.
      await get(base, "/metrics", basic("evil\nINFO forged", "x"));
      const evil = lines.find((l) => l.includes("evil"))!;
      assert.ok(!evil.includes("\n"), evil);
      assert.match(evil, /unknown user 'evil\\x0aINFO forged'/);
      assert.ok(!lines.some((l) => l.includes("guess-1234")), "no password is logged");
    },
  );
});

Deno.test("api.users: the right plain or sha256: password gets 200 on the endpoints and /metrics", async () => {
  await withApi({ "api.users": API_USERS }, async (base) => {
    assert.equal((await get(base, "/metrics")).status, 401, "protected");
    for (const auth of [basic("ops", "pw"), basic("prom", "scrape-pw")]) {
      const s = await get(base, "/v1/streams", auth);
      assert.equal(s.status, 200);
      assert.deepEqual(JSON.parse(s.body), { streams: [] });
      const m = await get(base, "/metrics", auth);
      assert.equal(m.status, 200);
      assert.match(m.body, /^# TYPE dm_live_viewers gauge$/m);
      assert.equal((await get(base, "/v1/sessions", auth)).status, 200);
      // Past the gate, the routes answer as before.
      assert.equal((await get(base, "/v1/sessions/none/kick", auth, "POST")).status, 404);
      assert.equal((await get(base, "/metrics", auth, "POST")).status, 405);
    }
  });
});

Deno.test("api.users: failures count with RTSP's per address; past auth.maxFailures, 429 with Retry-After, right password or not", async () => {
  const paths = {
    "~^.*$": { publish: { users: [], ips: [] }, read: { users: [{ user: "v", pass: "w" }], ips: [] } },
  };
  await withApi(
    { "api.users": API_USERS, "auth.maxFailures": 3, "auth.failureWindowMs": 60_000, paths },
    async (base, server, _config, lines) => {
      const rtsp = await RtspTestClient.connect(server.port, "cam");
      try {
        assert.equal(
          (await rtsp.request("DESCRIBE", rtsp.url, { Authorization: basic("v", "w") })).status,
          404,
        );
      } finally {
        rtsp.close();
      }
      // Requests without credentials are no failures.
      for (let i = 0; i < 5; i++) assert.equal((await get(base, "/metrics")).status, 401);
      assert.equal((await get(base, "/metrics", basic("ops", "pw"))).status, 200);
      for (let i = 0; i < 3; i++) {
        assert.equal((await get(base, "/metrics", basic("ops", "bad"))).status, 401);
      }
      for (const auth of [basic("ops", "pw"), basic("ops", "bad"), undefined]) {
        const r = await get(base, "/metrics", auth);
        assert.equal(r.status, 429);
        assert.equal(r.headers.get("Retry-After"), "60");
        assert.deepEqual(r.challenges, []);
      }
      assert.ok(lines.some((l) => /API: GET \/metrics from 127\.0\.0\.1: 429 too many failures/.test(l)));
      // The same table as RTSP's: the address is now refused on a protected RTSP path too (before
      // the failures, the same request was let in: 404, nothing published there).
      const c = await RtspTestClient.connect(server.port, "cam");
      try {
        const r = await c.request("DESCRIBE", c.url, { Authorization: basic("v", "w") });
        assert.equal(r.status, 403);
      } finally {
        c.close();
      }
    },
  );
});

Deno.test("api.ips: another address gets 403 before anything else; a listed one goes on to the credentials", async () => {
  await withApi(
    { "api.ips": ["10.0.0.0/8", "fd00::/8"], "api.users": API_USERS },
    async (base, _s, _c, lines) => {
      for (const path of ["/v1/streams", "/metrics", "/nope"]) {
        for (const auth of [undefined, basic("ops", "pw"), basic("ops", "bad")]) {
          const r = await get(base, path, auth);
          assert.equal(r.status, 403, path);
          assert.deepEqual(r.challenges, [], "no credentials asked for");
          assert.deepEqual(JSON.parse(r.body), { error: "address not allowed" });
        }
      }
      assert.ok(
        lines.some((l) => /WRN .*API: GET \/metrics from 127\.0\.0\.1: 403 address not in api\.ips/.test(l)),
      );
    },
  );
  await withApi({ "api.ips": ["10.0.0.0/8", "127.0.0.0/8"], "api.users": API_USERS }, async (base) => {
    assert.equal((await get(base, "/metrics")).status, 401);
    assert.equal((await get(base, "/metrics", basic("ops", "pw"))).status, 200);
  });
  await withApi({ "api.ips": ["127.0.0.1"] }, async (base) => {
    assert.equal((await get(base, "/metrics")).status, 200, "ips alone: no credentials needed");
  });
});

Deno.test("api.users and api.ips apply on reload from the next request; empty, the API is open as before", async () => {
  await withApi({}, async (base, server, config) => {
    const before = await get(base, "/metrics", basic("ops", "wrong"));
    assert.equal(before.status, 200, "no api.users: open, whatever Authorization says");
    assert.equal(before.headers.get("WWW-Authenticate"), null);

    const reload = (o: Record<string, unknown>) => {
      const plan = planReload(server.config, withOverrides(config, o));
      assert.deepEqual(plan.needRestart, []);
      server.reload(plan.config);
    };
    reload({ "api.users": API_USERS });
    assert.equal((await get(base, "/metrics")).status, 401);
    assert.equal((await get(base, "/metrics", basic("prom", "scrape-pw"))).status, 200);
    reload({ "api.users": API_USERS, "api.ips": ["10.0.0.0/8"] });
    assert.equal((await get(base, "/metrics", basic("prom", "scrape-pw"))).status, 403);
    reload({});
    assert.equal((await get(base, "/v1/streams")).status, 200);
  });
});

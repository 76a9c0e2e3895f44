/** Holes an attack run found (issue: hold against attackers), each with the test that reproduces it. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { ClosedBeforeResponse, RtspTestClient } from "../support/rtsp_client.ts";
import { ignoreSocketClosed, isSocketClosed } from "../support/expected_errors.ts";
import { AV_SDP, startPublisher } from "../support/synthetic_publisher.ts";
import { playTcp } from "../support/viewers.ts";
import { ServerProcess } from "../support/server_process.ts";
import { until } from "../support/proc.ts";
import { startApi } from "../../src/api/http_api.ts";
import { Logger } from "../../src/log/logger.ts";
import { RingClasses } from "../../src/ring/ring_classes.ts";
import { ClientAuth } from "../../src/session/client_auth.ts";
import { digestHa1, digestHa2, digestResponse } from "../../src/auth/digest.ts";

Deno.test("a path ending in a track control cannot be announced, so it never shadows another path's track URLs", async () => {
  await withServer({ workers: 1 }, async (server) => {
    const victim = await startPublisher(server.port, "live/cam");
    await victim.sendFrames(10);
    // The attack: a stream on live/cam/trackID=0 would answer the viewers' SETUP of live/cam's track 0.
    const attacker = await RtspTestClient.connect(server.port, "live/cam/trackID=0");
    const r = await attacker.request("ANNOUNCE", attacker.url, { "Content-Type": "application/sdp" }, AV_SDP);
    assert.equal(r.status, 400);
    const a2 = await RtspTestClient.connect(server.port, "x/streamid=1");
    assert.equal(
      (await a2.request("ANNOUNCE", a2.url, { "Content-Type": "application/sdp" }, AV_SDP)).status,
      400,
    );
    a2.close();
    attacker.close();
    // The victim's viewers set up both tracks of live/cam and play.
    const v = await RtspTestClient.connect(server.port, "live/cam");
    const d = await v.request("DESCRIBE", v.url);
    const base = d.headers.get("Content-Base")!;
    assert.equal(
      (await v.request("SETUP", `${base}trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" }))
        .status,
      200,
    );
    assert.equal(
      (await v.request("SETUP", `${base}trackID=1`, { Transport: "RTP/AVP/TCP;unicast;interleaved=2-3" }))
        .status,
      200,
    );
    assert.equal((await v.request("PLAY", base)).status, 200);
    v.close();
    victim.close();
  });
});

Deno.test("SETUP of a protected path asks for credentials first, whether or not a stream exists", async () => {
  await withServer({
    workers: 1,
    paths: { "~^secure/": { read: { users: [{ user: "v", pass: "w" }] } }, "~^.*$": {} },
  }, async (server) => {
    const pub = await startPublisher(server.port, "secure/cam");
    await pub.sendFrames(10);
    const tcp = { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" };
    const cases: [string, string][] = [
      ["a track of a stream that exists", "secure/cam/trackID=0"],
      ["the aggregate URL of a two-track stream (459 once allowed)", "secure/cam"],
      ["a track of a stream that does not exist (404 once allowed)", "secure/none/trackID=0"],
    ];
    for (const [what, path] of cases) {
      const c = await RtspTestClient.connect(server.port, path);
      const r = await c.request("SETUP", c.url, tcp);
      assert.equal(r.status, 401, what);
      assert.ok(r.headers.getAll("WWW-Authenticate").length > 0, `${what}: challenged`);
      c.close();
    }
    pub.close();
  });
});

Deno.test("control characters a client percent-encodes in a path reach the log written out, never raw", async () => {
  const server = await ServerProcess.start();
  try {
    const c = await RtspTestClient.connect(server.port, "live/%0d%0aFAKE%1b%5b2J%00%7f%e2%80%a8x");
    assert.equal((await c.request("DESCRIBE", c.url)).status, 404);
    c.close();
    const line = await server.waitLog(/DESCRIBE [^\n]*404[^\n]*\n/);
    assert.match(line[0], /'live\/\\r\\nFAKE\\x1b\[2J\\x00\\x7f\\u2028x'/);
    // dm-live's own lines (Deno's permission warning before them is coloured).
    const ours = server.log.split("\n").filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
    for (const l of ours) {
      // deno-lint-ignore no-control-regex -- control characters are what this matches
      assert.doesNotMatch(l, /[\x00-\x1f\x7f\u2028]/, `no raw control character: ${JSON.stringify(l)}`);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("UDP client ports another session from the same address set up are refused, for publishers and viewers", async () => {
  await withServer({ workers: 1 }, async (server) => {
    const record = async (path: string, ports: string) => {
      const c = await RtspTestClient.connect(server.port, path);
      assert.equal(
        (await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, AV_SDP)).status,
        200,
      );
      const r = await c.request("SETUP", `${c.url}/streamid=0`, {
        Transport: `RTP/AVP;unicast;client_port=${ports};mode=record`,
      });
      return { c, status: r.status };
    };
    const a = await record("live/a", "40100-40101");
    assert.equal(a.status, 200);
    const b = await record("live/b", "40100-40101");
    assert.equal(b.status, 400, "a second publisher on the same ports would feed the first one's stream");
    const b2 = await record("live/b2", "40101-40102");
    assert.equal(b2.status, 400, "one port in common is enough");
    const pub = await startPublisher(server.port, "live/v");
    await pub.sendFrames(10);
    const view = async (ports: string) => {
      const c = await RtspTestClient.connect(server.port, "live/v");
      const d = await c.request("DESCRIBE", c.url);
      const r = await c.request("SETUP", `${d.headers.get("Content-Base")}trackID=0`, {
        Transport: `RTP/AVP;unicast;client_port=${ports}`,
      });
      return { c, status: r.status };
    };
    const v1 = await view("40200-40201");
    assert.equal(v1.status, 200);
    const v2 = await view("40200-40201");
    assert.equal(v2.status, 400, "two viewers' streams would go to one socket");
    for (const x of [a, b, b2, v1, v2]) x.c.close();
    pub.close();
  });
});

Deno.test("slowloris: a request trickled byte by byte gets 408 and is closed; so does a connection that never asks", async () => {
  await withServer({ "limits.requestTimeoutMs": 500, "limits.handshakeTimeoutMs": 500 }, async (server) => {
    const slow = await RtspTestClient.connect(server.port, "x");
    const silent = await RtspTestClient.connect(server.port, "x");
    const line = `OPTIONS ${slow.url} RTSP/1.0\r\nCSeq: 1\r\n`;
    let sent = 0;
    // Every byte is news, but the request never ends: only the deadline for a whole request can end it.
    while (!slow.closed && sent < line.length * 10) {
      // Expected to fail once the server has closed the connection (the loop then ends).
      await slow.writeRaw(line[sent % line.length]).catch(ignoreSocketClosed);
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(slow.closed, "closed");
    assert.equal((await slow.nextResponse()).status, 408);
    assert.ok(await silent.waitClosed(10_000));
    assert.equal((await silent.nextResponse()).status, 408);
    slow.close();
    silent.close();
    // A publisher whose frames keep coming in pieces is never taken for one: it outlives a
    // connection made after its first frame that never asks (closed at the same deadline).
    const pub = await startPublisher(server.port, "live/ok");
    await pub.sendFrames(1);
    const canary = await RtspTestClient.connect(server.port, "x");
    for (let i = 0; i < 400 && !canary.closed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await pub.sendFrames(1);
    }
    assert.ok(canary.closed, "the connection that never asked is closed");
    assert.equal((await canary.nextResponse()).status, 408);
    canary.close();
    assert.equal((await pub.client.request("GET_PARAMETER")).status, 200, "the publisher is still served");
    pub.close();
  });
});

Deno.test("limits.maxConnectionsPerAddress: one address holds at most its share per worker", async () => {
  await withServer({ workers: 2, "limits.maxConnectionsPerAddress": 4 }, async (server) => {
    const clients: RtspTestClient[] = [];
    for (let i = 0; i < 12; i++) clients.push(await RtspTestClient.connect(server.port, "x"));
    let answered = 0;
    for (const c of clients) {
      const r = await c.request("OPTIONS").catch((e) => {
        // Expected for a refused connection: closed by the server before or after our request went out.
        if (e instanceof ClosedBeforeResponse || isSocketClosed(e)) return null;
        throw e;
      });
      if (r?.status === 200) answered++;
      c.close();
    }
    assert.ok(answered >= 1 && answered <= 4, `${answered} of 12 served`);
    const refused = (await server.stats()).reduce((n, r) => n + r.connectionsRefused, 0);
    assert.equal(refused, 12 - answered);
  });
});

Deno.test("a captured Digest answer replayed on another connection is refused; the RFC 2069 form is off by default", async () => {
  const user = "v";
  const pass = "w";
  await withServer({ paths: { "~^.*$": { read: { users: [{ user, pass }] } } } }, async (server) => {
    const pub = await startPublisher(server.port, "live/cam");
    await pub.sendFrames(10);
    const url = `rtsp://127.0.0.1:${server.port}/live/cam`;
    const c = await RtspTestClient.connect(server.port, "live/cam");
    const first = await c.request("DESCRIBE", url);
    assert.equal(first.status, 401);
    const auth = new ClientAuth(user, pass);
    assert.equal(auth.challenged(first.headers.getAll("WWW-Authenticate")), null);
    const captured = auth.authorization("DESCRIBE", url)!;
    assert.match(captured, /qop=auth, nc=00000001/);
    assert.equal((await c.request("DESCRIBE", url, { Authorization: captured })).status, 200);
    c.close();
    // The same answer, nc=1 again, from a new connection of the same address.
    const replayer = await RtspTestClient.connect(server.port, "live/cam");
    assert.equal((await replayer.request("DESCRIBE", url, { Authorization: captured })).status, 401);
    // An answer without qop (GStreamer's, VLC's form) is not taken unless auth.allowRfc2069.
    const old = await RtspTestClient.connect(server.port, "live/cam");
    const ch = (await old.request("DESCRIBE", url)).headers.getAll("WWW-Authenticate").find((h) =>
      /MD5/.test(h)
    )!;
    const nonce = /nonce="([^"]+)"/.exec(ch)![1];
    const ha1 = digestHa1("MD5", user, "dm-live", pass);
    const response = digestResponse("MD5", ha1, nonce, digestHa2("MD5", "DESCRIBE", url));
    const rfc2069 =
      `Digest username="${user}", realm="dm-live", nonce="${nonce}", uri="${url}", response="${response}"`;
    assert.equal((await old.request("DESCRIBE", url, { Authorization: rfc2069 })).status, 401);
    replayer.close();
    old.close();
    pub.close();
  });
});

Deno.test("an address blocked for failures loses only credentialed access: open paths still play", async () => {
  await withServer({
    workers: 1,
    "auth.maxFailures": 2,
    paths: { "~^secure/": { read: { users: [{ user: "v", pass: "w" }] } }, "~^.*$": {} },
  }, async (server) => {
    const pub = await startPublisher(server.port, "live/cam");
    await pub.sendFrames(10);
    const wrong = { Authorization: `Basic ${btoa("v:nope")}` };
    const c = await RtspTestClient.connect(server.port, "secure/cam");
    assert.equal((await c.request("DESCRIBE", c.url, wrong)).status, 401);
    assert.equal((await c.request("DESCRIBE", c.url, wrong)).status, 401);
    const right = { Authorization: `Basic ${btoa("v:w")}` };
    assert.equal((await c.request("DESCRIBE", c.url, right)).status, 403, "blocked on the protected path");
    c.close();
    const open = await RtspTestClient.connect(server.port, "live/cam");
    assert.equal((await open.request("DESCRIBE", open.url)).status, 200, "the open path answers");
    open.close();
    pub.close();
  });
});

Deno.test("limits.maxStreamsPerAddress and maxStreams: a publisher past either gets 453; /metrics shows the rings' memory", async () => {
  // Before: one address made 200 streams in half a second, each with a ring of ring.bytes.
  for (
    const [limits, what] of [[{ "limits.maxStreamsPerAddress": 2 }, "per address"], [{
      "limits.maxStreams": 2,
    }, "in all"]] as const
  ) {
    await withServer({
      workers: 2,
      "limits.maxStreams": 0,
      "limits.maxStreamsPerAddress": 0,
      "ring.bytes": 1 << 20,
      "ingest.reconnectGraceMs": 0,
      ...limits,
    }, async (server, config) => {
      const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
      const pubs = [
        await startPublisher(server.port, "flood/0"),
        await startPublisher(server.port, "flood/1"),
      ];
      try {
        const c = await RtspTestClient.connect(server.port, "flood/2");
        const r = await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, AV_SDP);
        assert.equal(r.status, 453, `a third stream (${what})`);
        c.close();
        const m = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
        const sum = (name: string) =>
          [...m.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} (\\d+)$`, "gm"))].reduce(
            (n, x) => n + Number(x[1]),
            0,
          );
        // Each stream starts in the smallest ring class (ring.minBytes), whatever ring.bytes allows.
        const first = new RingClasses(config.ring.minBytes, config.ring.bytes, config.ring.slots).smallest;
        assert.equal(sum("dm_live_ring_bytes"), 2 * first.byteLength, "two rings of the smallest class");
        assert.equal(sum("dm_live_streams_fed"), 2);
        // A stream that ends frees its place.
        pubs.shift()!.close();
        const again = await RtspTestClient.connect(server.port, "flood/2");
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          status = (await again.request("ANNOUNCE", again.url, { "Content-Type": "application/sdp" }, AV_SDP))
            .status;
          if (status !== 200) await again.request("OPTIONS", again.url); // a round trip while the release travels
        }
        assert.equal(status, 200, "after one publisher left");
        again.close();
      } finally {
        for (const p of pubs) p.close();
        await api.close();
      }
    });
  }
});

Deno.test("a keyframe larger than the skip lag but fitting the ring still starts new viewers", async () => {
  // Before: with ring.bytes 262144 (skip lag 128 KiB) a 150 KB IDR made every viewer skip to the
  // newest keyframe, the one it was at, then wait for the next: no viewer ever got RTP.
  await withServer({ workers: 1, "ring.bytes": 262144 }, async (server) => {
    const pub = await startPublisher(server.port, "big/key");
    await pub.sendFrames(1, 30, 125, 1200); // SPS/PPS, then a 150 KB IDR in 125 fragments
    await pub.sendFrames(2, 30, 125, 1200);
    const v = await RtspTestClient.connect(server.port, "big/key");
    const d = await v.request("DESCRIBE", v.url);
    const base = d.headers.get("Content-Base")!;
    await v.request("SETUP", `${base}trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
    assert.equal((await v.request("PLAY", base)).status, 200);
    await pub.sendFrames(3, 30, 125, 1200);
    assert.ok(
      await v.waitFrames((f) => f.length >= 128, 10_000),
      `the GOP arrives (${v.frames.length} frames)`,
    );
    assert.equal(v.frames[0].payload[12] & 0x1f, 24, "it starts at the parameter sets (STAP-A)");
    assert.equal(v.frames[1].payload[12] & 0x1f, 28, "then the IDR's fragments (FU-A)");
    v.close();
    pub.close();
  });
});

Deno.test("limits.maxPendingBodyBytesPerAddress: unfinished bodies of one address past the bound get 503; finishing one frees room", async () => {
  await withServer({ workers: 1, "limits.maxPendingBodyBytesPerAddress": 250_000 }, async (server) => {
    const head = (c: RtspTestClient) =>
      `ANNOUNCE ${c.url} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 100000\r\n\r\n`;
    const clients: RtspTestClient[] = [];
    try {
      // Three announced 100,000-byte bodies, each begun and left unfinished: the one that comes
      // third would hold 300,000.
      for (let i = 0; i < 3; i++) {
        const c = await RtspTestClient.connect(server.port, `live/b${i}`);
        clients.push(c);
        await c.writeRaw(head(c) + "v=0\r\n");
      }
      await until(() => clients.some((c) => c.closed), 5000, "one of the three refused");
      const refused = clients.filter((c) => c.closed);
      assert.equal(refused.length, 1, "exactly one past the bound");
      assert.equal((await refused[0].nextResponse()).status, 503);
      const held = clients.filter((c) => !c.closed);
      // One held body completes (a bad SDP: 400, no longer pending), so a new one fits.
      await held[0].writeRaw("x".repeat(100000 - 5));
      assert.equal((await held[0].nextResponse()).status, 400);
      const fourth = await RtspTestClient.connect(server.port, "live/b3");
      clients.push(fourth);
      await fourth.writeRaw(head(fourth) + "v=0\r\n");
      // A round trip on a connection made after the fourth's head was sent: on this one worker
      // that head has been read by the time the answer comes.
      const probe = await RtspTestClient.connect(server.port, "x");
      clients.push(probe);
      assert.equal((await probe.request("OPTIONS")).status, 200);
      assert.equal(fourth.closed, false, "the fourth is held, not refused");
    } finally {
      for (const c of clients) c.close();
    }
  });
});

Deno.test("limits.maxConnectionsPerWorker: connections past it are closed at once, logged once per 10 s, not once each", async () => {
  const server = await ServerProcess.start(["--workers", "1", "--set", "limits.maxConnectionsPerWorker=2"]);
  const held: RtspTestClient[] = [];
  try {
    for (let i = 0; i < 2; i++) held.push(await RtspTestClient.connect(server.port, "x"));
    for (const c of held) assert.equal((await c.request("OPTIONS")).status, 200);
    for (let i = 0; i < 20; i++) {
      const c = await RtspTestClient.connect(server.port, "x");
      assert.ok(await c.waitClosed(10_000), "refused");
      c.close();
    }
    // A line logged after the refusals: every line they made is in the log before it.
    assert.equal((await held[0].request("DESCRIBE", held[0].url)).status, 404);
    await server.waitLog(/DESCRIBE [^\n]*404/);
    assert.equal(server.log.match(/limits\.maxConnectionsPerWorker/g)?.length, 1, server.log);
    assert.match(
      server.log,
      /2 connections open on this worker \(limits\.maxConnectionsPerWorker\); 1 refused/,
    );
  } finally {
    for (const c of held) c.close();
    await server.stop();
  }
});

Deno.test("connection churn does not fill the log: a connection without a session closes at debug, a viewer's at info", async () => {
  const server = await ServerProcess.start();
  try {
    for (let i = 0; i < 30; i++) {
      const c = await RtspTestClient.connect(server.port, "x");
      if (i % 2 === 0) assert.equal((await c.request("OPTIONS")).status, 200);
      c.close();
    }
    const pub = await startPublisher(server.port, "live/churn");
    await pub.sendFrames(5);
    const v = await playTcp(server.port, "live/churn");
    const port = (v.conn.localAddr as Deno.NetAddr).port;
    v.close();
    // The first close logged is the viewer's: none of the 30 session-less ones before it was.
    const line = await server.waitLog(/closed: [^\n]*\n/);
    const at = server.log.lastIndexOf("\n", line.index) + 1;
    assert.match(server.log.slice(at, line.index), new RegExp(`conn 127\\.0\\.0\\.1:${port}\\]`), server.log);
    pub.close();
  } finally {
    await server.stop();
  }
});

Deno.test("out of file descriptors: accept failures are logged once per 10 s, and connections queued meanwhile are served once descriptors free up", async () => {
  const args = ["--workers", "1", "--set", "api.enabled=false", "--set", "udp.portBase=0"];
  const server = await ServerProcess.start(args, { openFiles: 128 });
  const conns: Deno.TcpConn[] = [];
  try {
    // About 30 descriptors are the server's own: past ~100 connections accept4 fails with EMFILE,
    // and the rest wait in the kernel's queue.
    for (let i = 0; i < 160; i++) conns.push(await Deno.connect({ port: server.port }));
    // errno 24 is EMFILE (the FFI backend says the number, Deno's "Too many open files").
    await server.waitLog(/accept failed: (errno 24|Too many open files)/);
    // Freeing descriptors brings no new connection (no new epoll event): only a retry takes the queued ones.
    for (const c of conns.splice(0, 100)) c.close();
    const enc = new TextEncoder();
    for (const c of conns) {
      await c.write(enc.encode(`OPTIONS rtsp://127.0.0.1:${server.port}/x RTSP/1.0\r\nCSeq: 1\r\n\r\n`));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const never = new Promise<never>((_, reject) => {
      // A guard, not a measurement: without the retry the queued connections are never accepted.
      timer = setTimeout(() => reject(new Error("a queued connection was never served")), 10_000);
    });
    try {
      for (const c of conns) {
        const buf = new Uint8Array(512);
        const n = await Promise.race([c.read(buf), never]);
        assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^RTSP\/1\.0 200/);
      }
    } finally {
      clearTimeout(timer);
    }
    const lines = server.log.match(/accept failed/g)?.length ?? 0;
    assert.ok(lines >= 1 && lines <= 2, `${lines} 'accept failed' lines`);
  } finally {
    for (const c of conns) c.close();
    await server.stop();
  }
});

Deno.test("limits.maxConnectionsPerSecondPerAddress: new connections past it are closed at once, unanswered, counted, logged once", async () => {
  const server = await ServerProcess.start([
    "--workers",
    "1",
    "--set",
    "limits.maxConnectionsPerSecondPerAddress=5",
  ]);
  try {
    let answered = 0;
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const c = await RtspTestClient.connect(server.port, "x");
      const r = await c.request("OPTIONS").catch((e) => {
        // Expected for a refused connection: closed by the server before or after our request went out.
        if (e instanceof ClosedBeforeResponse || isSocketClosed(e)) return null;
        throw e;
      });
      if (r?.status === 200) answered++;
      else refused++;
      c.close();
    }
    assert.ok(refused > 0, `${answered} of 20 served`);
    // A line logged after the refusals: every line they made is in the log before it.
    await new Promise((r) => setTimeout(r, 1100)); // the next second's allowance
    const c = await RtspTestClient.connect(server.port, "x");
    assert.equal((await c.request("DESCRIBE", c.url)).status, 404);
    c.close();
    await server.waitLog(/DESCRIBE [^\n]*404/);
    assert.equal(server.log.match(/limits\.maxConnectionsPerSecondPerAddress/g)?.length, 1, server.log);
    assert.match(
      server.log,
      /refused connections from 127\.0\.0\.1: over 5 a second on this worker .*; 1 refused/,
    );
    const metrics = await (await fetch(`${await server.apiUrl()}/metrics`)).text();
    assert.match(metrics, new RegExp(`dm_live_connections_rate_refused_total\\{worker="0"\\} ${refused}\\b`));
  } finally {
    await server.stop();
  }
});

Deno.test("error answers do not fill the log: a burst of bad requests from one address writes a few lines, then one naming the address and the count", async () => {
  const server = await ServerProcess.start(["--workers", "1"]);
  try {
    const c = await RtspTestClient.connect(server.port, "live/missing");
    for (let i = 0; i < 200; i++) assert.equal((await c.request("DESCRIBE", c.url)).status, 404);
    const summary = await server.waitLog(/(\d+) more error answers to 127\.0\.0\.1 in the last 10 s/, 20_000);
    const lines = server.log.match(/DESCRIBE [^\n]*404/g)?.length ?? 0;
    assert.ok(lines > 0 && lines <= 10, `${lines} lines`);
    assert.equal(lines + Number(summary[1]), 200, "every answer is a line or in the count");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("limits.maxPublishKbps: a publisher sending past it is disconnected, logged and counted; one below it is kept", async () => {
  const server = await ServerProcess.start(["--workers", "1", "--set", "limits.maxPublishKbps=300"]);
  const fast = await startPublisher(server.port, "fast/cam");
  const slow = await startPublisher(server.port, "slow/cam");
  let stop = false;
  // fast: 6 frames of ~1.2 KB every 50 ms, some 1.2 Mbit/s; slow: a frame every 500 ms, ~10 kbit/s.
  const sending = (async () => {
    for (let tick = 0; !stop; tick++) {
      await fast.sendFrames(6, 30, 3, 1200);
      if (tick % 10 === 0) await slow.sendFrames(1, 30, 1, 600);
      await new Promise((r) => setTimeout(r, 50));
    }
  })().catch((e) => {
    if (!isSocketClosed(e)) throw e; // fast's socket, once the server has closed it
  });
  try {
    const line = await server.waitLog(
      /publishing (\d+) kbit\/s, over limits\.maxPublishKbps \(300\)/,
      30_000,
    );
    assert.ok(Number(line[1]) > 300, line[0]);
    assert.match(server.log, /fast\/cam[^\n]*publishing \d+ kbit\/s, over limits\.maxPublishKbps/);
    stop = true;
    await sending;
    // The slow publisher was judged on the same sweeps and kept: it still publishes, and nothing cut it.
    await slow.sendFrames(1, 30, 1, 600);
    assert.doesNotMatch(server.log, /slow\/cam[^\n]*over limits\.maxPublishKbps/);
    const metrics = await (await fetch(`${await server.apiUrl()}/metrics`)).text();
    assert.match(metrics, /dm_live_publishers_over_bitrate_total\{worker="0"\} 1\b/);
  } finally {
    stop = true;
    await sending;
    fast.close();
    slow.close();
    await server.stop();
  }
});

/**
 * The server as a service, run as a real process: SIGTERM/SIGINT shutdown, SIGHUP reload, and a
 * worker that crashes (through the api.debug crash route) being replaced.
 */
import assert from "node:assert/strict";
import { ServerProcess } from "../support/server_process.ts";
import { reservePorts } from "../support/ports.ts";
import { startPublisher, type SyntheticPublisher } from "../support/synthetic_publisher.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { playTcp, playUdp } from "../support/viewers.ts";
import { SHUTDOWN_BOUND_MS } from "../../src/cluster/cluster.ts";
import type { SessionReport } from "../../src/cluster/messages.ts";

const local = (c: RtspTestClient) => `127.0.0.1:${(c.conn.localAddr as Deno.NetAddr).port}`;

/** Sends frames until the viewer has received `more` new video packets; false if it does not. */
async function stillReceives(pub: SyntheticPublisher, viewer: RtspTestClient, more = 5): Promise<boolean> {
  const before = viewer.frames.filter((f) => f.channel === 0).length;
  await pub.sendFrames(more, 10);
  return await viewer.waitFrames((f) => f.filter((x) => x.channel === 0).length >= before + more);
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${sig} closes every session and exits 0 within the shutdown bound`, async () => {
    const s = await ServerProcess.start(["--workers", "2"]);
    const pub = await startPublisher(s.port, "live");
    const viewers: RtspTestClient[] = [];
    try {
      await pub.sendFrames(10, 10);
      viewers.push(await playTcp(s.port, "live"), await playTcp(s.port, "live"));
      assert.ok(await stillReceives(pub, viewers[0]));
      s.proc.child.kill(sig);
      // Killed (not exit 0) if it overruns the bound by more than a second.
      const status = await s.proc.wait(SHUTDOWN_BOUND_MS + 1000);
      assert.equal(status.code, 0, s.log);
      for (const v of viewers) assert.ok(await v.waitClosed(), "the viewer saw its connection closed");
      assert.ok(await pub.client.waitClosed(), "the publisher saw its connection closed");
      assert.match(s.log, new RegExp(`${sig}: shutting down`));
      assert.match(
        s.log,
        /closed 3 session\(s\) on 3 connection\(s\)$/m,
        "a stuck worker would be named here",
      );
      assert.match(s.log, /stopped$/m);
      assert.doesNotMatch(s.log, /exiting anyway/);
    } finally {
      for (const v of viewers) v.close();
      pub.close();
      s.proc.kill();
      await s.proc.done;
    }
  });
}

Deno.test("SIGHUP applies a valid config without dropping sessions, refuses a bad one, keeps restart-only keys", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/dm-live.yaml`;
  // Ports to write into the config file: the server's, and one it must not move to.
  const reserved = reservePorts({ workers: 0, tcp: 2 });
  const [port, other] = reserved.tcp;
  const write = (timeoutMs: number | string, level: string, rtspPort = port) =>
    Deno.writeTextFile(
      file,
      `rtsp:\n  address: 127.0.0.1\n  port: ${rtspPort}\nsessionTimeoutMs: ${timeoutMs}\nlog:\n  level: ${level}\n`,
    );
  await write(60000, "info");
  const s = await ServerProcess.start(["--config", file, "--workers", "2"], { portFromConfig: true })
    .catch((e) => {
      reserved.release();
      throw e;
    });
  assert.equal(s.port, port);
  const pub = await startPublisher(s.port, "live");
  const viewer = await (async () => {
    await pub.sendFrames(10, 10);
    return await playTcp(s.port, "live");
  })();
  /** The timeout a new session is told: sessionTimeoutMs less a 5 s margin, in seconds. */
  const advertised = () => newSessionTimeout(s.port);
  try {
    assert.equal(await advertised(), 55);

    // Valid: a shorter session timeout and debug logging, for sessions made from now on.
    await write(30000, "debug");
    s.proc.child.kill("SIGHUP");
    await s.waitLog(
      /SIGHUP: config reloaded, applied log\.level, sessionTimeoutMs; running sessions continue/,
    );
    assert.ok(await stillReceives(pub, viewer), "the viewer keeps receiving after the reload");
    assert.equal(await advertised(), 25, "a new session gets the new timeout");
    assert.match(s.log, /DBG w\d \[conn 127\.0\.0\.1:\d+\] opened/, "workers log at the new level");

    // Invalid: refused with the reason; the running config stays.
    await write('"soon"', "info");
    s.proc.child.kill("SIGHUP");
    await s.waitLog(
      /SIGHUP: config refused, keeping the running one: .*'sessionTimeoutMs' must be an integer/,
    );
    assert.ok(await stillReceives(pub, viewer));
    assert.equal(await advertised(), 25);

    // A restart-only key: named, kept; the server stays on its port.
    await write(30000, "debug", other);
    s.proc.child.kill("SIGHUP");
    await s.waitLog(/SIGHUP: rtsp\.port changed but need a restart; keeping the running values/);
    assert.match(s.log, /SIGHUP: config reloaded, nothing to apply/);
    assert.ok(await stillReceives(pub, viewer));
    const c = await RtspTestClient.connect(s.port, "live");
    assert.equal((await c.request("OPTIONS")).status, 200);
    c.close();
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: other }), Deno.errors.ConnectionRefused);

    assert.equal((await s.stop()).code, 0);
  } finally {
    viewer.close();
    pub.close();
    s.proc.kill();
    await s.proc.done;
    reserved.release();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The `timeout=` of the Session header a new viewer session gets. */
async function newSessionTimeout(port: number): Promise<number> {
  const c = await RtspTestClient.connect(port, "live");
  try {
    const d = await c.request("DESCRIBE", c.url);
    const r = await c.request("SETUP", `${d.headers.get("Content-Base")}trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    return Number(/timeout=(\d+)/.exec(r.headers.get("Session") ?? "")?.[1] ?? -1);
  } finally {
    c.close();
  }
}

Deno.test("a crashed worker is replaced on the same port and UDP ports, with backoff; the other serves on", async () => {
  // No grace period: the dead worker's stream ends at once, so its viewers elsewhere are closed.
  const s = await ServerProcess.start([
    "--workers",
    "2",
    "--set",
    "api.debug=true",
    "--set",
    "ingest.reconnectGraceMs=0",
  ]);
  const api = await s.apiUrl();
  const open: { close(): void }[] = [];
  const sessions = async () => (await (await fetch(`${api}/v1/sessions`)).json()).sessions as SessionReport[];
  const workerOf = async (c: RtspTestClient) => (await sessions()).find((r) => r.peer === local(c))?.worker;
  /** Makes clients until one lands on worker `want` (the kernel spreads connections over the workers). */
  async function on<T extends { close(): void }>(
    want: number,
    make: (n: number) => Promise<T>,
    client: (t: T) => RtspTestClient,
  ): Promise<T> {
    for (let n = 0; n < 40; n++) {
      const t = await make(n);
      if (await workerOf(client(t)) === want) return t;
      t.close();
    }
    throw new Error(`no connection landed on worker ${want}`);
  }
  const crash = async (w: number) => {
    const r = await fetch(`${api}/v1/debug/crash/${w}`, { method: "POST" });
    assert.equal(r.status, 202);
    await r.body?.cancel();
  };
  try {
    const pubA = await startPublisher(s.port, "a");
    open.push(pubA);
    await pubA.sendFrames(10, 10);
    const dead = (await workerOf(pubA.client))!;
    const other = 1 - dead;
    const pubB = await on(other, (n) => startPublisher(s.port, `b${n}`), (p) => p.client);
    open.push(pubB);
    await pubB.sendFrames(10, 10);
    const pathB = pubB.client.url.split("/").pop()!;
    const viewA = await on(other, () => playTcp(s.port, "a"), (c) => c);
    const viewB = await on(other, () => playTcp(s.port, pathB), (c) => c);
    open.push(viewA, viewB);

    await crash(dead);
    await s.waitLog(
      new RegExp(
        `worker ${dead} crashed: Uncaught Error: crash requested through the API \\(api\\.debug\\); restarting it in 1 s`,
      ),
    );
    assert.ok(await pubA.client.waitClosed(), "the crashed worker closed its publisher's connection");
    assert.ok(await viewA.waitClosed(), "a viewer elsewhere of a stream published there was told");
    assert.ok(await stillReceives(pubB, viewB), "the other worker's stream goes on");
    await s.waitLog(new RegExp(`worker ${dead} restarted, listening on port ${s.port}`));

    // Every connection to the port is accepted and answered: no listener is left that nobody serves.
    const clients = await Promise.all(Array.from({ length: 40 }, () => RtspTestClient.connect(s.port, "a")));
    open.push(...clients);
    for (const c of clients) assert.equal((await c.request("OPTIONS")).status, 200);
    const rows = await sessions();
    assert.ok(
      clients.some((c) => rows.find((r) => r.peer === local(c))?.worker === dead),
      "the replacement serves connections on the same port",
    );
    for (const c of clients) c.close();

    // The path the dead worker published is free again; its UDP ports are bound again.
    const again = await startPublisher(s.port, "a");
    open.push(again);
    await again.sendFrames(10, 10);
    const udpViewer = await on(
      dead,
      () => playUdp(s.port, pathB, false),
      (v) => v.client,
    );
    open.push(udpViewer);
    assert.equal(udpViewer.serverPorts[0], s.udpPortBase + 2 * dead, "server_port of the replaced worker");
    assert.doesNotMatch(s.log, /UDP off/);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /^dm_live_worker_restarts_total 1$/m);

    // A second crash soon after is a crash loop: the wait doubles.
    await crash(dead);
    await s.waitLog(new RegExp(`worker ${dead} crashed: .*; restarting it in 2 s \\(failure 2 in a row\\)`));
    await s.waitLog(new RegExp(`worker ${dead} restarted(.|\\n)*worker ${dead} restarted`));
    assert.ok(await stillReceives(pubB, viewB));

    assert.equal((await s.stop()).code, 0);
  } finally {
    for (const o of open) o.close();
    s.proc.kill();
    await s.proc.done;
  }
});

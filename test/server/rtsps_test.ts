/**
 * RTSPS (rtsp.tls) over raw TLS clients: the plain and the TLS port side by side, publishers and
 * viewers on either, interleaved RTP inside TLS, UDP refused with 461 on RTSPS, a slow TLS viewer
 * dropped by the same rule as a plain one, and the certificate swapped by SIGHUP.
 */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { type Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { startPublisher, type SyntheticPublisher } from "../support/synthetic_publisher.ts";
import { playTcp } from "../support/viewers.ts";
import { ServerProcess } from "../support/server_process.ts";
import { makeTestCert, type TestCert } from "../../src/net/testdata/tls_cert.ts";

/** withServer with RTSPS on a reserved port, the certificate `cert`; fn gets that port. */
function withTlsServer(
  cert: TestCert,
  overrides: Record<string, unknown>,
  fn: (server: Parameters<Parameters<typeof withServer>[1]>[0], tlsPort: number) => Promise<void>,
): Promise<void> {
  return withServer(
    { "rtsp.tls.cert": cert.certFile, "rtsp.tls.key": cert.keyFile, ...overrides },
    (server, _config, _log, [tlsPort]) => fn(server, tlsPort),
    { tcpPorts: 1, configure: ([p]) => ({ "rtsp.tls.port": p }) },
  );
}

const seqOf = (f: Frame) => (f.payload[2] << 8) | f.payload[3];
const rtpOn = (frames: Frame[], ch: number) => frames.filter((f) => f.channel === ch);

/** Waits until `c` has the publisher's last video (channel 0) and audio (channel 2) packet. */
function gotAll(c: RtspTestClient, pub: SyntheticPublisher, timeoutMs = 5000): Promise<boolean> {
  const last = (fs: Frame[], ch: number) => {
    const on = rtpOn(fs, ch);
    return on.length === 0 ? -1 : seqOf(on[on.length - 1]);
  };
  return c.waitFrames(
    (fs) => last(fs, 0) === ((pub.videoSeq - 1) & 0xffff) && last(fs, 2) === ((pub.audioSeq - 1) & 0xffff),
    timeoutMs,
  );
}

Deno.test("RTSPS: a raw TLS client's OPTIONS, DESCRIBE, SETUP and PLAY get a plain publisher's stream as interleaved RTP, packet for packet what a plain viewer gets", async () => {
  const cert = await makeTestCert();
  try {
    await withTlsServer(cert, {}, async (server, tlsPort) => {
      const pub = await startPublisher(server.port, "sec/cam");
      await pub.sendFrames(10);
      const c = await RtspTestClient.connectTls(tlsPort, "sec/cam", [cert.cert]);
      const o = await c.request("OPTIONS");
      assert.equal(o.status, 200);
      assert.match(o.headers.get("Public") ?? "", /DESCRIBE/);
      const d = await c.request("DESCRIBE", c.url, { Accept: "application/sdp" });
      assert.equal(d.status, 200);
      assert.equal(d.headers.get("Content-Base"), `rtsps://127.0.0.1:${tlsPort}/sec/cam/`);
      assert.match(new TextDecoder().decode(d.body), /m=video 0 RTP\/AVP 96/);
      const base = d.headers.get("Content-Base")!;
      for (const [track, ch] of [[0, "0-1"], [1, "2-3"]]) {
        const s = await c.request("SETUP", `${base}trackID=${track}`, {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${ch}`,
        });
        assert.equal(s.status, 200, `SETUP ${track}: ${s.status} ${s.reason}`);
        assert.match(s.headers.get("Transport") ?? "", new RegExp(`interleaved=${ch}`));
      }
      assert.equal((await c.request("PLAY", base)).status, 200);
      const plain = await playTcp(server.port, "sec/cam");
      // The GOP burst first (from the keyframe on), then live frames: both viewers get all of it.
      assert.ok(await gotAll(c, pub), `the GOP burst over TLS: ${c.frames.length} frames`);
      assert.ok(await gotAll(plain, pub));
      await pub.sendFrames(30);
      assert.ok(await gotAll(c, pub), "the TLS viewer got the live frames");
      assert.ok(await gotAll(plain, pub), "the plain viewer too");
      assert.ok(rtpOn(c.frames, 0).length >= 13 + 33, `${rtpOn(c.frames, 0).length} video packets`);
      for (const ch of [0, 2]) {
        const a = rtpOn(c.frames, ch).map((f) => f.payload);
        const b = rtpOn(plain.frames, ch).map((f) => f.payload);
        assert.deepEqual(a, b, `channel ${ch}: the same packets, byte for byte`);
        const seqs = rtpOn(c.frames, ch).map(seqOf);
        for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1] + 1) & 0xffff, "in order");
      }
      // Sender Reports come on the odd channels inside TLS too.
      assert.ok(c.rtcpFrames.some((f) => f.channel === 1), "an RTCP Sender Report on channel 1");
      const rows = await server.sessions();
      const tlsRow = rows.find((r) => r.role === "read" && r.tls);
      assert.ok(tlsRow !== undefined, JSON.stringify(rows));
      assert.deepEqual([tlsRow.state, tlsRow.transport], ["play", "tcp"]);
      assert.equal(rows.filter((r) => r.tls).length, 1, "the publisher and the plain viewer are not TLS");
      assert.equal((await c.request("TEARDOWN", base)).status, 200);
      c.close();
      plain.close();
      pub.close();
    });
  } finally {
    await cert.remove();
  }
});

Deno.test("RTSPS: a publisher over TLS, viewers on both ports; a UDP SETUP over RTSPS gets 461 (TCP offered next is taken), over plain RTSP 200", async () => {
  const cert = await makeTestCert();
  try {
    await withTlsServer(cert, {}, async (server, tlsPort) => {
      const pub = await startPublisher(tlsPort, "sec/pub", [cert.cert]);
      assert.match(pub.client.url, /^rtsps:/);
      await pub.sendFrames(10);
      const viaTls = await playTcp(tlsPort, "sec/pub", [cert.cert]);
      const viaPlain = await playTcp(server.port, "sec/pub");
      await pub.sendFrames(20);
      for (const v of [viaTls, viaPlain]) assert.ok(await gotAll(v, pub), `${v.url}: ${v.frames.length}`);
      assert.deepEqual(rtpOn(viaTls.frames, 0).map(seqOf), rtpOn(viaPlain.frames, 0).map(seqOf));

      const udpOnly = "RTP/AVP;unicast;client_port=40000-40001";
      const c = await RtspTestClient.connectTls(tlsPort, "sec/pub", [cert.cert]);
      const d = await c.request("DESCRIBE");
      assert.equal(d.status, 200);
      const refused = await c.request("SETUP", `${c.url}/trackID=0`, { Transport: udpOnly });
      assert.equal(refused.status, 461, "no media outside TLS");
      const fallback = await c.request("SETUP", `${c.url}/trackID=0`, {
        Transport: `${udpOnly},RTP/AVP/TCP;unicast;interleaved=0-1`,
      });
      assert.equal(fallback.status, 200);
      assert.match(fallback.headers.get("Transport") ?? "", /^RTP\/AVP\/TCP;unicast;interleaved=0-1/);
      c.close();
      const p = await RtspTestClient.connect(server.port, "sec/pub");
      const udp = await p.request("SETUP", `${p.url}/trackID=0`, { Transport: udpOnly });
      assert.equal(udp.status, 200, "the plain port still serves UDP");
      assert.match(udp.headers.get("Transport") ?? "", /server_port=/);
      p.close();
      viaTls.close();
      viaPlain.close();
      pub.close();
    });
  } finally {
    await cert.remove();
  }
});

Deno.test("RTSPS port: a plain RTSP client gets a TLS alert, a client that does not trust the certificate is refused, the plain port is unchanged", async () => {
  const cert = await makeTestCert();
  const other = await makeTestCert({ cn: "other" });
  try {
    // A TLS ClientHello to the plain port is garbage to RTSP: 408 after the handshake timeout.
    await withTlsServer(cert, { "limits.handshakeTimeoutMs": 500 }, async (server, tlsPort) => {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: tlsPort });
      await raw.write(new TextEncoder().encode("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
      const buf = new Uint8Array(256);
      const n = await raw.read(buf);
      assert.ok(n !== null && buf[0] === 0x15, "a TLS alert record, no RTSP");
      raw.close();
      await assert.rejects(
        RtspTestClient.connectTls(tlsPort, "x", [other.cert]),
        /invalid peer certificate|UnknownIssuer/,
      );
      // TLS to the plain port is not RTSPS either: the handshake fails against RTSP's answer.
      await assert.rejects(RtspTestClient.connectTls(server.port, "x", [cert.cert]));
      const p = await RtspTestClient.connect(server.port, "x");
      assert.equal((await p.request("OPTIONS")).status, 200);
      p.close();
      const c = await RtspTestClient.connectTls(tlsPort, "x", [cert.cert]);
      assert.equal((await c.request("OPTIONS")).status, 200, "the bad handshakes left the port serving");
      c.close();
    });
  } finally {
    await cert.remove();
    await other.remove();
  }
});

Deno.test("RTSPS: a TLS viewer that stops reading is dropped before the ring overwrites its unfinished write; a TLS viewer that reads gets every packet", async () => {
  const cert = await makeTestCert();
  try {
    // A 1 MiB ring: the stalled viewer's TLS and socket buffers fill, then its unfinished write is lapped.
    await withTlsServer(
      cert,
      { workers: 1, "ring.bytes": 1 << 20, "ring.slots": 4096 },
      async (server, tlsPort) => {
        const pub = await startPublisher(server.port, "slow");
        await pub.sendFrames(1, 10);
        // What the server writes it piles up in the kernel, then in rustls, then in the ring.
        const stalled = await stalledViewer(tlsPort, "slow", cert);
        const healthy = await playTcp(tlsPort, "slow", [cert.cert]);
        let last = -1;
        healthy.onFrame = (f) => {
          if (f.channel !== 0) return;
          const seq = seqOf(f);
          if (last >= 0) assert.equal(seq, (last + 1) & 0xffff, "healthy TLS viewer: no gap");
          last = seq;
        };
        for (let i = 0; i < 500; i++) {
          await pub.sendFrames(10, 10, 4, 1400);
          const want = (pub.videoSeq - 1) & 0xffff;
          const deadline = Date.now() + 20_000;
          while (last !== want) {
            assert.ok(Date.now() < deadline, `healthy viewer got batch ${i}`);
            await new Promise((r) => setTimeout(r, 2));
          }
          const [r] = await server.stats();
          if (i >= 20 && r.drops >= 1) break;
        }
        const [report] = await server.stats();
        assert.equal(report.drops, 1, `the stalled TLS viewer was dropped (skips ${report.skips})`);
        assert.equal(report.viewersPlaying, 1, "only the healthy viewer is left");
        stalled.close();
        healthy.close();
        pub.close();
      },
    );
  } finally {
    await cert.remove();
  }
});

/** SETUP, SETUP, PLAY over a raw TLS connection, then never read again. */
async function stalledViewer(port: number, path: string, cert: TestCert): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert.cert] });
  const url = `rtsps://127.0.0.1:${port}/${path}`;
  const buf = new Uint8Array(8192);
  let session = "";
  const steps = [
    () =>
      `SETUP ${url}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
    () =>
      `SETUP ${url}/trackID=1 RTSP/1.0\r\nCSeq: 2\r\nSession: ${session}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n\r\n`,
    () => `PLAY ${url} RTSP/1.0\r\nCSeq: 3\r\nSession: ${session}\r\n\r\n`,
  ];
  for (const step of steps) {
    await conn.write(new TextEncoder().encode(step()));
    const n = await conn.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.match(text, /^RTSP\/1.0 200/);
    session ||= /Session: ([0-9a-f]+)/.exec(text)![1];
  }
  return conn;
}

Deno.test("RTSPS: SIGHUP reads the certificate again: the next connections get the new one, a bad file keeps the running one, a playing TLS viewer goes on", async () => {
  const a = await makeTestCert({ cn: "a" });
  const b = await makeTestCert({ cn: "b" });
  const dir = await Deno.makeTempDir({ prefix: "dm-live-rtsps-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  await Deno.writeTextFile(certFile, a.cert);
  await Deno.writeTextFile(keyFile, a.key);
  const configFile = `${dir}/dm-live.yaml`;
  const configFor = (cert: string, key: string) => `rtsp:\n  tls:\n    cert: ${cert}\n    key: ${key}\n`;
  await Deno.writeTextFile(configFile, configFor(certFile, keyFile));
  const server = await ServerProcess.start(
    ["--config", configFile, "--workers", "2", "--log-level", "debug"],
    {
      tcpPorts: 1,
      argsWith: ([p]) => ["--set", `rtsp.tls.port=${p}`],
    },
  ).catch(async (e) => {
    await Promise.all([a.remove(), b.remove(), Deno.remove(dir, { recursive: true })]);
    throw e;
  });
  const tlsPort = server.tcpPorts[0];
  /** Whether a new TLS connection trusting only `ca` gets an RTSP answer. */
  const trusts = async (ca: TestCert) => {
    try {
      const c = await RtspTestClient.connectTls(tlsPort, "x", [ca.cert]);
      const ok = (await c.request("OPTIONS")).status === 200;
      c.close();
      return ok;
    } catch (e) {
      if (/invalid peer certificate|UnknownIssuer/.test((e as Error).message)) return false;
      throw e;
    }
  };
  /** SIGHUP, then waits for both workers to have read the files (their `line`, after `from`). */
  let reloads = 0;
  const reload = async (line: RegExp) => {
    const { proc } = server;
    const [outFrom, errFrom] = [proc.stdout.length, proc.stderr.length];
    const since = () => proc.stdout.slice(outFrom) + proc.stderr.slice(errFrom);
    reloads++;
    proc.child.kill("SIGHUP");
    for (const w of ["w0", "w1"]) {
      const deadline = Date.now() + 10_000;
      while (!new RegExp(`${w} ${line.source}`).test(since())) {
        assert.ok(Date.now() < deadline, `reload ${reloads}: ${w} never logged ${line}\n${since()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  let pub;
  let viewer;
  try {
    await server.waitLog(/INF w0 RTSPS on port \d+/);
    pub = await startPublisher(server.port, "sec/live");
    await pub.sendFrames(10);
    viewer = await playTcp(tlsPort, "sec/live", [a.cert]);
    assert.ok(await gotAll(viewer, pub));
    for (let i = 0; i < 6; i++) assert.equal(await trusts(a), true, "connections get a's certificate");

    // The files are rewritten in place (a renewal), then SIGHUP.
    await Deno.writeTextFile(certFile, b.cert);
    await Deno.writeTextFile(keyFile, b.key);
    await reload(/RTSPS: new connections get the certificate of /);
    for (let i = 0; i < 6; i++) {
      assert.equal(await trusts(b), true, `connection ${i} after the reload gets b's certificate`);
      assert.equal(await trusts(a), false, `connection ${i} after the reload no longer gets a's`);
    }

    // A broken certificate file: every worker says so and keeps b's.
    await Deno.writeTextFile(
      certFile,
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    await reload(
      /RTSPS: keeping the running certificate, .*cert\.pem and .*key\.pem: certificate or key refused/,
    );
    // A key that does not match it.
    await Deno.writeTextFile(certFile, b.cert);
    await Deno.writeTextFile(keyFile, a.key);
    await reload(/RTSPS: keeping the running certificate, .*: certificate or key refused: .*KeyMismatch/);
    // A file that is gone.
    await Deno.remove(keyFile);
    await reload(/RTSPS: keeping the running certificate, .*: cannot read the key .*key\.pem/);
    for (let i = 0; i < 4; i++) assert.equal(await trusts(b), true, "still b's certificate");

    // The config names other files (a's, where makeTestCert left them): applied as a live key.
    await Deno.writeTextFile(configFile, configFor(a.certFile, a.keyFile));
    await reload(/RTSPS: new connections get the certificate of /);
    assert.match(server.log, /SIGHUP: config reloaded, applied rtsp\.tls\.cert, rtsp\.tls\.key/);
    for (let i = 0; i < 4; i++) assert.equal(await trusts(a), true, "a's certificate again");

    // The viewer that connected first played through all of it, on its first TLS session.
    await pub.sendFrames(10);
    assert.ok(await gotAll(viewer, pub), "the viewer still plays");
    assert.doesNotMatch(server.log, /ERR (?!w[01] RTSPS: keeping the running certificate)/, "no other error");
    // With FFI sockets every bind of the TLS port, the reloads' too, set TCP_NODELAY on its listener.
    assert.doesNotMatch(server.log, /TLS connections keep Nagle on/);
  } finally {
    viewer?.close();
    pub?.close();
    const status = await server.stop();
    await a.remove();
    await b.remove();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, server.log);
  }
});

Deno.test("RTSPS: a certificate that cannot be read stops the start, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dm-live-rtsps-" });
  try {
    const s = await ServerProcess.start([
      "--set",
      `rtsp.tls.cert=${dir}/none.pem`,
      "--set",
      `rtsp.tls.key=${dir}/none.key`,
    ], { tcpPorts: 1, argsWith: ([p]) => ["--set", `rtsp.tls.port=${p}`] }).then(
      (s) => s,
      (e: Error) => e,
    );
    assert.ok(s instanceof Error, "the server did not start");
    assert.match(
      s.message,
      /worker 0 failed to start: RTSPS on port \d+: cannot read the certificate .*none\.pem/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RTSPS: --check-config reads the certificate files and says which one Deno refuses", async () => {
  const a = await makeTestCert({ cn: "a" });
  const b = await makeTestCert({ cn: "b" });
  const check = async (cert: string, key: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-P=server",
        new URL("../../main.ts", import.meta.url).pathname,
        "--check-config",
        "--set",
        `rtsp.tls.cert=${cert}`,
        "--set",
        `rtsp.tls.key=${key}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  };
  try {
    const ok = await check(a.certFile, a.keyFile);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /config ok/);
    const mismatch = await check(a.certFile, b.keyFile);
    assert.equal(mismatch.code, 2, mismatch.text);
    assert.match(mismatch.text, /bad config: rtsp\.tls: certificate or key refused: .*KeyMismatch/);
    const missing = await check(`${a.dir}/none.pem`, a.keyFile);
    assert.equal(missing.code, 2);
    assert.match(missing.text, /bad config: rtsp\.tls: cannot read the certificate .*none\.pem/);
  } finally {
    await a.remove();
    await b.remove();
  }
});

Deno.test("RTSPS slowloris: a client that never finishes its TLS handshake, silent or trickling a ClientHello, is disconnected at limits.handshakeTimeoutMs; a TLS client that asks is served", async () => {
  const cert = await makeTestCert();
  try {
    await withTlsServer(cert, { "limits.handshakeTimeoutMs": 500 }, async (_server, tlsPort) => {
      const silent = await Deno.connect({ hostname: "127.0.0.1", port: tlsPort });
      const trickler = await Deno.connect({ hostname: "127.0.0.1", port: tlsPort });
      const ended = (c: Deno.TcpConn) => c.read(new Uint8Array(64)).then(() => true, () => true);
      const [silentEnded, tricklerEnded] = [ended(silent), ended(trickler)];
      let tricklerDone = false;
      tricklerEnded.then(() => tricklerDone = true);
      // One byte of a TLS record header at a time: each is news, none completes the ClientHello.
      const hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];
      for (let i = 0; i < 100 && !tricklerDone; i++) {
        await trickler.write(new Uint8Array([hello[i % hello.length]])).catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
      // Before dm-live shut such sockets down, Deno held both until the client left.
      assert.ok(tricklerDone, "the trickler was disconnected");
      assert.ok(await silentEnded, "the silent client was disconnected");
      silent.close();
      trickler.close();
      const c = await RtspTestClient.connectTls(tlsPort, "x", [cert.cert]);
      assert.equal((await c.request("OPTIONS")).status, 200);
      c.close();
    });
  } finally {
    await cert.remove();
  }
});

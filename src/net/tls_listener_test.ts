import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import type { ByteSocket } from "./byte_socket.ts";
import { readPem, TlsListener } from "./tls_listener.ts";
import { makeTestCert, type TestCert } from "./testdata/tls_cert.ts";

const log = new Logger("error");

/** Connects trusting only `ca`, sends `hello`, and reads what the server echoes. */
async function echoThrough(port: number, ca: TestCert): Promise<string> {
  const c = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca.cert] });
  try {
    await c.write(new TextEncoder().encode("hello"));
    const b = new Uint8Array(16);
    const n = await c.read(b);
    return new TextDecoder().decode(b.subarray(0, n ?? 0));
  } finally {
    c.close();
  }
}

/** Serves `l` by echoing the first read of each connection, then closing it. */
function echo(l: TlsListener, accepted: ByteSocket[]): void {
  l.serve((sock) => {
    accepted.push(sock);
    const buf = new Uint8Array(16);
    sock.read({ spare: () => buf }).then(async (n) => {
      if (n !== null) await sock.write(buf, 0, n);
    }).catch(() => {}).finally(() => sock.close());
  });
}

Deno.test("TlsListener serves TLS connections as encrypted ByteSockets, and replace() swaps the certificate for new ones", async () => {
  const a = await makeTestCert({ cn: "a" });
  const b = await makeTestCert({ cn: "b" });
  const l = new TlsListener("127.0.0.1", 0, readPem(a.certFile, a.keyFile), log);
  const accepted: ByteSocket[] = [];
  try {
    echo(l, accepted);
    assert.equal(await echoThrough(l.port, a), "hello");
    assert.equal(accepted[0].encrypted, true);
    assert.match(accepted[0].peer, /^127\.0\.0\.1:\d+$/);

    // A client that trusts only b is refused a's certificate.
    await assert.rejects(echoThrough(l.port, b), /invalid peer certificate|UnknownIssuer/);

    // The same PEM again changes nothing.
    assert.equal(await l.replace(readPem(a.certFile, a.keyFile)), false);
    assert.equal(await l.replace(readPem(b.certFile, b.keyFile)), true);
    assert.equal(await echoThrough(l.port, b), "hello", "a new connection gets the new certificate");
    await assert.rejects(echoThrough(l.port, a), /invalid peer certificate|UnknownIssuer/);
  } finally {
    l.close();
    await a.remove();
    await b.remove();
  }
});

Deno.test("TlsListener.replace() with a bad certificate or key throws and keeps serving the old one", async () => {
  const a = await makeTestCert({ cn: "a" });
  const b = await makeTestCert({ cn: "b" });
  const l = new TlsListener("127.0.0.1", 0, readPem(a.certFile, a.keyFile), log);
  try {
    echo(l, []);
    await assert.rejects(l.replace({ cert: "not a certificate", key: a.key }), /refused: No certificates/);
    await assert.rejects(l.replace({ cert: a.cert, key: "" }), /refused: No keys/);
    await assert.rejects(l.replace({ cert: a.cert, key: b.key }), /refused: .*KeyMismatch/);
    assert.equal(await echoThrough(l.port, a), "hello");
    assert.throws(
      () => readPem(`${a.dir}/missing.pem`, a.keyFile),
      /cannot read the certificate .*missing\.pem/,
    );
  } finally {
    l.close();
    await a.remove();
    await b.remove();
  }
});

Deno.test("TlsListener refuses bad PEM at start, and a plain client gets a TLS alert, not RTSP", async () => {
  const a = await makeTestCert();
  try {
    assert.throws(() => new TlsListener("127.0.0.1", 0, { cert: a.key, key: a.key }, log), /No certificates/);
    const l = new TlsListener("127.0.0.1", 0, readPem(a.certFile, a.keyFile), log);
    const errors: string[] = [];
    l.serve((sock) => {
      sock.read({ spare: () => new Uint8Array(64) }).catch((e) => errors.push((e as Error).message))
        .finally(() => sock.close());
    });
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
      await c.write(new TextEncoder().encode("OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      c.close();
      assert.ok(n !== null && buf[0] === 0x15, "a TLS alert record (content type 21)");
      for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(errors[0], /corrupt message/);
    } finally {
      l.close();
    }
  } finally {
    await a.remove();
  }
});

/** The first bytes of a TLS ClientHello record, as a trickling client sends them. */
const HELLO_START = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);

/**
 * Whether the server ends a raw TCP connection (end of stream or a reset) within `guardMs`: what a
 * client held open by Deno's pending handshake never sees.
 */
async function endedBy(c: Deno.TcpConn, guardMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<false>((r) => timer = setTimeout(() => r(false), guardMs));
  const ended = c.read(new Uint8Array(64)).then(() => true, () => true);
  try {
    return await Promise.race([ended, guard]);
  } finally {
    clearTimeout(timer);
    c.close();
    await ended;
  }
}

Deno.test("TlsListener: a connection closed before its TLS handshake finished is really closed (silent, or trickling its ClientHello)", async () => {
  const a = await makeTestCert();
  const lines: string[] = [];
  const l = new TlsListener(
    "127.0.0.1",
    0,
    readPem(a.certFile, a.keyFile),
    new Logger("info", "", (_level, line) => lines.push(line)),
  );
  const accepted: ByteSocket[] = [];
  let onAccept = () => {};
  let echoing = false;
  l.serve((sock) => {
    accepted.push(sock);
    const buf = new Uint8Array(16);
    // The RTSP layer reads at once: that read waits on the handshake, as a silent client's would.
    sock.read({ spare: () => buf }).then(async (n) => {
      if (echoing && n !== null) await sock.write(buf, 0, n);
    }).catch(() => {}).finally(() => echoing && sock.close());
    onAccept();
  });
  const nextAccept = () => new Promise<void>((r) => onAccept = r);
  try {
    assert.deepEqual(lines, [], "the reaper can run here (Linux, FFI): no fallback line");
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    const trickler = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    while (accepted.length < 2) await nextAccept();
    await trickler.write(HELLO_START);
    // dm-live gives both up (its handshake deadline), as limits.handshakeTimeoutMs's 408 does:
    // the 408 is taken at once (a Deno write would wait for the handshake), then the close.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const taken = await Promise.race([
      accepted[0].write(new Uint8Array(8), 0, 8),
      new Promise((r) => timer = setTimeout(() => r("still waiting"), 2_000)),
    ]);
    clearTimeout(timer);
    assert.equal(taken, 8, "a write before the handshake does not wait for it");
    for (const s of accepted) s.close();
    assert.equal(await endedBy(silent, 10_000), true, "the silent connection's socket is closed");
    assert.equal(await endedBy(trickler, 10_000), true, "the trickler's socket is closed");
    assert.equal(l.handshakesShut, 2);

    // A handshaken connection closes as Deno closes it; the reaper has nothing to do with it.
    echoing = true;
    assert.equal(await echoThrough(l.port, a), "hello");
    assert.equal(l.handshakesShut, 2);
  } finally {
    l.close();
    await a.remove();
  }
});

Deno.test("TlsListener: a handshaken connection closed while its peer reads nothing is shut down after LINGER_MS", async () => {
  const a = await makeTestCert();
  const l = new TlsListener("127.0.0.1", 0, readPem(a.certFile, a.keyFile), log);
  let server: ByteSocket | null = null;
  let accepted = () => {};
  const acceptedOne = new Promise<void>((r) => accepted = r);
  l.serve((sock) => {
    server = sock;
    accepted();
  });
  const c = await Deno.connectTls({ hostname: "127.0.0.1", port: l.port, caCerts: [a.cert] });
  try {
    await c.handshake();
    await acceptedOne;
    // A request first, as RTSP has it: the server answers only what it has read.
    await c.write(new Uint8Array([0x4f]));
    assert.equal(await server!.read({ spare: () => new Uint8Array(16) }), 1);
    // The server writes until the peer's window and its own buffers are full (the peer never
    // reads), then gives up on it as dm-live does a viewer that does not read.
    const chunk = new Uint8Array(65536);
    let full = false;
    for (let i = 0; i < 1000 && !full; i++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w = server!.write(chunk, 0, chunk.length);
      full = await Promise.race([
        Promise.resolve(w).then(() => false, () => true),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), 200)),
      ]);
      clearTimeout(timer);
    }
    assert.ok(full, "the writes stopped being taken");
    server!.close();
    // Deno's close waits to flush what it holds for a peer that reads nothing: its socket is
    // found still open after LINGER_MS, and shut down.
    for (let i = 0; i < 100 && l.lingeredShut === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(l.lingeredShut, 1);
    assert.equal(l.handshakesShut, 0);
    // Now the peer reads: what the kernel holds, then the end.
    let ended = false;
    const buf = new Uint8Array(65536);
    const reading = (async () => {
      try {
        while ((await c.read(buf)) !== null);
      } catch {
        // a reset or a TLS error after the shutdown is an end too
      }
      ended = true;
    })();
    for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ended, "the connection ended");
    await reading;
  } finally {
    c.close();
    l.close();
    await a.remove();
  }
});

Deno.test("TlsListener without the reaper (no FFI, not Linux) says once that such connections stay open", async () => {
  const a = await makeTestCert();
  const lines: string[] = [];
  const l = new TlsListener(
    "127.0.0.1",
    0,
    readPem(a.certFile, a.keyFile),
    new Logger("info", "", (_level, line) => lines.push(line)),
    undefined,
    false,
  );
  try {
    assert.equal(lines.length, 1);
    assert.match(lines[0], /closed before its TLS handshake finished .* stays open until its peer leaves/);
    echo(l, []);
    assert.equal(await echoThrough(l.port, a), "hello");
  } finally {
    l.close();
    await a.remove();
  }
});

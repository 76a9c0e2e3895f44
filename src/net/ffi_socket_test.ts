import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import type { ByteSocket } from "./byte_socket.ts";
import { EpollPoller } from "./epoll_poller.ts";
import { FfiListener } from "./ffi_listener.ts";
import { FfiSocket } from "./ffi_socket.ts";
import { libc } from "./libc.ts";

// libc stays loaded for the life of the process, as in the server: load it before any test runs.
libc();

/** A poller and FFI listener on a free loopback port, one accepted socket and its Deno client. */
async function pair(fn: (server: ByteSocket, client: Deno.TcpConn) => Promise<void>): Promise<void> {
  const poller = new EpollPoller();
  const running = poller.run();
  const listener = new FfiListener("127.0.0.1", 0, poller, new Logger("error"));
  const accepted = Promise.withResolvers<ByteSocket>();
  await listener.serve((s) => accepted.resolve(s));
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
  const server = await accepted.promise;
  try {
    await fn(server, client);
  } finally {
    server.close();
    try {
      client.close();
    } catch {
      // closed by the test
    }
    listener.close();
    poller.stop();
    await running;
  }
}

Deno.test("FfiListener accepts; FfiSocket reads what the peer sent and writes synchronously", async () => {
  await pair(async (server, client) => {
    assert.equal(server.peer, `127.0.0.1:${(client.localAddr as Deno.NetAddr).port}`);
    await client.write(new TextEncoder().encode("hello"));
    const buf = new Uint8Array(16);
    const n = await server.read({ spare: () => buf });
    assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "hello");
    const sab = new Uint8Array(new SharedArrayBuffer(64));
    sab.set(new TextEncoder().encode("world"), 10);
    assert.equal(server.write(sab, 10, 15), 5, "done at once, no promise");
    sab.set(new TextEncoder().encode("!?"), 20);
    assert.equal(server.write(sab, 20, 21), 1, "same buffer, another range");
    const plain = new TextEncoder().encode("<ok>");
    assert.equal(server.write(plain, 1, 3), 2, "ordinary memory is sent from a view");
    const got = new Uint8Array(16);
    let text = "";
    while (text.length < 8) {
      const m = await client.read(got);
      text += new TextDecoder().decode(got.subarray(0, m!));
    }
    assert.equal(text, "world!ok");
  });
});

Deno.test("FfiSocket.write() waits for the poller when the kernel is full, then completes", async () => {
  await pair(async (server, client) => {
    const chunk = new Uint8Array(1 << 16).fill(7);
    let sent = 0;
    let pending: Promise<number> | null = null;
    for (let i = 0; i < 10_000 && pending === null; i++) {
      const r = server.write(chunk, 0, chunk.length);
      if (typeof r === "number") sent += r;
      else pending = r;
    }
    assert.ok(pending !== null, `the socket filled up after ${sent} bytes`);
    const drain = (async () => {
      const buf = new Uint8Array(1 << 16);
      let total = 0;
      while (total < sent + 1) {
        const n = await client.read(buf);
        if (n === null) break;
        total += n;
      }
      return total;
    })();
    const n = await pending;
    assert.ok(n > 0, "the waiting write went out once the peer read");
    assert.ok((await drain) > sent);
  });
});

Deno.test("FfiSocket reports end of stream, and close() rejects a pending read", async () => {
  await pair(async (server, client) => {
    const buf = new Uint8Array(8);
    const pending = server.read({ spare: () => buf });
    server.close();
    await assert.rejects(pending, Deno.errors.BadResource);
    client.close();
  });
  await pair(async (server, client) => {
    client.close();
    assert.equal(await server.read({ spare: () => new Uint8Array(8) }), null);
  });
});

Deno.test("FfiSocket reads what arrived while no read was pending, and the rest of a full read", async () => {
  await pair(async (server, client) => {
    const small = new Uint8Array(4);
    const target = { spare: () => small };
    const text = async () => new TextDecoder().decode(small.subarray(0, (await server.read(target))!));
    await client.write(new TextEncoder().encode("a"));
    assert.equal(await text(), "a", "a short read: the socket is drained");
    await client.write(new TextEncoder().encode("0123456789"));
    await new Promise((r) => setTimeout(r, 50)); // the poller sees the edge with no read pending
    assert.equal(await text(), "0123");
    assert.equal(await text(), "4567", "a full read: more may be waiting, no new edge needed");
    assert.equal(await text(), "89");
  });
});

Deno.test("FfiSocket.whenReadable() calls back once bytes or the end of stream arrive", async () => {
  await pair(async (server, client) => {
    const buf = new Uint8Array(8);
    const target = { spare: () => buf };
    await client.write(new TextEncoder().encode("x"));
    assert.equal(await server.read(target), 1, "a short read: drained");
    let calls = 0;
    const woke = new Promise<void>((resolve) =>
      server.whenReadable!({ readable: () => (calls++, resolve()) })
    );
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, 0, "nothing to read yet");
    await client.write(new TextEncoder().encode("yz"));
    await woke;
    assert.equal(await server.read(target), 2);
    const ended = new Promise<void>((resolve) => server.whenReadable!({ readable: resolve }));
    client.close();
    await ended;
    assert.equal(await server.read(target), null);
    assert.equal(calls, 1);
  });
});

Deno.test("FfiSocket sees the end of stream that arrived with the last bytes (one edge for both)", async () => {
  await pair(async (server, client) => {
    const buf = new Uint8Array(64);
    await client.write(new TextEncoder().encode("last words"));
    client.close();
    await new Promise((r) => setTimeout(r, 50)); // the poller takes the edge with no read pending
    assert.equal(await server.read({ spare: () => buf }), "last words".length, "a short read");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const eof = await Promise.race([
      server.read({ spare: () => buf }),
      new Promise((r) => timer = setTimeout(() => r("no end of stream seen"), 1000)),
    ]);
    clearTimeout(timer);
    assert.equal(eof, null);
  });
});

Deno.test("FfiSocket.connect: connects without blocking, then bytes go both ways", async () => {
  const poller = new EpollPoller();
  const running = poller.run();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const sock = await FfiSocket.connect("127.0.0.1", listener.addr.port, poller);
  const peer = await accepted;
  try {
    assert.equal(sock.peer, `127.0.0.1:${listener.addr.port}`);
    assert.equal(sock.write(new TextEncoder().encode("ping"), 0, 4), 4, "written at once");
    const got = new Uint8Array(8);
    assert.equal(await peer.read(got), 4);
    assert.equal(new TextDecoder().decode(got.subarray(0, 4)), "ping");
    await peer.write(new TextEncoder().encode("pong"));
    const buf = new Uint8Array(8);
    assert.equal(await sock.read({ spare: () => buf }), 4);
    assert.equal(new TextDecoder().decode(buf.subarray(0, 4)), "pong");
  } finally {
    sock.close();
    peer.close();
    listener.close();
    poller.stop();
    await running;
  }
});

Deno.test("FfiSocket.connect: a refused port is ConnectionRefused, said in words; close() mid-connect rejects", async () => {
  const poller = new EpollPoller();
  const running = poller.run();
  // A port nobody listens on: one just freed.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  try {
    await assert.rejects(
      FfiSocket.connect("127.0.0.1", port, poller),
      (e: Error) =>
        e instanceof Deno.errors.ConnectionRefused && /connection refused \(errno 111\)/.test(e.message),
    );
    // Closed by its caller (a timeout) before the connect settles: the promise rejects, nothing leaks.
    await assert.rejects(
      FfiSocket.connect("127.0.0.1", port, poller, (s) => s.close()),
      Deno.errors.BadResource,
    );
    await assert.rejects(FfiSocket.connect("camera.local", 554, poller), /not an IPv4 or IPv6 address/);
  } finally {
    poller.stop();
    await running;
  }
});

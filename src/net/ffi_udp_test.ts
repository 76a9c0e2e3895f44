import assert from "node:assert/strict";
import { EpollPoller } from "./epoll_poller.ts";
import { FfiUdpEndpoint } from "./ffi_udp.ts";
import { libc } from "./libc.ts";
import { formatUdpKey, udpKey } from "./udp_endpoint.ts";

// libc stays loaded for the life of the process, as in the server: load it before any test runs.
libc();

const port = () => 30000 + 2 * Math.floor(Math.random() * 10000);

Deno.test("FfiUdpEndpoint receives with the sender's key and sends from shared memory", async () => {
  const errors: unknown[] = [];
  const poller = new EpollPoller((e) => errors.push(e));
  const running = poller.run();
  const got: [string, string][] = [];
  const ep = new FfiUdpEndpoint("127.0.0.1", port(), poller, (b, s, e, key) => {
    got.push([new TextDecoder().decode(b.subarray(s, e)), formatUdpKey(key)]);
    if (got.length === 1) throw new Error("a receiver bug");
  });
  const peer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const peerPort = (peer.addr as Deno.NetAddr).port;
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: ep.port };
    await peer.send(new TextEncoder().encode("one"), to);
    await peer.send(new TextEncoder().encode("two"), to);
    const deadline = Date.now() + 2000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [["one", `127.0.0.1:${peerPort}`], ["two", `127.0.0.1:${peerPort}`]]);
    assert.equal(errors.length, 1, "the failure was reported and the poller went on");
    assert.equal(udpKey("127.0.0.1", peerPort), udpKey("127.0.0.1", peerPort));

    const ring = new Uint8Array(new SharedArrayBuffer(32));
    ring.set(new TextEncoder().encode("xxhello"));
    assert.ok(ep.send(ring, 2, 7, FfiUdpEndpoint.address("127.0.0.1", peerPort)));
    assert.equal(ep.flush(), 0);
    const [data] = await peer.receive();
    assert.equal(new TextDecoder().decode(data), "hello");
  } finally {
    peer.close();
    ep.close();
    poller.stop();
    await running;
  }
});

Deno.test("FfiUdpEndpoint with batchReceive reads bursts longer than one recvmmsg call, in order", async () => {
  const poller = new EpollPoller();
  const running = poller.run();
  const got: string[] = [];
  const keys = new Set<string>();
  const ep = new FfiUdpEndpoint(
    "127.0.0.1",
    port(),
    poller,
    (b, s, e, key) => {
      got.push(new TextDecoder().decode(b.subarray(s, e)));
      keys.add(formatUdpKey(key));
    },
    false,
    1 << 20,
    true,
  );
  const peer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const peerPort = (peer.addr as Deno.NetAddr).port;
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: ep.port };
    // 70 datagrams (more than two calls' worth), of different sizes; an empty one among them.
    const sent = Array.from({ length: 70 }, (_, i) => i === 40 ? "" : `d${i}:${"x".repeat(i * 20)}`);
    for (const d of sent) await peer.send(new TextEncoder().encode(d), to);
    const deadline = Date.now() + 2000;
    while (got.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, sent);
    assert.deepEqual([...keys], [`127.0.0.1:${peerPort}`]);
  } finally {
    peer.close();
    ep.close();
    poller.stop();
    await running;
  }
});

Deno.test("FfiUdpEndpoint refuses a port already bound", () => {
  const poller = new EpollPoller();
  const p = port();
  const a = new FfiUdpEndpoint("127.0.0.1", p, poller, () => {});
  try {
    assert.throws(() => new FfiUdpEndpoint("127.0.0.1", p, poller, () => {}), Deno.errors.AddrInUse);
  } finally {
    a.close();
  }
});

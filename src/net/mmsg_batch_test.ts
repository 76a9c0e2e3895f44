import assert from "node:assert/strict";
import { addressOf, libc, LINUX } from "./libc.ts";
import { GSO_MAX_BYTES, GSO_MAX_SEGMENT, gsoDisabled, MmsgBatch } from "./mmsg_batch.ts";
import { sockaddr } from "./sockaddr.ts";

// libc stays loaded for the life of the process, as in the server: load it before any test runs.
libc();

Deno.test("MmsgBatch sends each range to its own destination in one sendmmsg", async () => {
  const c = libc();
  const fd = c.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK, 0);
  const a = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const b = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const names = new Uint8Array(new SharedArrayBuffer(32));
    names.set(sockaddr("127.0.0.1", (a.addr as Deno.NetAddr).port).addr.subarray(0, 16), 0);
    names.set(sockaddr("127.0.0.1", (b.addr as Deno.NetAddr).port).addr.subarray(0, 16), 16);
    const ring = new Uint8Array(new SharedArrayBuffer(64));
    ring.set(new TextEncoder().encode("one two three"));
    const batch = new MmsgBatch(2);
    const at = addressOf(names);
    assert.ok(batch.add(ring, 0, 3, at, 16));
    assert.ok(batch.add(ring, 4, 7, at + 16, 16));
    assert.equal(batch.add(ring, 8, 13, at, 16), false, "full at its capacity");
    assert.equal(batch.flush(fd), 0, "nothing dropped");
    assert.equal(batch.count, 0);
    const text = async (s: Deno.DatagramConn) => new TextDecoder().decode((await s.receive())[0]);
    assert.equal(await text(a), "one");
    assert.equal(await text(b), "two");
  } finally {
    c.close(fd);
    a.close();
    b.close();
  }
});

Deno.test("MmsgBatch with segment offload: a destination's equal-sized datagrams go as one GSO message, arriving as sent", async () => {
  const c = libc();
  const fd = c.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK, 0);
  const a = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const b = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const names = new Uint8Array(new SharedArrayBuffer(32));
    names.set(sockaddr("127.0.0.1", (a.addr as Deno.NetAddr).port).addr.subarray(0, 16), 0);
    names.set(sockaddr("127.0.0.1", (b.addr as Deno.NetAddr).port).addr.subarray(0, 16), 16);
    // A ring of framed packets: 4 bytes of `$` header before each, skipped when sent.
    const ring = new Uint8Array(new SharedArrayBuffer(8192));
    const sizes = [1000, 1000, 1000, 300, 1000, 1200, 50];
    const starts: number[] = [];
    let at = 0;
    for (const [i, n] of sizes.entries()) {
      starts.push(at + 4);
      ring.fill(i + 1, at + 4, at + 4 + n);
      at += 4 + n;
    }
    const batch = new MmsgBatch(64, true);
    const to = addressOf(names);
    // To a: 3 of 1000 and a shorter last (one message); 1000 then 1200 (a larger one starts anew);
    // then to b: a new destination, a new message.
    for (let i = 0; i < 6; i++) assert.ok(batch.add(ring, starts[i], starts[i] + sizes[i], to, 16));
    assert.ok(batch.add(ring, starts[6], starts[6] + sizes[6], to + 16, 16));
    assert.equal(batch.count, 7, "datagrams");
    assert.equal(batch.messages, 4, "messages: [1000 x3, 300], [1000], [1200], [50 to b]");
    assert.equal(batch.flush(fd), 0, "nothing dropped");
    assert.equal(gsoDisabled(), false);
    for (let i = 0; i < 6; i++) {
      const [got] = await a.receive();
      assert.equal(got.length, sizes[i], `datagram ${i}: its own size`);
      assert.ok(got.every((x) => x === i + 1), `datagram ${i}: its own bytes`);
    }
    const [last] = await b.receive();
    assert.deepEqual([last.length, last[0]], [50, 7]);
  } finally {
    c.close(fd);
    a.close();
    b.close();
  }
});

Deno.test("MmsgBatch with segment offload: at most UDP_MAX_SEGMENTS and GSO_MAX_BYTES a message; large datagrams alone", () => {
  const ring = new Uint8Array(new SharedArrayBuffer(1 << 20));
  const name = addressOf(new Uint8Array(new SharedArrayBuffer(16)));
  const batch = new MmsgBatch(1024, true);
  for (let i = 0; i < 100; i++) batch.add(ring, 0, 100, name, 16);
  assert.equal(batch.messages, 2, `${LINUX.UDP_MAX_SEGMENTS} segments, then a new message`);
  const big = new MmsgBatch(1024, true);
  for (let i = 0; i < 60; i++) big.add(ring, 0, 1400, name, 16);
  assert.equal(big.messages, Math.ceil(60 / Math.floor(GSO_MAX_BYTES / 1400)), "bounded by bytes");
  const jumbo = new MmsgBatch(1024, true);
  for (let i = 0; i < 3; i++) jumbo.add(ring, 0, GSO_MAX_SEGMENT + 1, name, 16);
  assert.equal(jumbo.messages, 3, "a datagram over GSO_MAX_SEGMENT is never a segment");
  const off = new MmsgBatch(1024, false);
  for (let i = 0; i < 3; i++) off.add(ring, 0, 100, name, 16);
  assert.equal(off.messages, 3, "without segment offload, one message a datagram");
});

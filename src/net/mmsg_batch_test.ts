import assert from "node:assert/strict";
import { addressOf, libc, LINUX } from "./libc.ts";
import { MmsgBatch } from "./mmsg_batch.ts";
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

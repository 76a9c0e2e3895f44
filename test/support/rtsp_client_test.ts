/** The test client surfaces errors thrown in its callbacks instead of swallowing them. */
import assert, { AssertionError } from "node:assert/strict";
import { RtspTestClient } from "./rtsp_client.ts";

/** One interleaved RTP-looking frame on channel 0. */
const FRAME = new Uint8Array([0x24, 0, 0, 12, 0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);

/**
 * A server that, once the client has sent anything, answers with one interleaved frame (never a
 * response) and keeps the connection open until the test ends, or closes it when `hangUp`.
 */
async function withPeer(
  hangUp: boolean,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let peer: Deno.Conn | null = null;
  const served = (async () => {
    const conn = peer = await listener.accept();
    await conn.read(new Uint8Array(1024));
    await conn.write(FRAME);
    if (hangUp) {
      peer = null;
      conn.close();
    }
  })();
  try {
    await fn((listener.addr as Deno.NetAddr).port);
  } finally {
    await served;
    (peer as Deno.Conn | null)?.close();
    listener.close();
  }
}

const boom = () => assert.equal("what the frame said", "what the test wanted", "onFrame's assertion");
const isBoom = (e: unknown) => e instanceof AssertionError && e.message.startsWith("onFrame's assertion");

Deno.test("an assertion thrown in onFrame rejects a pending nextResponse with that assertion, not a timeout", async () => {
  await withPeer(false, async (port) => {
    const c = await RtspTestClient.connect(port, "x");
    c.onFrame = boom;
    await assert.rejects(c.request("OPTIONS"), isBoom);
    assert.ok(c.closed, "the client closed itself");
    // The same error again from any later call; close() does not throw what was already thrown.
    await assert.rejects(c.waitFrames(() => false, 100), isBoom);
    c.close();
  });
});

Deno.test("an assertion thrown in onFrame rejects the next waitFrames and waitClosed", async () => {
  await withPeer(false, async (port) => {
    const c = await RtspTestClient.connect(port, "x");
    c.onFrame = boom;
    await c.writeRaw("poke");
    await assert.rejects(c.waitFrames(() => false, 10_000), isBoom);
    await assert.rejects(c.waitClosed(100), isBoom);
    c.close();
  });
});

Deno.test("an assertion thrown in onFrame that no call awaited is thrown by close()", async () => {
  await withPeer(false, async (port) => {
    const c = await RtspTestClient.connect(port, "x");
    c.onFrame = boom;
    await c.writeRaw("poke");
    await c.done;
    assert.throws(() => c.close(), isBoom);
    assert.doesNotThrow(() => c.close(), "once thrown, not again");
  });
});

Deno.test("the server closing the connection is no error", async () => {
  await withPeer(true, async (port) => {
    const c = await RtspTestClient.connect(port, "x");
    await c.writeRaw("poke");
    assert.ok(await c.waitClosed(10_000));
    assert.equal(c.frames.length, 1);
    await assert.rejects(c.nextResponse(100), /connection closed before a response/);
    c.close();
  });
});

/** Every malformed or out-of-place request gets its status, and the server keeps serving. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";

/** After each case, a fresh client must still be answered. */
async function stillServing(port: number): Promise<void> {
  const c = await RtspTestClient.connect(port, "probe");
  const r = await c.request("OPTIONS");
  assert.equal(r.status, 200);
  c.close();
}

const REQUEST_CASES: [string, (url: string) => string, number][] = [
  ["a request without CSeq", (u) => `OPTIONS ${u} RTSP/1.0\r\n\r\n`, 400],
  ["a non-numeric CSeq", (u) => `OPTIONS ${u} RTSP/1.0\r\nCSeq: abc\r\n\r\n`, 400],
  ["DESCRIBE of an unknown path", (u) => `DESCRIBE ${u}/nothing RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 404],
  [
    "SETUP of an unknown path",
    (u) =>
      `SETUP ${u}/nothing/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
    404,
  ],
  [
    "SETUP with mode=record before ANNOUNCE",
    (u) =>
      `SETUP ${u}/pub/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n`,
    455,
  ],
  ["SETUP without Transport", (u) => `SETUP ${u}/pub/trackID=0 RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 400],
  [
    "SETUP offering only multicast",
    (u) =>
      `SETUP ${u}/pub/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;multicast;client_port=5000-5001\r\n\r\n`,
    461,
  ],
  ["PLAY without a session", (u) => `PLAY ${u}/pub RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 454],
  [
    "PLAY on an unknown session",
    (u) => `PLAY ${u}/pub RTSP/1.0\r\nCSeq: 1\r\nSession: 0123456789abcdef\r\n\r\n`,
    454,
  ],
  ["RECORD without a session", (u) => `RECORD ${u}/pub RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 454],
  [
    "ANNOUNCE with a non-SDP body",
    (u) => `ANNOUNCE ${u}/x RTSP/1.0\r\nCSeq: 1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi`,
    415,
  ],
  [
    "ANNOUNCE with an invalid SDP",
    (u) =>
      `ANNOUNCE ${u}/x RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nhello`,
    400,
  ],
  [
    "ANNOUNCE with an SDP without media",
    (u) =>
      `ANNOUNCE ${u}/x RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n`,
    400,
  ],
  ["an unknown method", (u) => `FETCH ${u} RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 501],
  ["a known method dm-live does not serve", (u) => `REDIRECT ${u} RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 405],
  ["another protocol version", (u) => `OPTIONS ${u} RTSP/2.0\r\nCSeq: 1\r\n\r\n`, 505],
  [
    "a Require header naming an option",
    (u) => `DESCRIBE ${u}/x RTSP/1.0\r\nCSeq: 1\r\nRequire: funky-feature\r\n\r\n`,
    551,
  ],
  ["a request line that does not parse", () => `HELLO\r\nCSeq: 1\r\n\r\n`, 400],
  ["a URL that is not rtsp://", () => `DESCRIBE http://example/x RTSP/1.0\r\nCSeq: 1\r\n\r\n`, 400],
];

for (const [name, make, status] of REQUEST_CASES) {
  Deno.test(`${name} gets ${status} and the connection keeps working`, async () => {
    await withServer({ workers: 1 }, async (server) => {
      const c = await RtspTestClient.connect(server.port, "");
      await c.writeRaw(make(`rtsp://127.0.0.1:${server.port}`));
      const r = await c.nextResponse();
      assert.equal(r.status, status, `${r.status} ${r.reason}`);
      const ok = await c.request("OPTIONS", c.url);
      assert.equal(ok.status, 200);
      c.close();
      await stillServing(server.port);
    });
  });
}

Deno.test("a huge header block gets 400 and closes only that connection", async () => {
  await withServer({ workers: 1, "limits.maxHeaderBlockBytes": 4096 }, async (server) => {
    const other = await RtspTestClient.connect(server.port, "");
    const c = await RtspTestClient.connect(server.port, "");
    await c.writeRaw(`OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nX-Junk: ${"a".repeat(10000)}\r\n\r\n`);
    const r = await c.nextResponse();
    assert.equal(r.status, 400);
    assert.ok(await c.waitClosed());
    assert.equal((await other.request("OPTIONS")).status, 200);
    other.close();
    c.close();
  });
});

Deno.test("a huge body gets 413 and closes the connection", async () => {
  await withServer({ workers: 1, "limits.maxBodyBytes": 2048 }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "");
    await c.writeRaw(`ANNOUNCE rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 100000\r\n\r\n`);
    const r = await c.nextResponse();
    assert.equal(r.status, 413);
    assert.ok(await c.waitClosed());
    c.close();
    await stillServing(server.port);
  });
});

Deno.test("binary garbage is skipped to the next request, and too much of it closes the connection", async () => {
  await withServer({ workers: 1, "limits.maxGarbageBytes": 1000 }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "");
    const junk = new Uint8Array(200).map((_, i) => (i * 7 + 1) % 32); // control bytes: no '$', no letters
    await c.writeRaw(junk);
    assert.equal((await c.request("OPTIONS")).status, 200, "resynchronised on the next request");
    await c.writeRaw(new Uint8Array(5000).map((_, i) => (i * 7 + 1) % 32));
    const r = await c.nextResponse();
    assert.equal(r.status, 400);
    assert.ok(await c.waitClosed());
    c.close();
    await stillServing(server.port);
  });
});

Deno.test("out-of-place publisher requests get 455 or 400, and a publisher's path is its own", async () => {
  await withServer({ workers: 1 }, async (server) => {
    const pub = await startPublisher(server.port, "mine");
    // RECORD again while recording; PLAY on a publishing session.
    assert.equal((await pub.client.request("RECORD", pub.client.url)).status, 455);
    assert.equal((await pub.client.request("PLAY", pub.client.url)).status, 455);
    // A viewer may not set up the same track twice or reuse channels.
    const v = await RtspTestClient.connect(server.port, "mine");
    await pub.sendFrames(1, 10);
    let r = await v.request("SETUP", `${v.url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(r.status, 200);
    r = await v.request("SETUP", `${v.url}/trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=4-5" });
    assert.equal(r.status, 400);
    r = await v.request("SETUP", `${v.url}/trackID=1`, { Transport: "RTP/AVP/TCP;unicast;interleaved=1-2" });
    assert.equal(r.status, 400);
    r = await v.request("SETUP", `${v.url}/trackID=9`, { Transport: "RTP/AVP/TCP;unicast;interleaved=6-7" });
    assert.equal(r.status, 404);
    r = await v.request("PLAY", `rtsp://127.0.0.1:${server.port}/other`);
    assert.equal(r.status, 400, "PLAY of another path than the session's");
    r = await v.request("RECORD", v.url);
    assert.equal(r.status, 455);
    r = await v.request("SETUP", v.url, { Transport: "RTP/AVP/TCP;unicast;interleaved=6-7" });
    assert.equal(r.status, 459, "aggregate SETUP of a two-track stream");
    v.close();
    pub.close();
  });
});

Deno.test("551 for a required option lists it in Unsupported", async () => {
  await withServer({ workers: 1 }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "x");
    const r = await c.request("OPTIONS", c.url, { Require: "implicit-play" });
    assert.equal(r.status, 551);
    assert.equal(r.headers.get("Unsupported"), "implicit-play");
    c.close();
  });
});

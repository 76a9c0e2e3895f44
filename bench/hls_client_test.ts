import assert from "node:assert/strict";
import { HttpConn } from "./hls_client.ts";

/** A server answering the requests it reads with `answers` (raw bytes), in order, over as many connections as they close. */
function fakeServer(
  answers: string[],
): { port: number; requests: string[]; connections: () => number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  let connections = 0;
  let next = 0;
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    let text = "";
    while (next < answers.length) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      let end;
      while ((end = text.indexOf("\r\n\r\n")) >= 0) {
        requests.push(text.slice(0, end));
        text = text.slice(end + 4);
        const a = answers[next++];
        // Two writes, split inside the head: the client must read on.
        const bytes = new TextEncoder().encode(a);
        await conn.write(bytes.subarray(0, 10));
        await conn.write(bytes.subarray(10));
        if (a.includes("Connection: close")) return conn.close();
      }
    }
    conn.close();
  };
  const done = (async () => {
    while (next < answers.length) {
      const conn = await listener.accept();
      connections++;
      await serve(conn);
    }
    listener.close();
  })();
  return { port: (listener.addr as Deno.NetAddr).port, requests, connections: () => connections, done };
}

Deno.test("HttpConn: Content-Length and chunked bodies on one kept-alive connection, then a new one after Connection: close", async () => {
  const server = fakeServer([
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello",
    "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    "HTTP/1.1 204 No Content\r\n\r\n",
  ]);
  const c = new HttpConn();
  const base = `http://127.0.0.1:${server.port}`;
  const dec = new TextDecoder();
  const a = await c.get(new URL(`${base}/bench/s0/index.m3u8`));
  assert.deepEqual([a.status, dec.decode(a.body)], [200, "hello"]);
  const b = await c.get(new URL(`${base}/bench/s0/stream.m3u8?_HLS_msn=3&_HLS_part=1`));
  assert.deepEqual([b.status, dec.decode(b.body)], [404, "not found"]);
  const d = await c.get(new URL(`${base}/x`));
  assert.deepEqual([d.status, dec.decode(d.body)], [200, "ok"]);
  const e = await c.get(new URL(`${base}/y`));
  assert.deepEqual([e.status, e.body.length], [204, 0]);
  c.close();
  await server.done;
  assert.equal(server.connections(), 2);
  assert.deepEqual(server.requests.map((r) => r.split("\r\n")[0]), [
    "GET /bench/s0/index.m3u8 HTTP/1.1",
    "GET /bench/s0/stream.m3u8?_HLS_msn=3&_HLS_part=1 HTTP/1.1",
    "GET /x HTTP/1.1",
    "GET /y HTTP/1.1",
  ]);
});

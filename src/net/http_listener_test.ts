import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { type HttpLimits, HttpListener, parseHead, RawResponse } from "./http_listener.ts";

const lines: string[] = [];
const log = new Logger("debug", "", (_l, line) => lines.push(line));
const LIMITS: HttpLimits = {
  maxConnections: 100,
  maxConnectionsPerAddress: 100,
  firstHeadTimeoutMs: 300,
  headTimeoutMs: 300,
  idleTimeoutMs: 2000,
  maxHeadBytes: 4096,
};

async function withListener(
  limits: Partial<HttpLimits>,
  handler: (req: Request) => Promise<Response>,
  fn: (port: number, l: HttpListener) => Promise<void>,
) {
  const l = new HttpListener("127.0.0.1", 0, () => ({ ...LIMITS, ...limits }), (h) => h, log);
  const served = l.serve((req) => handler(req));
  try {
    await fn(l.port, l);
  } finally {
    l.close();
    await served;
  }
}

async function readAll(conn: Deno.TcpConn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

const ok = () => Promise.resolve(new Response("hello", { headers: { "Content-Type": "text/plain" } }));
const send = (c: Deno.TcpConn, s: string) => c.write(new TextEncoder().encode(s));

Deno.test("HttpListener: keep-alive and pipelined requests are answered in order", async () => {
  let n = 0;
  await withListener(
    {},
    (req) => Promise.resolve(new Response(`${++n} ${new URL(req.url).pathname}`)),
    async (port) => {
      const c = await Deno.connect({ port });
      await send(
        c,
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      const text = await readAll(c);
      const bodies = text.split("\r\n\r\n").map((p) => p.split("HTTP/1.1")[0]).filter((b) => b !== "");
      assert.deepEqual(bodies, ["1 /a", "2 /b"]);
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n.*connection: keep-alive/s);
    },
  );
});

Deno.test("HttpListener: requests one after another on a kept-alive connection, heads of every size", async () => {
  // Each head comes after the answer to the one before, while the listener's read is pending:
  // the bytes of one must not land where the last one's were.
  await withListener(
    { maxHeadBytes: 8192 },
    (req) => Promise.resolve(new Response(`${new URL(req.url).pathname} ${req.headers.get("X")?.length}`)),
    async (port) => {
      const c = await Deno.connect({ port });
      const buf = new Uint8Array(65536);
      for (const [i, size] of [10, 3000, 5, 7000, 100, 1].entries()) {
        await send(c, `GET /r${i} HTTP/1.1\r\nX: ${"y".repeat(size)}\r\n\r\n`);
        let text = "";
        while (!text.endsWith(`/r${i} ${size}`)) {
          const n = await c.read(buf);
          assert.ok(n !== null, `answer ${i}: ${text}`);
          text += new TextDecoder().decode(buf.subarray(0, n));
          assert.ok(!/ 4\d\d /.test(text.split("\r\n")[0]), text);
        }
      }
      c.close();
    },
  );
});

Deno.test("HttpListener: a head trickled past its deadline gets 408; a silent connection too", async () => {
  await withListener({}, ok, async (port, l) => {
    const slow = await Deno.connect({ port });
    await send(slow, "GET / HT");
    const silent = await Deno.connect({ port });
    const [a, b] = await Promise.all([readAll(slow), readAll(silent)]);
    assert.match(a, /^HTTP\/1\.1 408 Request Timeout/);
    assert.match(b, /^HTTP\/1\.1 408 Request Timeout/);
    assert.equal(l.timedOut, 2);
  });
});

Deno.test("HttpListener: past maxConnectionsPerAddress a connection gets 503 and is closed, logged once", async () => {
  lines.length = 0;
  await withListener({ maxConnectionsPerAddress: 2 }, ok, async (port, l) => {
    const held = [await Deno.connect({ port }), await Deno.connect({ port })];
    await new Promise((r) => setTimeout(r, 50));
    const third = await Deno.connect({ port });
    assert.match(await readAll(third), /^HTTP\/1\.1 503 /);
    assert.equal(l.refused, 1);
    assert.ok(
      lines.some((x) => /connection refused \(2 from its address, 2 in all; at most 2 and 100\)/.test(x)),
    );
    for (const c of held) c.close();
  });
});

Deno.test("HttpListener: a request with a body gets 413; a head over the bound 431; garbage 400", async () => {
  await withListener({ maxHeadBytes: 256 }, ok, async (port) => {
    const body = await Deno.connect({ port });
    await send(body, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert.match(await readAll(body), /^HTTP\/1\.1 413 /);
    const big = await Deno.connect({ port });
    await send(big, `GET / HTTP/1.1\r\nX: ${"y".repeat(300)}\r\n\r\n`);
    assert.match(await readAll(big), /^HTTP\/1\.1 431 /);
    const bad = await Deno.connect({ port });
    await send(bad, "HELLO\r\n\r\n");
    assert.match(await readAll(bad), /^HTTP\/1\.1 400 /);
  });
});

Deno.test("HttpListener: a head longer than the first read buffer (2 KiB) and up to the bound is read", async () => {
  await withListener(
    { maxHeadBytes: 8192 },
    (req) => Promise.resolve(new Response(req.headers.get("X"))),
    async (port) => {
      const c = await Deno.connect({ port });
      await send(c, `GET / HTTP/1.1\r\nConnection: close\r\nX: ${"y".repeat(7000)}\r\n\r\n`);
      const text = await readAll(c);
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.ok(text.endsWith("\r\n\r\n" + "y".repeat(7000)), text.slice(0, 200));
    },
  );
});

Deno.test("RawResponse: the listener writes its chunks as they are; other readers get the same bytes", async () => {
  const e = new TextEncoder();
  // Small bodies go out with their head, large ones after it: both in order, lengths right.
  const small = [e.encode("ab"), e.encode(""), e.encode("cd")];
  const large = [e.encode("x".repeat(10_000)), e.encode("z".repeat(5))];
  const raw = (chunks: Uint8Array[]) => new RawResponse(chunks, { headers: { "Content-Type": "video/mp4" } });
  assert.equal(await raw(small).text(), "abcd");
  assert.equal(await new Response(raw(large).body).text(), "x".repeat(10_000) + "zzzzz");
  assert.equal(raw([]).body, null);
  await withListener(
    {},
    (req) => Promise.resolve(raw(new URL(req.url).pathname === "/s" ? small : large)),
    async (port) => {
      const c = await Deno.connect({ port });
      await send(c, "GET /s HTTP/1.1\r\n\r\nGET /l HTTP/1.1\r\nConnection: close\r\n\r\n");
      const [first, second] = (await readAll(c)).split(/(?=HTTP\/1\.1 )/);
      assert.match(first, /content-type: video\/mp4\r\n.*content-length: 4\r\n.*\r\n\r\nabcd$/s);
      assert.match(second, /content-length: 10005\r\n.*\r\n\r\nx{10000}zzzzz$/s);
    },
  );
});

Deno.test("HttpListener: a client that closes while its request waits aborts the request's signal", async () => {
  const { promise: aborted, resolve } = Promise.withResolvers<string>();
  await withListener({}, (req) =>
    new Promise<Response>((res) => {
      req.signal.addEventListener("abort", () => {
        resolve(String(req.signal.reason?.message));
        res(new Response(null, { status: 499 }));
      });
    }), async (port) => {
    const c = await Deno.connect({ port });
    await send(c, "GET /wait HTTP/1.1\r\n\r\n");
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    assert.equal(await aborted, "the client closed the connection");
  });
});

Deno.test("parseHead(): request line, headers, keep-alive by version, bodies", () => {
  const h = parseHead(
    "GET /live/cam/index.m3u8?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n",
    "127.0.0.1",
    8888,
  )!;
  assert.equal(h.url, "http://127.0.0.1:8888/live/cam/index.m3u8?x=1");
  assert.equal(h.keepAlive, false);
  assert.equal(parseHead("GET / HTTP/1.0\r\n", "::1", 80)!.url, "http://[::1]:80/");
  assert.equal(parseHead("GET / HTTP/1.0\r\n", "::1", 80)!.keepAlive, false);
  assert.equal(parseHead("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", "h", 1)!.hasBody, true);
  assert.equal(parseHead("GET http://x/ HTTP/1.1\r\n", "h", 1), null, "absolute form is not served");
  assert.equal(parseHead("GET / HTTP/1.1\r\nno colon\r\n", "h", 1), null);
  assert.equal(parseHead("GET / HTTP/2\r\n", "h", 1), null);
});

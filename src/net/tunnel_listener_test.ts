import assert from "node:assert/strict";
import net from "node:net";
import { Logger } from "../log/logger.ts";
import type { ByteSocket } from "./byte_socket.ts";
import { Base64Stream, MAX_PENDING_PER_ADDRESS, parseTunnelHead, TunnelListener } from "./tunnel_listener.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("Base64Stream decodes messages encoded one by one, split anywhere", () => {
  const messages = ["OPTIONS rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n", "a", "ab", "abc", "DESCRIBE"];
  const stream = messages.map((m) => btoa(m)).join("\r\n");
  for (let cut = 0; cut <= stream.length; cut += 3) {
    const b = new Base64Stream();
    const out = new Uint8Array(stream.length);
    let n = b.decode(enc(stream.slice(0, cut)), out);
    n += b.decode(enc(stream.slice(cut)), out.subarray(n));
    assert.equal(new TextDecoder().decode(out.subarray(0, n)), messages.join(""), `cut at ${cut}`);
  }
});

Deno.test("parseTunnelHead() reads the GET and POST halves and refuses other requests", () => {
  assert.deepEqual(
    parseTunnelHead(
      "GET /live/cam HTTP/1.1\r\nx-sessioncookie: abc123\r\nAccept: application/x-rtsp-tunnelled",
    ),
    { method: "GET", cookie: "abc123" },
  );
  assert.deepEqual(
    parseTunnelHead(
      "POST /live/cam HTTP/1.0\r\nX-SessionCookie: abc123\r\nContent-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767",
    ),
    { method: "POST", cookie: "abc123" },
  );
  assert.ok("why" in parseTunnelHead("GET /x HTTP/1.1\r\nHost: h"), "no cookie");
  assert.ok("why" in parseTunnelHead("OPTIONS rtsp://h/x RTSP/1.0"), "RTSP, not HTTP");
  assert.ok("why" in parseTunnelHead("POST /x HTTP/1.1\r\nx-sessioncookie: a\r\nContent-Type: text/plain"));
});

/** A listener on a free loopback port, the sockets it pairs, and what it logged. */
function tunnelListener(headTimeoutMs: number) {
  const lines: string[] = [];
  const log = new Logger("info", "", (_level, line) => lines.push(line));
  const l = new TunnelListener("0.0.0.0", 0, log, headTimeoutMs);
  const pairs: ByteSocket[] = [];
  const served = l.serve((s) => pairs.push(s));
  return { l, pairs, lines, served };
}

/** Everything a connection receives until the server closes it. */
async function readToEnd(c: Deno.TcpConn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await c.read(buf).catch(() => null);
    if (n === null) return text;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

/** A connection from `localAddress` (node:net: Deno.connect cannot choose one), resolved once connected. */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s));
    s.once("error", reject);
  });
}

Deno.test("a tunnel connection whose HTTP head does not come within the deadline gets 408 and is closed", async () => {
  const { l, lines, served } = tunnelListener(300);
  const silent = await Deno.connect({ port: l.port });
  const trickling = await Deno.connect({ port: l.port });
  try {
    // One byte of a head now and then: each read refreshes nothing, the deadline runs from connecting.
    const head = "GET /live/cam HTTP/1.0\r\nx-sessioncookie: a\r\n";
    let i = 0;
    const drip = setInterval(() => trickling.write(enc(head[i++ % head.length])).catch(() => {}), 50);
    const [a, b] = await Promise.all([readToEnd(silent), readToEnd(trickling)]);
    clearInterval(drip);
    assert.match(a, /^HTTP\/1\.0 408 /);
    assert.match(b, /^HTTP\/1\.0 408 /);
    while (l.unpaired > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lines.filter((x) => x.includes("no HTTP head within 300 ms")).length, 2);
  } finally {
    silent.close();
    trickling.close();
    l.close();
    await served;
  }
});

Deno.test("unpaired tunnel connections: past MAX_PENDING_PER_ADDRESS from one address, 503 at once; other addresses still pair", async () => {
  const { l, pairs, lines, served } = tunnelListener(60_000);
  const held: net.Socket[] = [];
  const others: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < MAX_PENDING_PER_ADDRESS; i++) held.push(await connectFrom(l.port, "127.0.0.1"));
    // Counted from accept, before any head: these have sent nothing.
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    others.push(extra);
    assert.match(await readToEnd(extra), /^HTTP\/1\.0 503 /);
    assert.equal(l.unpaired, MAX_PENDING_PER_ADDRESS);
    // Another address still gets its pair made.
    const get = await connectFrom(l.port, "127.0.0.2");
    const post = await connectFrom(l.port, "127.0.0.2");
    held.push(get, post);
    get.write("GET /live/cam HTTP/1.0\r\nx-sessioncookie: c1\r\n\r\n");
    post.write(
      "POST /live/cam HTTP/1.0\r\nx-sessioncookie: c1\r\nContent-Type: application/x-rtsp-tunnelled\r\n\r\n",
    );
    while (pairs.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(l.unpaired, MAX_PENDING_PER_ADDRESS, "a pair no longer counts");
    // The first address's count comes back as its connections close.
    for (const s of held.slice(0, MAX_PENDING_PER_ADDRESS)) s.destroy();
    while (l.unpaired > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lines.filter((x) => x.includes("refused")).length, 1, "one log line for the refusal");
  } finally {
    for (const s of held) s.destroy();
    for (const c of others) c.close();
    for (const p of pairs) p.close();
    l.close();
    await served;
  }
});

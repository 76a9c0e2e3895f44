import assert from "node:assert/strict";
import { Base64Stream, parseTunnelHead } from "./tunnel_listener.ts";

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

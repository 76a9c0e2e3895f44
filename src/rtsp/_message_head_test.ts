import assert from "node:assert/strict";
import { RtspError } from "./errors.ts";
import { HeaderMap } from "./header_map.ts";
import { findBlankLine, parseMessageHead, serializeMessage, utf8ByteLength } from "./_message_head.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("findBlankLine() finds the end of the head for every line-ending mix", async (t) => {
  const cases = [
    { name: "CRLF CRLF", input: "A\r\nB: 1\r\n\r\nbody", want: 11 },
    { name: "LF LF", input: "A\nB: 1\n\nbody", want: 8 },
    { name: "LF CRLF", input: "A\nB: 1\n\r\nbody", want: 9 },
    { name: "CRLF LF", input: "A\r\nB: 1\r\n\nbody", want: 10 },
    { name: "incomplete", input: "A\r\nB: 1\r\n\r", want: -1 },
    { name: "none", input: "A\r\nB", want: -1 },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      const buf = enc(c.input);
      assert.equal(findBlankLine(buf, 0, buf.length), c.want);
    });
  }
  // `end` bounds the search even when the buffer holds more.
  assert.equal(findBlankLine(enc("A\r\n\r\n"), 0, 4), -1);
});

Deno.test("utf8ByteLength() counts UTF-8 bytes", () => {
  for (const s of ["", "abc", "é", "日本", "😀", "a😀é"]) assert.equal(utf8ByteLength(s), enc(s).length, s);
});

Deno.test("parseMessageHead() tolerates a missing final blank line", () => {
  const head = parseMessageHead(enc("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n"));
  assert.equal(head.startLine, "OPTIONS * RTSP/1.0");
  assert.equal(head.headers.get("cseq"), "1");
});

Deno.test("parseMessageHead() refuses a lone CR inside a value with 400", () => {
  assert.throws(
    () => parseMessageHead(enc("OPTIONS * RTSP/1.0\r\nX: a\rb\r\n\r\n")),
    (e) => e instanceof RtspError && e.status === 400,
  );
});

Deno.test("serializeMessage() keeps an existing Content-Length", () => {
  const out = serializeMessage("RTSP/1.0 200 OK", new HeaderMap([["content-length", "2"]]), enc("ab"), true);
  assert.equal(new TextDecoder().decode(out), "RTSP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nab");
});

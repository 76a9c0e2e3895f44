import assert from "node:assert/strict";
import { RtspError, RtspParseError } from "./errors.ts";
import { HeaderMap } from "./header_map.ts";
import {
  findBlankLine,
  type MessageHead,
  parseMessageHead,
  serializeMessage,
  utf8ByteLength,
} from "./_message_head.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

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

interface HeadView {
  startLine: string;
  headers: [string, string][];
}

const headView = (h: MessageHead): HeadView => ({ startLine: h.startLine, headers: [...h.headers] });
const serializeHead = (h: HeadView) =>
  new TextDecoder().decode(serializeMessage(h.startLine, new HeaderMap(h.headers), undefined, false));
const parseHead = (text: string) => headView(parseMessageHead(enc(text)));

// Start line and header block as requests and responses carry them; the body is not the head's.
const headCases: GoldenCase<string, HeadView, string>[] = [
  {
    name: "ffmpeg 5.1 SETUP",
    input: "SETUP rtsp://127.0.0.1:18554/live/ffpub/streamid=0 RTSP/1.0\r\n" +
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\nCSeq: 3\r\nUser-Agent: Lavf59.27.100\r\n\r\n",
    parsed: {
      startLine: "SETUP rtsp://127.0.0.1:18554/live/ffpub/streamid=0 RTSP/1.0",
      headers: [
        ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"],
        ["CSeq", "3"],
        ["User-Agent", "Lavf59.27.100"],
      ],
    },
    canonical: "SETUP rtsp://127.0.0.1:18554/live/ffpub/streamid=0 RTSP/1.0\r\n" +
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\nCSeq: 3\r\nUser-Agent: Lavf59.27.100\r\n\r\n",
  },
  {
    name: "response head, body left alone",
    input: "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\n\r\nv=0",
    parsed: { startLine: "RTSP/1.0 200 OK", headers: [["CSeq", "2"], ["Content-Length", "3"]] },
    canonical: "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\n\r\n",
  },
  {
    name: "bare LF, folding, whitespace around names and values, empty value",
    input: "OPTIONS * RTSP/1.0\nX-A :  1 \n  2\n \nx-b:\n\n",
    parsed: { startLine: "OPTIONS * RTSP/1.0", headers: [["X-A", "1 2"], ["x-b", ""]] },
    canonical: "OPTIONS * RTSP/1.0\r\nX-A: 1 2\r\nx-b: \r\n\r\n",
  },
  {
    name: "duplicate headers kept in order",
    input:
      'RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r"\r\nWWW-Authenticate: Basic realm="r"\r\n\r\n',
    parsed: {
      startLine: "RTSP/1.0 401 Unauthorized",
      headers: [["WWW-Authenticate", 'Digest realm="r"'], ["WWW-Authenticate", 'Basic realm="r"']],
    },
    canonical:
      'RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r"\r\nWWW-Authenticate: Basic realm="r"\r\n\r\n',
  },
];

Deno.test("parseMessageHead() parses the golden cases", (t) => goldenParseSteps(t, headCases, parseHead));

Deno.test("serializeMessage() writes the golden heads canonically", (t) =>
  goldenSerializeSteps(t, headCases, serializeHead, parseHead));

Deno.test("parseMessageHead() fuzz: corpus and mutated heads refuse with RtspParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "message_head",
    label: "parseMessageHead()",
    seeds: goldenSeeds(headCases, (c) => [c.input, c.canonical]),
    check: (input) => {
      const head = parseOrRefuse(() => parseMessageHead(input), (e) => e instanceof RtspParseError);
      if (head === REFUSED) return;
      assertRoundTrip(headView(head), serializeHead, parseHead);
    },
    count: 5000,
    seed: 4,
    kind: "text",
  });
});

import assert from "node:assert/strict";
import { RtspError, RtspParseError, VersionNotSupportedError } from "./errors.ts";
import { HeaderMap, MAX_HEADER_COUNT } from "./header_map.ts";
import { parseRequest, type RtspRequest, serializeRequest } from "./request.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const FFMPEG_SDP =
  "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nt=0 0\r\na=tool:libavformat 60.16.100\r\n" +
  "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";

interface Case {
  name: string;
  input: string;
  parsed: { method: string; url: string; headers: [string, string][]; body: string };
  canonical: string;
}

// Real client captures first (ffmpeg 6, GStreamer 1.22, VLC 3), then tolerance cases.
const cases: Case[] = [
  {
    name: "ffmpeg OPTIONS",
    input: "OPTIONS rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf60.16.100\r\n\r\n",
    parsed: {
      method: "OPTIONS",
      url: "rtsp://127.0.0.1:8554/live/cam1",
      headers: [["CSeq", "1"], ["User-Agent", "Lavf60.16.100"]],
      body: "",
    },
    canonical:
      "OPTIONS rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf60.16.100\r\n\r\n",
  },
  {
    name: "ffmpeg ANNOUNCE with SDP body",
    input:
      "ANNOUNCE rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nContent-Type: application/sdp\r\nCSeq: 2\r\n" +
      `User-Agent: Lavf60.16.100\r\nContent-Length: ${FFMPEG_SDP.length}\r\n\r\n${FFMPEG_SDP}`,
    parsed: {
      method: "ANNOUNCE",
      url: "rtsp://127.0.0.1:8554/live/cam1",
      headers: [
        ["Content-Type", "application/sdp"],
        ["CSeq", "2"],
        ["User-Agent", "Lavf60.16.100"],
        ["Content-Length", String(FFMPEG_SDP.length)],
      ],
      body: FFMPEG_SDP,
    },
    canonical:
      "ANNOUNCE rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nContent-Type: application/sdp\r\nCSeq: 2\r\n" +
      `User-Agent: Lavf60.16.100\r\nContent-Length: ${FFMPEG_SDP.length}\r\n\r\n${FFMPEG_SDP}`,
  },
  {
    name: "GStreamer SETUP",
    input: "SETUP rtsp://127.0.0.1:8554/live/cam1/stream=0 RTSP/1.0\r\nCSeq: 3\r\n" +
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: GStreamer/1.22.0\r\n" +
      "Date: Wed, 01 Jan 2025 00:00:00 GMT\r\n\r\n",
    parsed: {
      method: "SETUP",
      url: "rtsp://127.0.0.1:8554/live/cam1/stream=0",
      headers: [
        ["CSeq", "3"],
        ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
        ["User-Agent", "GStreamer/1.22.0"],
        ["Date", "Wed, 01 Jan 2025 00:00:00 GMT"],
      ],
      body: "",
    },
    canonical: "SETUP rtsp://127.0.0.1:8554/live/cam1/stream=0 RTSP/1.0\r\nCSeq: 3\r\n" +
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: GStreamer/1.22.0\r\n" +
      "Date: Wed, 01 Jan 2025 00:00:00 GMT\r\n\r\n",
  },
  {
    name: "VLC DESCRIBE",
    input: "DESCRIBE rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nCSeq: 4\r\n" +
      "User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\nAccept: application/sdp\r\n\r\n",
    parsed: {
      method: "DESCRIBE",
      url: "rtsp://127.0.0.1:8554/live/cam1",
      headers: [
        ["CSeq", "4"],
        ["User-Agent", "LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)"],
        ["Accept", "application/sdp"],
      ],
      body: "",
    },
    canonical: "DESCRIBE rtsp://127.0.0.1:8554/live/cam1 RTSP/1.0\r\nCSeq: 4\r\n" +
      "User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\nAccept: application/sdp\r\n\r\n",
  },
  {
    name: "bare LF line endings, padded values, lower-case names",
    input: "GET_PARAMETER rtsp://h/p RTSP/1.0\ncseq:   7  \nsession:\tabc \n\n",
    parsed: {
      method: "GET_PARAMETER",
      url: "rtsp://h/p",
      headers: [["cseq", "7"], ["session", "abc"]],
      body: "",
    },
    canonical: "GET_PARAMETER rtsp://h/p RTSP/1.0\r\ncseq: 7\r\nsession: abc\r\n\r\n",
  },
  {
    name: "folded continuation lines",
    input: "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Long: a\r\n  b\r\n\tc\r\nEmpty:\r\n\r\n",
    parsed: {
      method: "OPTIONS",
      url: "*",
      headers: [["CSeq", "1"], ["X-Long", "a b c"], ["Empty", ""]],
      body: "",
    },
    canonical: "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Long: a b c\r\nEmpty: \r\n\r\n",
  },
  {
    name: "CONTENT-LENGTH spelled in upper case with a body",
    input: "SET_PARAMETER rtsp://h/p RTSP/1.0\r\nCSEQ: 9\r\nCONTENT-LENGTH: 5\r\n\r\nhello",
    parsed: {
      method: "SET_PARAMETER",
      url: "rtsp://h/p",
      headers: [["CSEQ", "9"], ["CONTENT-LENGTH", "5"]],
      body: "hello",
    },
    canonical: "SET_PARAMETER rtsp://h/p RTSP/1.0\r\nCSEQ: 9\r\nCONTENT-LENGTH: 5\r\n\r\nhello",
  },
];

function view(req: RtspRequest) {
  return { method: req.method, url: req.url, headers: [...req.headers], body: dec(req.body) };
}

Deno.test("parseRequest() parses the golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const req = parseRequest(enc(c.input));
      assert.equal(req.version, "RTSP/1.0");
      assert.deepEqual(view(req), c.parsed);
    });
  }
});

Deno.test("serializeRequest() writes the golden cases canonically", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const headers = new HeaderMap(c.parsed.headers);
      const out = serializeRequest({
        method: c.parsed.method,
        url: c.parsed.url,
        headers,
        body: enc(c.parsed.body),
      });
      assert.equal(dec(out), c.canonical);
      assert.deepEqual(view(parseRequest(out)), view(parseRequest(enc(c.canonical))));
    });
  }
});

Deno.test("serializeRequest() adds Content-Length only for a non-empty body", () => {
  const headers = new HeaderMap([["CSeq", "5"]]);
  assert.equal(
    dec(serializeRequest({ method: "SET_PARAMETER", url: "rtsp://h/p", headers, body: enc("a: b\r\n") })),
    "SET_PARAMETER rtsp://h/p RTSP/1.0\r\nCSeq: 5\r\nContent-Length: 6\r\n\r\na: b\r\n",
  );
  assert.equal(
    dec(serializeRequest({ method: "OPTIONS", url: "*", headers, body: new Uint8Array() })),
    "OPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n",
  );
  assert.throws(() => serializeRequest({ method: "BAD METHOD", url: "*", headers }), TypeError);
});

Deno.test("parseRequest() copies the body out of the caller's buffer", () => {
  const buf = enc("ANNOUNCE rtsp://h/p RTSP/1.0\r\nContent-Length: 3\r\n\r\nabc");
  const req = parseRequest(buf);
  buf.fill(0);
  assert.equal(dec(req.body), "abc");
});

Deno.test("parseRequest() does not check CSeq", () => {
  assert.equal(parseRequest(enc("OPTIONS * RTSP/1.0\r\n\r\n")).headers.size, 0);
});

const manyHeaders = Array.from({ length: MAX_HEADER_COUNT + 1 }, (_, i) => `X-H${i}: v\r\n`).join("");

const errorCases = [
  { name: "missing URL", input: "OPTIONS RTSP/1.0\r\n\r\n", status: 400 },
  { name: "double space", input: "OPTIONS  * RTSP/1.0\r\n\r\n", status: 400 },
  { name: "empty first line", input: "\r\nOPTIONS * RTSP/1.0\r\n\r\n", status: 400 },
  { name: "bad method characters", input: "OPT.IONS * RTSP/1.0\r\n\r\n", status: 400 },
  { name: "method over 64 bytes", input: `${"A".repeat(65)} * RTSP/1.0\r\n\r\n`, status: 400 },
  {
    name: "URL over 2048 bytes",
    input: `OPTIONS rtsp://h/${"a".repeat(2048)} RTSP/1.0\r\n\r\n`,
    status: 400,
  },
  { name: "junk version", input: "OPTIONS * FOO\r\n\r\n", status: 400 },
  { name: "RTSP/2.0", input: "OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", status: 505 },
  { name: "HTTP/1.1", input: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 505 },
  { name: "header without colon", input: "OPTIONS * RTSP/1.0\r\nCSeq 1\r\n\r\n", status: 400 },
  { name: "empty header name", input: "OPTIONS * RTSP/1.0\r\n: 1\r\n\r\n", status: 400 },
  { name: "continuation first", input: "OPTIONS * RTSP/1.0\r\n x\r\n\r\n", status: 400 },
  { name: "too many headers", input: `OPTIONS * RTSP/1.0\r\n${manyHeaders}\r\n`, status: 400 },
  { name: "name over 512 bytes", input: `OPTIONS * RTSP/1.0\r\n${"X".repeat(513)}: 1\r\n\r\n`, status: 400 },
  {
    name: "value over 2048 bytes",
    input: `OPTIONS * RTSP/1.0\r\nX: ${"v".repeat(2049)}\r\n\r\n`,
    status: 400,
  },
  {
    name: "folded value over 2048 bytes",
    input: `OPTIONS * RTSP/1.0\r\nX: ${"v".repeat(2000)}\r\n ${"v".repeat(100)}\r\n\r\n`,
    status: 400,
  },
  { name: "bad Content-Length", input: "ANNOUNCE * RTSP/1.0\r\nContent-Length: -1\r\n\r\n", status: 400 },
  {
    name: "body shorter than Content-Length",
    input: "ANNOUNCE * RTSP/1.0\r\nContent-Length: 9\r\n\r\nab",
    status: 400,
  },
] as const;

Deno.test("parseRequest() rejects malformed requests with the right status", async (t) => {
  for (const c of errorCases) {
    await t.step(c.name, () => {
      assert.throws(() => parseRequest(enc(c.input)), (e) => e instanceof RtspError && e.status === c.status);
    });
  }
});

Deno.test("parseRequest() accepts exactly the limits", () => {
  const headers = Array.from({ length: MAX_HEADER_COUNT }, (_, i) => `X-H${i}: v\r\n`).join("");
  assert.equal(parseRequest(enc(`OPTIONS * RTSP/1.0\r\n${headers}\r\n`)).headers.size, MAX_HEADER_COUNT);
  const longMethod = "A".repeat(64);
  assert.equal(parseRequest(enc(`${longMethod} * RTSP/1.0\r\n\r\n`)).method, longMethod);
  const longValue = "v".repeat(2048);
  assert.equal(
    parseRequest(enc(`OPTIONS * RTSP/1.0\r\nX: ${longValue}\r\n\r\n`)).headers.get("x"),
    longValue,
  );
});

Deno.test("parseRequest() fuzz: mutated golden inputs throw RtspError or reparse identically", () => {
  let seed = 0x2326;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const input = enc((cases[rand(cases.length)] as Case).input);
    for (let k = rand(4); k >= 0; k--) input[rand(input.length)] = rand(256);
    let req: RtspRequest;
    try {
      req = parseRequest(input);
    } catch (e) {
      assert.ok(e instanceof RtspError, `unexpected ${e}`);
      continue;
    }
    const again = parseRequest(serializeRequest(req));
    assert.deepEqual(view(again), view(req));
  }
});

/** parseRequest()'s convention: refuse with RtspParseError or VersionNotSupportedError, or return a request that round-trips. */
function checkRequest(input: Uint8Array): void {
  const refused = (e: unknown) => e instanceof RtspParseError || e instanceof VersionNotSupportedError;
  const req = parseOrRefuse(() => parseRequest(input), refused);
  if (req === REFUSED) return;
  assertRoundTrip(req, serializeRequest, parseRequest, view);
}

Deno.test("parseRequest() fuzz: corpus and 20,000 mutated requests refuse with RtspParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "request",
    label: "parseRequest()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: checkRequest,
    count: 20_000,
    seed: 0x2326,
    kind: "text",
    dictionary: ["Content-Length: 5\r\n", "Session: ", "Transport: ", " RTSP/1.0\r\n", "OPTIONS * ", "\r\n "],
  });
});

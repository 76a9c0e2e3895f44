import assert from "node:assert/strict";
import { RtspError, RtspParseError, VersionNotSupportedError } from "./errors.ts";
import { HeaderMap } from "./header_map.ts";
import { parseResponse, type RtspResponse, serializeResponse } from "./response.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const cases = [
  {
    name: "OPTIONS reply",
    status: 200,
    reason: "OK",
    headers: [["CSeq", "1"], ["Public", "DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, TEARDOWN"]],
    body: "",
    canonical:
      "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, TEARDOWN\r\n\r\n",
  },
  {
    name: "DESCRIBE reply with SDP",
    status: 200,
    reason: "OK",
    headers: [["CSeq", "2"], ["Content-Base", "rtsp://h/live/"], ["Content-Type", "application/sdp"], [
      "Content-Length",
      "10",
    ]],
    body: "v=0\r\ns=x\r\n",
    canonical:
      "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://h/live/\r\nContent-Type: application/sdp\r\n" +
      "Content-Length: 10\r\n\r\nv=0\r\ns=x\r\n",
  },
  {
    name: "455 with the RFC phrase",
    status: 455,
    reason: "Method Not Valid in This State",
    headers: [["CSeq", "3"]],
    body: "",
    canonical: "RTSP/1.0 455 Method Not Valid in This State\r\nCSeq: 3\r\n\r\n",
  },
  {
    name: "461",
    status: 461,
    reason: "Unsupported transport",
    headers: [["CSeq", "4"]],
    body: "",
    canonical: "RTSP/1.0 461 Unsupported transport\r\nCSeq: 4\r\n\r\n",
  },
] as const;

Deno.test("serializeResponse() writes the golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const body = c.body === "" ? undefined : enc(c.body);
      assert.equal(dec(serializeResponse(c.status, new HeaderMap(c.headers), body)), c.canonical);
    });
  }
});

Deno.test("parseResponse() parses the golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const res = parseResponse(enc(c.canonical));
      assert.equal(res.status, c.status);
      assert.equal(res.reason, c.reason);
      assert.equal(res.version, "RTSP/1.0");
      assert.deepEqual([...res.headers], c.headers);
      assert.equal(dec(res.body), c.body);
    });
  }
});

Deno.test("serializeResponse() adds Content-Length when a body is given and it is absent", () => {
  const h = new HeaderMap([["CSeq", "1"]]);
  assert.equal(
    dec(serializeResponse(200, h, enc("abc"))),
    "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 3\r\n\r\nabc",
  );
  assert.equal(
    dec(serializeResponse(200, h, new Uint8Array())),
    "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 0\r\n\r\n",
  );
  assert.equal(dec(serializeResponse(200, h)), "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
});

Deno.test("serializeResponse() takes a custom reason and unknown codes", () => {
  const h = new HeaderMap();
  assert.equal(dec(serializeResponse(200, h, undefined, "Fine")), "RTSP/1.0 200 Fine\r\n\r\n");
  assert.equal(dec(serializeResponse(462, h)), "RTSP/1.0 462 Client Error\r\n\r\n");
  assert.throws(() => serializeResponse(42, h), RangeError);
  assert.throws(() => serializeResponse(200, h, undefined, "a\r\nb"), TypeError);
});

Deno.test("parseResponse() tolerates bare LF, an empty reason and reasons with spaces", () => {
  assert.equal(parseResponse(enc("RTSP/1.0 200\nCSeq: 1\n\n")).reason, "");
  assert.equal(parseResponse(enc("RTSP/1.0 404 Stream Not Found\r\n\r\n")).reason, "Stream Not Found");
});

Deno.test("parseResponse() rejects junk", async (t) => {
  const errorCases = [
    { name: "no status", input: "RTSP/1.0\r\n\r\n", status: 400 },
    { name: "non-numeric status", input: "RTSP/1.0 abc OK\r\n\r\n", status: 400 },
    { name: "two-digit status", input: "RTSP/1.0 20 OK\r\n\r\n", status: 400 },
    { name: "HTTP version", input: "HTTP/1.1 200 OK\r\n\r\n", status: 400 },
    { name: "RTSP/2.0", input: "RTSP/2.0 200 OK\r\n\r\n", status: 505 },
    { name: "header without colon", input: "RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n", status: 400 },
  ] as const;
  for (const c of errorCases) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseResponse(enc(c.input)),
        (e) => e instanceof RtspError && e.status === c.status,
      );
    });
  }
});

function responseView(r: RtspResponse) {
  return { status: r.status, reason: r.reason, version: r.version, headers: [...r.headers], body: r.body };
}

/** parseResponse()'s convention: refuse with RtspParseError or VersionNotSupportedError, or return a response that round-trips. */
function checkResponse(input: Uint8Array): void {
  const refused = (e: unknown) => e instanceof RtspParseError || e instanceof VersionNotSupportedError;
  const res = parseOrRefuse(() => parseResponse(input), refused);
  if (res === REFUSED) return;
  const serialize = (r: RtspResponse) =>
    serializeResponse(r.status, r.headers, r.body.length > 0 ? r.body : undefined, r.reason);
  assertRoundTrip(res, serialize, parseResponse, responseView);
}

Deno.test("parseResponse() fuzz: corpus and mutated responses refuse with RtspParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "response",
    label: "parseResponse()",
    seeds: goldenSeeds(cases, (c) => [c.canonical]),
    check: checkResponse,
    count: 5000,
    seed: 7,
    kind: "text",
    dictionary: ["RTSP/1.0 ", " 200 ", "WWW-Authenticate: ", "Content-Length: 3\r\n"],
  });
});

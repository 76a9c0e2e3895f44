import assert from "node:assert/strict";
import { RtspError, RtspParseError } from "./errors.ts";
import {
  isAsteriskUrl,
  joinUrl,
  parseRtspUrl,
  type RtspUrl,
  serializeRtspUrl,
  stripTrailingSlash,
} from "./url.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases: { name: string; input: string; parsed: RtspUrl; canonical?: string }[] = [
  {
    name: "plain path",
    input: "rtsp://127.0.0.1:8554/live/cam1",
    parsed: { scheme: "rtsp", host: "127.0.0.1", port: 8554, path: "live/cam1", query: "" },
  },
  {
    name: "track control on the path",
    input: "rtsp://h/live/cam1/trackID=0",
    parsed: { scheme: "rtsp", host: "h", path: "live/cam1/trackID=0", query: "" },
  },
  {
    name: "ffmpeg: track appended to the query",
    input: "rtsp://h/path?q=1/trackID=0",
    parsed: { scheme: "rtsp", host: "h", path: "path", query: "q=1/trackID=0" },
  },
  {
    name: "ffmpeg: aggregate with a trailing slash in the query",
    input: "rtsp://h/path?q=1/",
    parsed: { scheme: "rtsp", host: "h", path: "path", query: "q=1/" },
  },
  {
    name: "GStreamer: track on the path, query at the end",
    input: "rtsp://h/path/trackID=0?q=1",
    parsed: { scheme: "rtsp", host: "h", path: "path/trackID=0", query: "q=1" },
  },
  {
    name: "VLC aggregate with trailing slash",
    input: "rtsp://h:554/live/cam1/",
    parsed: { scheme: "rtsp", host: "h", port: 554, path: "live/cam1/", query: "" },
  },
  {
    name: "IPv6 with port",
    input: "rtsp://[::1]:8554/live",
    parsed: { scheme: "rtsp", host: "::1", port: 8554, path: "live", query: "" },
  },
  {
    name: "IPv6 without port",
    input: "rtsps://[fe80::1%25eth0]/x",
    parsed: { scheme: "rtsps", host: "fe80::1%25eth0", path: "x", query: "" },
  },
  {
    name: "user and password, percent-decoded",
    input: "rtsp://ad%40min:p%3Ass@cam.local/Streaming/Channels/101",
    parsed: {
      scheme: "rtsp",
      user: "ad@min",
      password: "p:ss",
      host: "cam.local",
      path: "Streaming/Channels/101",
      query: "",
    },
    canonical: "rtsp://ad%40min:p%3Ass@cam.local/Streaming/Channels/101",
  },
  {
    name: "user without password",
    input: "rtsp://user@h/p",
    parsed: { scheme: "rtsp", user: "user", host: "h", path: "p", query: "" },
  },
  {
    name: "percent-encoded path",
    input: "rtsp://h/my%20cam/%C3%A9",
    parsed: { scheme: "rtsp", host: "h", path: "my cam/é", query: "" },
  },
  { name: "no path", input: "rtsp://h", parsed: { scheme: "rtsp", host: "h", path: "", query: "" } },
  {
    name: "upper-case scheme",
    input: "RTSP://h/p",
    parsed: { scheme: "rtsp", host: "h", path: "p", query: "" },
    canonical: "rtsp://h/p",
  },
  {
    name: "empty port means default",
    input: "rtsp://h:/p",
    parsed: { scheme: "rtsp", host: "h", path: "p", query: "" },
    canonical: "rtsp://h/p",
  },
];

Deno.test("parseRtspUrl() parses the golden cases", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(parseRtspUrl(c.input), c.parsed));
});

Deno.test("serializeRtspUrl() writes the golden cases back", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(serializeRtspUrl(c.parsed), c.canonical ?? c.input));
  }
});

Deno.test("parseRtspUrl() rejects non-rtsp URLs and garbage with 400", async (t) => {
  const bad = [
    "*",
    "",
    "http://h/p",
    "rtspu://h/p",
    "/live/cam1",
    "rtsp://",
    "rtsp:///p",
    "rtsp://h:99999/p",
    "rtsp://h:abc/p",
    "rtsp://[::1/p",
    "rtsp://[::1]x/p",
    "rtsp://h/a b",
    "rtsp://h/%zz",
    "rtsp://a:b:c/p",
  ];
  for (const url of bad) {
    await t.step(JSON.stringify(url), () => {
      assert.throws(() => parseRtspUrl(url), (e) => e instanceof RtspError && e.status === 400);
    });
  }
});

Deno.test("isAsteriskUrl() accepts only *", () => {
  assert.equal(isAsteriskUrl("*"), true);
  assert.equal(isAsteriskUrl("rtsp://h/*"), false);
  assert.equal(isAsteriskUrl(" *"), false);
});

Deno.test("stripTrailingSlash() removes trailing slashes only", () => {
  assert.equal(stripTrailingSlash("live/cam1/"), "live/cam1");
  assert.equal(stripTrailingSlash("live/cam1//"), "live/cam1");
  assert.equal(stripTrailingSlash("live/cam1"), "live/cam1");
  assert.equal(stripTrailingSlash("/"), "");
});

Deno.test("joinUrl() resolves controls per RFC 2326 C.1.1", async (t) => {
  const joinCases = [
    { name: "relative control", base: "rtsp://h/p", control: "trackID=0", want: "rtsp://h/p/trackID=0" },
    { name: "base with slash", base: "rtsp://h/p/", control: "trackID=0", want: "rtsp://h/p/trackID=0" },
    {
      name: "ffmpeg streamid",
      base: "rtsp://h:8554/live/",
      control: "streamid=1",
      want: "rtsp://h:8554/live/streamid=1",
    },
    { name: "leading slash", base: "rtsp://h/p/", control: "/trackID=1", want: "rtsp://h/p/trackID=1" },
    {
      name: "absolute control",
      base: "rtsp://h/p",
      control: "rtsp://other/x/track1",
      want: "rtsp://other/x/track1",
    },
    { name: "upper-case absolute", base: "rtsp://h/p", control: "RTSP://o/x", want: "RTSP://o/x" },
    { name: "asterisk", base: "rtsp://h/p/", control: "*", want: "rtsp://h/p" },
    { name: "no path in base", base: "rtsp://h", control: "trackID=0", want: "rtsp://h/trackID=0" },
    {
      name: "query kept at the end",
      base: "rtsp://h/p?x=1",
      control: "trackID=0",
      want: "rtsp://h/p/trackID=0?x=1",
    },
    {
      name: "ffmpeg aggregate query",
      base: "rtsp://h/p?x=1/",
      control: "trackID=0",
      want: "rtsp://h/p/trackID=0?x=1",
    },
    { name: "asterisk with query", base: "rtsp://h/p/?x=1", control: "*", want: "rtsp://h/p?x=1" },
    { name: "control with own query", base: "rtsp://h/p?x=1", control: "t?y=2", want: "rtsp://h/p/t?y=2" },
  ] as const;
  for (const c of joinCases) await t.step(c.name, () => assert.equal(joinUrl(c.base, c.control), c.want));
});

Deno.test("joinUrl() output parses into path and query", () => {
  assert.deepEqual(parseRtspUrl(joinUrl("rtsp://h/p?x=1", "trackID=0")), {
    scheme: "rtsp",
    host: "h",
    path: "p/trackID=0",
    query: "x=1",
  });
});

/** parseRtspUrl()'s convention: refuse with RtspParseError 400, or a URL that round-trips. */
function checkUrl(input: Uint8Array): void {
  const text = new TextDecoder().decode(input);
  const refused = (e: unknown) => e instanceof RtspParseError && e.status === 400;
  const url = parseOrRefuse(() => parseRtspUrl(text), refused);
  if (url === REFUSED) return;
  assertRoundTrip(url, serializeRtspUrl, parseRtspUrl);
}

Deno.test("parseRtspUrl() fuzz: corpus and mutated URLs refuse with 400 or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "url",
    label: "parseRtspUrl()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: checkUrl,
    count: 5000,
    seed: 3986,
    kind: "text",
    dictionary: [
      "rtsps://",
      "user:pw@",
      ":8554",
      "[fe80::1%25eth0]",
      "/trackID=0",
      "?q=1",
      "%2F",
      "%3F",
      "%25",
    ],
  });
});

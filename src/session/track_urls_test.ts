import assert from "node:assert/strict";
import { parseRtspUrl } from "../rtsp/url.ts";
import { resolveBaseUrl, resolveControl, urlTargets } from "./track_urls.ts";

const CASES: [string, string, { path: string; control: string }[]][] = [
  ["plain aggregate", "rtsp://h:8554/live/cam1", [{ path: "live/cam1", control: "" }, {
    path: "live",
    control: "cam1",
  }]],
  ["track on the path (GStreamer)", "rtsp://h/live/cam1/trackID=1?q=1", [
    { path: "live/cam1/trackID=1", control: "" },
    { path: "live/cam1", control: "trackID=1" },
  ]],
  ["track in the query (ffmpeg)", "rtsp://h/live/cam1?q=1/trackID=0", [
    { path: "live/cam1", control: "trackID=0" },
    { path: "live/cam1", control: "" },
    { path: "live", control: "cam1" },
  ]],
  ["aggregate with slash in the query (ffmpeg)", "rtsp://h/cam?q=1/", [
    { path: "cam", control: "" },
    { path: "cam", control: "" },
  ]],
  ["trailing slash (VLC)", "rtsp://h/cam/", [{ path: "cam", control: "" }]],
];

for (const [name, url, want] of CASES) {
  Deno.test(`urlTargets() reads ${name}`, () => {
    assert.deepEqual(urlTargets(parseRtspUrl(url)), want);
  });
}

Deno.test("resolveBaseUrl() and resolveControl() read the URLs cameras send", async (t) => {
  // [name, request URL, Content-Base, session control, media control, SETUP URL]
  const cases: [string, string, string | undefined, string | undefined, string | undefined, string][] = [
    [
      "Content-Base with a slash, relative control",
      "rtsp://c/s",
      "rtsp://c/s/",
      undefined,
      "trackID=1",
      "rtsp://c/s/trackID=1",
    ],
    ["no Content-Base: the request URL", "rtsp://c/s", undefined, undefined, "track1", "rtsp://c/s/track1"],
    [
      "relative Content-Base /path/",
      "rtsp://c:554/live/ch0",
      "/live/ch0/",
      undefined,
      "video",
      "rtsp://c:554/live/ch0/video",
    ],
    [
      "absolute control on another host",
      "rtsp://c/s",
      "rtsp://c/s/",
      undefined,
      "rtsp://d:8554/x/t0",
      "rtsp://d:8554/x/t0",
    ],
    ["control *", "rtsp://c/s", "rtsp://c/s/", undefined, "*", "rtsp://c/s/"],
    ["no control", "rtsp://c/s", undefined, undefined, undefined, "rtsp://c/s"],
    [
      "control with a query string",
      "rtsp://c/s?x=1",
      undefined,
      undefined,
      "trackID=0?x=1",
      "rtsp://c/s/trackID=0?x=1",
    ],
    [
      "the base's query goes to the end",
      "rtsp://c/Streaming/101?transportmode=unicast",
      undefined,
      undefined,
      "trackID=1",
      "rtsp://c/Streaming/101/trackID=1?transportmode=unicast",
    ],
    [
      "absolute session control",
      "rtsp://c/s",
      "rtsp://c/s/",
      "rtsp://c/other/",
      "trackID=2",
      "rtsp://c/other/trackID=2",
    ],
    ["session control * keeps Content-Base", "rtsp://c/s", "rtsp://c/base/", "*", "t", "rtsp://c/base/t"],
    [
      "host-relative control",
      "rtsp://c:10554/a/b",
      undefined,
      undefined,
      "/a/b/track2",
      "rtsp://c:10554/a/b/track2",
    ],
  ];
  for (const [name, req, base, session, control, want] of cases) {
    await t.step(name, () => assert.equal(resolveControl(resolveBaseUrl(req, base, session), control), want));
  }
});

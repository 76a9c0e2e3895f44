import assert from "node:assert/strict";
import { parseRtspUrl } from "../rtsp/url.ts";
import { urlTargets } from "./track_urls.ts";

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

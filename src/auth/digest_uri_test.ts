import assert from "node:assert/strict";
import { digestUriMatches } from "./digest_uri.ts";

Deno.test("digestUriMatches() accepts the forms clients send for the same resource", () => {
  const ok: [string, string, string][] = [
    ["identical", "rtsp://h:8554/live/cam1", "rtsp://h:8554/live/cam1"],
    ["relative (Bosch BVMS)", "/live/cam1", "rtsp://h:8554/live/cam1"],
    ["relative without slash", "live/cam1", "rtsp://h:8554/live/cam1"],
    ["another host name or port", "rtsp://10.0.0.5/live/cam1", "rtsp://cam.example:8554/live/cam1"],
    ["trailing slash in the uri (VLC)", "rtsp://h/live/cam1/", "rtsp://h/live/cam1"],
    ["trailing slash in the request (HappyTime)", "rtsp://h/live/cam1", "rtsp://h/live/cam1/"],
    ["query kept", "rtsp://h/live/cam1?token=1", "rtsp://h/live/cam1?token=1"],
    ["query with FFmpeg's trailing slash", "rtsp://h/live/cam1?token=1/", "rtsp://h/live/cam1?token=1"],
    ["track after the query (FFmpeg)", "rtsp://h/live/cam1?token=1", "rtsp://h/live/cam1?token=1/trackID=0"],
    ["stream URL for a track's SETUP (VLC)", "rtsp://h/live/cam1/", "rtsp://h/live/cam1/trackID=1"],
    [
      "stream URL for a track with a query (GStreamer)",
      "rtsp://h/live/cam1?q=1",
      "rtsp://h/live/cam1/trackID=0?q=1",
    ],
    ["percent-encoding", "/live/my%20cam", "rtsp://h/live/my cam"],
    ["OPTIONS *", "*", "*"],
    ["root", "rtsp://h", "rtsp://h/"],
    ["upper-case scheme", "RTSP://H/live/cam1", "rtsp://h/live/cam1"],
  ];
  for (const [name, uri, req] of ok) assert.equal(digestUriMatches(uri, req), true, name);
});

Deno.test("digestUriMatches() refuses other resources", () => {
  const bad: [string, string, string][] = [
    ["other path", "rtsp://h/live/cam2", "rtsp://h/live/cam1"],
    ["prefix inside a segment", "rtsp://h/live/cam", "rtsp://h/live/cam1"],
    ["child names the parent", "rtsp://h/live/cam1/trackID=0", "rtsp://h/live/cam1"],
    ["root covers nothing else", "rtsp://h/", "rtsp://h/live/cam1"],
    ["relative root", "/", "rtsp://h/live/cam1"],
    ["other query", "rtsp://h/live/cam1?token=1", "rtsp://h/live/cam1?token=2"],
    ["query missing", "rtsp://h/live/cam1", "rtsp://h/live/cam1?token=1"],
    ["star for a path", "*", "rtsp://h/live/cam1"],
    ["path for star", "/", "*"],
    ["query prefix inside a value", "rtsp://h/live/cam1?q=1", "rtsp://h/live/cam1?q=12"],
    ["track query on another path", "rtsp://h/live/cam2?q=1", "rtsp://h/live/cam1?q=1/trackID=0"],
    ["case of the path matters", "rtsp://h/Live/cam1", "rtsp://h/live/cam1"],
  ];
  for (const [name, uri, req] of bad) assert.equal(digestUriMatches(uri, req), false, name);
});

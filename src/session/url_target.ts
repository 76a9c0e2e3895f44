import type { RtspUrl } from "../rtsp/url.ts";
import { stripTrailingSlash } from "../rtsp/url.ts";

/** A request URL read as (stream path, track control); control "" is the aggregate URL. */
export interface UrlTarget {
  path: string;
  control: string;
}

/**
 * Every way a request URL may name a path and a track control (RTSP-NOTES 1 and 3): ffmpeg appends
 * the control to the query (`/p?q=1/trackID=0`), GStreamer to the path (`/p/trackID=0?q=1`), VLC
 * SETUPs the base URL with a trailing slash. Most likely first; the caller keeps the first that
 * names an existing path and control.
 */
export function urlTargets(url: RtspUrl): UrlTarget[] {
  const out: UrlTarget[] = [];
  const path = stripTrailingSlash(url.path);
  const q = url.query.lastIndexOf("/");
  if (q >= 0) out.push({ path, control: url.query.slice(q + 1) });
  out.push({ path, control: "" });
  const slash = path.lastIndexOf("/");
  if (slash > 0) out.push({ path: path.slice(0, slash), control: path.slice(slash + 1) });
  return out;
}

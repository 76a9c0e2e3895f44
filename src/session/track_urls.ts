/**
 * Which stream and track a request URL names. A viewer's URLs are resolved against the stream of
 * its session (or, at its first SETUP, the streams published); a publisher's against the controls
 * of its own ANNOUNCE SDP (docs/protocol.md §2-§6).
 */
import { joinUrl, parseRtspUrl, type RtspUrl, stripTrailingSlash } from "../rtsp/url.ts";
import type { LocalStream } from "../stream/local_stream.ts";
import { trackControl } from "../stream/stream_info.ts";
import type { Announced } from "./publisher_session.ts";

/** A request URL read as (stream path, track control); control "" is the aggregate URL. */
export interface UrlTarget {
  path: string;
  control: string;
}

/**
 * Every way a request URL may name a path and a track control (docs/protocol.md §2, §3): ffmpeg
 * appends the control to the query (`/p?q=1/trackID=0`), GStreamer to the path
 * (`/p/trackID=0?q=1`), VLC SETUPs the base URL with a trailing slash. Most likely first; the
 * caller keeps the first that names an existing path and control.
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

/** Whether a PLAY/RECORD/PAUSE URL names `path` (aggregate or one of its tracks). */
export function namesPath(path: string, u: RtspUrl): boolean {
  return urlTargets(u).some((t) => t.path === path);
}

function normalise(u: RtspUrl): string {
  return stripTrailingSlash(u.path) + (u.query === "" ? "" : "?" + u.query);
}

/**
 * Which announced media a publisher's SETUP URL names, or -1: controls are the publisher's own
 * (ffmpeg `streamid=N`, Larix `mediaUUID=...`), relative to the session-level control or the
 * ANNOUNCE URL, or absolute (docs/protocol.md §5).
 */
export function findPublisherTrack(a: Announced, path: string, u: RtspUrl): number {
  const tracks = a.info.tracks;
  const want = normalise(u);
  // A session-level control is the base of relative media controls (RFC 2326 §C.1.1); `*` or
  // none means the ANNOUNCE URL (GStreamer's rtspclientsink sends `*`).
  const base = joinUrl(a.baseUrl, a.info.sessionControl ?? "*");
  for (const tr of tracks) {
    if (tr.control === undefined || tr.control === "*") continue;
    const abs = joinUrl(base, tr.control);
    try {
      if (normalise(parseRtspUrl(abs)) === want) return tr.index;
    } catch {
      // an unparseable control never matches
    }
  }
  for (const target of urlTargets(u)) {
    if (target.path !== path) continue;
    if (target.control === "") {
      if (tracks.length === 1) return 0;
      continue;
    }
    const tr = tracks.find((x) => x.control === target.control);
    if (tr) return tr.index;
  }
  return -1;
}

/** What a viewer's SETUP URL names. */
export type ViewerTarget =
  | { stream: LocalStream; track: number }
  /** The aggregate URL of a stream with several tracks (459). */
  | { stream: LocalStream; track: "aggregate" }
  /** A stream, but none of its tracks (404). */
  | { stream: LocalStream; track: null }
  | null;

/**
 * The stream and track a viewer's SETUP URL names, trying each reading of the URL against `lookup`
 * (the streams published); dm-live's controls are `trackID=N`.
 */
export function findViewerTarget(
  lookup: (path: string) => LocalStream | undefined,
  u: RtspUrl,
): ViewerTarget {
  let found: LocalStream | undefined;
  let aggregate = false;
  for (const target of urlTargets(u)) {
    const stream = lookup(target.path);
    if (!stream) continue;
    found = stream;
    if (target.control === "") {
      // VLC and others SETUP the base URL of a single-track stream (docs/protocol.md §6).
      if (stream.info.tracks.length === 1) return { stream, track: 0 };
      aggregate = true;
      continue;
    }
    const m = /^trackID=(\d+)$/.exec(target.control);
    if (m && Number(m[1]) < stream.info.tracks.length) return { stream, track: Number(m[1]) };
  }
  if (found === undefined) return null;
  return { stream: found, track: aggregate ? "aggregate" : null };
}

/** The request URL cut back to the stream path (dropping a track control and query). */
export function baseUrlOf(reqUrl: string, path: string): string {
  const q = reqUrl.indexOf("?");
  const noQuery = q >= 0 ? reqUrl.slice(0, q) : reqUrl;
  const i = noQuery.indexOf("/" + path);
  return i >= 0 ? noQuery.slice(0, i + 1 + path.length) : stripTrailingSlash(noQuery);
}

/** A track's URL under a stream's base URL, as RTP-Info names it. */
export function trackUrl(base: string, track: number): string {
  return `${base}/${trackControl(track)}`;
}

/** `scheme://host[:port]` of an absolute URL. */
function originOf(url: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  return m === null ? url : m[0];
}

/**
 * The base URL of a stream a client DESCRIBEd (docs/protocol.md §4): a session-level control that is
 * absolute, else `Content-Base` (absolute, or relative to the request URL: some cameras send
 * `/path/`), else the request URL; trailing slashes kept as the server wrote them.
 */
export function resolveBaseUrl(requestUrl: string, contentBase?: string, sessionControl?: string): string {
  let base = requestUrl;
  const cb = contentBase?.trim();
  if (cb !== undefined && cb !== "") {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(cb)) base = cb;
    else if (cb.startsWith("/")) base = originOf(requestUrl) + cb;
    else base = joinUrl(requestUrl, cb);
  }
  return resolveControl(base, sessionControl);
}

/**
 * The URL to SETUP a track with control `control` under `base`: absolute controls as they are (some
 * cameras name another host), `*` or none the base itself, `/abs/path` on the base's host, anything
 * else relative to the base (its query kept at the end, as joinUrl() does).
 */
export function resolveControl(base: string, control: string | undefined): string {
  if (control === undefined || control === "" || control === "*") return base;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(control)) return control;
  if (control.startsWith("/")) return originOf(base) + control;
  return joinUrl(base, control);
}

import { RtspParseError } from "./errors.ts";

/** An rtsp:// or rtsps:// URL split into parts (RFC 2326 §3.2); `path` has no leading `/` and is decoded. */
export interface RtspUrl {
  scheme: "rtsp" | "rtsps";
  user?: string;
  password?: string;
  /** Host name or address; IPv6 without the brackets. */
  host: string;
  port?: number;
  /** Percent-decoded, without the leading `/`, e.g. `live/cam1/trackID=0`. */
  path: string;
  /** Raw query without `?`, possibly "" (ffmpeg appends its track control here). */
  query: string;
}

const SCHEME_RE = /^(rtsps?):\/\//i;
const HOST_BAD_RE = /[\0-\x20\x7f"<>\\^`{|}[\]/?#@]/;
const IPV6_RE = /^[0-9A-Fa-f:.]+(%[0-9A-Za-z._~-]+)?$/;

function badUrl(url: string, why: string): RtspParseError {
  return new RtspParseError(`Invalid URL ${JSON.stringify(url.slice(0, 128))}: ${why}`);
}

function decode(url: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badUrl(url, "bad percent-encoding");
  }
}

/** Whether the Request-URI is `*`, meaning the server itself (RFC 2326 §6.1, OPTIONS). */
export function isAsteriskUrl(url: string): boolean {
  return url === "*";
}

/** Parses an absolute rtsp:// or rtsps:// URL (RFC 2326 §3.2); throws RtspParseError (400) otherwise. */
export function parseRtspUrl(url: string): RtspUrl {
  const m = SCHEME_RE.exec(url);
  if (m === null) throw badUrl(url, "not an rtsp:// or rtsps:// URL");
  if (/[\0-\x20\x7f]/.test(url)) throw badUrl(url, "contains spaces or control characters");
  const scheme = (m[1] as string).toLowerCase() as "rtsp" | "rtsps";
  let rest = url.slice(m[0].length);
  // A fragment never reaches the server in well-behaved clients; drop it rather than fold it into the path.
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);

  const authEnd = rest.search(/[/?]/);
  const authority = authEnd < 0 ? rest : rest.slice(0, authEnd);
  const afterAuth = authEnd < 0 ? "" : rest.slice(authEnd);

  const out: RtspUrl = { scheme, host: "", path: "", query: "" };
  let hostPort = authority;
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = userinfo.indexOf(":");
    out.user = decode(url, colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) out.password = decode(url, userinfo.slice(colon + 1));
  }

  let portText: string | undefined;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close < 0) throw badUrl(url, "unterminated IPv6 address");
    out.host = hostPort.slice(1, close);
    if (!IPV6_RE.test(out.host)) throw badUrl(url, "invalid IPv6 address");
    const after = hostPort.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw badUrl(url, "junk after IPv6 address");
    if (after !== "") portText = after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(":");
    out.host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) portText = hostPort.slice(colon + 1);
    if (HOST_BAD_RE.test(out.host) || out.host.includes(":")) throw badUrl(url, "invalid host");
  }
  if (out.host === "") throw badUrl(url, "missing host");
  // An empty port after the colon means the default, as in RFC 3986 §3.2.3.
  if (portText !== undefined && portText !== "") {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw badUrl(url, "invalid port");
    out.port = Number(portText);
  }

  const q = afterAuth.indexOf("?");
  const rawPath = q < 0 ? afterAuth : afterAuth.slice(0, q);
  out.query = q < 0 ? "" : afterAuth.slice(q + 1);
  out.path = decode(url, rawPath.startsWith("/") ? rawPath.slice(1) : rawPath);
  return out;
}

// Per code point (`u`): encoding the halves of a surrogate pair one by one throws URIError.
const PATH_UNSAFE_RE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

/** Writes an RtspUrl back as text, percent-encoding the path and user info (RFC 2326 §3.2). */
export function serializeRtspUrl(u: RtspUrl): string {
  let s = `${u.scheme}://`;
  if (u.user !== undefined) {
    s += encodeURIComponent(u.user);
    if (u.password !== undefined) s += `:${encodeURIComponent(u.password)}`;
    s += "@";
  }
  s += u.host.includes(":") ? `[${u.host}]` : u.host;
  if (u.port !== undefined) s += `:${u.port}`;
  const path = u.path.replace(PATH_UNSAFE_RE, (c) => encodeURIComponent(c));
  if (path !== "" || u.query !== "") s += `/${path}`;
  if (u.query !== "") s += `?${u.query}`;
  return s;
}

/** Removes trailing slashes, e.g. VLC's `live/cam1/` aggregate path (RFC 2326 §C.1.1). */
export function stripTrailingSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

/**
 * Resolves an SDP `a=control` against a base URL (RFC 2326 §C.1.1). The control goes on the path and
 * the base's query stays at the end (GStreamer style: `rtsp://h/p/trackID=0?x=1`), because a
 * query-appended control (ffmpeg style) is lost by clients that strip queries; ffmpeg's trailing `/`
 * in an aggregate query is dropped.
 */
export function joinUrl(base: string, control: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(control)) return control;
  const q = base.indexOf("?");
  const front = stripTrailingSlash(q < 0 ? base : base.slice(0, q));
  const query = q < 0 ? "" : stripTrailingSlash(base.slice(q + 1));
  if (control === "*" || control === "") return query === "" ? front : `${front}?${query}`;
  let rel = control;
  while (rel.startsWith("/")) rel = rel.slice(1);
  // A control that brings its own query wins; two `?` would make the URL ambiguous.
  if (query === "" || rel.includes("?")) return `${front}/${rel}`;
  return `${front}/${rel}?${query}`;
}

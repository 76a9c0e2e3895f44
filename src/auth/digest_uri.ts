/**
 * Whether a Digest `uri` parameter names the requested resource (RFC 7616 §3.4.6 wants them equal).
 * RTSP clients differ in what they put there, so the check is on the resource, not the text:
 * - an absolute URL or just the path: Bosch BVMS sends a relative uri (docs/protocol.md §23), and clients
 *   behind NAT or a proxy may name another host, so scheme, host and port are ignored;
 * - trailing slashes on the path or the query: VLC SETUPs the base URL with one, HappyTime NVR
 *   without (docs/protocol.md §3), and FFmpeg writes aggregate URLs as `?query/`;
 * - percent-encoding: compared decoded;
 * - the uri may name the stream when the request names one of its tracks: VLC answers a track's
 *   SETUP with the digest of the stream URL (gortsplib accepts the same, pkg/auth/verify.go). A track
 *   is a path segment below the stream (`/live/cam1/trackID=0?q`) or, as FFmpeg writes it, after the
 *   query (`/live/cam1?q/trackID=0`). `/live/cam` does not cover `/live/cam1`; the root only itself.
 * The response itself is always computed over the uri exactly as sent, so this leniency only widens
 * which resource a valid answer may be used for, within one nonce's address and lifetime.
 */

const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function stripTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--;
  return s.slice(0, end);
}

interface Resource {
  /** Decoded, with a leading and without trailing slashes ("" for the root). */
  path: string;
  /** Decoded, without `?` and trailing slashes. */
  query: string;
}

/** The resource a URI names, or null for `*`. */
function resource(uri: string): Resource | null {
  if (uri === "*") return null;
  const m = ABSOLUTE_RE.exec(uri);
  let rest = m === null ? uri : uri.slice(m[0].length);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  return {
    path: stripTrailingSlashes(decode(path.startsWith("/") ? path : `/${path}`)),
    query: q < 0 ? "" : stripTrailingSlashes(decode(rest.slice(q + 1))),
  };
}

/** Whether the Digest `uri` names the request URI's resource or a parent of it (see the module comment). */
export function digestUriMatches(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const d = resource(digestUri);
  const r = resource(requestUri);
  if (d === null || r === null) return false;
  if (d.query === r.query) {
    // Same resource, or a track below the stream in the path (GStreamer, VLC: /live/cam1/trackID=0?q).
    return d.path === r.path || (d.path !== "" && r.path.startsWith(`${d.path}/`));
  }
  // FFmpeg puts the track after the query: /live/cam1?q=1/trackID=0.
  return d.path === r.path && d.query !== "" && r.query.startsWith(`${d.query}/`);
}

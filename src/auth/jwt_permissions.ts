/**
 * What a verified JWT allows, in MediaMTX's claim shape: the claim (`mediamtx_permissions` by
 * default) lists `{action, path}` entries; an entry allows its action ("publish" or "read"; other
 * actions are ignored) on its path: the path itself (no leading '/': `cams/front`), every path when
 * `path` is "" or left out, or the paths a regular expression matches when it starts with `~`
 * (unanchored, as `paths:` patterns: `~^cams/`). And where a request carries a token.
 */

/** What a request wants on a path (as access control names it). */
export type TokenAction = "publish" | "read";

/** The most entries of a claim looked at: a claim is the issuer's, but a path check stays bounded. */
const MAX_ENTRIES = 1000;

/** Whether the claims' `claimKey` list allows `action` on `path`. */
export function claimsPermit(
  claims: Readonly<Record<string, unknown>>,
  claimKey: string,
  action: TokenAction,
  path: string,
): boolean {
  const list = claims[claimKey];
  if (!Array.isArray(list)) return false;
  for (const entry of list.slice(0, MAX_ENTRIES)) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) continue;
    const e = entry as Record<string, unknown>;
    if (e.action !== action) continue;
    if (pathMatches(e.path, path)) return true;
  }
  return false;
}

function pathMatches(pattern: unknown, path: string): boolean {
  if (pattern === undefined || pattern === null || pattern === "") return true;
  if (typeof pattern !== "string") return false;
  if (!pattern.startsWith("~")) return pattern === path;
  try {
    return new RegExp(pattern.slice(1)).test(path);
  } catch {
    // An expression JavaScript cannot compile allows nothing.
    return false;
  }
}

/** A compact JWS (header.payload.signature, base64url; a JSON header always starts "eyJ"). */
const COMPACT_JWS = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a password (or any text) is shaped like a JWT, so it is verified rather than forwarded. */
export function looksLikeJwt(s: string): boolean {
  return s.length <= 16384 && COMPACT_JWS.test(s);
}

/**
 * The token of a request URL's `jwt=` query parameter, or null. ffmpeg SETUPs a track as
 * `/path?jwt=TOKEN/trackID=0`; a token holds no '/', so the value ends at the first one.
 */
export function jwtFromQuery(query: string): string | null {
  for (const part of query.split("&")) {
    if (!part.startsWith("jwt=")) continue;
    let v = part.slice(4);
    const slash = v.indexOf("/");
    if (slash >= 0) v = v.slice(0, slash);
    try {
      v = decodeURIComponent(v);
    } catch {
      return null;
    }
    return v === "" ? null : v;
  }
  return null;
}

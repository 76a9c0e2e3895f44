/**
 * The `Authorization` request header and the `WWW-Authenticate` challenges (RFC 7235 §2.1, RFC 7617
 * Basic, RFC 7616 Digest), as RTSP reuses them (RFC 2326 §12.5, §12.44). Parsing is tolerant of
 * whitespace and case; writing is canonical.
 */
import { Buffer } from "node:buffer";
import { type DigestAlgorithm, parseDigestAlgorithm } from "./digest.ts";

/** Credentials from an Authorization header. Digest parameter names are lower-cased, values unquoted. */
export type Authorization =
  | { scheme: "basic"; user: string; pass: string }
  | { scheme: "digest"; params: Map<string, string> };

/** One challenge, written as one `WWW-Authenticate` header. */
export type Challenge =
  | { scheme: "basic"; realm: string }
  | {
    scheme: "digest";
    realm: string;
    nonce: string;
    algorithm: DigestAlgorithm;
    /** Offer qop="auth" (RFC 7616 §3.3); clients that ignore it answer in the RFC 2069 form. */
    qop: boolean;
    /** The previous nonce was only too old: retry without asking the user (RFC 7616 §3.3). */
    stale: boolean;
  };

const SP = 0x20;
const HTAB = 0x09;
// tchar (RFC 7230 §3.2.6): ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const TOKEN68_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const utf8 = new TextDecoder();

function isTchar(s: string, i: number): boolean {
  return i < s.length && TCHAR.test(s.charAt(i));
}

function skipOws(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === SP || s.charCodeAt(i) === HTAB)) i++;
  return i;
}

/** Scheme token at the start (after whitespace) and where its parameters begin; null without one. */
function splitScheme(value: string): { scheme: string; rest: number } | null {
  const start = skipOws(value, 0);
  let i = start;
  while (isTchar(value, i)) i++;
  if (i === start) return null;
  // The scheme and its credentials are separated by whitespace; "Digestusername=…" is not Digest.
  if (i < value.length && value.charCodeAt(i) !== SP && value.charCodeAt(i) !== HTAB) return null;
  return { scheme: value.slice(start, i).toLowerCase(), rest: skipOws(value, i) };
}

/**
 * `k=v, k="v"` auth-params (RFC 7235 §2.1): names case-insensitive (lower-cased here), quoted strings
 * with backslash escapes and commas inside, empty list elements skipped. A repeated name is refused
 * (RFC 7235 §2.2: each at most once), as is anything unparsable.
 */
function parseAuthParams(s: string, i: number): Map<string, string> | null {
  const out = new Map<string, string>();
  for (;;) {
    i = skipOws(s, i);
    if (i >= s.length) return out;
    if (s.charAt(i) === ",") {
      i++;
      continue;
    }
    const nameStart = i;
    while (isTchar(s, i)) i++;
    if (i === nameStart) return null;
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipOws(s, i);
    if (s.charAt(i) !== "=") return null;
    i = skipOws(s, i + 1);
    let value = "";
    if (s.charAt(i) === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s.charAt(i);
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\") {
          if (i + 1 >= s.length) return null;
          value += s.charAt(i + 1);
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return null;
    } else {
      // Tolerant: an unquoted value runs to the next comma or space (clients send uri=/a/b unquoted).
      const valueStart = i;
      while (i < s.length && !/[,\s"]/.test(s.charAt(i))) i++;
      if (i === valueStart) return null;
      value = s.slice(valueStart, i);
    }
    if (out.has(name)) return null;
    out.set(name, value);
    i = skipOws(s, i);
    if (i < s.length && s.charAt(i) !== ",") return null;
  }
}

/** Parses an Authorization value: `Basic <base64 user:pass>` or `Digest k=v, …`; null when malformed or another scheme. */
export function parseAuthorization(value: string): Authorization | null {
  const head = splitScheme(value);
  if (head === null) return null;
  if (head.scheme === "basic") {
    const token = value.slice(head.rest).trimEnd();
    if (!TOKEN68_RE.test(token) || token.length % 4 === 1) return null;
    // RFC 7617 §2.1: user-id and password are UTF-8; the user-id cannot contain a colon, the password can.
    const text = utf8.decode(Buffer.from(token, "base64"));
    const colon = text.indexOf(":");
    if (colon < 0) return null;
    return { scheme: "basic", user: text.slice(0, colon), pass: text.slice(colon + 1) };
  }
  if (head.scheme === "digest") {
    const params = parseAuthParams(value, head.rest);
    if (params === null || params.size === 0) return null;
    return { scheme: "digest", params };
  }
  return null;
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

// RFC 7616 §3.4 writes these three unquoted; every other Digest parameter is a quoted string.
const UNQUOTED_PARAMS = new Set(["algorithm", "qop", "nc"]);

/** Writes an Authorization value (what a client sends; used by tests and by pulls from cameras). */
export function serializeAuthorization(a: Authorization): string {
  if (a.scheme === "basic") {
    return `Basic ${Buffer.from(`${a.user}:${a.pass}`, "utf8").toString("base64")}`;
  }
  const parts: string[] = [];
  // Only a token can go unquoted: `qop=auth, auth-int` or an empty nc would not read back.
  for (const [k, v] of a.params) {
    parts.push(`${k}=${UNQUOTED_PARAMS.has(k) && TOKEN_RE.test(v) ? v : quote(v)}`);
  }
  return `Digest ${parts.join(", ")}`;
}

/**
 * Writes one `WWW-Authenticate` value. Digest starts with realm then nonce, in that order and joined by
 * `", "`: live555 (VLC) reads them with a fixed sscanf pattern.
 */
export function serializeChallenge(c: Challenge): string {
  if (c.scheme === "basic") return `Basic realm=${quote(c.realm)}`;
  let s = `Digest realm=${quote(c.realm)}, nonce=${quote(c.nonce)}, algorithm=${c.algorithm}`;
  if (c.qop) s += `, qop="auth"`;
  if (c.stale) s += ", stale=TRUE";
  return s;
}

/**
 * Parses one `WWW-Authenticate` challenge (the client side of serializeChallenge): Basic with a realm,
 * or Digest with realm and nonce; an absent algorithm is MD5. Null when malformed or not understood.
 */
export function parseChallenge(value: string): Challenge | null {
  const head = splitScheme(value);
  if (head === null) return null;
  const params = parseAuthParams(value, head.rest);
  if (params === null) return null;
  const realm = params.get("realm");
  if (realm === undefined) return null;
  if (head.scheme === "basic") return { scheme: "basic", realm };
  if (head.scheme !== "digest") return null;
  const nonce = params.get("nonce");
  const algorithm = parseDigestAlgorithm(params.get("algorithm"));
  if (nonce === undefined || algorithm === null) return null;
  // qop is a quoted list (RFC 7616 §3.3: qop="auth, auth-int").
  const qop = (params.get("qop") ?? "").split(",").some((q) => q.trim().toLowerCase() === "auth");
  const stale = (params.get("stale") ?? "").toLowerCase() === "true";
  return { scheme: "digest", realm, nonce, algorithm, qop, stale };
}

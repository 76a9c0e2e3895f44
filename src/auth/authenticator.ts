/**
 * The check the RTSP handlers run before ANNOUNCE, DESCRIBE, SETUP…: IP allow-list, failure limit,
 * then Basic (RFC 7617) or Digest (RFC 7616, MD5 and SHA-256, qop=auth or the RFC 2069 form)
 * credentials against a path's permission. Results carry a short reason for the log line; no
 * password or secret ever appears in one.
 */
import type { AuthShared } from "./auth_shared.ts";
import { parseAuthorization, serializeChallenge } from "./authorization_header.ts";
import { type DigestAlgorithm, digestHa2, digestResponse, parseDigestAlgorithm } from "./digest.ts";
import { digestUriMatches } from "./digest_uri.ts";
import type { ExternalAuth } from "./external_auth.ts";
import { FailureLimiter } from "./failure_limiter.ts";
import { IpAllowList } from "./ip_allow.ts";
import { formatIp, isV4Mapped, parseIp } from "./ip_address.ts";
import { issueNonce, verifyNonce } from "./nonce.ts";
import { NonceCounter, parseNonceCount } from "./nonce_counter.ts";
import { NonceTable } from "./nonce_table.ts";
import type { AuthSettings, Permission, UserEntry } from "./permission.ts";
import { isHashedPass, passwordMatches, secretsEqual, userHa1 } from "./user_secret.ts";

export { NonceCounter };

/** What the check needs from a request. */
export interface AuthRequest {
  /** RTSP method as on the request line; it enters the Digest HA2. */
  method: string;
  /** Request-URI as on the request line. */
  uri: string;
  /** The Authorization header value, if any. */
  authorization: string | undefined;
  /** Peer address without port; IPv4-mapped IPv6 is treated as IPv4. */
  peerIp: string;
  nowMs: number;
}

/**
 * The verdict. On failure, `challenges` are the WWW-Authenticate values to send, one header each, in
 * order (empty for 403); `stale` marks a 401 the client retries by itself (old nonce, right
 * password); `counted` says whether the failure went into the per-address limit.
 */
export type AuthResult =
  | { ok: true; user: string | null }
  | { ok: false; status: 401 | 403; reason: string; challenges: string[]; stale: boolean; counted: boolean };

/** A request as authorize() sees it: what it wants, and where its token may be. */
export interface AccessRequest extends AuthRequest {
  action: "publish" | "read";
  /** The path, no leading '/'. */
  path: string;
  /** The request URL's query without '?' ("" for none): its `jwt=` parameter is a token. */
  query: string;
  /** What the HTTP auth server is told the client speaks ("rtsp"). */
  protocol: string;
}

/** authorize()'s verdict: an AuthResult, or 503 when external auth could not answer. */
export type AccessResult =
  | AuthResult
  | { ok: false; status: 503; reason: string; challenges: string[]; stale: false; counted: false };

/** Outcome of checking credentials, before it becomes an AuthResult. */
type Verdict =
  | { ok: true; user: string }
  | { ok: false; reason: string; counted: boolean; stale?: boolean };

const MAX_LOGGED_CHARS = 64;

/** Client-supplied text made safe for a log line: control characters escaped, length capped. */
function logSafe(s: string): string {
  const cut = s.length > MAX_LOGGED_CHARS ? `${s.slice(0, MAX_LOGGED_CHARS)}…` : s;
  let out = "";
  for (const ch of cut) {
    const c = ch.charCodeAt(0);
    // Control characters could forge log lines; the quote and backslash would blur the quoting.
    const bad = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || ch === "'" ||
      ch === "\\";
    out += bad ? (c < 0x100 ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16)}`) : ch;
  }
  return out;
}

function failed(reason: string, counted: boolean): Verdict {
  return { ok: false, reason, counted };
}

/** Checks requests against permissions; one per worker, rebuilt when the settings change. */
export class Authenticator {
  readonly #settings: AuthSettings;
  readonly #nonceKey: Uint8Array;
  readonly #limiter: FailureLimiter;
  // Permissions come from config objects that live until a reload: parse each `ips` list once.
  readonly #allowLists = new WeakMap<readonly string[], IpAllowList>();
  readonly #peer = new Uint8Array(16);

  /** `shared` is the state every worker holds the same (nonce key, failure table). */
  constructor(settings: AuthSettings, shared: AuthShared) {
    this.#settings = settings;
    this.#nonceKey = shared.nonceKey;
    this.#limiter = new FailureLimiter(shared.failures, settings, shared.failureSecret);
    this.#nonces = new NonceTable(shared.nonces);
  }

  readonly #nonces: NonceTable;

  /**
   * Checks `req` against `perm`, in this order: address not in `perm.ips` -> 403; `perm.users`
   * empty -> ok (user null); address over the failure limit -> 403; no Authorization -> 401 with
   * challenges (not a failure: every client's first request has none); bad credentials -> 401,
   * counted; right password on a stale nonce -> 401 with stale=TRUE, not counted. `nc` is the
   * connection's NonceCounter; with it, qop=auth nonce counts are checked for replay on the
   * connection and, through the shared nonce table, on every connection of every worker; without it
   * (tests of the arithmetic), not at all.
   */
  check(req: AuthRequest, perm: Permission, nc?: NonceCounter): AuthResult {
    const addr = parseIp(req.peerIp, this.#peer);
    if (perm.ips.length > 0 && !this.#allowList(perm.ips).allows(addr)) {
      return {
        ok: false,
        status: 403,
        reason: "address not allowed",
        challenges: [],
        stale: false,
        counted: false,
      };
    }
    // One spelling per address, so "::ffff:1.2.3.4" and "1.2.3.4" share nonces and failure counts.
    const peer = addr === null ? req.peerIp : formatIp(addr);
    const limitKey = addr === null ? req.peerIp : failureKey(addr, peer);
    // A blocked address loses credentialed access only: open paths stay open to it.
    if (perm.users.length === 0) return { ok: true, user: null };
    if (this.#limiter.isBlocked(limitKey, req.nowMs)) {
      return {
        ok: false,
        status: 403,
        reason: "too many failures",
        challenges: [],
        stale: false,
        counted: false,
      };
    }

    let v: Verdict;
    if (req.authorization === undefined) v = failed("no credentials", false);
    else {
      const auth = parseAuthorization(req.authorization);
      if (auth === null) v = failed("unreadable Authorization header (malformed or unknown scheme)", true);
      else if (auth.scheme === "basic") v = this.#basic(auth.user, auth.pass, perm);
      else v = this.#digest(auth.params, req, perm, peer, nc);
    }
    if (v.ok) return { ok: true, user: v.user };
    if (v.counted) this.#limiter.recordFailure(limitKey, req.nowMs);
    const stale = v.stale === true;
    return {
      ok: false,
      status: 401,
      reason: v.reason,
      challenges: this.#challenges(peer, req.nowMs, stale),
      stale,
      counted: v.counted,
    };
  }

  /**
   * check() with external auth (`external`, made from auth.http and auth.jwt; null: check() as
   * is). In order: address not in `perm.ips` -> 403; address over the failure limit -> 403 (every
   * path needs credentials now, so open ones too); credentials of one of `perm.users` -> checked
   * here as by check(), external auth never asked; Digest of another user -> 401 (it carries no
   * password to forward: external auth needs Basic); anything else, no credentials included ->
   * `external` decides: 401 (counted when credentials were sent), 403 for a valid token without
   * the permission, 503 when the auth server or the JWKS cannot answer. A 401 offers Basic only.
   */
  async authorize(
    req: AccessRequest,
    perm: Permission,
    nc: NonceCounter | undefined,
    external: ExternalAuth | null,
  ): Promise<AccessResult> {
    if (external === null) return this.check(req, perm, nc);
    const addr = parseIp(req.peerIp, this.#peer);
    const refused = (reason: string): AuthResult => ({
      ok: false,
      status: 403,
      reason,
      challenges: [],
      stale: false,
      counted: false,
    });
    if (perm.ips.length > 0 && !this.#allowList(perm.ips).allows(addr)) return refused("address not allowed");
    const peer = addr === null ? req.peerIp : formatIp(addr);
    const limitKey = addr === null ? req.peerIp : failureKey(addr, peer);
    if (this.#limiter.isBlocked(limitKey, req.nowMs)) return refused("too many failures");

    let v: Verdict | null = null;
    let basic: { user: string; pass: string } | null = null;
    if (req.authorization !== undefined) {
      const auth = parseAuthorization(req.authorization);
      if (auth === null) v = failed("unreadable Authorization header (malformed or unknown scheme)", true);
      else if (auth.scheme === "basic") {
        if (findUser(perm, auth.user) !== undefined) v = this.#basic(auth.user, auth.pass, perm);
        else basic = { user: auth.user, pass: auth.pass };
      } else {
        const user = auth.params.get("username");
        if (user !== undefined && findUser(perm, user) !== undefined) {
          v = this.#digest(auth.params, req, perm, peer, nc);
        } else v = failed("Digest of no internal user: external auth needs Basic (or a jwt= query)", false);
      }
    }
    if (v === null) {
      const x = await external.decide({
        basic,
        query: req.query,
        ip: peer,
        action: req.action,
        path: req.path,
        protocol: req.protocol,
      });
      if (x.ok) return { ok: true, user: x.user };
      if (x.kind === "unavailable") {
        return { ok: false, status: 503, reason: x.reason, challenges: [], stale: false, counted: false };
      }
      const who = basic === null ? "" : `user '${logSafe(basic.user)}': `;
      if (x.kind === "forbidden") return refused(`${who}${x.reason}`);
      v = failed(x.reason === "no credentials" ? x.reason : `${who}${x.reason}`, x.counted);
    }
    if (v.ok) return { ok: true, user: v.user };
    if (v.counted) this.#limiter.recordFailure(limitKey, req.nowMs);
    return {
      ok: false,
      status: 401,
      reason: v.reason,
      challenges: this.#challenges(peer, req.nowMs, false, true),
      stale: false,
      counted: v.counted,
    };
  }

  #allowList(ips: readonly string[]): IpAllowList {
    let list = this.#allowLists.get(ips);
    if (list === undefined) {
      list = new IpAllowList(ips);
      this.#allowLists.set(ips, list);
    }
    return list;
  }

  /**
   * WWW-Authenticate values: Basic, then Digest SHA-256, then Digest MD5 last. FFmpeg keeps the last
   * Digest challenge it reads and fails on SHA-256; live555 (VLC) also takes the last Digest one.
   */
  #challenges(peer: string, nowMs: number, stale: boolean, basicOnly = false): string[] {
    const { realm, methods, digestAlgorithms } = this.#settings;
    const out: string[] = [];
    // External auth needs the password itself: a client offered Digest (ffmpeg prefers it) could not send it.
    if (methods.includes("basic") || basicOnly) out.push(serializeChallenge({ scheme: "basic", realm }));
    if (methods.includes("digest") && !basicOnly) {
      const nonce = issueNonce(this.#nonceKey, peer, nowMs);
      for (const algorithm of ["SHA-256", "MD5"] as const) {
        if (!digestAlgorithms.includes(algorithm)) continue;
        out.push(serializeChallenge({ scheme: "digest", realm, nonce, algorithm, qop: true, stale }));
      }
    }
    return out;
  }

  #basic(user: string, pass: string, perm: Permission): Verdict {
    // A preemptive Basic header is not a guess when Basic is off: not counted, the 401 offers Digest.
    if (!this.#settings.methods.includes("basic")) return failed("method basic not allowed", false);
    const entry = findUser(perm, user);
    if (entry === undefined) return failed(`unknown user '${logSafe(user)}'`, true);
    if (entry.pass === undefined) {
      return failed(`user '${logSafe(user)}' has only ha1 (Digest) secrets: Basic cannot be checked`, false);
    }
    if (!passwordMatches(entry.pass, pass)) return failed(`wrong password for user '${logSafe(user)}'`, true);
    return { ok: true, user: entry.user };
  }

  #digest(
    p: Map<string, string>,
    req: AuthRequest,
    perm: Permission,
    peer: string,
    counter: NonceCounter | undefined,
  ): Verdict {
    const { realm: ourRealm, methods, digestAlgorithms } = this.#settings;
    if (!methods.includes("digest")) return failed("method digest not allowed", false);
    const user = p.get("username");
    const realm = p.get("realm");
    const nonce = p.get("nonce");
    const uri = p.get("uri");
    const response = p.get("response");
    if (user === undefined || realm === undefined || nonce === undefined || uri === undefined) {
      return failed("digest lacks username, realm, nonce or uri", true);
    }
    if (response === undefined) return failed("digest lacks response", true);
    const algorithm = parseDigestAlgorithm(p.get("algorithm"));
    if (algorithm === null) {
      return failed(`digest algorithm '${logSafe(p.get("algorithm")!)}' not supported`, false);
    }
    if (!digestAlgorithms.includes(algorithm)) {
      return failed(`digest algorithm ${algorithm} not allowed`, false);
    }
    if (realm !== ourRealm) return failed(`realm '${logSafe(realm)}' is not '${logSafe(ourRealm)}'`, true);

    const verdict = verifyNonce(this.#nonceKey, nonce, peer, req.nowMs, this.#settings.nonceTtlMs);
    if (verdict === "forged") return failed("forged nonce", true);
    if (verdict === "other-address") return failed("nonce issued to another address", true);
    if (!digestUriMatches(uri, req.uri)) return failed("digest uri does not match request", true);

    // qop=auth (RFC 7616) or none (RFC 2069: GStreamer and live555 ignore the qop offer).
    const qop = p.get("qop");
    let ncValue: number | null = null;
    let qopParams: { qop: string; nc: string; cnonce: string } | undefined;
    if (qop !== undefined) {
      if (qop.toLowerCase() !== "auth") return failed(`qop '${logSafe(qop)}' not supported`, true);
      const nc = p.get("nc");
      const cnonce = p.get("cnonce");
      if (nc === undefined || cnonce === undefined) return failed("qop=auth without nc or cnonce", true);
      ncValue = parseNonceCount(nc);
      if (ncValue === null) return failed("malformed nonce count", true);
      qopParams = { qop, nc, cnonce };
    } else if (!this.#settings.allowRfc2069) {
      return failed("digest without qop (RFC 2069 form) not allowed (auth.allowRfc2069)", false);
    }

    const entry = findUser(perm, user);
    if (entry === undefined) return failed(`unknown user '${logSafe(user)}'`, true);
    const ha1 = userHa1(entry, algorithm, ourRealm);
    if (ha1 === null) return failed(noDigestSecretReason(entry, algorithm), false);
    const expected = digestResponse(algorithm, ha1, nonce, digestHa2(algorithm, req.method, uri), qopParams);
    if (!secretsEqual(expected, response.toLowerCase())) {
      return failed(`wrong password for user '${logSafe(user)}'`, true);
    }
    // Only now, with the right password: stale=TRUE makes the client retry without asking the user.
    if (verdict === "stale") return { ok: false, reason: "stale nonce", counted: false, stale: true };
    if (verdict === "future") {
      return {
        ok: false,
        reason: "nonce dated in the future (clock stepped back)",
        counted: false,
        stale: true,
      };
    }
    if (ncValue !== null && counter !== undefined) {
      if (!counter.advance(nonce, ncValue)) return failed("replayed nonce count", true);
      // Across connections and workers too: a captured answer replayed elsewhere is refused.
      const nowSec = Math.floor(req.nowMs / 1000);
      const seen = this.#nonces.advance(
        nonce,
        ncValue,
        nowSec,
        nowSec + Math.ceil(this.#settings.nonceTtlMs / 1000) + 1,
      );
      if (seen === "replay") return failed("replayed nonce count", true);
      // Too many live nonces to track this one: a fresh nonce (stale) rather than an unchecked count.
      if (seen === "full") return { ok: false, reason: "nonce table full", counted: false, stale: true };
    }
    return { ok: true, user: entry.user };
  }
}

function findUser(perm: Permission, user: string): UserEntry | undefined {
  for (const u of perm.users) if (u.user === user) return u;
  return undefined;
}

function noDigestSecretReason(entry: UserEntry, algorithm: DigestAlgorithm): string {
  const who = `user '${logSafe(entry.user)}'`;
  if (entry.pass !== undefined && isHashedPass(entry.pass) && (entry.ha1 ?? []).length === 0) {
    return `${who} has only a sha256: password: Digest cannot be checked, use Basic`;
  }
  return `${who} has no ${algorithm} ha1 secret`;
}

/**
 * The failure limit's key for an address: the address itself for IPv4, its /64 for IPv6, since one
 * host usually holds a whole /64 and could otherwise change address on every attempt.
 */
function failureKey(addr: Uint8Array, text: string): string {
  if (isV4Mapped(addr)) return text;
  const net = new Uint8Array(16);
  net.set(addr.subarray(0, 8));
  return `${formatIp(net)}/64`;
}

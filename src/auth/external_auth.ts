/**
 * External authentication: what decides a request that no internal user (a path's `users`) does.
 * With `auth.jwt.jwksUrl` set, a token (the `jwt=` query parameter, else a Basic password shaped
 * like a JWT) is verified and its claim must allow the action on the path; with `auth.http.url`
 * set, anything else (Basic credentials, or none: user and password "") is asked of the HTTP
 * server. Which verdict becomes which status is the Authenticator's: allowed; denied (401);
 * forbidden, a valid token without the permission (403); unavailable, the auth server or the JWKS
 * could not answer or too many questions are in flight (503).
 */
import { HttpAuthClient, type HttpAuthDeps } from "./http_auth.ts";
import { claimsPermit, jwtFromQuery, looksLikeJwt } from "./jwt_permissions.ts";
import type { AuthSettings } from "./permission.ts";

/** A JWT checked: its claims when the signature and the time claims hold. */
export type TokenVerdict =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; unavailable: boolean; reason: string };

/** Verifies tokens (jwt_verifier.ts on npm jose; fakes in tests). */
export interface TokenVerifier {
  verify(token: string): Promise<TokenVerdict>;
}

/** What external auth is asked about a request. */
export interface ExternalQuestion {
  /** The request's Basic credentials, or null when it sent none. */
  basic: { user: string; pass: string } | null;
  /** The request URL's query without '?' ("" for none). */
  query: string;
  /** The client's address, without port. */
  ip: string;
  action: "publish" | "read";
  path: string;
  protocol: string;
}

/**
 * `user`: the Basic user, else the token's `sub`, else null. `counted`: a wrong guess, for the
 * failure limit (a token that does not verify, credentials the HTTP server refuses).
 */
export type ExternalVerdict =
  | { ok: true; user: string | null }
  | { ok: false; kind: "denied"; reason: string; counted: boolean }
  | { ok: false; kind: "forbidden"; reason: string }
  | { ok: false; kind: "unavailable"; reason: string };

export interface ExternalAuthDeps extends HttpAuthDeps {
  /** Made when auth.jwt.jwksUrl is set; required then. */
  verifier?: TokenVerifier | null;
}

export class ExternalAuth {
  readonly #claimKey: string;
  readonly #http: HttpAuthClient | null;
  readonly #verifier: TokenVerifier | null;

  constructor(s: Pick<AuthSettings, "http" | "jwt">, deps: ExternalAuthDeps = {}) {
    this.#claimKey = s.jwt.claimKey;
    this.#http = s.http.url === "" ? null : new HttpAuthClient(s.http, deps);
    this.#verifier = s.jwt.jwksUrl === "" ? null : deps.verifier ?? null;
    if (s.jwt.jwksUrl !== "" && this.#verifier === null) throw new Error("auth.jwt.jwksUrl needs a verifier");
  }

  /** The HTTP client (its pending and cached counts), or null when auth.http is off. */
  get http(): HttpAuthClient | null {
    return this.#http;
  }

  async decide(q: ExternalQuestion): Promise<ExternalVerdict> {
    const v = this.#verifier;
    const token = v === null
      ? null
      : jwtFromQuery(q.query) ?? (q.basic !== null && looksLikeJwt(q.basic.pass) ? q.basic.pass : null);
    if (v !== null && token !== null) {
      const t = await v.verify(token);
      if (!t.ok) {
        return t.unavailable
          ? { ok: false, kind: "unavailable", reason: t.reason }
          : { ok: false, kind: "denied", reason: t.reason, counted: true };
      }
      const sub = t.claims.sub;
      const user = q.basic !== null && q.basic.user !== ""
        ? q.basic.user
        : typeof sub === "string"
        ? sub
        : null;
      if (claimsPermit(t.claims, this.#claimKey, q.action, q.path)) return { ok: true, user };
      return {
        ok: false,
        kind: "forbidden",
        reason: `the token's '${this.#claimKey}' claim does not allow ${q.action} on this path`,
      };
    }
    if (this.#http !== null) {
      const a = await this.#http.ask({
        user: q.basic?.user ?? "",
        password: q.basic?.pass ?? "",
        ip: q.ip,
        action: q.action,
        path: q.path,
        protocol: q.protocol,
      });
      if (a.kind === "allow") {
        return { ok: true, user: q.basic !== null && q.basic.user !== "" ? q.basic.user : null };
      }
      if (a.kind === "deny") {
        // Without credentials a refusal is the usual first 401 that asks for them.
        if (q.basic === null) return { ok: false, kind: "denied", reason: "no credentials", counted: false };
        return {
          ok: false,
          kind: "denied",
          reason: `refused by the auth server (${a.status}${a.cached ? ", cached" : ""})`,
          counted: true,
        };
      }
      return { ok: false, kind: "unavailable", reason: a.reason };
    }
    if (q.basic === null) return { ok: false, kind: "denied", reason: "no credentials", counted: false };
    return {
      ok: false,
      kind: "denied",
      reason: "no internal user, and the password is no JWT",
      counted: true,
    };
  }
}

/**
 * Who may use the HTTP API (every endpoint, /metrics included): `api.ips` first (another address
 * gets 403 before anything else), then, when `api.users` is set, HTTP Basic against them (401 with
 * `WWW-Authenticate: Basic realm="<auth.realm>"`). The check is the RTSP side's Authenticator, with
 * Basic as its only method, over the failure table the workers share: an address's failed guesses
 * on the API and on RTSP add up, and one with `auth.maxFailures` of them in `auth.failureWindowMs`
 * gets 429 on the API until its window ends, right credentials or not. Read from the config given
 * on each request, so a reload applies to the next request.
 */
import type { AuthShared } from "../auth/auth_shared.ts";
import { Authenticator } from "../auth/authenticator.ts";
import { IpAllowList } from "../auth/ip_allow.ts";
import type { AuthSettings } from "../auth/permission.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";

/** Longest part of a request path a refusal's log line shows. */
const MAX_LOGGED_PATH = 120;

/** The API's gate; one per API server, rebuilt parts when the config it is handed changes. */
export class ApiAccess {
  readonly #shared: AuthShared;
  readonly #log: Logger;
  #auth: Authenticator | null = null;
  #authFor: AuthSettings | null = null;
  #ips: IpAllowList | null = null;
  #ipsFor: readonly string[] | null = null;

  /** `shared`: the server's AuthShared (its failure table is the RTSP side's). */
  constructor(shared: AuthShared, log: Logger) {
    this.#shared = shared;
    this.#log = log;
  }

  /**
   * Null when `req` from `peerIp` may go on; else the response to send: 403 (address not in
   * api.ips), 429 (address over the failure limit, `Retry-After` the whole window) or 401 (no or
   * wrong credentials). A refusal is logged with the peer; a request without credentials only at
   * debug, as every client's first request has none.
   */
  check(
    config: Pick<Config, "api" | "auth">,
    req: Request,
    peerIp: string,
    nowMs = Date.now(),
  ): Response | null {
    const { users, ips } = config.api;
    if (ips.length > 0 && !this.#allowList(ips).allowsPeer(peerIp)) {
      return this.#refuse(403, "address not in api.ips", req, peerIp);
    }
    if (users.length === 0) return null;
    const path = new URL(req.url).pathname;
    const r = this.#authenticator(config.auth).check(
      {
        method: req.method,
        uri: path,
        authorization: req.headers.get("Authorization") ?? undefined,
        peerIp,
        nowMs,
      },
      { users, ips: [] },
    );
    if (r.ok) return null;
    // With no ips handed to it, the Authenticator's only 403 is an address over the failure limit.
    if (r.status === 403) {
      return this.#refuse(429, r.reason, req, peerIp, {
        "Retry-After": String(Math.ceil(config.auth.failureWindowMs / 1000)),
      });
    }
    const headers = new Headers();
    for (const c of r.challenges) headers.append("WWW-Authenticate", c);
    return this.#refuse(401, r.reason, req, peerIp, headers, !r.counted && r.reason === "no credentials");
  }

  #refuse(
    status: 401 | 403 | 429,
    reason: string,
    req: Request,
    peerIp: string,
    headers: HeadersInit = {},
    routine = false,
  ): Response {
    if (!routine || this.#log.enabled("debug")) {
      let path = new URL(req.url).pathname;
      if (path.length > MAX_LOGGED_PATH) path = `${path.slice(0, MAX_LOGGED_PATH)}…`;
      // The logger escapes control characters; the path is percent-encoded by URL parsing anyway.
      const line = `API: ${req.method} ${path} from ${peerIp}: ${status} ${reason}`;
      if (routine) this.#log.debug(line);
      else this.#log.warn(line);
    }
    const error = status === 403
      ? "address not allowed"
      : status === 429
      ? "too many failed attempts from this address; try later"
      : "credentials needed (HTTP Basic)";
    return Response.json({ error }, { status, headers });
  }

  #allowList(ips: readonly string[]): IpAllowList {
    if (this.#ips === null || this.#ipsFor !== ips) {
      this.#ips = new IpAllowList(ips);
      this.#ipsFor = ips;
    }
    return this.#ips;
  }

  #authenticator(settings: AuthSettings): Authenticator {
    if (this.#auth === null || this.#authFor !== settings) {
      // Basic only: Digest's nonces are bound to RTSP methods and URIs, and browsers, curl and
      // Prometheus all send Basic.
      this.#auth = new Authenticator({ ...settings, methods: ["basic"] }, this.#shared);
      this.#authFor = settings;
    }
    return this.#auth;
  }
}

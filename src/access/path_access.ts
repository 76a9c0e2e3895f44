/**
 * Who may publish or read a path, for every protocol that serves paths (RTSP sessions, LL-HLS):
 * the `paths` entry that applies, its users and addresses, the failure limiter, and with auth.http
 * or auth.jwt the external checker. It answers with an outcome; each protocol turns that into its
 * own status line (session/access_control.ts for RTSP, hls/hls_access.ts for HTTP).
 *
 * The checkers are rebuilt from the config object handed in when it changes (a reload), never per
 * request. With external auth the check awaits the auth server or the JWKS; only the asker waits.
 *
 * @module
 */
import type { AuthShared } from "../auth/auth_shared.ts";
import { type AccessResult, Authenticator, NonceCounter } from "../auth/authenticator.ts";
import { ExternalAuth } from "../auth/external_auth.ts";
import { JoseTokenVerifier } from "../auth/jwt_verifier.ts";
import { externalAuthOn } from "../auth/permission.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { type PathMatch, PathRules } from "../paths/path_rules.ts";
import type { WorkerStats } from "../stats/worker_stats.ts";
import { parseAuthorization } from "../auth/authorization_header.ts";
import { boundedUser, type HookEventBody } from "../hooks/hook_event.ts";

/** What a request needs on a path. */
export type Action = "publish" | "read";

/** The requester as access control sees it. */
export interface Requester {
  /** Peer address without port. */
  readonly peerHost: string;
  /** Digest nonce counts seen on this connection (replay check); made on first use. */
  nonceCounter: NonceCounter | null;
}

/** One request, whatever its protocol. */
export interface PathRequest {
  /** The method the Digest answer was computed over (DESCRIBE, GET, ...). */
  readonly method: string;
  /** The request URI as sent (Digest's uri is compared with it). */
  readonly uri: string;
  readonly authorization: string | undefined;
  /** The URL's query without '?' ("" for none): its `jwt=` parameter is a token. */
  readonly query: string;
  /** What the HTTP auth server is told the client speaks: "rtsp", "rtsps", "hls". */
  readonly protocol: string;
}

/** The verdict: a user (null when the path needs none), or a refusal with what to tell the client. */
export type PathAccessOutcome =
  | { ok: true; user: string | null }
  | {
    ok: false;
    /** 404: no `paths` entry matches; 401 with challenges; 403; 503: external auth cannot answer. */
    status: 401 | 403 | 404 | 503;
    /** For the log line: what was refused and why. */
    message: string;
    /** WWW-Authenticate values (401). */
    challenges: string[];
    /** Every client's first request has none: logged at debug, not as a warning. */
    routine: boolean;
  };

/** A request URL for the log: a `jwt=` query parameter's token is a credential and is left out. */
export function loggableUrl(url: string): string {
  return url.includes("jwt=") ? url.replace(/([?&]jwt=)[^&#/]*/gi, "$1(token)") : url;
}

/** How often failures of external auth (503s) may say so in the log, per worker. */
const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

export class PathAccess {
  #config: Config | null = null;
  #rules!: PathRules;
  #auth!: Authenticator;
  #external: ExternalAuth | null = null;
  #externalFor = "";
  /** When a failure of external auth was last logged, and how many came since. */
  #unavailableLoggedAt = -Infinity;
  #unavailableSince = 0;
  readonly #shared: AuthShared;
  readonly #stats: Pick<WorkerStats, "authRefused" | "authFailures">;
  readonly #hook: (e: HookEventBody) => void;
  readonly #worker: number;
  readonly #log: Logger | null;

  /**
   * hook: where auth.failure events go, from worker `worker`; log: where failures of external auth
   * are reported (one line per UNAVAILABLE_LOG_INTERVAL_MS); stats: the refusals are counted there.
   */
  constructor(
    shared: AuthShared,
    stats: Pick<WorkerStats, "authRefused" | "authFailures">,
    hook: (e: HookEventBody) => void = () => {},
    worker = -1,
    log: Logger | null = null,
  ) {
    this.#shared = shared;
    this.#stats = stats;
    this.#hook = hook;
    this.#worker = worker;
    this.#log = log;
  }

  /** The paths entry that applies to `path` under `config`, or null. */
  entry(config: Config, path: string): PathMatch | null {
    if (config !== this.#config) {
      // A reload hands the worker a new config object; rebuild from it (rare, never per packet).
      this.#rules = new PathRules(config.paths);
      this.#auth = new Authenticator(config.auth, this.#shared);
      this.#config = config;
      // The external checker (its cache, its POSTs in flight, the JWKS) lives until its settings change.
      const ext = externalAuthOn(config.auth) ? JSON.stringify([config.auth.http, config.auth.jwt]) : "";
      if (ext !== this.#externalFor) {
        const { http, jwt } = config.auth;
        this.#external = ext === "" ? null : new ExternalAuth({ http, jwt }, {
          verifier: jwt.jwksUrl === "" ? null : new JoseTokenVerifier(jwt),
        });
        this.#externalFor = ext;
      }
    }
    return this.#rules.match(path);
  }

  /** Checks `action` on `path` for this request. */
  async check(
    config: Config,
    who: Requester,
    req: PathRequest,
    path: string,
    action: Action,
  ): Promise<PathAccessOutcome> {
    const entry = this.entry(config, path);
    if (entry === null) {
      return refused(404, `no 'paths' entry of the config matches '${path}'`);
    }
    const asked = {
      method: req.method,
      uri: req.uri,
      authorization: req.authorization,
      peerIp: who.peerHost,
      nowMs: Date.now(),
    };
    const nc = who.nonceCounter ??= new NonceCounter();
    const perm = entry.config[action];
    const r: AccessResult = this.#external === null
      ? this.#auth.check(asked, perm, nc)
      : await this.#auth.authorize(
        { ...asked, action, path, query: req.query, protocol: req.protocol },
        perm,
        nc,
        this.#external,
      );
    if (r.ok) return { ok: true, user: r.user };
    const what = `${action} '${path}' (paths entry '${entry.name}')`;
    if (r.status === 503) {
      // The auth server's or the JWKS's failure, not the client's: one warning per interval.
      this.#unavailable(r.reason);
      return refused(503, `${what} cannot be checked: ${r.reason}`, [], true);
    }
    if (r.status === 403) {
      this.#stats.authRefused++;
      return refused(403, `${what} refused: ${r.reason}`);
    }
    // Every client's first request has no credentials, and a stale nonce is retried at once.
    const routine = r.reason === "no credentials" || r.stale;
    // A counted failure is a guess (wrong user or password, a bad answer): what hooks hear of, and
    // bounded per address by auth.maxFailures, past which the 403 above makes no event.
    if (r.counted) {
      this.#stats.authFailures++;
      this.#failed(who, req, path, action, r.reason);
    }
    return refused(401, `${what} needs credentials: ${r.reason}`, r.challenges, routine);
  }

  #unavailable(reason: string): void {
    this.#unavailableSince++;
    const now = performance.now();
    if (now - this.#unavailableLoggedAt < UNAVAILABLE_LOG_INTERVAL_MS) return;
    this.#unavailableLoggedAt = now;
    this.#log?.warn(
      `external auth failed: ${reason}; ${this.#unavailableSince} request(s) answered 503 since the last report`,
    );
    this.#unavailableSince = 0;
  }

  /** auth.failure for hooks: credentials were sent and are wrong (the user they name, if any). */
  #failed(who: Requester, req: PathRequest, path: string, action: Action, reason: string): void {
    const h = req.authorization;
    const a = h === undefined ? null : parseAuthorization(h);
    const user = a === null ? undefined : a.scheme === "basic" ? a.user : a.params.get("username");
    this.#hook({
      event: "auth.failure",
      path,
      worker: this.#worker,
      peer: who.peerHost,
      user: boundedUser(user),
      action,
      method: req.method,
      reason,
    });
  }
}

function refused(
  status: 401 | 403 | 404 | 503,
  message: string,
  challenges: string[] = [],
  routine = false,
): PathAccessOutcome {
  return { ok: false, status, message, challenges, routine };
}

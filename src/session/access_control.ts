/**
 * Who may publish or read a path, asked at ANNOUNCE (publish) and at DESCRIBE and a viewer's first
 * SETUP (read). A session keeps what it was granted: permission changes on reload apply to new
 * sessions, never to running ones.
 */
import type { AuthShared } from "../auth/auth_shared.ts";
import { Authenticator, NonceCounter } from "../auth/authenticator.ts";
import type { Config } from "../config.ts";
import { type PathMatch, PathRules } from "../paths/path_rules.ts";
import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
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

export class AccessControl {
  /** The paths entry that applies to `path` under `config`, or null. */
  entry(config: Config, path: string): PathMatch | null {
    if (config !== this.#config) {
      // A reload hands the worker a new config object; rebuild from it (rare, never per packet).
      this.#rules = new PathRules(config.paths);
      this.#auth = new Authenticator(config.auth, this.#shared);
      this.#config = config;
    }
    return this.#rules.match(path);
  }

  #config: Config | null = null;
  #rules!: PathRules;
  #auth!: Authenticator;
  readonly #shared: AuthShared;
  readonly #stats: WorkerStats;
  readonly #hook: (e: HookEventBody) => void;
  readonly #worker: number;

  /** hook: where auth.failure events go (the worker's ctx.hook), from worker `worker`. */
  constructor(
    shared: AuthShared,
    stats: WorkerStats,
    hook: (e: HookEventBody) => void = () => {},
    worker = -1,
  ) {
    this.#shared = shared;
    this.#stats = stats;
    this.#hook = hook;
    this.#worker = worker;
  }

  /**
   * Checks `action` on `path` for this request; returns the user name (null when the path needs
   * none). Throws RtspError: 404 when no `paths` entry matches, 401 with challenges, 403 when the
   * address is not allowed or has failed too often.
   */
  check(config: Config, who: Requester, req: RtspRequest, path: string, action: Action): string | null {
    const entry = this.entry(config, path);
    if (entry === null) {
      throw new RtspError(STATUS_CODE.NotFound, `no 'paths' entry of the config matches '${path}'`);
    }
    const r = this.#auth.check(
      {
        method: req.method,
        uri: req.url,
        authorization: req.headers.get("Authorization"),
        peerIp: who.peerHost,
        nowMs: Date.now(),
      },
      entry.config[action],
      who.nonceCounter ??= new NonceCounter(),
    );
    if (r.ok) return r.user;
    const what = `${action} '${path}' (paths entry '${entry.name}')`;
    if (r.status === 403) {
      this.#stats.authRefused++;
      throw new RtspError(STATUS_CODE.Forbidden, `${what} refused: ${r.reason}`);
    }
    // Every client's first request has no credentials, and a stale nonce is retried at once.
    const routine = r.reason === "no credentials" || r.stale;
    // A counted failure is a guess (wrong user or password, a bad answer): what hooks hear of, and
    // bounded per address by auth.maxFailures, past which the 403 above makes no event.
    if (r.counted) {
      this.#stats.authFailures++;
      this.#failed(who, req, path, action, r.reason);
    }
    throw new RtspError(
      STATUS_CODE.Unauthorized,
      `${what} needs credentials: ${r.reason}`,
      r.challenges.map((c): [string, string] => ["WWW-Authenticate", c]),
      routine,
    );
  }

  /** auth.failure for hooks: credentials were sent and are wrong (the user they name, if any). */
  #failed(who: Requester, req: RtspRequest, path: string, action: Action, reason: string): void {
    const h = req.headers.get("Authorization");
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

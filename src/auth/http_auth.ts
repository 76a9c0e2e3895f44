/**
 * `auth.http`: asks an HTTP server whether a request may publish or read a path. Each question is a
 * POST of `{user, password, ip, action, path, protocol}` as JSON to `url`; the answer's status
 * decides: 2xx allows; 408, 429, a redirect (never followed), 5xx, no answer within `timeoutMs` or
 * no connection are failures of the auth server; any other status denies. Answers are reused:
 * allows for `cacheMs`, denials for `denyCacheMs`, at most `cacheMaxEntries` of them (keyed by a
 * hash of the question, so no password stays in memory); failures never. Identical questions in
 * flight at once share one POST, and at most `maxPending` POSTs are in flight: past it the
 * question is not asked ("busy").
 */
import { createHash } from "node:crypto";
import { AnswerCache, type Clock } from "./answer_cache.ts";
import type { HttpAuthSettings } from "./permission.ts";

/** What is POSTed: the client's credentials ("" when it sent none) and what it wants. */
export interface HttpAuthQuestion {
  user: string;
  password: string;
  /** The client's address, without port (IPv4-mapped IPv6 as IPv4). */
  ip: string;
  action: "publish" | "read";
  /** The path, no leading '/' ("cams/front"). */
  path: string;
  /** "rtsp". */
  protocol: string;
}

/**
 * The verdict. `cached`: taken from an earlier answer. `reason` (unavailable, busy) says what went
 * wrong for the log; it never holds the password.
 */
export type HttpAuthAnswer =
  | { kind: "allow"; cached: boolean }
  | { kind: "deny"; status: number; cached: boolean }
  | { kind: "unavailable"; reason: string }
  | { kind: "busy"; reason: string };

export interface HttpAuthDeps {
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  now?: Clock;
}

type Asked = { kind: "allow" } | { kind: "deny"; status: number } | { kind: "unavailable"; reason: string };
type Kept = Exclude<Asked, { kind: "unavailable" }>;

export class HttpAuthClient {
  readonly #s: HttpAuthSettings;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly #cache: AnswerCache<Kept>;
  readonly #inFlight = new Map<string, Promise<Asked>>();

  constructor(settings: HttpAuthSettings, deps: HttpAuthDeps = {}) {
    this.#s = settings;
    this.#fetch = deps.fetch ?? ((url, init) => fetch(url, init));
    this.#cache = new AnswerCache(settings.cacheMaxEntries, deps.now);
  }

  /** POSTs in flight. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Answers held for reuse (expired ones not yet dropped included). */
  get cached(): number {
    return this.#cache.size;
  }

  async ask(q: HttpAuthQuestion): Promise<HttpAuthAnswer> {
    const key = questionKey(q);
    const hit = this.#cache.get(key);
    if (hit !== undefined) return { ...hit, cached: true };
    let p = this.#inFlight.get(key);
    if (p === undefined) {
      if (this.#inFlight.size >= this.#s.maxPending) {
        return {
          kind: "busy",
          reason: `${this.#inFlight.size} questions to the auth server in flight (auth.http.maxPending)`,
        };
      }
      p = this.#post(q).then((a) => {
        // Kept before the question leaves #inFlight, so no second POST starts in between.
        if (a.kind === "allow") this.#cache.set(key, a, this.#s.cacheMs);
        else if (a.kind === "deny") this.#cache.set(key, a, this.#s.denyCacheMs);
        this.#inFlight.delete(key);
        return a;
      });
      this.#inFlight.set(key, p);
    }
    const a = await p;
    return a.kind === "unavailable" ? a : { ...a, cached: false };
  }

  async #post(q: HttpAuthQuestion): Promise<Asked> {
    const body = JSON.stringify({
      user: q.user,
      password: q.password,
      ip: q.ip,
      action: q.action,
      path: q.path,
      protocol: q.protocol,
    });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#s.timeoutMs);
    try {
      const res = await this.#fetch(this.#s.url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
        redirect: "manual",
        signal: abort.signal,
      });
      // The answer is its status; the body is not read.
      await res.body?.cancel().catch(() => {});
      const st = res.status;
      if (st >= 200 && st < 300) return { kind: "allow" };
      if (st === 408 || st === 429 || (st >= 300 && st < 400) || st >= 500 || st < 200) {
        return { kind: "unavailable", reason: `the auth server answered ${st}` };
      }
      return { kind: "deny", status: st };
    } catch (e) {
      const why = abort.signal.aborted
        ? `no answer within ${this.#s.timeoutMs} ms (auth.http.timeoutMs)`
        : (e as Error)?.message ?? String(e);
      return { kind: "unavailable", reason: `the auth server could not be asked: ${why}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The cache key of a question: SHA-256 of its fields, so no password is kept. */
function questionKey(q: HttpAuthQuestion): string {
  return createHash("sha256")
    .update(JSON.stringify([q.user, q.password, q.ip, q.action, q.path, q.protocol]))
    .digest("base64");
}

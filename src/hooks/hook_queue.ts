/**
 * main.ts's one queue of hook events: every event POSTed to `hooks.url` as JSON, one at a time and
 * in the order queued, so a receiver sees a stream's start before its reads and its stop. push()
 * never waits and never throws: the queue holds at most `hooks.maxQueue` events and drops the
 * oldest past it; each POST has `hooks.timeoutMs`; a failed one (no answer, 5xx, 408, 429) is
 * retried after `hooks.retryMinMs` doubling to `hooks.retryMaxMs` with jitter, at most
 * `hooks.maxRetries` times, then dropped with one log line. Settings are read per event and
 * attempt, so a reload applies to what is sent next.
 */
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import type { HookEvent } from "./hook_event.ts";

/** The `hooks:` config section (dm-live.yaml documents each key). */
export interface HookSettings {
  /** http(s):// URL that receives the events; "": hooks off. */
  url: string;
  timeoutMs: number;
  maxQueue: number;
  retryMinMs: number;
  retryMaxMs: number;
  maxRetries: number;
}

/** What the queue counts, for /metrics. */
export interface HookCounters {
  /** Events the receiver accepted (2xx). */
  sent: number;
  /** Events given up: retries exhausted, or refused with a 4xx other than 408/429. */
  failed: number;
  /** POSTs made again after a failure. */
  retries: number;
  /** Events dropped unsent: the queue was full (the oldest go), hooks turned off, or shutdown. */
  dropped: number;
  /** Events not delivered yet, the one being sent included. */
  queued: number;
}

/** Timers, injectable so tests run the retry schedule without waiting. */
export interface HookClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const REAL_CLOCK: HookClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export interface HookDeps {
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  clock?: HookClock;
  random?: () => number;
}

/** The wait before retry `n` (1, 2, ...): retryMinMs doubling, capped at retryMaxMs, jittered down by up to half. */
export function hookRetryDelayMs(n: number, minMs: number, maxMs: number, random = Math.random): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.max(0, n - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

/** How often a full queue may say so in the log. */
const DROP_LOG_INTERVAL_MS = 10_000;

export class HookQueue {
  readonly #settings: () => HookSettings;
  readonly #log: Logger;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly #clock: HookClock;
  readonly #random: () => number;
  /** Waiting events from #head on (a deque without shifting the array). */
  #q: (HookEvent | undefined)[] = [];
  #head = 0;
  #inFlight = false;
  #running = false;
  #closing = false;
  #closed = false;
  #abort: AbortController | null = null;
  #wake: (() => void) | null = null;
  #idle: (() => void)[] = [];
  #dropLoggedAt = -Infinity;
  #droppedSinceLog = 0;
  readonly #counts = { sent: 0, failed: 0, retries: 0, dropped: 0 };

  constructor(settings: () => HookSettings, log: Logger, deps: HookDeps = {}) {
    this.#settings = settings;
    this.#log = log;
    this.#fetch = deps.fetch ?? ((url, init) => fetch(url, init));
    this.#clock = deps.clock ?? REAL_CLOCK;
    this.#random = deps.random ?? Math.random;
  }

  get counters(): HookCounters {
    return { ...this.#counts, queued: this.#length + (this.#inFlight ? 1 : 0) };
  }

  get #length(): number {
    return this.#q.length - this.#head;
  }

  /** Queues an event (nothing when hooks are off); never waits. */
  push(e: HookEvent): void {
    if (this.#closed) {
      this.#counts.dropped++;
      return;
    }
    const s = this.#settings();
    if (s.url === "") return;
    this.#q.push(e);
    let dropped = 0;
    while (this.#length > s.maxQueue) {
      this.#shift();
      dropped++;
    }
    if (dropped > 0) this.#dropped(dropped, s.maxQueue);
    if (!this.#running) this.#run();
  }

  /**
   * Shutdown: what is queued gets up to boundMs to go out (no more retries), then the POST in
   * flight is aborted and the rest dropped, counted and logged.
   */
  async close(boundMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#wake?.();
    if (this.#running) {
      let timer: unknown;
      await Promise.race([
        new Promise<void>((r) => this.#idle.push(r)),
        new Promise<void>((r) => timer = this.#clock.setTimeout(r, boundMs)),
      ]);
      this.#clock.clearTimeout(timer);
    }
    this.#closed = true;
    this.#abort?.abort();
    const left = this.#length;
    this.#q = [];
    this.#head = 0;
    if (left > 0) {
      this.#counts.dropped += left;
      this.#log.warn(`hooks: ${left} event(s) not sent: the server is stopping`);
    }
  }

  #shift(): HookEvent | undefined {
    if (this.#length === 0) return undefined;
    const e = this.#q[this.#head];
    this.#q[this.#head++] = undefined;
    // Compact once the dead prefix is most of the array: O(1) amortised per event.
    if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
      this.#q = this.#q.slice(this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Counts drops from a full queue; one log line per DROP_LOG_INTERVAL_MS says how many. */
  #dropped(n: number, max: number): void {
    this.#counts.dropped += n;
    this.#droppedSinceLog += n;
    const now = this.#clock.now();
    if (now - this.#dropLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.#dropLoggedAt = now;
    this.#log.warn(
      `hooks: queue full (hooks.maxQueue ${max}): dropped the ${this.#droppedSinceLog} oldest event(s)`,
    );
    this.#droppedSinceLog = 0;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#closed) {
        if (this.#settings().url === "") {
          const n = this.#length;
          this.#q = [];
          this.#head = 0;
          if (n > 0) {
            this.#counts.dropped += n;
            this.#log.info(`hooks: hooks.url is off now: ${n} queued event(s) dropped`);
          }
          break;
        }
        const e = this.#shift();
        if (e === undefined) break;
        this.#inFlight = true;
        try {
          await this.#deliver(e);
        } finally {
          this.#inFlight = false;
        }
      }
    } finally {
      this.#running = false;
      for (const r of this.#idle.splice(0)) r();
    }
  }

  /** POSTs one event until it is accepted, refused for good, or out of retries. */
  async #deliver(e: HookEvent): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const s = this.#settings();
      if (s.url === "") {
        this.#counts.dropped++;
        return;
      }
      const failure = await this.#post(s, e);
      if (failure === null) {
        this.#counts.sent++;
        return;
      }
      if (!failure.retry || attempt > s.maxRetries || this.#closing) {
        this.#counts.failed++;
        this.#log.warn(
          `hooks: ${e.event} of path '${e.path}' dropped after ${attempt} attempt(s): ${failure.reason}`,
        );
        return;
      }
      this.#counts.retries++;
      await this.#sleep(hookRetryDelayMs(attempt, s.retryMinMs, s.retryMaxMs, this.#random));
    }
  }

  /** One POST: null when accepted, else why and whether it is worth another try. */
  async #post(s: HookSettings, e: HookEvent): Promise<{ retry: boolean; reason: string } | null> {
    const ac = new AbortController();
    let timedOut = false;
    const timer = this.#clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, s.timeoutMs);
    this.#abort = ac;
    try {
      const res = await this.#fetch(s.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": `dm-live/${VERSION}` },
        body: JSON.stringify(e),
        signal: ac.signal,
        // A redirect is the receiver's mistake to report, not a place to send events to.
        redirect: "manual",
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return null;
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return { retry, reason: `HTTP ${res.status}` };
    } catch (err) {
      const reason = timedOut
        ? `no answer within ${s.timeoutMs} ms`
        : ac.signal.aborted
        ? "aborted: the server is stopping"
        : (err as Error)?.message ?? String(err);
      return { retry: true, reason };
    } finally {
      this.#clock.clearTimeout(timer);
      this.#abort = null;
    }
  }

  /** Waits ms, or less when close() wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#clock.clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}

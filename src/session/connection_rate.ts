/**
 * limits.maxConnectionsPerSecondPerAddress: how many new connections one address (an IPv4 address,
 * an IPv6 /64: addressGroup) may open per second on this worker, its share of the bound over all
 * workers (the kernel spreads an address's connections over the workers' listeners). Counted in
 * fixed one-second windows; a connection past the bound is closed at once, unanswered, one log
 * line per address and 10 s says so with a count.
 */

/** How often a refusing address may say so. */
export const RATE_LOG_INTERVAL_MS = 10_000;

interface Window {
  /** performance.now() the window began, connections in it, refusals since the last log line. */
  start: number;
  n: number;
  refused: number;
  loggedAt: number;
}

/** Told of an address's refusals since its last line: at most once per 10 s per address. */
export type RateRefusalLog = (host: string, refused: number) => void;

export class ConnectionRate {
  readonly #windows = new Map<string, Window>();
  readonly #log: RateRefusalLog;
  #sweptAt = 0;

  constructor(log: RateRefusalLog) {
    this.#log = log;
  }

  /** Whether one more connection from `host` fits `perSecond` now (0: no bound). */
  admit(host: string, perSecond: number, now: number): boolean {
    if (perSecond <= 0) return true;
    if (now - this.#sweptAt >= 1000) this.#sweep(now);
    let w = this.#windows.get(host);
    if (w === undefined) {
      this.#windows.set(host, w = { start: now, n: 0, refused: 0, loggedAt: -Infinity });
    } else if (now - w.start >= 1000) {
      w.start = now;
      w.n = 0;
    }
    if (w.n < perSecond) {
      w.n++;
      return true;
    }
    w.refused++;
    if (now - w.loggedAt >= RATE_LOG_INTERVAL_MS) {
      this.#log(host, w.refused);
      w.loggedAt = now;
      w.refused = 0;
    }
    return false;
  }

  /** Addresses tracked (the test's view of the sweep). */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Forgets addresses whose window has ended and that have no refusal left to log; refusals not
   * yet logged are logged once their interval is over.
   */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [host, w] of this.#windows) {
      if (now - w.start < 1000) continue;
      if (w.refused === 0) {
        this.#windows.delete(host);
      } else if (now - w.loggedAt >= RATE_LOG_INTERVAL_MS) {
        // Kept a while longer: a refusal right after this line waits for the next interval.
        this.#log(host, w.refused);
        w.loggedAt = now;
        w.refused = 0;
      }
    }
  }
}

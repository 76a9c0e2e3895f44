/**
 * Bounds the log lines of error answers (4xx, 5xx): a client sending bad requests as fast as it
 * can would otherwise write a line per request. Per address (addressGroup: an IPv4 address, an
 * IPv6 /64) at most LINES_PER_ADDRESS lines per WINDOW_MS, and per worker at most LINES_PER_WORKER;
 * past either an answer is counted instead, and when the address's window ends one line says
 * "N more error answers to ADDR in the last 10 s". At most SUMMARIES_PER_FLUSH addresses are
 * named per flush; one more line sums the rest.
 */
import type { Logger } from "../log/logger.ts";

export const WINDOW_MS = 10_000;
export const LINES_PER_ADDRESS = 10;
export const LINES_PER_WORKER = 100;
export const SUMMARIES_PER_FLUSH = 20;

interface Window {
  /** When the window began; lines written and answers only counted in it. */
  start: number;
  lines: number;
  suppressed: number;
}

export class ErrorAnswerLog {
  readonly #log: Logger;
  readonly #timers: boolean;
  readonly #byAddress = new Map<string, Window>();
  readonly #worker: Window = { start: -Infinity, lines: 0, suppressed: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sweptAt = 0;

  /** `timers` false: summaries only when flush() is called (tests). */
  constructor(log: Logger, timers = true) {
    this.#log = log;
    this.#timers = timers;
  }

  /** Whether an error answer to `host` may have its own line now; if not, it is counted. */
  allow(host: string, now = performance.now()): boolean {
    if (now - this.#sweptAt >= WINDOW_MS) this.flush(now);
    const wk = this.#worker;
    if (now - wk.start >= WINDOW_MS) {
      wk.start = now;
      wk.lines = 0;
      wk.suppressed = 0;
    }
    let w = this.#byAddress.get(host);
    if (w === undefined) {
      this.#byAddress.set(host, w = { start: now, lines: 0, suppressed: 0 });
    } else if (now - w.start >= WINDOW_MS) {
      this.#summarise([[host, w]]);
      w.start = now;
      w.lines = 0;
      w.suppressed = 0;
    }
    if (w.lines < LINES_PER_ADDRESS && wk.lines < LINES_PER_WORKER) {
      w.lines++;
      wk.lines++;
      return true;
    }
    w.suppressed++;
    wk.suppressed++;
    if (this.#timers && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush(performance.now());
      }, Math.max(0, w.start + WINDOW_MS - now));
      Deno.unrefTimer(this.#timer);
    }
    return false;
  }

  /** Writes the summaries of the windows that have ended and forgets them. */
  flush(now = performance.now()): void {
    this.#sweptAt = now;
    const ended: [string, Window][] = [];
    let next = Infinity;
    for (const [host, w] of this.#byAddress) {
      if (now - w.start < WINDOW_MS) {
        if (w.suppressed > 0) next = Math.min(next, w.start + WINDOW_MS);
        continue;
      }
      this.#byAddress.delete(host);
      if (w.suppressed > 0) ended.push([host, w]);
    }
    this.#summarise(ended);
    if (this.#timers && next !== Infinity && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush(performance.now());
      }, Math.max(0, next - now));
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Addresses with a window open (the test's view of the sweep). */
  get size(): number {
    return this.#byAddress.size;
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #summarise(ended: [string, Window][]): void {
    let rest = 0;
    let restAddresses = 0;
    for (let i = 0; i < ended.length; i++) {
      const [host, w] = ended[i];
      if (w.suppressed === 0) continue;
      if (i < SUMMARIES_PER_FLUSH) {
        this.#log.warn(
          `${w.suppressed} more error answers to ${host} in the last ${
            WINDOW_MS / 1000
          } s (at most ${LINES_PER_ADDRESS} lines per address and ${LINES_PER_WORKER} per worker each 10 s)`,
        );
      } else {
        rest += w.suppressed;
        restAddresses++;
      }
    }
    if (restAddresses > 0) {
      this.#log.warn(
        `${rest} more error answers to ${restAddresses} other addresses in the last ${WINDOW_MS / 1000} s`,
      );
    }
  }
}

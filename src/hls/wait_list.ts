/**
 * The blocking requests one store holds: each waits for a condition on the store's state, with a
 * timeout and the request's abort signal, and the store calls settle() after every change.
 *
 * @module
 */
import { HlsBlockTimeoutError } from "./hls_errors.ts";

/** Timers, injectable so tests run timeouts without waiting. */
export interface HlsClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const REAL_CLOCK: HlsClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Whether what a request waits for came ("ready") or the stream ended first. */
export type HlsWaitResult = "ready" | "ended";

interface Waiter {
  ready: () => boolean;
  resolve: (r: HlsWaitResult) => void;
  /** Clears the timer and the abort listener and leaves the list. */
  done: () => void;
}

/** Waits in the order they were made; settle() resolves them in that order. */
export class WaitList {
  readonly #clock: HlsClock;
  readonly #timeoutMs: number;
  #waiters: Waiter[] = [];

  constructor(clock: HlsClock, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Waits held now. */
  get size(): number {
    return this.#waiters.length;
  }

  /**
   * Resolves "ready" once `ready()` holds, "ended" if `ended` is true now or at a later settle(),
   * rejects HlsBlockTimeoutError after the timeout and `signal.reason` when aborted.
   */
  wait(ready: () => boolean, ended: boolean, what: string, signal?: AbortSignal): Promise<HlsWaitResult> {
    if (ready()) return Promise.resolve("ready");
    if (ended) return Promise.resolve("ended");
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        w.done();
        reject(signal!.reason);
      };
      const timer = this.#clock.setTimeout(() => {
        w.done();
        reject(new HlsBlockTimeoutError(`HLS ${what} not available within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const w: Waiter = {
        ready,
        resolve,
        done: () => {
          this.#clock.clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(w);
    });
  }

  /** Resolves the waits whose condition now holds, and all of them once `ended`, oldest first. */
  settle(ended: boolean): void {
    for (const w of [...this.#waiters]) {
      const ready = w.ready();
      if (!ready && !ended) continue;
      w.done();
      w.resolve(ready ? "ready" : "ended");
    }
  }
}

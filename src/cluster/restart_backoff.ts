/** First wait before a dead worker is started again. */
export const RESTART_MIN_MS = 1000;
/** Longest wait between restarts of a worker that keeps dying. */
export const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying starts the backoff over: it was not a crash loop. */
export const RESTART_RESET_MS = 60_000;

/** How long to wait before restarting one worker slot: doubles per failure in a row, capped. */
export class RestartBackoff {
  #failures = 0;

  /** Failures in a row so far (including the one next() was last told of). */
  get failures(): number {
    return this.#failures;
  }

  /** The worker died (or failed to start) after running ranMs: the wait before the next start. */
  next(ranMs: number): number {
    if (ranMs >= RESTART_RESET_MS) this.#failures = 0;
    const wait = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return wait;
  }
}

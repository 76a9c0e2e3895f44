/**
 * One worker's merge window: how long a fan-out pass may wait after a publish so that each
 * viewer's write carries more packets (LocalStream). Writes are what a pass costs (8-9 us each in
 * the kernel here, whatever their size), but the wait is delay every viewer pays; so the window is
 * 0 while the worker has CPU to spare and grows toward `viewer.mergeWindowMs` only while the
 * worker's busy fraction stays above `viewer.mergeBusyPercent`.
 *
 * The controller runs once a second on the last second's busy fraction: above the threshold it
 * doubles the window (from MIN_STEP_MS), below LOWER_FRACTION of the threshold it halves it (to 0
 * from MIN_STEP_MS), between the two it holds, so it settles instead of swinging between 0
 * and the bound as the window it sets lowers the load it reads.
 */

/** The first non-zero window: small enough to cost little delay, large enough to merge a burst. */
export const MIN_STEP_MS = 2;
/** The window shrinks only when busy falls below this fraction of the threshold (hysteresis). */
export const LOWER_FRACTION = 0.7;

export interface MergeWindowLimits {
  /** The most delay a pass may add (viewer.mergeWindowMs). */
  maxMs: number;
  /** Busy percentage above which the window grows (viewer.mergeBusyPercent): 0 fixes it at maxMs. */
  busyPercent: number;
}

export class MergeWindow {
  /** The window passes wait now, ms. */
  ms = 0;
  /** viewer.mergeWindowMs as of the last update: also the longest a self-clocked pass waits. */
  maxMs = 0;
  /** The busy fraction of the last update (0..1; NaN before the first or when unknown). */
  busy = NaN;
  readonly #limits: () => MergeWindowLimits;

  /** limits is read at every update, so a config reload applies at the next one. */
  constructor(limits: () => MergeWindowLimits) {
    this.#limits = limits;
    this.#clamp(limits());
  }

  /**
   * Takes the worker's busy fraction over the last second (0..1). NaN (no thread clock on this
   * system) keeps the window at its bound: the fixed window of servers that cannot measure.
   */
  update(busy: number): void {
    const l = this.#limits();
    this.busy = busy;
    if (l.busyPercent <= 0 || Number.isNaN(busy)) {
      this.ms = this.maxMs = l.maxMs;
      return;
    }
    const threshold = l.busyPercent / 100;
    if (busy > threshold) this.ms = Math.max(MIN_STEP_MS, this.ms * 2);
    else if (busy < threshold * LOWER_FRACTION) this.ms = this.ms <= MIN_STEP_MS ? 0 : this.ms / 2;
    this.#clamp(l);
  }

  #clamp(l: MergeWindowLimits): void {
    this.maxMs = l.maxMs;
    if (l.busyPercent <= 0) this.ms = l.maxMs;
    this.ms = Math.min(this.ms, l.maxMs);
  }
}

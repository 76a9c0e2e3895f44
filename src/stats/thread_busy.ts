import { layout, libc, LINUX } from "../net/libc.ts";

/**
 * How busy the calling thread (one worker) is: its CPU time, user and system, over wall time
 * between two samples. The worker's socket writes are synchronous, so their kernel time counts.
 * Read with clock_gettime(CLOCK_THREAD_CPUTIME_ID): one synchronous FFI call per sample.
 */
export class ThreadBusy {
  readonly #ts: Uint8Array | null = null;
  readonly #view: DataView | null = null;
  #lastCpuMs = 0;
  #lastWallMs = 0;

  /** On a system without the thread clock (not Linux, no FFI), sample() answers NaN. */
  constructor() {
    try {
      const t = layout().timespec;
      this.#ts = new Uint8Array(t.size);
      this.#view = new DataView(this.#ts.buffer);
      this.#lastCpuMs = this.#cpuMs();
      if (Number.isNaN(this.#lastCpuMs)) this.#ts = this.#view = null;
    } catch {
      // Not Linux or FFI not allowed: no thread clock, and the merge window stays fixed.
      this.#ts = this.#view = null;
    }
    this.#lastWallMs = performance.now();
  }

  /** Whether sample() measures anything. */
  get available(): boolean {
    return this.#ts !== null;
  }

  /** The fraction of wall time since the last sample (or construction) this thread ran; NaN if unknown. */
  sample(): number {
    if (this.#ts === null) return NaN;
    const cpu = this.#cpuMs();
    const wall = performance.now();
    const busy = (cpu - this.#lastCpuMs) / (wall - this.#lastWallMs);
    this.#lastCpuMs = cpu;
    this.#lastWallMs = wall;
    return Number.isFinite(busy) ? Math.min(1, Math.max(0, busy)) : NaN;
  }

  #cpuMs(): number {
    if (libc().clock_gettime(LINUX.CLOCK_THREAD_CPUTIME_ID, this.#ts!) !== 0) return NaN;
    const t = layout().timespec;
    // Seconds of CPU time fit a float64 exactly long after any process ends.
    return Number(this.#view!.getBigInt64(t.sec, true)) * 1000 +
      Number(this.#view!.getBigInt64(t.nsec, true)) / 1e6;
  }
}

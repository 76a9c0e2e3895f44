import { HDR } from "./ring_layout.ts";
import type { SharedRing } from "./shared_ring.ts";

/** Longest wait before a wake without news, so ended streams and stalled writes are still noticed. */
const IDLE_WAKE_MS = 1000;

/**
 * Wakes a worker when a stream's writer publishes (Atomics.waitAsync on the ring's HEAD word).
 * One watch per stream per worker, however many viewers; armed only while someone listens.
 */
export class RingWatch {
  #ring: SharedRing;
  readonly #onWake: () => void;
  #seen: number;
  #armed = false;
  #active = false;

  constructor(ring: SharedRing, onWake: () => void) {
    this.#ring = ring;
    this.#onWake = onWake;
    this.#seen = ring.head();
  }

  start(): void {
    this.#active = true;
    this.#arm();
  }

  /**
   * Watches `ring` from now on (the stream moved to it). A wait pending on the old ring resolves at
   * the move's notify (the writer stores MOVED_TO before the old ring's last HEAD and notifies), and
   * the next one waits on this ring.
   */
  retarget(ring: SharedRing): void {
    this.#ring = ring;
    this.#seen = ring.head();
  }

  /** Stops calling back; a wait already pending resolves harmlessly at the next publish or timeout. */
  stop(): void {
    this.#active = false;
  }

  #arm(): void {
    if (this.#armed || !this.#active) return;
    const r = Atomics.waitAsync(this.#ring.header, HDR.HEAD, this.#seen, IDLE_WAKE_MS);
    this.#armed = true;
    if (r.async) r.value.then(this.#fire);
    else queueMicrotask(this.#fire);
  }

  readonly #fire = (): void => {
    this.#armed = false;
    if (!this.#active) return;
    this.#seen = this.#ring.head();
    this.#onWake();
    this.#arm();
  };
}

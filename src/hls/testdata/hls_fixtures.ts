/**
 * Test-only helpers for src/hls/: a clock whose timers fire when the test says, and parts made
 * up of recognisable bytes.
 *
 * @module
 */
import type { HlsClock, HlsPartInput } from "../hls_stream_store.ts";

/** Timers that fire only from advance(), in time order. */
export class FakeClock implements HlsClock {
  now = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };
  clearTimeout = (id: unknown): void => void this.timers.delete(id as number);

  /** Moves time on by ms, firing each timer due on the way. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= target && (due === undefined || e[1].at < due[1].at)) due = e;
      }
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = target;
  }
}

export const T0 = Date.parse("2026-12-03T14:44:55.000Z");

/** Makes parts in stream order: `n` bytes of the part's number, its time following the last. */
export class PartMaker {
  #seq = 0;
  #ms = 0;

  make(duration: number, independent: boolean, n = 100): HlsPartInput {
    const part = {
      bytes: new Uint8Array(n).fill(this.#seq++ & 0xff),
      duration,
      independent,
      programDateTime: new Date(T0 + this.#ms),
    };
    this.#ms += Math.round(duration * 1000);
    return part;
  }
}

/** Lets pending promise callbacks run. */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

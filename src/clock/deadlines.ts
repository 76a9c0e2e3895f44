/**
 * Many short deadlines of the data path (a feed's hold for the end of its access unit, a stream's
 * merge window) behind one timer of the runtime's per worker.
 *
 * A `setTimeout` allocates a handful of objects (the timer, its entry in the runtime's map and
 * heap), and at 100 streams a worker armed ~7,000 a second: the largest source of objects V8
 * promotes and then collects in full GCs (a sampling heap profile of 200 streams of 2 Mbit/s
 * attributed ~90 % of the promoted bytes to them), which is what the worker's heap grows by. A
 * `Deadline` is made once by its owner and armed as often as needed without allocating; the queue
 * keeps the armed ones in a binary heap and one runtime timer for the earliest, so deadlines due in
 * the same millisecond cost one timer.
 */

/** A deadline owned by one object, armed and re-armed for the life of that object. */
export class Deadline {
  /** performance.now() at which it fires; meaningful while armed. */
  dueMs = 0;
  /** Its place in the queue's heap, -1 when not armed. */
  index = -1;
  readonly #queue: DeadlineQueue;
  readonly fire: () => void;

  constructor(fire: () => void, queue: DeadlineQueue = deadlines) {
    this.fire = fire;
    this.#queue = queue;
  }

  get armed(): boolean {
    return this.index >= 0;
  }

  /** Fires `ms` from now (at least in the next turn of the event loop), once; re-arming moves it. */
  // hot path: no allocation
  arm(ms: number): void {
    this.#queue.arm(this, performance.now() + Math.max(0, ms));
  }

  disarm(): void {
    this.#queue.disarm(this);
  }
}

/** Deadlines due within this much of the one the timer fired for run with it (timers have ms resolution). */
const SAME_MS = 0.5;

/** The armed deadlines of a worker in a binary min-heap on dueMs, with one runtime timer for the root. */
export class DeadlineQueue {
  readonly #heap: Deadline[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** performance.now() the runtime timer is set for (Infinity: none). */
  #timerAt = Infinity;
  /** Whether a pump runs the due deadlines (pump()): no runtime timer meanwhile. */
  #pumped = false;

  get size(): number {
    return this.#heap.length;
  }

  /**
   * While something else wakes the worker every few ms anyway (the FFI poller's tick), it runs the
   * due deadlines at each of its wakes (runDue) instead of a runtime timer waking the worker in
   * between: on this VM a wake costs 75-115 us of CPU, a timer a few more. A deadline then fires
   * up to one pump period late, never early. pump(false) hands back to the runtime timer.
   */
  pump(on: boolean): void {
    if (on === this.#pumped) return;
    this.#pumped = on;
    if (!on) return this.#schedule();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** The pump's call: runs the deadlines due now. */
  // hot path: no allocation when nothing is due
  runDue(): void {
    const h = this.#heap;
    if (h.length > 0 && h[0].dueMs <= performance.now() + SAME_MS) this.#run();
  }

  arm(d: Deadline, dueMs: number): void {
    const h = this.#heap;
    if (d.index < 0) {
      d.index = h.length;
      h.push(d);
      d.dueMs = dueMs;
      this.#up(d.index);
    } else {
      const earlier = dueMs < d.dueMs;
      d.dueMs = dueMs;
      if (earlier) this.#up(d.index);
      else this.#down(d.index);
    }
    this.#schedule();
  }

  disarm(d: Deadline): void {
    const i = d.index;
    if (i < 0) return;
    this.#removeAt(i);
    // With others armed the timer may stay set for this one: firing early only sets it again.
    if (this.#heap.length === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
  }

  #removeAt(i: number): void {
    const h = this.#heap;
    const d = h[i];
    d.index = -1;
    const last = h.pop()!;
    if (last === d) return;
    h[i] = last;
    last.index = i;
    this.#up(i);
    this.#down(last.index);
  }

  /** Sets the runtime timer for the root when it is due sooner than the timer is set for. */
  #schedule(): void {
    const h = this.#heap;
    if (h.length === 0 || this.#pumped) return;
    const at = h[0].dueMs;
    if (at >= this.#timerAt - SAME_MS) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#run, Math.max(0, Math.ceil(at - performance.now())));
  }

  readonly #run = (): void => {
    // The runtime timer's call, or runDue's (then a timer set before pump(true) is cleared already).
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const h = this.#heap;
    const until = performance.now() + SAME_MS;
    let failure: { error: unknown } | null = null;
    // A fired deadline may arm itself or others again: those due later wait for the next timer.
    while (h.length > 0 && h[0].dueMs <= until) {
      const d = h[0];
      this.#removeAt(0);
      try {
        d.fire();
      } catch (e) {
        failure ??= { error: e };
      }
    }
    this.#schedule();
    // As a throwing setTimeout callback would: the error reaches the worker, the other deadlines ran.
    if (failure !== null) throw failure.error;
  };

  #up(i: number): void {
    const h = this.#heap;
    const d = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p];
      if (parent.dueMs <= d.dueMs) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = d;
    d.index = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const d = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r].dueMs < h[l].dueMs ? r : l;
      const child = h[c];
      if (child.dueMs >= d.dueMs) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = d;
    d.index = i;
  }
}

/** The worker's queue (each worker is its own isolate, so its own module instance). */
export const deadlines = new DeadlineQueue();

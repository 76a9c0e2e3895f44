import type { DeadlineQueue } from "../clock/deadlines.ts";
import { errno, layout, libc, LINUX } from "./libc.ts";

/** What the poller calls when a registered fd has events (EPOLLIN, EPOLLOUT, ...). */
export interface PollTarget {
  onEvents(events: number): void;
}

const MAX_EVENTS = 1024;
/** Longest single wait; bounds how long stop() takes. */
const WAIT_MS = 500;
/** Most quick asks (timeout 0, on the worker's thread) after a wait that found events. */
const QUICK_ROUNDS = 8;
/**
 * A blocking wait that returned within this many ticks means events are dense: the poller then
 * asks on a tick instead. Sparse traffic (a few viewers' RTCP, RTSP requests) stays event-driven.
 */
const DENSE_TICKS = 2;
/** Empty ticks in a row after which the poller goes back to the blocking wait. */
const EMPTY_TICKS = 2;

/**
 * The tick for a worker: `readTickMs` while it has CPU to spare; while its merge window is open
 * (it is busy, and viewers' packets already wait for the window) a quarter of the window, up to
 * four times `readTickMs`. 0 turns the tick off.
 */
export function readTick(readTickMs: number, mergeWindowMs: number): number {
  if (readTickMs <= 0) return 0;
  return Math.max(readTickMs, Math.min(4 * readTickMs, mergeWindowMs / 4));
}

/**
 * One epoll instance per worker, edge-triggered. epoll_wait runs on a blocking thread (nonblocking
 * FFI), so the worker's event loop keeps running; registrations change while it waits, which
 * epoll allows.
 *
 * Each such wait costs two thread hand-offs (the call to the blocking pool, its result back to the
 * event loop): at 20 ffmpeg publishers that was ~1,800 rounds a second and most of the ingest's
 * CPU (perf: the scheduler's task switch on top). So while events are dense the poller instead
 * asks on the worker's own thread every `tickMs` (a timer, no other thread involved): reads then
 * take what arrived in the tick, a packet waits at most one tick more, and the rounds per second
 * are set by the tick, not by the publishers' writes.
 */
export class EpollPoller {
  readonly #ep: number;
  /**
   * struct epoll_event of this architecture (libc_layout.ts): 12 bytes with `data` at 4 on
   * x86_64, which packs it, 16 with `data` at 8 on aarch64. `data` holds the fd.
   */
  readonly #stride: number;
  readonly #eventsAt: number;
  readonly #dataAt: number;
  readonly #events: Uint8Array;
  readonly #view: DataView;
  readonly #ctl: Uint8Array;
  readonly #ctlView: DataView;
  readonly #targets: (PollTarget | undefined)[] = [];
  #running = false;
  #stopped = false;
  readonly #onError: (e: unknown) => void;
  /** The tick while events are dense, ms (read at each tick: it follows the merge window); 0: never. */
  readonly #tickMs: () => number;
  /**
   * The tick's interval timer while ticking, and its period. An interval, not a timeout re-armed per
   * tick: it fires without making a timer object each time (~25 % less CPU per fire here).
   */
  #interval: ReturnType<typeof setInterval> | undefined;
  #intervalMs = 0;
  readonly #onTickBound = () => this.#onTick();
  #emptyTicks = 0;
  #closedFd = false;
  /** The worker's deadlines, run at each tick while ticking (DeadlineQueue.pump), or null. */
  readonly #deadlines: DeadlineQueue | null;
  /** run()'s end, resolved once the epoll fd is closed. */
  #ended: () => void = () => {};
  /** Waits that asked the blocking thread, and ticks that asked on this one (for /metrics). */
  blockingWaits = 0;
  ticks = 0;

  /** The tick's period now, ms; 0 while on blocking waits (for /metrics). */
  get tickingMs(): number {
    return this.#interval === undefined ? 0 : this.#intervalMs;
  }

  /**
   * onError hears of a target whose event handling threw; the poller goes on with the others.
   * tickMs: how often to ask while events are dense (0: always the blocking wait).
   */
  constructor(
    onError: (e: unknown) => void = () => {},
    tickMs: () => number = () => 0,
    deadlines: DeadlineQueue | null = null,
  ) {
    this.#onError = onError;
    this.#tickMs = tickMs;
    this.#deadlines = deadlines;
    const lc = libc(); // throws off Linux or on an architecture without a layout
    const ev = layout().epollEvent;
    this.#stride = ev.size;
    this.#eventsAt = ev.events;
    this.#dataAt = ev.data;
    this.#events = new Uint8Array(ev.size * MAX_EVENTS);
    this.#view = new DataView(this.#events.buffer);
    this.#ctl = new Uint8Array(ev.size);
    this.#ctlView = new DataView(this.#ctl.buffer);
    this.#ep = lc.epoll_create1(LINUX.EPOLL_CLOEXEC);
    if (this.#ep < 0) throw new Error(`epoll_create1 failed: errno ${errno()}`);
  }

  /** Watches fd for input and hang-up (edge-triggered) until remove(). */
  add(fd: number, target: PollTarget): void {
    this.#targets[fd] = target;
    if (!this.#control(LINUX.EPOLL_CTL_ADD, fd, false)) {
      this.#targets[fd] = undefined;
      throw new Error(`epoll_ctl ADD ${fd} failed: errno ${errno()}`);
    }
  }

  /**
   * Watches fd for output space too, or stops. Only while a write waits: with EPOLLOUT always on,
   * every ACK that frees send-buffer space would wake JavaScript, hundreds of thousands of times a
   * second at 19,000 viewers. EPOLL_CTL_MOD re-checks readiness, so no wake-up is lost.
   */
  wantWrite(fd: number, on: boolean): void {
    if (this.#targets[fd] !== undefined) this.#control(LINUX.EPOLL_CTL_MOD, fd, on);
  }

  #control(op: number, fd: number, out: boolean): boolean {
    const ev = LINUX.EPOLLIN | LINUX.EPOLLRDHUP | LINUX.EPOLLET | (out ? LINUX.EPOLLOUT : 0);
    this.#ctlView.setUint32(this.#eventsAt, ev >>> 0, true);
    // data, a u64: the fd in its low half (both architectures are little-endian).
    this.#ctlView.setUint32(this.#dataAt, fd, true);
    this.#ctlView.setUint32(this.#dataAt + 4, 0, true);
    return libc().epoll_ctl(this.#ep, op, fd, this.#ctl) === 0;
  }

  /** Stops watching fd; call before closing it. */
  remove(fd: number): void {
    if (this.#targets[fd] === undefined) return;
    this.#targets[fd] = undefined;
    libc().epoll_ctl(this.#ep, LINUX.EPOLL_CTL_DEL, fd, this.#ctl);
  }

  /** Dispatches events until stop(). */
  run(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running = true;
    const ended = new Promise<void>((resolve) => this.#ended = resolve);
    this.#block();
    return ended;
  }

  /** Blocking waits until the events come dense, then hands over to the tick. */
  async #block(): Promise<void> {
    const lc = libc();
    const view = this.#view;
    const stride = this.#stride;
    const eventsAt = this.#eventsAt;
    const dataAt = this.#dataAt;
    while (this.#running) {
      const asked = performance.now();
      this.blockingWaits++;
      let n = await lc.epoll_wait(this.#ep, this.#events, MAX_EVENTS, WAIT_MS);
      const tickMs = this.#tickMs();
      const dense = n > 0 && tickMs > 0 && performance.now() - asked < DENSE_TICKS * tickMs;
      // Then, while events keep coming, ask again on this thread once the callbacks' promise
      // reactions have run: events that arrived meanwhile (the rest of a burst of publishers'
      // writes) cost one system call instead of a round trip through the blocking thread.
      // Bounded, so timers and other tasks get their turn.
      for (let round = 0; n > 0 && round < QUICK_ROUNDS; round++) {
        this.#dispatch(n, view, stride, eventsAt, dataAt);
        await null;
        n = this.#running ? lc.epoll_wait_now(this.#ep, this.#events, MAX_EVENTS, 0) : 0;
      }
      if (n > 0) this.#dispatch(n, view, stride, eventsAt, dataAt);
      if (dense && this.#running) {
        this.#emptyTicks = 0;
        this.#tickEvery(tickMs);
        return;
      }
    }
    this.#close();
  }

  /** Ticks every `ms` from now (restarting the interval when the period changed). */
  #tickEvery(ms: number): void {
    if (this.#interval !== undefined) {
      if (this.#intervalMs === ms) return;
      clearInterval(this.#interval);
    }
    this.#intervalMs = ms;
    this.#interval = setInterval(this.#onTickBound, ms);
    this.#deadlines?.pump(true);
  }

  #stopTicking(): void {
    if (this.#interval === undefined) return;
    clearInterval(this.#interval);
    this.#interval = undefined;
    this.#deadlines?.pump(false);
  }

  /** One tick: what is ready now, on this thread; back to blocking waits once ticks come empty. */
  #onTick(): void {
    if (!this.#running) return this.#close();
    this.ticks++;
    const lc = libc();
    let n = lc.epoll_wait_now(this.#ep, this.#events, MAX_EVENTS, 0);
    const tickMs = this.#tickMs();
    if (n === 0) {
      if (++this.#emptyTicks >= EMPTY_TICKS || tickMs <= 0) {
        this.#stopTicking();
        this.#block();
      } else {
        this.#deadlines?.runDue();
      }
      return;
    }
    this.#emptyTicks = 0;
    this.#dispatch(n, this.#view, this.#stride, this.#eventsAt, this.#dataAt);
    // A full array may have left events behind: ask again at once.
    while (n === MAX_EVENTS && this.#running) {
      n = lc.epoll_wait_now(this.#ep, this.#events, MAX_EVENTS, 0);
      if (n > 0) this.#dispatch(n, this.#view, this.#stride, this.#eventsAt, this.#dataAt);
    }
    if (!this.#running) return this.#close();
    if (tickMs > 0) this.#tickEvery(tickMs);
    // What the reads made due (a feed's hold, a merge window's wait) and what came due meanwhile.
    this.#deadlines?.runDue();
  }

  /** Closes the epoll fd once (stop() from a target's handler mid-tick reaches here twice). */
  #close(): void {
    this.#stopTicking();
    if (this.#closedFd) return;
    this.#closedFd = true;
    libc().close(this.#ep);
    this.#ended();
  }

  #dispatch(n: number, view: DataView, stride: number, eventsAt: number, dataAt: number): void {
    for (let i = 0; i < n; i++) {
      const events = view.getUint32(i * stride + eventsAt, true);
      const fd = view.getUint32(i * stride + dataAt, true);
      try {
        this.#targets[fd]?.onEvents(events);
      } catch (e) {
        // One connection's bug must not stop every other connection of the worker.
        this.#onError(e);
      }
    }
  }

  /**
   * Ends run(), which closes the epoll fd once its wait returns (at most WAIT_MS) or at once when
   * ticking; a poller that never ran (its worker failed to start) closes it here.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (!this.#running) return this.#close();
    this.#running = false;
    if (this.#interval !== undefined) this.#close();
  }
}

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
 * One epoll instance per worker, edge-triggered. epoll_wait runs on a blocking thread (nonblocking
 * FFI), so the worker's event loop keeps running; registrations change while it waits, which
 * epoll allows.
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

  /** onError hears of a target whose event handling threw; the poller goes on with the others. */
  constructor(onError: (e: unknown) => void = () => {}) {
    this.#onError = onError;
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
  async run(): Promise<void> {
    if (this.#stopped) return;
    this.#running = true;
    const lc = libc();
    const view = this.#view;
    const stride = this.#stride;
    const eventsAt = this.#eventsAt;
    const dataAt = this.#dataAt;
    while (this.#running) {
      let n = await lc.epoll_wait(this.#ep, this.#events, MAX_EVENTS, WAIT_MS);
      // Then, while events keep coming, ask again on this thread once the callbacks' promise
      // reactions have run: events that arrived meanwhile (the rest of a burst of publishers'
      // writes) cost one system call instead of a round trip through the blocking thread, whose
      // wake-ups were most of the ingest's CPU. Bounded, so timers and other tasks get their turn.
      for (let round = 0; n > 0 && round < QUICK_ROUNDS; round++) {
        this.#dispatch(n, view, stride, eventsAt, dataAt);
        await null;
        n = this.#running ? lc.epoll_wait_now(this.#ep, this.#events, MAX_EVENTS, 0) : 0;
      }
      if (n > 0) this.#dispatch(n, view, stride, eventsAt, dataAt);
    }
    lc.close(this.#ep);
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
   * Ends run(), which closes the epoll fd once its wait returns (at most WAIT_MS); a poller that
   * never ran (its worker failed to start) closes it here.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#running) this.#running = false;
    else libc().close(this.#ep);
  }
}

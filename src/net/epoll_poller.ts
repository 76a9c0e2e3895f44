import { errno, libc, LINUX } from "./libc.ts";

/** What the poller calls when a registered fd has events (EPOLLIN, EPOLLOUT, ...). */
export interface PollTarget {
  onEvents(events: number): void;
}

const EVENT_BYTES = 12; // struct epoll_event is packed on x86_64: u32 events, u64 data
const MAX_EVENTS = 1024;
/** Longest single wait; bounds how long stop() takes. */
const WAIT_MS = 500;

/**
 * One epoll instance per worker, edge-triggered. epoll_wait runs on a blocking thread (nonblocking
 * FFI), so the worker's event loop keeps running; registrations change while it waits, which
 * epoll allows.
 */
export class EpollPoller {
  readonly #ep: number;
  readonly #events = new Uint8Array(EVENT_BYTES * MAX_EVENTS);
  readonly #view = new DataView(this.#events.buffer);
  readonly #ctl = new Uint8Array(EVENT_BYTES);
  readonly #ctlView = new DataView(this.#ctl.buffer);
  readonly #targets: (PollTarget | undefined)[] = [];
  #running = false;

  constructor() {
    this.#ep = libc().epoll_create1(LINUX.SOCK_CLOEXEC);
    if (this.#ep < 0) throw new Error(`epoll_create1 failed: errno ${errno()}`);
  }

  /** Watches fd for input, output space and hang-up (edge-triggered) until remove(). */
  add(fd: number, target: PollTarget): void {
    this.#targets[fd] = target;
    const ev = LINUX.EPOLLIN | LINUX.EPOLLOUT | LINUX.EPOLLRDHUP | LINUX.EPOLLET;
    this.#ctlView.setUint32(0, ev >>> 0, true);
    this.#ctlView.setUint32(4, fd, true);
    this.#ctlView.setUint32(8, 0, true);
    if (libc().epoll_ctl(this.#ep, LINUX.EPOLL_CTL_ADD, fd, this.#ctl) !== 0) {
      this.#targets[fd] = undefined;
      throw new Error(`epoll_ctl ADD ${fd} failed: errno ${errno()}`);
    }
  }

  /** Stops watching fd; call before closing it. */
  remove(fd: number): void {
    if (this.#targets[fd] === undefined) return;
    this.#targets[fd] = undefined;
    libc().epoll_ctl(this.#ep, LINUX.EPOLL_CTL_DEL, fd, this.#ctl);
  }

  /** Dispatches events until stop(). */
  async run(): Promise<void> {
    this.#running = true;
    const lc = libc();
    while (this.#running) {
      const n = await lc.epoll_wait(this.#ep, this.#events, MAX_EVENTS, WAIT_MS);
      for (let i = 0; i < n; i++) {
        const events = this.#view.getUint32(i * EVENT_BYTES, true);
        const fd = this.#view.getUint32(i * EVENT_BYTES + 4, true);
        this.#targets[fd]?.onEvents(events);
      }
    }
    lc.close(this.#ep);
  }

  stop(): void {
    this.#running = false;
  }
}

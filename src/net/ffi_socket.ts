import type { ByteSocket } from "./byte_socket.ts";
import type { EpollPoller, PollTarget } from "./epoll_poller.ts";
import { errno, errnoError, libc, LINUX, sizeT } from "./libc.ts";

const READABLE = LINUX.EPOLLIN | LINUX.EPOLLRDHUP | LINUX.EPOLLHUP | LINUX.EPOLLERR;
const WRITABLE = LINUX.EPOLLOUT | LINUX.EPOLLHUP | LINUX.EPOLLERR;

interface Waiter<T> {
  buf: Uint8Array;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/**
 * A nonblocking socket fd: reads and writes are tried at once with recv/send, and only wait for
 * the poller when the kernel says EAGAIN. A write that completes at once copies the bytes into
 * the kernel and involves no promise; the connection holds no Deno resource or pending op.
 */
export class FfiSocket implements ByteSocket, PollTarget {
  readonly peer: string;
  readonly #fd: number;
  readonly #poller: EpollPoller;
  #reader: Waiter<number | null> | null = null;
  #writer: Waiter<number> | null = null;
  #closed = false;

  constructor(fd: number, peer: string, poller: EpollPoller) {
    this.#fd = fd;
    this.peer = peer;
    this.#poller = poller;
    poller.add(fd, this);
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("socket closed"));
    const n = this.#tryRead(buf);
    if (n !== undefined) return Promise.resolve(n);
    return new Promise((resolve, reject) => this.#reader = { buf, resolve, reject });
  }

  // hot path: no allocation when the kernel takes the bytes at once
  write(buf: Uint8Array): number | Promise<number> {
    if (this.#closed) throw new Deno.errors.BadResource("socket closed");
    const n = libc().send(this.#fd, buf, sizeT(buf.length), LINUX.MSG_NOSIGNAL);
    if (n >= 0) return n;
    const e = errno();
    if (e !== LINUX.EAGAIN && e !== LINUX.EINTR) throw errnoError("send", e);
    this.#poller.wantWrite(this.#fd, true);
    return new Promise((resolve, reject) => this.#writer = { buf, resolve, reject });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.remove(this.#fd);
    libc().close(this.#fd);
    const err = new Deno.errors.BadResource("socket closed");
    this.#reader?.reject(err);
    this.#writer?.reject(err);
    this.#reader = this.#writer = null;
  }

  /** PollTarget: retry whatever waits for the readiness that arrived. */
  onEvents(events: number): void {
    if (this.#closed) return;
    const r = this.#reader;
    if (r !== null && (events & READABLE) !== 0) {
      try {
        const n = this.#tryRead(r.buf);
        if (n !== undefined) {
          this.#reader = null;
          r.resolve(n);
        }
      } catch (e) {
        this.#reader = null;
        r.reject(e);
      }
    }
    const w = this.#writer;
    if (w !== null && (events & WRITABLE) !== 0) {
      const n = libc().send(this.#fd, w.buf, sizeT(w.buf.length), LINUX.MSG_NOSIGNAL);
      if (n >= 0) {
        this.#writer = null;
        this.#poller.wantWrite(this.#fd, false);
        w.resolve(n);
      } else {
        const e = errno();
        if (e !== LINUX.EAGAIN && e !== LINUX.EINTR) {
          this.#writer = null;
          w.reject(errnoError("send", e));
        }
      }
    }
  }

  /** Bytes read, null at end of stream, undefined when nothing is there yet. */
  #tryRead(buf: Uint8Array): number | null | undefined {
    const n = libc().recv(this.#fd, buf, sizeT(buf.length), 0);
    if (n > 0) return n;
    if (n === 0) return null;
    const e = errno();
    if (e === LINUX.EAGAIN || e === LINUX.EINTR) return undefined;
    throw errnoError("recv", e);
  }
}

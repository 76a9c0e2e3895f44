import type { ByteSocket } from "./byte_socket.ts";
import type { EpollPoller, PollTarget } from "./epoll_poller.ts";
import { addressOf, errno, errnoError, libc, LINUX } from "./libc.ts";

const READABLE = LINUX.EPOLLIN | LINUX.EPOLLRDHUP | LINUX.EPOLLHUP | LINUX.EPOLLERR;
const WRITABLE = LINUX.EPOLLOUT | LINUX.EPOLLHUP | LINUX.EPOLLERR;

interface Waiter<T> {
  buf: Uint8Array;
  start: number;
  end: number;
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
  /** The buffer last written from and its address: a viewer writes from one ring, over and over. */
  #addrBuf: Uint8Array | null = null;
  #addr = 0;

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
    return new Promise((resolve, reject) => this.#reader = { buf, start: 0, end: buf.length, resolve, reject });
  }

  // hot path: no promise when the kernel takes the bytes at once
  write(buf: Uint8Array, start: number, end: number): number | Promise<number> {
    if (this.#closed) throw new Deno.errors.BadResource("socket closed");
    const n = this.#send(buf, start, end);
    if (n >= 0) return n;
    const e = errno();
    if (e !== LINUX.EAGAIN && e !== LINUX.EINTR) throw errnoError("send", e);
    this.#poller.wantWrite(this.#fd, true);
    return new Promise((resolve, reject) => this.#writer = { buf, start, end, resolve, reject });
  }

  // hot path: two small BigInts, no view, for shared memory (the rings, viewers' copy buffers)
  #send(buf: Uint8Array, start: number, end: number): number {
    if (buf !== this.#addrBuf) {
      if (!(buf.buffer instanceof SharedArrayBuffer)) {
        // V8 may keep small ordinary arrays inside its heap and move them: no raw address.
        const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
        return libc().send(this.#fd, view, BigInt(view.length), LINUX.MSG_NOSIGNAL);
      }
      this.#addrBuf = buf;
      this.#addr = addressOf(buf);
    }
    return libc().sendAt(this.#fd, BigInt(this.#addr + start), BigInt(end - start), LINUX.MSG_NOSIGNAL);
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
    this.#addrBuf = null;
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
      const n = this.#send(w.buf, w.start, w.end);
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
    const n = libc().recv(this.#fd, buf, BigInt(buf.length), 0);
    if (n > 0) return n;
    if (n === 0) return null;
    const e = errno();
    if (e === LINUX.EAGAIN || e === LINUX.EINTR) return undefined;
    throw errnoError("recv", e);
  }
}

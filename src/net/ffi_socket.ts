import { type ByteSocket, formatPeer, type ReadableListener, type ReadTarget } from "./byte_socket.ts";
import type { EpollPoller, PollTarget } from "./epoll_poller.ts";
import { addressOf, errno, errnoError, libc, LINUX } from "./libc.ts";
import { sockaddr, sockaddrLength } from "./sockaddr.ts";

const PEEK_BUF = new Uint8Array(1);
const READABLE = LINUX.EPOLLIN | LINUX.EPOLLRDHUP | LINUX.EPOLLHUP | LINUX.EPOLLERR;
const WRITABLE = LINUX.EPOLLOUT | LINUX.EPOLLHUP | LINUX.EPOLLERR;
const HANGUP = LINUX.EPOLLRDHUP | LINUX.EPOLLHUP | LINUX.EPOLLERR;

interface ReadWaiter {
  target: ReadTarget;
  resolve: (v: number | null) => void;
  reject: (e: unknown) => void;
}

interface WriteWaiter {
  buf: Uint8Array;
  start: number;
  end: number;
  resolve: (v: number) => void;
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
  #reader: ReadWaiter | null = null;
  #listener: ReadableListener | null = null;
  /** Whether #listener is called back only after a peek finds bytes (whenReadable). */
  #listenerPeeks = true;
  #writer: WriteWaiter | null = null;
  /** A connect() in progress (FfiSocket.connect): settled when the poller reports writability. */
  #connecting: PromiseWithResolvers<void> | null = null;
  #closed = false;
  /**
   * Bytes may be waiting: the last recv filled its buffer, or the poller reported readiness with no
   * read pending. Edge-triggered epoll reports only new data, so a read tries recv first then.
   */
  #readable = true;
  /** An edge reported the peer's FIN or an error; it may still sit behind unread bytes. */
  #hangup = false;
  /** The buffer last written from and its address: a viewer writes from one ring, over and over. */
  #addrBuf: Uint8Array | null = null;
  #addr = 0;

  constructor(fd: number, peer: string, poller: EpollPoller) {
    this.#fd = fd;
    this.peer = peer;
    this.#poller = poller;
    poller.add(fd, this);
  }

  /**
   * Connects to an IPv4 or IPv6 address (a literal: no name lookup) without blocking the worker,
   * with TCP_NODELAY set. Rejects with the errno of the failure (refused, unreachable); the caller
   * bounds the wait by closing the socket it gets from `opened`, which rejects it.
   */
  static async connect(
    host: string,
    port: number,
    poller: EpollPoller,
    opened: (sock: FfiSocket) => void = () => {},
  ): Promise<FfiSocket> {
    const lc = libc();
    const { family, addr } = sockaddr(host, port);
    const fd = lc.socket(family, LINUX.SOCK_STREAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError("socket");
    lc.setsockopt(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, new Uint8Array(new Int32Array([1]).buffer), 4);
    let sock: FfiSocket;
    try {
      sock = new FfiSocket(fd, formatPeer(host, port), poller);
    } catch (e) {
      lc.close(fd);
      throw e;
    }
    opened(sock);
    if (sock.#closed) throw new Deno.errors.BadResource("socket closed");
    if (lc.connect(fd, addr, sockaddrLength(family)) !== 0) {
      const e = errno();
      if (e !== LINUX.EINPROGRESS && e !== LINUX.EINTR) {
        sock.close();
        throw errnoError("connect", e);
      }
      sock.#connecting = Promise.withResolvers<void>();
      poller.wantWrite(fd, true);
      try {
        await sock.#connecting.promise;
      } catch (e) {
        sock.close();
        throw e;
      }
    }
    return sock;
  }

  /** The connect's outcome once the socket is writable: SO_ERROR 0 or why it failed. */
  #connected(): void {
    const c = this.#connecting!;
    this.#connecting = null;
    this.#poller.wantWrite(this.#fd, false);
    const err = new Int32Array(1);
    const len = new Uint32Array([4]);
    const r = libc().getsockopt(
      this.#fd,
      LINUX.SOL_SOCKET,
      LINUX.SO_ERROR,
      new Uint8Array(err.buffer),
      new Uint8Array(len.buffer),
    );
    if (r !== 0) c.reject(errnoError("getsockopt SO_ERROR"));
    else if (err[0] !== 0) c.reject(errnoError("connect", err[0]));
    else c.resolve();
  }

  read(target: ReadTarget): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("socket closed"));
    if (this.#readable) {
      const n = this.#tryRead(target);
      if (n !== undefined) return Promise.resolve(n);
    }
    return new Promise((resolve, reject) => this.#reader = { target, resolve, reject });
  }

  // hot path: no allocation
  readNow(target: ReadTarget): number | null | undefined {
    if (this.#closed) throw new Deno.errors.BadResource("socket closed");
    return this.#readable && this.#reader === null ? this.#tryRead(target) : undefined;
  }

  whenReadable(listener: ReadableListener, peek = true): void {
    if (this.#closed) return;
    // #readable may be stale (an edge for bytes already read): look before calling back.
    if (this.#readable && !this.#peekEmpty()) queueMicrotask(() => listener.readable());
    else {
      this.#listener = listener;
      this.#listenerPeeks = peek;
    }
  }

  /** Whether nothing (not even the end of stream) is waiting to be read; clears #readable then. */
  #peekEmpty(): boolean {
    const n = libc().recv(this.#fd, PEEK_BUF, 1n, LINUX.MSG_PEEK | LINUX.MSG_DONTWAIT);
    if (n >= 0) return false;
    const e = errno();
    if (e !== LINUX.EAGAIN) return false; // an error: let the read report it
    this.#readable = false;
    return true;
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
    this.#connecting?.reject(err);
    this.#reader = this.#writer = null;
    this.#connecting = null;
    this.#listener = null;
    this.#addrBuf = null;
  }

  /** PollTarget: retry whatever waits for the readiness that arrived. */
  onEvents(events: number): void {
    if (this.#closed) return;
    if (this.#connecting !== null) {
      if ((events & WRITABLE) !== 0) this.#connected();
      return;
    }
    // The peer's FIN (or an error) came with this edge: there will be no other edge for it.
    if ((events & HANGUP) !== 0) this.#hangup = true;
    const r = this.#reader;
    if (r === null && (events & READABLE) !== 0) {
      this.#readable = true;
      const l = this.#listener;
      // An edge may be late news of bytes read already: call back only if something is there.
      if (l !== null && (!this.#listenerPeeks || !this.#peekEmpty())) {
        this.#listener = null;
        l.readable();
      }
    }
    if (r !== null && (events & READABLE) !== 0) {
      try {
        const n = this.#tryRead(r.target);
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
  #tryRead(target: ReadTarget): number | null | undefined {
    const buf = target.spare();
    const n = libc().recv(this.#fd, buf, BigInt(buf.length), 0);
    if (n > 0) {
      // A short read emptied the socket: the next bytes come with a new edge. Not so the end of
      // stream queued behind them, reported by the edge already taken: read on until recv says 0.
      this.#readable = n === buf.length || this.#hangup;
      return n;
    }
    if (n === 0) return null;
    const e = errno();
    if (e === LINUX.EAGAIN || e === LINUX.EINTR) {
      this.#readable = e === LINUX.EINTR;
      return undefined;
    }
    throw errnoError("recv", e);
  }
}

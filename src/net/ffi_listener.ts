import type { Logger } from "../log/logger.ts";
import type { ByteSocket, SocketListener } from "./byte_socket.ts";
import type { EpollPoller, PollTarget } from "./epoll_poller.ts";
import { FfiSocket } from "./ffi_socket.ts";
import { errno, libc, LINUX } from "./libc.ts";
import { boundPort, peerOf, sockaddr, SOCKADDR_BYTES, sockaddrLength } from "./sockaddr.ts";

/** errno values (the same on every Linux architecture dm-live runs on). */
const EMFILE = 24;
const ECONNABORTED = 103;
/** How soon accept is tried again after it failed for want of descriptors or memory. */
const RETRY_MS = 100;

/**
 * A nonblocking listening socket with SO_REUSEPORT (the kernel spreads connections over the
 * workers), accepting on the poller's EPOLLIN into FfiSockets.
 */
export class FfiListener implements SocketListener, PollTarget {
  readonly port: number;
  readonly #fd: number;
  readonly #poller: EpollPoller;
  readonly #log: Logger;
  readonly #peerAddr = new Uint8Array(SOCKADDR_BYTES);
  readonly #peerLen = new Uint32Array(1);
  readonly #one = new Int32Array([1]);
  #onConn: ((sock: ByteSocket) => void) | null = null;
  #closed = false;
  /** A retry of accept after running out of descriptors or memory (edge-triggered: no new event comes). */
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failedLoggedAt = -Infinity;
  #failedSinceLog = 0;

  constructor(hostname: string, port: number, poller: EpollPoller, log: Logger) {
    const lc = libc();
    const { family, addr } = sockaddr(hostname, port);
    const fd = lc.socket(family, LINUX.SOCK_STREAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket failed: errno ${errno()}`);
    const one = new Uint8Array(this.#one.buffer);
    lc.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, one, 4);
    lc.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEPORT, one, 4);
    if (lc.bind(fd, addr, sockaddrLength(family)) !== 0) {
      const e = errno();
      lc.close(fd);
      throw new Deno.errors.AddrInUse(`bind ${hostname}:${port} failed: errno ${e}`);
    }
    if (lc.listen(fd, 4096) !== 0) {
      lc.close(fd);
      throw new Error(`listen failed: errno ${errno()}`);
    }
    this.port = boundPort(fd);
    this.#fd = fd;
    this.#poller = poller;
    this.#log = log;
  }

  serve(onConn: (sock: ByteSocket) => void): Promise<void> {
    this.#onConn = onConn;
    this.#poller.add(this.#fd, this);
    this.onEvents(LINUX.EPOLLIN);
    return Promise.resolve();
  }

  /** PollTarget: accept everything pending (edge-triggered: until EAGAIN). */
  onEvents(_events: number): void {
    const lc = libc();
    const lenBytes = new Uint8Array(this.#peerLen.buffer);
    while (!this.#closed) {
      this.#peerLen[0] = SOCKADDR_BYTES;
      const fd = lc.accept4(this.#fd, this.#peerAddr, lenBytes, LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC);
      if (fd < 0) {
        const e = errno();
        if (e === LINUX.EAGAIN || e === LINUX.EINTR) return;
        // A connection reset while queued: take the next one.
        if (e === ECONNABORTED) continue;
        this.#acceptFailed(e);
        return;
      }
      lc.setsockopt(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, new Uint8Array(this.#one.buffer), 4);
      this.#onConn?.(new FfiSocket(fd, peerOf(this.#peerAddr), this.#poller));
    }
  }

  /**
   * accept4 failed, most often EMFILE (the process's open-file limit: ulimit -n, LimitNOFILE): the
   * connections stay queued in the kernel, and an edge-triggered epoll reports none of them again
   * until another arrives, so accepting is tried again in RETRY_MS; logged once per 10 s with a count.
   */
  #acceptFailed(e: number): void {
    this.#failedSinceLog++;
    const now = performance.now();
    if (now - this.#failedLoggedAt > 10_000) {
      const why = e === EMFILE ? " (EMFILE: the open-file limit, ulimit -n, is reached)" : "";
      this.#log.error(
        `accept failed: errno ${e}${why}; ${this.#failedSinceLog} failures since the last such line, retrying every ${RETRY_MS} ms`,
      );
      this.#failedLoggedAt = now;
      this.#failedSinceLog = 0;
    }
    this.#retry ??= setTimeout(() => {
      this.#retry = undefined;
      this.onEvents(LINUX.EPOLLIN);
    }, RETRY_MS);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#poller.remove(this.#fd);
    libc().close(this.#fd);
  }
}

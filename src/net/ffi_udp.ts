import type { EpollPoller, PollTarget } from "./epoll_poller.ts";
import { addressOf, errno, errnoError, layout, libc, LINUX } from "./libc.ts";
import { MmsgBatch } from "./mmsg_batch.ts";
import { SOCKADDR_IN } from "./libc_layout.ts";
import { boundPort, sockaddr, SOCKADDR_BYTES } from "./sockaddr.ts";
import type { UdpAddress, UdpEndpoint, UdpReceiver } from "./udp_endpoint.ts";

const IN = SOCKADDR_IN;
/** Largest datagram read (RTP over UDP stays far below it). */
const MAX_DATAGRAM = 65536;
/** Datagrams one recvmmsg call may take (batched receive). */
const RECV_BATCH = 32;

/**
 * recvmmsg's headers, sockaddrs and RECV_BATCH slots of MAX_DATAGRAM bytes, in shared memory (fixed
 * addresses), shared by every batched endpoint of the thread: a call's datagrams are all handed
 * to the receiver before the next call.
 */
class RecvBatch {
  readonly data: Uint8Array;
  readonly names: Uint8Array;
  readonly hdrAddr: bigint;
  readonly #hdr32: Uint32Array;
  /** Word indexes: one mmsghdr's size, its msg_namelen, msg_len. */
  readonly #hdrWords: number;
  readonly #namelen: number;
  readonly #len: number;

  constructor() {
    const { mmsghdr, msghdr, iovec } = layout();
    const hdrBytes = RECV_BATCH * mmsghdr.size;
    const iovBytes = RECV_BATCH * iovec.size;
    const nameBytes = RECV_BATCH * SOCKADDR_BYTES;
    const sab = new SharedArrayBuffer(hdrBytes + iovBytes + nameBytes + RECV_BATCH * MAX_DATAGRAM);
    const base = addressOf(new Uint8Array(sab));
    this.#hdr32 = new Uint32Array(sab, 0, hdrBytes / 4);
    const iov32 = new Uint32Array(sab, hdrBytes, iovBytes / 4);
    this.names = new Uint8Array(sab, hdrBytes + iovBytes, nameBytes);
    this.data = new Uint8Array(sab, hdrBytes + iovBytes + nameBytes);
    this.hdrAddr = BigInt(base);
    this.#hdrWords = mmsghdr.size / 4;
    this.#namelen = (mmsghdr.hdr + msghdr.namelen) / 4;
    this.#len = mmsghdr.len / 4;
    const h = this.#hdr32;
    for (let i = 0; i < RECV_BATCH; i++) {
      const k = i * this.#hdrWords;
      const iov = (i * iovec.size) / 4;
      put64(iov32, iov + iovec.base / 4, base + hdrBytes + iovBytes + nameBytes + i * MAX_DATAGRAM);
      put64(iov32, iov + iovec.len / 4, MAX_DATAGRAM);
      put64(h, k + (mmsghdr.hdr + msghdr.name) / 4, base + hdrBytes + iovBytes + i * SOCKADDR_BYTES);
      put64(h, k + (mmsghdr.hdr + msghdr.iov) / 4, base + hdrBytes + i * iovec.size);
      put64(h, k + (mmsghdr.hdr + msghdr.iovlen) / 4, 1);
    }
  }

  /** Before a call: every name's length back to the buffer's (the kernel writes the sender's). */
  reset(): void {
    const h = this.#hdr32;
    for (let i = 0; i < RECV_BATCH; i++) h[i * this.#hdrWords + this.#namelen] = SOCKADDR_BYTES;
  }

  /** Bytes of message i (msg_len) after a call. */
  length(i: number): number {
    return this.#hdr32[i * this.#hdrWords + this.#len];
  }
}

let recvBatch: RecvBatch | null = null;

function put64(a: Uint32Array, i: number, v: number): void {
  a[i] = v >>> 0;
  a[i + 1] = Math.floor(v / 4294967296);
}

/**
 * A nonblocking UDP socket on the worker's epoll: every datagram is read as soon as the poller
 * reports input, and sends are plain sendto calls (from shared memory by address: no view).
 */
export class FfiUdpEndpoint implements UdpEndpoint, PollTarget {
  readonly port: number;
  readonly #fd: number;
  readonly #poller: EpollPoller;
  readonly #onPacket: UdpReceiver;
  readonly #buf = new Uint8Array(MAX_DATAGRAM);
  readonly #from = new Uint8Array(SOCKADDR_BYTES);
  readonly #fromLen = new Uint32Array(1);
  #closed = false;
  #addrBuf: Uint8Array | null = null;
  #addr = 0;
  /** With batching, send() collects datagrams and flush() hands them over in one sendmmsg. */
  readonly #batch: MmsgBatch | null;
  /** The last shared-memory view send() batched (a ring's data). */
  #sharedBuf: Uint8Array | null = null;
  /** Datagrams the kernel dropped in flushes since the last flush() result. */
  #dropped = 0;
  /** With batchReceive: up to RECV_BATCH datagrams per recvmmsg call instead of one recvfrom each. */
  readonly #recv: RecvBatch | null;

  /**
   * Binds address:port (port 0: one the kernel picks, then in `port`). With `batch`, sends are
   * collected for sendmmsg; receiveBufferBytes > 0 sets SO_RCVBUF (the kernel doubles it, within
   * net.core.rmem_max), so bursts a slow reader cannot take at once wait instead of dropping.
   * With batchReceive, a wake reads up to 32 datagrams per recvmmsg (the bench's load client:
   * thousands of viewers' datagrams in a few calls); the kernel delivers them as to recvfrom.
   */
  constructor(
    address: string,
    port: number,
    poller: EpollPoller,
    onPacket: UdpReceiver,
    batch = false,
    receiveBufferBytes = 0,
    batchReceive = false,
  ) {
    this.#recv = batchReceive ? (recvBatch ??= new RecvBatch()) : null;
    // Batches coalesce a destination's equal-sized datagrams by UDP GSO (mmsg_batch.ts).
    this.#batch = batch ? new MmsgBatch(undefined, true) : null;
    const c = libc();
    const { family, addr } = sockaddr(address, port);
    if (family !== LINUX.AF_INET) throw new Error(`UDP needs an IPv4 address, got '${address}'`);
    const fd = c.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError("socket");
    if (receiveBufferBytes > 0) {
      c.setsockopt(
        fd,
        LINUX.SOL_SOCKET,
        LINUX.SO_RCVBUF,
        new Uint8Array(new Int32Array([receiveBufferBytes]).buffer),
        4,
      );
    }
    if (c.bind(fd, addr, IN.size) < 0) {
      const e = errno();
      c.close(fd);
      throw new Deno.errors.AddrInUse(`UDP bind ${address}:${port} failed: errno ${e}`);
    }
    if (port === 0) port = boundPort(fd);
    this.#fd = fd;
    this.port = port;
    this.#poller = poller;
    this.#onPacket = onPacket;
    poller.add(fd, this);
  }

  /** A destination for send(); its sockaddr lives in shared memory, so it has a fixed address. */
  static address(host: string, port: number): UdpAddress {
    const sa = new Uint8Array(new SharedArrayBuffer(IN.size));
    sa.set(sockaddr(host, port).addr.subarray(0, IN.size));
    return { host, port, sockaddr: sa, sockaddrAddr: addressOf(sa) };
  }

  // hot path: no allocation for shared memory (the ring)
  send(buf: Uint8Array, start: number, end: number, to: UdpAddress): boolean {
    if (this.#closed) return false;
    const b = this.#batch;
    // The ring's view is the same every call: known shared, it skips the buffer's type check.
    if (b !== null && (buf === this.#sharedBuf || this.#isShared(buf))) {
      if (!b.add(buf, start, end, to.sockaddrAddr, IN.size)) {
        this.#dropped += b.flush(this.#fd);
        b.add(buf, start, end, to.sockaddrAddr, IN.size);
      }
      return true;
    }
    const c = libc();
    let n: number;
    if (buf.buffer instanceof SharedArrayBuffer) {
      if (buf !== this.#addrBuf) {
        this.#addrBuf = buf;
        this.#addr = addressOf(buf);
      }
      n = c.sendtoAt(
        this.#fd,
        BigInt(this.#addr + start),
        BigInt(end - start),
        LINUX.MSG_NOSIGNAL,
        to.sockaddr,
        IN.size,
      );
    } else {
      const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
      n = c.sendto(this.#fd, view, BigInt(view.length), LINUX.MSG_NOSIGNAL, to.sockaddr, IN.size);
    }
    if (n >= 0) return true;
    const e = errno();
    if (e === LINUX.EAGAIN || e === LINUX.ENOBUFS || e === LINUX.EINTR) return false;
    // ECONNREFUSED from an earlier ICMP and the like: the datagram is lost, the socket is fine.
    return false;
  }

  /** Whether buf is shared memory (which a batch may hold by address until its flush); remembered. */
  #isShared(buf: Uint8Array): boolean {
    if (!(buf.buffer instanceof SharedArrayBuffer)) return false;
    this.#sharedBuf = buf;
    return true;
  }

  flush(): number {
    const b = this.#batch;
    if (b !== null && b.count > 0 && !this.#closed) this.#dropped += b.flush(this.#fd);
    const d = this.#dropped;
    this.#dropped = 0;
    return d;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.remove(this.#fd);
    libc().close(this.#fd);
    this.#addrBuf = null;
    this.#sharedBuf = null;
  }

  /** PollTarget: read every waiting datagram (edge-triggered: until EAGAIN). */
  onEvents(events: number): void {
    if (this.#closed || (events & LINUX.EPOLLIN) === 0) return;
    if (this.#recv !== null) return this.#receiveBatches(this.#recv);
    const c = libc();
    const buf = this.#buf;
    const from = this.#from;
    let errors = 0;
    let failure: unknown = undefined;
    for (;;) {
      this.#fromLen[0] = SOCKADDR_BYTES;
      const n = c.recvfrom(this.#fd, buf, BigInt(buf.length), 0, from, this.#fromLen);
      if (n < 0) {
        // An error queued by an ICMP reply (ECONNREFUSED) is reported once; datagrams may follow.
        if (errno() === LINUX.EAGAIN || ++errors > 8) break;
        continue;
      }
      if (from[IN.family] !== LINUX.AF_INET) continue; // the low byte of a little-endian u16
      const p = IN.port;
      const a = IN.addr;
      const port = (from[p] << 8) | from[p + 1];
      const ip = ((from[a] << 24) | (from[a + 1] << 16) | (from[a + 2] << 8) | from[a + 3]) >>> 0;
      try {
        this.#onPacket(buf, 0, n, ip * 65536 + port);
      } catch (e) {
        // Read on to EAGAIN (edge-triggered), then let the poller report the first failure.
        failure ??= e;
      }
      if (this.#closed) break;
    }
    if (failure !== undefined) throw failure;
  }
  /** onEvents with recvmmsg: calls until one takes fewer than RECV_BATCH (the queue was empty). */
  #receiveBatches(rb: RecvBatch): void {
    const c = libc();
    const names = rb.names;
    let errors = 0;
    let failure: unknown = undefined;
    for (;;) {
      rb.reset();
      const n = c.recvmmsg(this.#fd, rb.hdrAddr, RECV_BATCH, 0, 0n);
      if (n < 0) {
        if (errno() === LINUX.EAGAIN || ++errors > 8) break;
        continue;
      }
      for (let i = 0; i < n; i++) {
        const f = i * SOCKADDR_BYTES;
        if (names[f + IN.family] !== LINUX.AF_INET) continue;
        const p = f + IN.port;
        const a = f + IN.addr;
        const port = (names[p] << 8) | names[p + 1];
        const ip = ((names[a] << 24) | (names[a + 1] << 16) | (names[a + 2] << 8) | names[a + 3]) >>> 0;
        const at = i * MAX_DATAGRAM;
        try {
          this.#onPacket(rb.data, at, at + rb.length(i), ip * 65536 + port);
        } catch (e) {
          failure ??= e;
        }
        if (this.#closed) break;
      }
      if (this.#closed || n < RECV_BATCH) break;
    }
    if (failure !== undefined) throw failure;
  }
}

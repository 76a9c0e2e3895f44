import { addressOf, errno, libc, LINUX } from "./libc.ts";

/** Bytes of struct mmsghdr (msghdr + msg_len, padded) and struct iovec on 64-bit Linux. */
const MMSGHDR_BYTES = 64;
const IOVEC_BYTES = 16;
/** The kernel's UIO_MAXIOV: most messages one sendmmsg takes. */
export const MAX_BATCH = 1024;

/**
 * Datagrams collected for one sendmmsg call (Linux, 64-bit): each is a range of shared memory
 * (the ring) and a destination sockaddr. Headers live in shared memory too, so their addresses
 * are stable; 64-bit fields are written as two 32-bit halves, so adding a datagram allocates
 * nothing.
 */
export class MmsgBatch {
  readonly #hdrs: SharedArrayBuffer;
  readonly #hdr32: Uint32Array;
  readonly #iov32: Uint32Array;
  readonly #hdrAddr: number;
  readonly #iovAddr: number;
  #count = 0;
  #lastBuf: Uint8Array | null = null;
  #lastBufAddr = 0;

  constructor(capacity = MAX_BATCH) {
    this.#hdrs = new SharedArrayBuffer(capacity * (MMSGHDR_BYTES + IOVEC_BYTES));
    this.#hdr32 = new Uint32Array(this.#hdrs, 0, (capacity * MMSGHDR_BYTES) / 4);
    this.#iov32 = new Uint32Array(this.#hdrs, capacity * MMSGHDR_BYTES, (capacity * IOVEC_BYTES) / 4);
    this.#hdrAddr = addressOf(new Uint8Array(this.#hdrs));
    this.#iovAddr = this.#hdrAddr + capacity * MMSGHDR_BYTES;
    this.capacity = capacity;
  }

  readonly capacity: number;

  get count(): number {
    return this.#count;
  }

  /**
   * Adds buf[start..end) for the destination sockaddr at address `nameAddr` (in shared memory,
   * `nameLen` bytes); false when the batch is full.
   */
  // hot path: no allocation
  add(buf: Uint8Array, start: number, end: number, nameAddr: number, nameLen: number): boolean {
    const i = this.#count;
    if (i === this.capacity) return false;
    if (buf !== this.#lastBuf) {
      this.#lastBuf = buf;
      this.#lastBufAddr = addressOf(buf);
    }
    const iov = this.#iov32;
    const j = i * 4;
    put64(iov, j, this.#lastBufAddr + start);
    put64(iov, j + 2, end - start);
    const h = this.#hdr32;
    const k = i * 16;
    put64(h, k, nameAddr); // msg_name
    h[k + 2] = nameLen; // msg_namelen
    h[k + 3] = 0;
    put64(h, k + 4, this.#iovAddr + i * IOVEC_BYTES); // msg_iov
    put64(h, k + 6, 1); // msg_iovlen
    put64(h, k + 8, 0); // msg_control
    put64(h, k + 10, 0); // msg_controllen
    h[k + 12] = 0; // msg_flags
    h[k + 14] = 0; // msg_len (out)
    this.#count = i + 1;
    return true;
  }

  /**
   * Sends everything collected with sendmmsg on fd and empties the batch; returns how many
   * datagrams the kernel did not take (send buffer full: UDP drops them).
   */
  flush(fd: number): number {
    const n = this.#count;
    this.#count = 0;
    let sent = 0;
    while (sent < n) {
      const r = libc().sendmmsg(
        fd,
        BigInt(this.#hdrAddr + sent * MMSGHDR_BYTES),
        n - sent,
        LINUX.MSG_NOSIGNAL | LINUX.MSG_DONTWAIT,
      );
      if (r > 0) {
        sent += r;
        continue;
      }
      if (r < 0 && errno() === LINUX.EINTR) continue;
      // EAGAIN/ENOBUFS: the rest is dropped, as a per-packet send would drop it. Any other error
      // belongs to the first datagram (an ICMP report): skip it and go on.
      if (r < 0 && errno() !== LINUX.EAGAIN && errno() !== LINUX.ENOBUFS) {
        sent++;
        continue;
      }
      break;
    }
    return n - sent;
  }
}

function put64(a: Uint32Array, i: number, v: number): void {
  a[i] = v >>> 0;
  a[i + 1] = Math.floor(v / 4294967296);
}

import { addressOf, errno, layout, libc, LINUX } from "./libc.ts";

/** The kernel's UIO_MAXIOV: most messages one sendmmsg takes. */
export const MAX_BATCH = 1024;

/**
 * Datagrams collected for one sendmmsg call (Linux, 64-bit): each is a range of shared memory
 * (the ring) and a destination sockaddr. Headers live in shared memory too, so their addresses
 * are stable; 64-bit fields are written as two 32-bit halves (little-endian), so adding a datagram
 * allocates nothing. Struct offsets come from libc_layout.ts, as 32-bit word indexes.
 */
export class MmsgBatch {
  readonly #hdrs: SharedArrayBuffer;
  readonly #hdr32: Uint32Array;
  readonly #iov32: Uint32Array;
  readonly #hdrAddr: number;
  readonly #iovAddr: number;
  /** Bytes of struct mmsghdr and struct iovec. */
  readonly #hdrBytes: number;
  readonly #iovBytes: number;
  /**
   * In 32-bit words: hdr and iov, the sizes of struct mmsghdr and struct iovec; the others, each
   * field's offset within its struct (base and baseLen: iov_base and iov_len).
   */
  readonly #w: {
    hdr: number;
    iov: number;
    name: number;
    namelen: number;
    msgIov: number;
    iovlen: number;
    control: number;
    controllen: number;
    flags: number;
    len: number;
    base: number;
    baseLen: number;
  };
  #count = 0;
  #lastBuf: Uint8Array | null = null;
  #lastBufAddr = 0;

  constructor(capacity = MAX_BATCH) {
    const { mmsghdr, msghdr, iovec } = layout();
    this.#hdrBytes = mmsghdr.size;
    this.#iovBytes = iovec.size;
    const m = mmsghdr.hdr;
    this.#w = {
      hdr: mmsghdr.size / 4,
      iov: iovec.size / 4,
      name: (m + msghdr.name) / 4,
      namelen: (m + msghdr.namelen) / 4,
      msgIov: (m + msghdr.iov) / 4,
      iovlen: (m + msghdr.iovlen) / 4,
      control: (m + msghdr.control) / 4,
      controllen: (m + msghdr.controllen) / 4,
      flags: (m + msghdr.flags) / 4,
      len: mmsghdr.len / 4,
      base: iovec.base / 4,
      baseLen: iovec.len / 4,
    };
    this.#hdrs = new SharedArrayBuffer(capacity * (this.#hdrBytes + this.#iovBytes));
    this.#hdr32 = new Uint32Array(this.#hdrs, 0, (capacity * this.#hdrBytes) / 4);
    this.#iov32 = new Uint32Array(this.#hdrs, capacity * this.#hdrBytes, (capacity * this.#iovBytes) / 4);
    this.#hdrAddr = addressOf(new Uint8Array(this.#hdrs));
    this.#iovAddr = this.#hdrAddr + capacity * this.#hdrBytes;
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
    const w = this.#w;
    const iov = this.#iov32;
    const j = i * w.iov;
    put64(iov, j + w.base, this.#lastBufAddr + start);
    put64(iov, j + w.baseLen, end - start);
    const h = this.#hdr32;
    const k = i * w.hdr;
    put64(h, k + w.name, nameAddr);
    h[k + w.namelen] = nameLen; // socklen_t; the padding after it stays 0
    put64(h, k + w.msgIov, this.#iovAddr + i * this.#iovBytes);
    put64(h, k + w.iovlen, 1);
    put64(h, k + w.control, 0);
    put64(h, k + w.controllen, 0);
    h[k + w.flags] = 0;
    h[k + w.len] = 0; // out
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
        BigInt(this.#hdrAddr + sent * this.#hdrBytes),
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

/**
 * Frees the RTSPS connections dm-live closes before their TLS handshake has finished.
 *
 * Why Deno cannot: a Deno.TlsConn runs its handshake in a task of its own (rustls-tokio-stream's
 * TlsStream spawns it at accept), which holds the TCP socket and reads until the handshake is done
 * or fails; it has no deadline. close() (or dropping the conn) while that task runs cancels the
 * JavaScript side's ops, but the stream's drop only spawns another task that awaits the handshake
 * before it shuts the socket down: a peer that sends nothing, or trickles its ClientHello, keeps the
 * socket and its buffers until it leaves. Awaiting conn.handshake() with a deadline and then
 * close() is that same close; nothing Deno exposes reaches the handshake task.
 *
 * What does: shutdown(fd, SHUT_RDWR) on that socket. The handshake task's read then sees the end
 * of stream, the handshake fails, the task ends and Deno closes the descriptor itself. shutdown
 * never closes the descriptor, so there is no race with Deno's runtime reusing the number: a
 * descriptor is shut down only while its socket has the connection's own addresses (getsockname
 * and getpeername: the TCP four-tuple names one connection). Deno does not say which descriptor a
 * TlsConn holds, so /proc/self/fd is listed (through libc: Deno's read permission never covers
 * /proc/self short of --allow-all) and each socket on the RTSPS port asked, once per scan for every
 * connection given up since the last (a scan at most every SCAN_INTERVAL_MS). The workers are
 * threads of one process: a scan sees every worker's descriptors, and the four-tuple still names
 * only the connection given up.
 *
 * Linux only, with FFI allowed; elsewhere such connections stay open until their peer leaves, as
 * before, and the listener says so once when it starts.
 */
import { formatIp, parseIp } from "../auth/ip_address.ts";
import type { Logger } from "../log/logger.ts";
import { libc, LINUX } from "./libc.ts";
import { SOCKADDR_IN, SOCKADDR_IN6 } from "./libc_layout.ts";
import { SOCKADDR_BYTES } from "./sockaddr.ts";

/** shutdown(2)'s how: both directions (the same value on every Linux architecture). */
const SHUT_RDWR = 2;
/** The least time between two scans of the descriptors: closes within it share one scan. */
export const SCAN_INTERVAL_MS = 100;
/** struct dirent64's d_name (after d_ino, d_off, d_reclen, d_type): the same on every Linux architecture. */
const DIRENT_NAME = 19;
const PROC_FDS = new TextEncoder().encode("/proc/self/fd\0");

/**
 * Calls each(fd) for every descriptor of this process (the one listing them excepted, closed by
 * then); false when /proc/self/fd cannot be opened.
 */
export function eachFd(each: (fd: number) => void): boolean {
  const lc = libc();
  const dir = lc.opendir(PROC_FDS);
  if (dir === null) return false;
  const fds: number[] = [];
  try {
    for (let ent = lc.readdir(dir); ent !== null; ent = lc.readdir(dir)) {
      const v = new Deno.UnsafePointerView(ent);
      let fd = 0;
      let i = DIRENT_NAME;
      for (let c = v.getUint8(i); c !== 0 && fd >= 0; c = v.getUint8(++i)) {
        fd = c >= 0x30 && c <= 0x39 ? fd * 10 + c - 0x30 : -1;
      }
      if (i > DIRENT_NAME && fd >= 0) fds.push(fd); // not "." or ".."
    }
  } finally {
    lc.closedir(dir);
  }
  for (const fd of fds) each(fd);
  return true;
}

function probe(): { ok: true } | { ok: false; why: string } {
  if (Deno.build.os !== "linux") return { ok: false, why: `not Linux (${Deno.build.os})` };
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return { ok: false, why: "FFI is not allowed (--allow-ffi)" };
    }
    if (!eachFd(() => {})) return { ok: false, why: "/proc/self/fd cannot be listed" };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  return { ok: true };
}

// Asked at load, as ring_memory.ts does: libc is open before any connection (or test) needs it.
const SUPPORT = probe();

/** Whether this process can shut sockets down by descriptor; otherwise why not. */
export function reapSupport(): { ok: true } | { ok: false; why: string } {
  return SUPPORT;
}

/** The four-tuple of a connection as text, the same from Deno's addresses and from sockaddrs. */
export function tupleKey(local: Deno.NetAddr, remote: Deno.NetAddr): string | null {
  const l = parseIp(local.hostname);
  const r = parseIp(remote.hostname);
  if (l === null || r === null) return null;
  return `${formatIp(l)}|${local.port}|${formatIp(r)}|${remote.port}`;
}

/** A sockaddr_in or sockaddr_in6 as `address|port` (as tupleKey writes one), or null for another family. */
function sockaddrKey(addr: Uint8Array, view: DataView, ip: Uint8Array): string | null {
  const family = view.getUint16(SOCKADDR_IN.family, true);
  if (family === LINUX.AF_INET) {
    ip.fill(0, 0, 10);
    ip[10] = ip[11] = 0xff;
    ip.set(addr.subarray(SOCKADDR_IN.addr, SOCKADDR_IN.addr + 4), 12);
  } else if (family === LINUX.AF_INET6) {
    ip.set(addr.subarray(SOCKADDR_IN6.addr, SOCKADDR_IN6.addr + 16));
  } else return null;
  return `${formatIp(ip)}|${view.getUint16(SOCKADDR_IN.port, false)}`;
}

/**
 * Shuts down the sockets of connections given up mid-handshake: drop() queues one, and the next
 * scan (within SCAN_INTERVAL_MS) finds every queued one's descriptor and shuts it down. One per
 * TLS listener; the listener's port narrows the scan.
 */
export class HandshakeReaper {
  readonly #port: number;
  readonly #log: Logger;
  readonly #pending = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastScan = -Infinity;
  #closed = false;
  /** Connections shut down, and given up whose socket was already gone (the peer had left). */
  shut = 0;
  gone = 0;
  scans = 0;

  constructor(port: number, log: Logger) {
    this.#port = port;
    this.#log = log;
  }

  /** Queues the connection with these addresses for the next scan. */
  drop(local: Deno.NetAddr, remote: Deno.NetAddr): void {
    const key = tupleKey(local, remote);
    if (key === null) return;
    this.#pending.add(key);
    if (this.#closed) {
      this.scan(); // the listener is gone: no timer to outlive it
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastScan + SCAN_INTERVAL_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.scan();
    }, wait);
  }

  /** Scans now for every queued connection; returns how many it shut down. */
  scan(): number {
    this.#lastScan = performance.now();
    if (this.#pending.size === 0) return 0;
    this.scans++;
    const lc = libc();
    const addr = new Uint8Array(SOCKADDR_BYTES);
    const view = new DataView(addr.buffer);
    const len = new Uint32Array(1);
    const lenBytes = new Uint8Array(len.buffer);
    const ip = new Uint8Array(16);
    let shut = 0;
    const listed = eachFd((fd) => {
      if (fd <= 2 || this.#pending.size === 0) return;
      len[0] = SOCKADDR_BYTES;
      if (lc.getsockname(fd, addr, lenBytes) !== 0) return; // not a socket, or closed meanwhile
      if (view.getUint16(SOCKADDR_IN.port, false) !== this.#port) return;
      const local = sockaddrKey(addr, view, ip);
      if (local === null) return;
      len[0] = SOCKADDR_BYTES;
      if (lc.getpeername(fd, addr, lenBytes) !== 0) return; // the listening socket
      const remote = sockaddrKey(addr, view, ip);
      const key = `${local}|${remote}`;
      if (remote === null || !this.#pending.has(key)) return;
      this.#pending.delete(key);
      if (lc.shutdown(fd, SHUT_RDWR) === 0) shut++;
    });
    if (!listed) {
      this.#log.warn(
        `cannot list /proc/self/fd: ${this.#pending.size} RTSPS connection(s) closed mid-handshake stay open until their peers leave`,
      );
    }
    this.shut += shut;
    this.gone += this.#pending.size;
    this.#pending.clear();
    return shut;
  }

  /** Scans for what is queued now; later drops scan at once. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size > 0) this.scan();
  }
}

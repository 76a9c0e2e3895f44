/**
 * Frees the RTSPS connections dm-live closes before their TLS handshake has finished, and those it
 * closes after it whose peer reads nothing.
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
 * The same holds a handshaken connection closed while its peer reads nothing (a slow viewer
 * dropped): Deno's close sends close_notify and flushes what rustls buffered first, and that flush
 * waits for the peer. Such a connection is shut down LINGER_MS after its close, when a scan still
 * finds it (one that left cleanly is gone by then).
 *
 * Linux only, with FFI allowed; elsewhere such connections stay open until their peer leaves, as
 * before, and the listener says so once when it starts.
 */
import type { Logger } from "../log/logger.ts";
import { libc, LINUX } from "./libc.ts";
import { SOCKADDR_IN } from "./libc_layout.ts";
import { peerOf, sockaddr, SOCKADDR_BYTES } from "./sockaddr.ts";

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

/** An address as peerOf() writes it from a sockaddr: IPv4-mapped as IPv4, IPv6 uncompressed. */
function endpoint(a: Deno.NetAddr): string | null {
  let host = a.hostname;
  if (host.includes(":") && host.includes(".")) host = host.slice(host.lastIndexOf(":") + 1); // ::ffff:a.b.c.d
  try {
    return peerOf(sockaddr(host, a.port).addr);
  } catch {
    return null;
  }
}

/** The four-tuple of a connection as text, the same from Deno's addresses and from sockaddrs. */
export function tupleKey(local: Deno.NetAddr, remote: Deno.NetAddr): string | null {
  const l = endpoint(local);
  const r = endpoint(remote);
  return l === null || r === null ? null : `${l}|${r}`;
}

/**
 * How long a handshaken connection dm-live closed may take to leave before its socket is shut down
 * too: Deno's close sends close_notify and flushes what is buffered first, which never ends while
 * the peer reads nothing (a slow viewer dropped keeps its socket and buffers). One that left cleanly
 * is no longer found by then.
 */
export const LINGER_MS = 2000;

/**
 * Shuts down the sockets of connections dm-live has given up: drop() queues one, due at once
 * (mid-handshake) or after LINGER_MS (handshaken), and the next scan after it is due (at most one
 * per SCAN_INTERVAL_MS) finds every due one's descriptor and shuts it down. One per TLS listener;
 * the listener's port narrows the scan.
 */
export class HandshakeReaper {
  readonly #port: number;
  readonly #log: Logger;
  /** Four-tuple -> when it is due (performance.now()) and whether its handshake had finished. */
  readonly #pending = new Map<string, { at: number; handshaken: boolean }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #lastScan = -Infinity;
  #closed = false;
  /** Sockets shut down: of connections mid-handshake, and of handshaken ones that lingered (LINGER_MS). */
  shut = 0;
  lingered = 0;
  /** Given up whose socket was already gone when due (the peer had left, or Deno closed it). */
  gone = 0;
  scans = 0;

  constructor(port: number, log: Logger) {
    this.#port = port;
    this.#log = log;
  }

  /** Queues the connection with these addresses: due at once, or after LINGER_MS when `handshaken`. */
  drop(local: Deno.NetAddr, remote: Deno.NetAddr, handshaken = false): void {
    const key = tupleKey(local, remote);
    if (key === null) return;
    const now = performance.now();
    const due = handshaken ? now + LINGER_MS : now;
    this.#pending.set(key, { at: due, handshaken });
    if (this.#closed) {
      if (!handshaken) this.scan(); // the listener is gone: no timer to outlive it
      return;
    }
    this.#schedule(Math.max(due, this.#lastScan + SCAN_INTERVAL_MS), now);
  }

  #schedule(at: number, now: number): void {
    if (at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.scan();
    }, Math.max(0, at - now));
  }

  /** Scans now for every queued connection that is due; returns how many mid-handshake it shut down. */
  scan(): number {
    const now = performance.now();
    this.#lastScan = now;
    let due = 0;
    let next = Infinity;
    for (const { at } of this.#pending.values()) {
      if (at <= now) due++;
      else next = Math.min(next, at);
    }
    let shut = 0;
    if (due > 0) {
      this.scans++;
      shut = this.#shutDue(now, due);
    }
    if (next !== Infinity && !this.#closed) this.#schedule(Math.max(next, now + SCAN_INTERVAL_MS), now);
    return shut;
  }

  #shutDue(now: number, due: number): number {
    const lc = libc();
    const addr = new Uint8Array(SOCKADDR_BYTES);
    const view = new DataView(addr.buffer);
    const len = new Uint32Array(1);
    const lenBytes = new Uint8Array(len.buffer);
    const pending = this.#pending;
    let shut = 0;
    const listed = eachFd((fd) => {
      if (fd <= 2 || due === 0) return;
      len[0] = SOCKADDR_BYTES;
      if (lc.getsockname(fd, addr, lenBytes) !== 0) return; // not a socket, or closed meanwhile
      if (view.getUint16(SOCKADDR_IN.port, false) !== this.#port) return;
      const family = view.getUint16(SOCKADDR_IN.family, true);
      if (family !== LINUX.AF_INET && family !== LINUX.AF_INET6) return;
      const local = peerOf(addr);
      len[0] = SOCKADDR_BYTES;
      if (lc.getpeername(fd, addr, lenBytes) !== 0) return; // the listening socket
      const key = `${local}|${peerOf(addr)}`;
      const p = pending.get(key);
      if (p === undefined || p.at > now) return;
      pending.delete(key);
      due--;
      if (lc.shutdown(fd, SHUT_RDWR) !== 0) return;
      if (p.handshaken) this.lingered++;
      else shut++;
    });
    if (!listed) {
      this.#log.warn(
        `cannot list /proc/self/fd: ${due} RTSPS connection(s) closed stay open until their peers leave`,
      );
    }
    for (const [key, { at }] of pending) {
      if (at <= now) {
        pending.delete(key);
        this.gone++;
      }
    }
    this.shut += shut;
    return shut;
  }

  /** Scans for what is due now and stops; later drops mid-handshake scan at once. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.scan();
    this.#pending.clear();
  }
}

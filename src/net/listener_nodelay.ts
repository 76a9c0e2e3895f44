/**
 * TCP_NODELAY for Deno's TLS listener. Deno.TlsConn has no setNoDelay, and Deno leaves Nagle on
 * for the sockets a TLS listener accepts (strace: no TCP_NODELAY, where a TCP listener's
 * connections get it from setNoDelay): a viewer's small write then waits for the ACK of the one
 * before, up to the peer's delayed-ACK timer (~40 ms). On Linux an accepted socket inherits
 * TCP_NODELAY from its listening socket, so it is set once on the listener, found by FFI among the
 * process's fds: a listening TCP socket bound to the port (every worker's listener of that port
 * is one; setting it on each is the same wish). Deno does not say which fd it used: the new one is
 * at most a few above the lowest free fd just before it listened (fds are allocated lowest first),
 * so the fds up to that bound are asked.
 */
import { libc, LINUX } from "./libc.ts";
import { SOCKADDR_IN } from "./libc_layout.ts";
import { SOCKADDR_BYTES } from "./sockaddr.ts";

/** How far above the lowest free fd the listener may land (other threads opening fds meanwhile). */
const SLACK_FDS = 256;

/**
 * Calls listen() (which binds a TCP listening socket on its port) and sets TCP_NODELAY on this
 * process's listening TCP sockets on that port; returns the listener and how many it set (0: not
 * found, Nagle stays on).
 */
export function listenNoDelay<L extends { readonly addr: Deno.Addr }>(
  listen: () => L,
): { listener: L; set: number } {
  const lc = libc();
  const probe = lc.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_CLOEXEC, 0);
  if (probe >= 0) lc.close(probe);
  const listener = listen();
  const port = (listener.addr as Deno.NetAddr).port;
  return { listener, set: setNoDelayOnListeners(port, Math.max(probe, 3) + SLACK_FDS) };
}

/** Sets TCP_NODELAY on every listening TCP socket bound to `port` among fds 3..below-1; returns how many. */
export function setNoDelayOnListeners(port: number, below: number): number {
  const lc = libc();
  const one = new Uint8Array(new Int32Array([1]).buffer);
  let set = 0;
  for (const fd of tcpFdsOnPort(port, below, true)) {
    if (lc.setsockopt(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, one, 4) === 0) set++;
  }
  return set;
}

/**
 * This process's TCP sockets bound to `port` among fds 3..below-1: the listening ones, or the
 * connections they accepted (`listening` false).
 */
export function tcpFdsOnPort(port: number, below: number, listening: boolean): number[] {
  const lc = libc();
  const addr = new Uint8Array(SOCKADDR_BYTES);
  const view = new DataView(addr.buffer);
  const len = new Uint32Array(1);
  const lenBytes = new Uint8Array(len.buffer);
  const opt = new Int32Array(1);
  const optBytes = new Uint8Array(opt.buffer);
  const out: number[] = [];
  for (let fd = 3; fd < below; fd++) {
    len[0] = SOCKADDR_BYTES;
    if (lc.getsockname(fd, addr, lenBytes) !== 0) continue; // not open, or not a socket
    const family = view.getUint16(SOCKADDR_IN.family, true);
    if (family !== LINUX.AF_INET && family !== LINUX.AF_INET6) continue;
    if (view.getUint16(SOCKADDR_IN.port, false) !== port) continue; // sockaddr_in6: the same offset
    len[0] = 4;
    if (lc.getsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_TYPE, optBytes, lenBytes) !== 0) continue;
    if (opt[0] !== LINUX.SOCK_STREAM) continue; // a UDP socket on the same number
    len[0] = 4;
    if (lc.getsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_ACCEPTCONN, optBytes, lenBytes) !== 0) continue;
    if ((opt[0] === 1) === listening) out.push(fd);
  }
  return out;
}

/** TCP_NODELAY of a socket: 1, 0, or -1 when it cannot be read. */
export function noDelayOf(fd: number): number {
  const opt = new Int32Array(1);
  const len = new Uint32Array([4]);
  const r = libc().getsockopt(
    fd,
    LINUX.IPPROTO_TCP,
    LINUX.TCP_NODELAY,
    new Uint8Array(opt.buffer),
    new Uint8Array(len.buffer),
  );
  return r === 0 ? opt[0] : -1;
}

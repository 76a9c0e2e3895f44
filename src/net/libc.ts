/**
 * The libc calls of the FFI socket path (Linux): nonblocking TCP sockets and epoll, the thread
 * CPU clock the merge window reads (stats/thread_busy.ts), and madvise for ended rings' pages
 * (ring/ring_memory.ts). Loaded on first use, so the Deno socket path never needs --allow-ffi for
 * sockets.
 */

import { type LibcLayout, libcLayout, LINUX } from "./libc_layout.ts";

/** The constants, declared with the struct layouts in libc_layout.ts. */
export { LINUX };

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  // Nonblocking: EINPROGRESS, then the poller reports the socket writable (net/ffi_socket.ts).
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // Unblocks the TLS handshake of a Deno connection dm-live has given up (net/tls_handshake_reaper.ts).
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // Lists /proc/self/fd for it: Deno's read permission never covers /proc/self without --allow-all.
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  // ssize_t results read as i32 (the low half of rax / x0): counts here stay below 2^31 and -1
  // stays -1, and a number result avoids a BigInt per call.
  // 64-bit parameters take BigInts: with numbers Deno leaves V8's fast call path (~80 ns a call).
  recv: { parameters: ["i32", "buffer", "u64", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "u64", "i32"], result: "i32" },
  // send() from a raw address in shared memory (a ring's base plus an offset): no view per write.
  sendAt: { name: "send", parameters: ["i32", "u64", "u64", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "u32"], result: "i32" },
  sendtoAt: { name: "sendto", parameters: ["i32", "u64", "u64", "i32", "buffer", "u32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "u64", "u32", "i32"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "buffer"], result: "i32" },
  // Headers by address (shared memory, net/ffi_udp.ts); the timeout pointer is always NULL (0n).
  recvmmsg: { parameters: ["i32", "u64", "u32", "i32", "u64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // Runs on Deno's blocking thread pool: the worker's event loop stays free while it waits.
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  // The same call on the caller's thread, with timeout 0 only: what is ready now, without the
  // blocking pool's thread hand-off (net/epoll_poller.ts).
  epoll_wait_now: { name: "epoll_wait", parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // An ended ring's pages back to the system (ring/ring_memory.ts).
  madvise: { parameters: ["u64", "u64", "i32"], result: "i32" },
  sysconf: { parameters: ["i32"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let layoutOfArch: LibcLayout | null = null;

/**
 * The struct layouts of the running architecture (Deno.build.arch); throws, naming the arch, for
 * one libc_layout.ts does not know. Only for the FFI paths: the Deno socket path never calls it.
 */
export function layout(): LibcLayout {
  return layoutOfArch ??= libcLayout(Deno.build.arch);
}

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Libc | null = null;
let errnoView: Deno.UnsafePointerView | null = null;

/**
 * The libc symbols; throws when FFI is not allowed, this is not Linux, or libc_layout.ts has no
 * layout for the architecture (the structs passed to these calls would be misread).
 */
export function libc(): Libc {
  if (lib === null) {
    if (Deno.build.os !== "linux") throw new Error("the FFI socket backend needs Linux");
    layout();
    lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    errnoView = new Deno.UnsafePointerView(lib.__errno_location()!);
  }
  return lib;
}

/**
 * The address of a buffer's first byte, as a number (user-space addresses fit in 53 bits). Only
 * for SharedArrayBuffer memory, which never moves; it must stay reachable while the address is used.
 */
export function addressOf(buf: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

/** errno of the last failed call on this thread (read at once, before any other call). */
export function errno(): number {
  return errnoView!.getInt32();
}

/** What the errnos a connection meets mean, for log lines (asm-generic/errno.h). */
const ERRNO_TEXT: Record<number, string> = {
  [LINUX.ECONNREFUSED]: "connection refused",
  [LINUX.ECONNRESET]: "connection reset",
  [LINUX.EPIPE]: "broken pipe",
  [LINUX.ETIMEDOUT]: "connection timed out",
  [LINUX.EHOSTUNREACH]: "no route to host",
  [LINUX.ENETUNREACH]: "network is unreachable",
};

/** An Error for a failed call, of the Deno.errors class a Deno socket would throw. */
export function errnoError(call: string, code = errno()): Error {
  const text = ERRNO_TEXT[code];
  const msg = text === undefined
    ? `${call} failed: errno ${code}`
    : `${call} failed: ${text} (errno ${code})`;
  if (code === LINUX.ECONNRESET || code === LINUX.EPIPE) return new Deno.errors.ConnectionReset(msg);
  if (code === LINUX.ECONNREFUSED) return new Deno.errors.ConnectionRefused(msg);
  return new Error(msg);
}

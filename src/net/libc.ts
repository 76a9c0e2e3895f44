/**
 * The libc calls of the FFI socket path (Linux): nonblocking TCP sockets and epoll. Loaded on first
 * use, so the Deno socket path never needs --allow-ffi.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // ssize_t results read as i32: counts here stay below 2^31 and -1 stays -1, and a number result
  // avoids a BigInt per call.
  // 64-bit parameters take BigInts: with numbers Deno leaves V8's fast call path (~80 ns a call).
  recv: { parameters: ["i32", "buffer", "u64", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "u64", "i32"], result: "i32" },
  // send() from a raw address in shared memory (a ring's base plus an offset): no view per write.
  sendAt: { name: "send", parameters: ["i32", "u64", "u64", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "u32"], result: "i32" },
  sendtoAt: { name: "sendto", parameters: ["i32", "u64", "u64", "i32", "buffer", "u32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "u64", "u32", "i32"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // Runs on Deno's blocking thread pool: the worker's event loop stays free while it waits.
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Linux constants used here (x86_64 and aarch64 agree on all of them). */
export const LINUX = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_REUSEADDR: 2,
  SO_REUSEPORT: 15,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  MSG_NOSIGNAL: 0x4000,
  MSG_PEEK: 0x2,
  MSG_DONTWAIT: 0x40,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLLIN: 0x001,
  EPOLLOUT: 0x004,
  EPOLLERR: 0x008,
  EPOLLHUP: 0x010,
  EPOLLRDHUP: 0x2000,
  EPOLLET: 1 << 31,
  EAGAIN: 11,
  ENOBUFS: 105,
  EINTR: 4,
  ECONNRESET: 104,
  EPIPE: 32,
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Libc | null = null;
let errnoView: Deno.UnsafePointerView | null = null;

/** The libc symbols; throws when FFI is not allowed or this is not Linux. */
export function libc(): Libc {
  if (lib === null) {
    if (Deno.build.os !== "linux") throw new Error("the FFI socket backend needs Linux");
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

/** An Error for a failed call, of the Deno.errors class a Deno socket would throw. */
export function errnoError(call: string, code = errno()): Error {
  const msg = `${call} failed: errno ${code}`;
  if (code === LINUX.ECONNRESET || code === LINUX.EPIPE) return new Deno.errors.ConnectionReset(msg);
  return new Error(msg);
}

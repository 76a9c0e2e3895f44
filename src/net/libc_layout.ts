/**
 * The Linux ABI the FFI socket backend speaks, per CPU architecture: the byte layout of every libc
 * struct it fills or reads, and every constant it passes. Declared here and nowhere else.
 *
 * Values from the kernel's uapi headers and glibc's (linux/eventpoll.h, bits/epoll.h,
 * netinet/in.h, bits/socket.h, bits/uio.h, asm-generic/socket.h, asm-generic/errno*.h), checked
 * by compiling offsetof()/sizeof() against each architecture's headers. Of the two shipped
 * targets only struct epoll_event differs: x86_64 packs it (__attribute__((packed)), for
 * compatibility with 32-bit x86) to 12 bytes with `data` at 4; every other architecture, aarch64
 * among them, aligns the u64 `data` to 8, for 16 bytes. Both targets are LP64 and little-endian
 * and use the asm-generic socket, fcntl (SOCK_NONBLOCK/SOCK_CLOEXEC) and errno numbers.
 *
 * An architecture not listed here has no layout: libcLayout() refuses it, and with it the FFI
 * backend (`net.backend: auto` picks Deno's sockets there; see backend.ts). Before adding one,
 * check every value below against its headers: MIPS, SPARC, Alpha and PA-RISC use other socket
 * and errno numbers, and 32-bit targets other pointer sizes.
 */

/** The architectures (Deno.build.arch) whose layout is known. */
export const FFI_ARCHES = ["x86_64", "aarch64"] as const;
export type FfiArch = typeof FFI_ARCHES[number];

/** A struct's size and its fields' byte offsets. */
export type Offsets<F extends string> = { readonly size: number } & { readonly [K in F]: number };

/** Byte offsets and sizes of the structs passed to libc. */
export interface LibcLayout {
  readonly arch: FfiArch;
  /** struct epoll_event: u32 events; u64 data (here the fd, in its low 32 bits). */
  readonly epollEvent: Offsets<"events" | "data">;
  /** struct sockaddr_in: u16 family (host order); port and address in network order. */
  readonly sockaddrIn: Offsets<"family" | "port" | "addr">;
  /** struct sockaddr_in6. */
  readonly sockaddrIn6: Offsets<"family" | "port" | "flowinfo" | "addr" | "scopeId">;
  /** sizeof(socklen_t), the length accept4/getsockname/recvfrom write back. */
  readonly socklen: number;
  /** sizeof(int), the value of an int socket option (setsockopt). */
  readonly int: number;
  /** struct iovec: void *iov_base; size_t iov_len. */
  readonly iovec: Offsets<"base" | "len">;
  /** struct msghdr (64-bit pointers and size_t, padded after msg_namelen and at the end). */
  readonly msghdr: Offsets<"name" | "namelen" | "iov" | "iovlen" | "control" | "controllen" | "flags">;
  /** struct mmsghdr: struct msghdr msg_hdr; unsigned int msg_len; padded to 8. */
  readonly mmsghdr: Offsets<"hdr" | "len">;
  /** struct cmsghdr: size_t cmsg_len; int cmsg_level; int cmsg_type; then the data (CMSG_DATA). */
  readonly cmsghdr: Offsets<"len" | "level" | "type" | "data">;
  /** struct timespec: time_t tv_sec; long tv_nsec (both 64-bit on LP64). */
  readonly timespec: Offsets<"sec" | "nsec">;
  /** The constants (see LINUX). */
  readonly linux: typeof LINUX;
}

/**
 * Linux constants used by the FFI backend: the asm-generic values, which x86_64 and aarch64 share
 * (checked against both architectures' headers; libc_layout_test.ts pins them for each).
 */
export const LINUX = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  EPOLL_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_REUSEADDR: 2,
  SO_REUSEPORT: 15,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_ACCEPTCONN: 30,
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
  /** 1 << 31: negative as a JavaScript int32; write it with `>>> 0`. */
  EPOLLET: 1 << 31,
  EAGAIN: 11,
  EINPROGRESS: 115,
  ENOBUFS: 105,
  EINTR: 4,
  ECONNRESET: 104,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
  EHOSTUNREACH: 113,
  ENETUNREACH: 101,
  EPIPE: 32,
  /** clock_gettime: CPU time of the calling thread (linux/time.h). */
  CLOCK_THREAD_CPUTIME_ID: 3,
  /** UDP generic segmentation offload: a u16 segment size as a SOL_UDP cmsg (linux/udp.h, Linux 4.18). */
  SOL_UDP: 17,
  UDP_SEGMENT: 103,
  /** Most segments one UDP GSO send may carry (UDP_MAX_SEGMENTS in linux/udp.h of 4.18-5.x). */
  UDP_MAX_SEGMENTS: 64,
  EINVAL: 22,
  EIO: 5,
  /** madvise: the pages read as zeros from now on and are given back (asm-generic/mman-common.h). */
  MADV_DONTNEED: 4,
  /** sysconf: the page size (bits/confname.h). */
  _SC_PAGESIZE: 30,
} as const;

/**
 * struct sockaddr_in: fixed-size fields only, so the same on every Linux architecture. Exported
 * for sockaddr.ts, which encodes addresses before any per-arch check (the FFI paths that use them
 * have passed libcLayout() by then).
 */
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;
/** struct sockaddr_in6: as SOCKADDR_IN, the same on every Linux architecture. */
export const SOCKADDR_IN6 = { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 } as const;

const IOVEC_LP64 = { size: 16, base: 0, len: 8 } as const;
const MSGHDR_LP64 = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;
const MMSGHDR_LP64 = { size: 64, hdr: 0, len: 56 } as const;
const CMSGHDR_LP64 = { size: 16, len: 0, level: 8, type: 12, data: 16 } as const;

const LP64_LINUX = {
  sockaddrIn: SOCKADDR_IN,
  sockaddrIn6: SOCKADDR_IN6,
  socklen: 4,
  int: 4,
  iovec: IOVEC_LP64,
  msghdr: MSGHDR_LP64,
  mmsghdr: MMSGHDR_LP64,
  cmsghdr: CMSGHDR_LP64,
  timespec: { size: 16, sec: 0, nsec: 8 },
  linux: LINUX,
} as const;

const LAYOUTS: Readonly<Record<FfiArch, LibcLayout>> = {
  // linux/eventpoll.h: `#ifdef __x86_64__ #define EPOLL_PACKED __attribute__((packed))`.
  x86_64: { arch: "x86_64", epollEvent: { size: 12, events: 0, data: 4 }, ...LP64_LINUX },
  aarch64: { arch: "aarch64", epollEvent: { size: 16, events: 0, data: 8 }, ...LP64_LINUX },
};

/** Whether libcLayout(arch) knows the architecture. */
export function isFfiArch(arch: string): arch is FfiArch {
  return (FFI_ARCHES as readonly string[]).includes(arch);
}

/** The layout for `arch` (a Deno.build.arch value); throws for an architecture it does not know. */
export function libcLayout(arch: string): LibcLayout {
  if (!isFfiArch(arch)) {
    throw new Error(
      `the FFI socket backend has no libc struct layout for arch '${arch}' (it knows ${
        FFI_ARCHES.join(", ")
      }): use net.backend=deno, or auto, which picks Deno's sockets there`,
    );
  }
  return LAYOUTS[arch];
}

import assert from "node:assert/strict";
import { FFI_ARCHES, isFfiArch, libcLayout, type LINUX } from "./libc_layout.ts";

// Golden values: offsetof()/sizeof() and the constants, compiled against each architecture's
// glibc and kernel headers (Debian's libc6-dev and libc6-dev-arm64-cross, 2.36).
const COMMON = {
  sockaddrIn: { size: 16, family: 0, port: 2, addr: 4 },
  sockaddrIn6: { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 },
  socklen: 4,
  int: 4,
  iovec: { size: 16, base: 0, len: 8 },
  msghdr: { size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 },
  mmsghdr: { size: 64, hdr: 0, len: 56 },
  cmsghdr: { size: 16, len: 0, level: 8, type: 12, data: 16 },
  timespec: { size: 16, sec: 0, nsec: 8 },
};

const CONSTANTS = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 2048,
  SOCK_CLOEXEC: 524288,
  EPOLL_CLOEXEC: 524288,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_REUSEADDR: 2,
  SO_REUSEPORT: 15,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_ACCEPTCONN: 30,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  MSG_NOSIGNAL: 16384,
  MSG_PEEK: 2,
  MSG_DONTWAIT: 64,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLLIN: 1,
  EPOLLOUT: 4,
  EPOLLERR: 8,
  EPOLLHUP: 16,
  EPOLLRDHUP: 8192,
  CLOCK_THREAD_CPUTIME_ID: 3,
  SOL_UDP: 17,
  UDP_SEGMENT: 103,
  UDP_MAX_SEGMENTS: 64,
  EINVAL: 22,
  EIO: 5,
  MADV_DONTNEED: 4,
  _SC_PAGESIZE: 30,
  EPOLLET: 2147483648,
  EAGAIN: 11,
  ENOBUFS: 105,
  EINTR: 4,
  ECONNRESET: 104,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
  EHOSTUNREACH: 113,
  ENETUNREACH: 101,
  EINPROGRESS: 115,
  EPIPE: 32,
};

function constants(l: typeof LINUX): Record<string, number> {
  // EPOLLET is 1 << 31, an int32 in JavaScript: compare the bits as the kernel reads them.
  return { ...l, EPOLLET: l.EPOLLET >>> 0 };
}

Deno.test("libcLayout(x86_64): epoll_event packed to 12 bytes, data at 4", () => {
  const l = libcLayout("x86_64");
  assert.equal(l.arch, "x86_64");
  assert.deepEqual(l.epollEvent, { size: 12, events: 0, data: 4 });
  const { arch: _a, epollEvent: _e, linux, ...rest } = l;
  assert.deepEqual(rest, COMMON);
  assert.deepEqual(constants(linux), CONSTANTS);
});

Deno.test("libcLayout(aarch64): epoll_event not packed, 16 bytes, data at 8", () => {
  const l = libcLayout("aarch64");
  assert.equal(l.arch, "aarch64");
  assert.deepEqual(l.epollEvent, { size: 16, events: 0, data: 8 });
  const { arch: _a, epollEvent: _e, linux, ...rest } = l;
  assert.deepEqual(rest, COMMON);
  assert.deepEqual(constants(linux), CONSTANTS);
});

Deno.test("libcLayout refuses an architecture it has no layout for, naming it", () => {
  for (const arch of ["riscv64", "arm", "x86", "mips64", ""]) {
    assert.equal(isFfiArch(arch), false);
    assert.throws(() => libcLayout(arch), (e: Error) => {
      assert.match(e.message, new RegExp(`no libc struct layout for arch '${arch}'`));
      assert.match(e.message, /x86_64, aarch64/);
      assert.match(e.message, /net\.backend=deno/);
      return true;
    });
  }
  assert.deepEqual([...FFI_ARCHES], ["x86_64", "aarch64"]);
});

Deno.test("libcLayout knows the architecture these tests run on", () => {
  assert.ok(isFfiArch(Deno.build.arch), `no layout for ${Deno.build.arch}`);
  assert.equal(libcLayout(Deno.build.arch).arch, Deno.build.arch);
});

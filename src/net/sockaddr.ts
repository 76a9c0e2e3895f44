/** sockaddr_in / sockaddr_in6 encoding for the FFI socket paths (layouts in libc_layout.ts). */
import { formatPeer } from "./byte_socket.ts";
import { LINUX, SOCKADDR_IN as IN, SOCKADDR_IN6 as IN6 } from "./libc_layout.ts";
import { libc } from "./libc.ts";

/** sockaddr_in6, large enough for sockaddr_in too. */
export const SOCKADDR_BYTES = IN6.size;
/** The length to pass with an address of the family. */
export function sockaddrLength(family: number): number {
  return family === LINUX.AF_INET6 ? IN6.size : IN.size;
}

/** Encodes an IPv4 or IPv6 address and port as a sockaddr. */
export function sockaddr(hostname: string, port: number): { family: number; addr: Uint8Array } {
  const addr = new Uint8Array(SOCKADDR_BYTES);
  const v = new DataView(addr.buffer);
  if (hostname.includes(":")) {
    v.setUint16(IN6.family, LINUX.AF_INET6, true);
    v.setUint16(IN6.port, port, false);
    const parts = hostname.split("::");
    const head = parts[0] ? parts[0].split(":") : [];
    const tail = parts.length > 1 && parts[1] ? parts[1].split(":") : [];
    const groups = [...head, ...new Array(8 - head.length - tail.length).fill("0"), ...tail];
    groups.forEach((g, i) => v.setUint16(IN6.addr + 2 * i, parseInt(g || "0", 16), false));
    return { family: LINUX.AF_INET6, addr };
  }
  const octets = hostname.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) {
    throw new Error(`'${hostname}' is not an IPv4 or IPv6 address`);
  }
  v.setUint16(IN.family, LINUX.AF_INET, true);
  v.setUint16(IN.port, port, false);
  addr.set(octets, IN.addr);
  return { family: LINUX.AF_INET, addr };
}

/** The peer of an accepted socket, from the sockaddr accept4 filled in. */
export function peerOf(addr: Uint8Array): string {
  const v = new DataView(addr.buffer, addr.byteOffset);
  const port = v.getUint16(IN.port, false); // at the same offset in sockaddr_in6
  if (v.getUint16(IN.family, true) === LINUX.AF_INET6) {
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(v.getUint16(IN6.addr + 2 * i, false).toString(16));
    const host = g.join(":");
    // IPv4-mapped (::ffff:a.b.c.d) reads better as the IPv4 address.
    if (host.startsWith("0:0:0:0:0:ffff:")) {
      return formatPeer(addr.subarray(IN6.addr + 12, IN6.addr + 16).join("."), port);
    }
    return formatPeer(host, port);
  }
  return formatPeer(addr.subarray(IN.addr, IN.addr + 4).join("."), port);
}

/** The port a bound socket got (getsockname): what a bind to port 0 was given. */
export function boundPort(fd: number): number {
  const bound = new Uint8Array(SOCKADDR_BYTES);
  const len = new Uint32Array([SOCKADDR_BYTES]);
  libc().getsockname(fd, bound, new Uint8Array(len.buffer));
  return new DataView(bound.buffer).getUint16(IN.port, false); // sockaddr_in6: the same offset
}

/** sockaddr_in / sockaddr_in6 encoding for the FFI socket paths (Linux layout). */
import { formatPeer } from "./byte_socket.ts";
import { LINUX } from "./libc.ts";

export const SOCKADDR_BYTES = 28; // sockaddr_in6, large enough for sockaddr_in too

/** Encodes an IPv4 or IPv6 address and port as a sockaddr. */
export function sockaddr(hostname: string, port: number): { family: number; addr: Uint8Array } {
  const addr = new Uint8Array(SOCKADDR_BYTES);
  const v = new DataView(addr.buffer);
  if (hostname.includes(":")) {
    v.setUint16(0, LINUX.AF_INET6, true);
    v.setUint16(2, port, false);
    const parts = hostname.split("::");
    const head = parts[0] ? parts[0].split(":") : [];
    const tail = parts.length > 1 && parts[1] ? parts[1].split(":") : [];
    const groups = [...head, ...new Array(8 - head.length - tail.length).fill("0"), ...tail];
    groups.forEach((g, i) => v.setUint16(8 + 2 * i, parseInt(g || "0", 16), false));
    return { family: LINUX.AF_INET6, addr };
  }
  const octets = hostname.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) {
    throw new Error(`'${hostname}' is not an IPv4 or IPv6 address`);
  }
  v.setUint16(0, LINUX.AF_INET, true);
  v.setUint16(2, port, false);
  addr.set(octets, 4);
  return { family: LINUX.AF_INET, addr };
}

/** The peer of an accepted socket, from the sockaddr accept4 filled in. */
export function peerOf(addr: Uint8Array): string {
  const v = new DataView(addr.buffer, addr.byteOffset);
  const port = v.getUint16(2, false);
  if (v.getUint16(0, true) === LINUX.AF_INET6) {
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(v.getUint16(8 + 2 * i, false).toString(16));
    const host = g.join(":");
    // IPv4-mapped (::ffff:a.b.c.d) reads better as the IPv4 address.
    if (host.startsWith("0:0:0:0:0:ffff:")) return formatPeer(addr.subarray(20, 24).join("."), port);
    return formatPeer(host, port);
  }
  return formatPeer(addr.subarray(4, 8).join("."), port);
}

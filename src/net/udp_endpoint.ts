/**
 * A bound UDP socket as the RTSP layer uses it (a worker's RTP or RTCP port); two backends:
 * nonblocking libc calls on the worker's epoll (ffi_udp.ts) and Deno.listenDatagram (deno_udp.ts).
 * IPv4 only for now.
 */

/** A destination prepared once (per viewer and track) so that sending allocates nothing. */
export interface UdpAddress {
  readonly host: string;
  readonly port: number;
  /** sockaddr_in, for the FFI path (in shared memory), and its address for sendmmsg. */
  readonly sockaddr: Uint8Array;
  readonly sockaddrAddr: number;
}

/**
 * Receives a datagram buf[start..end) from the sender `key` (udpKey(host, port)); buf is reused
 * after the call returns.
 */
export type UdpReceiver = (buf: Uint8Array, start: number, end: number, key: number) => void;

export interface UdpEndpoint {
  readonly port: number;
  /**
   * Sends buf[start..end) to `to` now; false when the kernel dropped it (send buffer full): UDP
   * never waits.
   */
  send(buf: Uint8Array, start: number, end: number, to: UdpAddress): boolean;
  /** Sends what send() batched (when batching); returns how many datagrams the kernel dropped. */
  flush(): number;
  close(): void;
}

/** A number naming an IPv4 sender (address and port), for route lookups without strings. */
export function udpKey(host: string, port: number): number {
  const o = host.split(".");
  if (o.length !== 4) return -1;
  let ip = 0;
  for (const x of o) {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0 || n > 255) return -1;
    ip = ip * 256 + n;
  }
  return ip * 65536 + port;
}

/** `a.b.c.d:port` of a udpKey, for logs. */
export function formatUdpKey(key: number): string {
  const port = key % 65536;
  const ip = Math.floor(key / 65536);
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

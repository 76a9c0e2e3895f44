/**
 * A connected TCP socket as the RTSP layer uses it; two backends: Deno's TcpConn (deno_socket.ts)
 * and nonblocking libc calls driven by epoll (ffi_socket.ts).
 */
export interface ByteSocket {
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** Reads into buf: the byte count, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /**
   * Writes what the kernel takes now of buf[start..end) (a range, so that sending part of a ring
   * needs no view per write). A number when done at once (the bytes are copied: buf may change
   * afterwards); a promise when the call must wait, in which case buf is borrowed until it
   * settles (Deno reads it when the socket drains).
   */
  write(buf: Uint8Array, start: number, end: number): number | Promise<number>;
  close(): void;
}

/** Accepts ByteSockets on the shared port. */
export interface SocketListener {
  readonly port: number;
  serve(onConn: (sock: ByteSocket) => void): Promise<void>;
  close(): void;
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatPeer(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * A connected TCP socket as the RTSP layer uses it; two backends: Deno's TcpConn (deno_socket.ts)
 * and nonblocking libc calls driven by epoll (ffi_socket.ts).
 */
export interface ByteSocket {
  /** `host:port` of the peer, for logs. */
  readonly peer: string;
  /** Whether the bytes travel inside TLS (an RTSPS connection); absent: plain TCP. */
  readonly encrypted?: boolean;
  /**
   * Reads into target.spare(), asked for only when bytes are there (FFI; so an idle connection
   * need not hold a buffer): the byte count, or null at end of stream.
   */
  read(target: ReadTarget): Promise<number | null>;
  /**
   * Reads at once what is there, as read() would: the byte count, null at end of stream, or
   * undefined when nothing is (read() waits then). Optional (FFI): a publisher reads thousands of
   * times a second, and a promise per read was a tenth of what its worker allocated.
   */
  readNow?(target: ReadTarget): number | null | undefined;
  /**
   * Calls listener.readable() once, when bytes (or the end of stream) can be read: a connection
   * that waits this way holds no promise. Optional: Deno's sockets only have read(). peek (default
   * true): look that bytes are there before calling back, as an edge may be late news of bytes read
   * already; false for a listener that reads at once anyway (readNow), which saves a system call.
   */
  whenReadable?(listener: ReadableListener, peek?: boolean): void;
  /**
   * Writes what the kernel takes now of buf[start..end) (a range, so that sending part of a ring
   * needs no view per write). A number when done at once (the bytes are copied: buf may change
   * afterwards); a promise when the call must wait, in which case buf is borrowed until it
   * settles (Deno reads it when the socket drains).
   */
  write(buf: Uint8Array, start: number, end: number): number | Promise<number>;
  close(): void;
}

/** Told when a socket can be read. */
export interface ReadableListener {
  readable(): void;
}

/** Where a read puts its bytes. */
export interface ReadTarget {
  /** The free space to read into (not empty). */
  spare(): Uint8Array;
}

/** Accepts ByteSockets on the shared port. */
export interface SocketListener {
  readonly port: number;
  serve(onConn: (sock: ByteSocket) => void): Promise<void>;
  close(): void;
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatPeer(hostname: string, port: number): string {
  // join() gives one flat string; a template literal keeps its pieces (a per-connection cost).
  return (hostname.includes(":") ? [`[${hostname}]`, port] : [hostname, port]).join(":");
}

import { type ByteSocket, formatPeer, type ReadTarget } from "./byte_socket.ts";

/**
 * A Deno.TcpConn, or a Deno.TlsConn (RTSPS, `encrypted`), as a ByteSocket: every write is a promise
 * (an async op). A TLS write takes at most 64 KiB of plaintext (the rest is a short write, which the
 * write queue continues) and is encrypted into rustls's own buffer, so the view it was given is
 * released when the promise settles, as a TCP write's is.
 */
export class DenoSocket implements ByteSocket {
  readonly peer: string;
  readonly encrypted: boolean;
  readonly #conn: Deno.Conn<Deno.NetAddr>;

  constructor(conn: Deno.TcpConn | Deno.TlsConn, encrypted = false) {
    this.#conn = conn;
    this.encrypted = encrypted;
    this.peer = formatPeer(conn.remoteAddr.hostname, conn.remoteAddr.port);
  }

  read(target: ReadTarget): Promise<number | null> {
    return this.#conn.read(target.spare());
  }

  write(buf: Uint8Array, start: number, end: number): Promise<number> {
    return this.#conn.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

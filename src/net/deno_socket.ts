import { type ByteSocket, formatPeer, type ReadTarget } from "./byte_socket.ts";

/** A Deno.TcpConn as a ByteSocket: every write is a promise (an async op). */
export class DenoSocket implements ByteSocket {
  readonly peer: string;
  readonly #conn: Deno.TcpConn;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
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

import type { Logger } from "../log/logger.ts";
import type { ByteSocket, SocketListener } from "./byte_socket.ts";
import { DenoSocket } from "./deno_socket.ts";

/** Accepts connections on a shared port (SO_REUSEPORT: the kernel spreads them over the workers). */
export class DenoListener implements SocketListener {
  readonly #listener: Deno.TcpListener;
  readonly #log: Logger;
  #closed = false;

  constructor(hostname: string, port: number, log: Logger) {
    this.#listener = Deno.listen({ hostname, port, reusePort: true, transport: "tcp" });
    this.#log = log;
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Calls onConn for each accepted connection until close(). */
  async serve(onConn: (sock: ByteSocket) => void): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // EMFILE and friends: keep serving the connections we have, try again shortly.
        this.#log.error(`accept failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // the peer may already be gone
      }
      onConn(new DenoSocket(conn));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }
}

import type { Logger } from "../log/logger.ts";
import type { ByteSocket, SocketListener } from "./byte_socket.ts";
import { DenoSocket } from "./deno_socket.ts";

/** How often a failing accept may say so: out of descriptors, it fails every retry. */
const ACCEPT_FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Calls onConn for each connection `listener` accepts (TCP_NODELAY set where the connection has it:
 * a TlsConn has no setNoDelay) until closed() says so; a failing accept (EMFILE and friends) is
 * tried again every 100 ms, the connections we have kept, and logged once per 10 s with a count.
 */
export async function acceptEach<C extends Deno.TcpConn | Deno.TlsConn>(
  listener: Deno.Listener<C, Deno.NetAddr>,
  closed: () => boolean,
  log: Logger,
  onConn: (conn: C) => void,
): Promise<void> {
  let loggedAt = -Infinity;
  let failures = 0;
  while (!closed()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (closed() || e instanceof Deno.errors.BadResource) return;
      failures++;
      if (performance.now() - loggedAt >= ACCEPT_FAILURE_LOG_INTERVAL_MS) {
        loggedAt = performance.now();
        log.error(
          `accept failed: ${
            (e as Error).message
          } (${failures} time(s) since the last such line; retried every 100 ms)`,
        );
        failures = 0;
      }
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if ("setNoDelay" in conn) {
      try {
        conn.setNoDelay(true);
      } catch {
        // the peer may already be gone
      }
    }
    onConn(conn);
  }
}

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
  serve(onConn: (sock: ByteSocket) => void): Promise<void> {
    return acceptEach(this.#listener, () => this.#closed, this.#log, (conn) => onConn(new DenoSocket(conn)));
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

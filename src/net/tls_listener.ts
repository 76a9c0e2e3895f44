/**
 * RTSPS: RTSP over TLS on a port of its own (rtsp.tls.port), through Deno's TLS (rustls). Like the
 * plain port, every worker listens on it with SO_REUSEPORT (Deno.listenTls takes `reusePort` under
 * --unstable-net, which deno.json turns on) and the kernel spreads connections over them. The FFI
 * backend has no TLS: whatever net.backend is, an accepted connection is a DenoSocket, `encrypted`,
 * and the RTSP layer serves it like any other.
 *
 * The certificate changes without a restart: replace() binds a second listener with the new
 * certificate on the same port (which also proves the PEM good: Deno parses both files and checks
 * the key against the certificate at listen time, and throws otherwise) and then closes the first.
 * Connections accepted before keep their TLS session; new ones get the new certificate. One the
 * kernel queued on the old listener in the instant before its socket closed is reset (the client
 * connects again), unless net.ipv4.tcp_migrate_req (Linux 5.14+) hands it to the new listener.
 *
 * A connection closed before its TLS handshake finished (the 408 of limits.handshakeTimeoutMs, a
 * refusal past a connection limit), or after it while its peer reads nothing, would keep its
 * socket until the peer left: Deno cannot close it (tls_handshake_reaper.ts says why). Its socket
 * is shut down by descriptor instead, where FFI runs on Linux; elsewhere the listener logs once
 * that such connections stay open.
 */
import type { Logger } from "../log/logger.ts";
import type { ByteSocket, ReadTarget, SocketListener } from "./byte_socket.ts";
import { acceptEach } from "./deno_listener.ts";
import { DenoSocket } from "./deno_socket.ts";
import { HandshakeReaper, reapSupport } from "./tls_handshake_reaper.ts";

/** A certificate chain and its private key, PEM text. */
export interface TlsPem {
  cert: string;
  key: string;
}

/** Reads the two PEM files; the error names the file that could not be read. */
export function readPem(certFile: string, keyFile: string): TlsPem {
  const read = (file: string, what: string) => {
    try {
      return Deno.readTextFileSync(file);
    } catch (e) {
      throw new Error(`cannot read the ${what} ${file} (${(e as Error).message})`);
    }
  };
  return { cert: read(certFile, "certificate"), key: read(keyFile, "key") };
}

/**
 * Wraps each bind of the TLS port: listener_nodelay.ts's listenNoDelay where FFI can run, so that
 * accepted TLS sockets have TCP_NODELAY (a Deno.TlsConn cannot set it).
 */
export type ListenTuner = (listen: () => Deno.TlsListener) => Deno.TlsListener;

function listenTls(hostname: string, port: number, pem: TlsPem, tune?: ListenTuner): Deno.TlsListener {
  const listen = () =>
    Deno.listenTls({ hostname, port, reusePort: true, transport: "tcp", cert: pem.cert, key: pem.key });
  try {
    return tune === undefined ? listen() : tune(listen);
  } catch (e) {
    // A port taken stays what it is (the worker's start says so); bad PEM is Error or InvalidData.
    if (e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied) throw e;
    throw new Error(`certificate or key refused: ${(e as Error).message}`);
  }
}

/**
 * Throws, as the listener would, when Deno refuses the certificate or key (for --check-config): it
 * binds a listener with them on 127.0.0.1, port 0, and closes it.
 */
export function checkPem(pem: TlsPem): void {
  listenTls("127.0.0.1", 0, pem).close();
}

/**
 * An accepted RTSPS connection: closed before its handshake finished, its socket is handed to the
 * reaper (Deno alone would keep it open until the peer left). Its handshake counts as finished
 * once conn.handshake() settles or a read returns bytes (which needs the handshake done).
 */
class TlsSocket extends DenoSocket {
  readonly #conn: Deno.TlsConn;
  readonly #reaper: HandshakeReaper | null;
  #handshaken = false;
  #closed = false;

  constructor(conn: Deno.TlsConn, reaper: HandshakeReaper | null) {
    super(conn, true);
    this.#conn = conn;
    this.#reaper = reaper;
    if (reaper !== null) {
      // Settles at the end of the handshake, or rejects when it fails or the conn is closed.
      conn.handshake().then(() => this.#handshaken = true, () => {});
    }
  }

  override read(target: ReadTarget): Promise<number | null> {
    if (this.#handshaken || this.#reaper === null) return super.read(target);
    return super.read(target).then((n) => {
      this.#handshaken = true;
      return n;
    });
  }

  /**
   * Before the handshake nothing can go out, and a Deno write waits for it: a write then is a
   * refusal (the 408 of limits.handshakeTimeoutMs; an RTSP server never speaks first and no request
   * has been read), and waiting on it would hold the close that follows until sessionTimeoutMs.
   * It is dropped, taken at once; the close frees the connection.
   */
  override write(buf: Uint8Array, start: number, end: number): Promise<number> {
    if (!this.#handshaken && this.#reaper !== null) return Promise.resolve(end - start);
    return super.write(buf, start, end);
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    super.close();
    // Mid-handshake: shut down at the next scan. Handshaken: after LINGER_MS, if Deno's close
    // (close_notify, then the flush of what is buffered) has not ended it by then.
    this.#reaper?.drop(this.#conn.localAddr, this.#conn.remoteAddr, this.#handshaken);
  }
}

/** Accepts RTSPS connections on a shared port, its certificate replaceable while it runs. */
export class TlsListener implements SocketListener {
  readonly port: number;
  readonly #hostname: string;
  readonly #log: Logger;
  readonly #tune: ListenTuner | undefined;
  #listener: Deno.TlsListener;
  #pem: TlsPem;
  #onConn: ((sock: ByteSocket) => void) | null = null;
  /** The current listener's accept loop (settled before serve()). */
  #accepting: Promise<void> = Promise.resolve();
  #closed = false;
  /** Null where sockets cannot be shut down by descriptor (not Linux, no FFI). */
  readonly #reaper: HandshakeReaper | null;

  /**
   * Throws when the port cannot be bound or Deno refuses the certificate or key. `reap` false
   * leaves connections closed mid-handshake to Deno (as where FFI cannot run; for tests).
   */
  constructor(hostname: string, port: number, pem: TlsPem, log: Logger, tune?: ListenTuner, reap = true) {
    this.#listener = listenTls(hostname, port, pem, tune);
    this.port = this.#listener.addr.port;
    this.#tune = tune;
    this.#hostname = hostname;
    this.#pem = pem;
    this.#log = log;
    const support = reap ? reapSupport() : { ok: false as const, why: "turned off" };
    this.#reaper = support.ok ? new HandshakeReaper(this.port, log) : null;
    if (!support.ok) {
      log.warn(
        `RTSPS port ${this.port}: a connection closed before its TLS handshake finished (a silent or trickling client past limits.handshakeTimeoutMs), or while its peer reads nothing, stays open until its peer leaves: shutting it down needs Linux and FFI (${support.why})`,
      );
    }
  }

  /** Connections closed mid-handshake whose sockets were shut down (0 without the reaper). */
  get handshakesShut(): number {
    return this.#reaper?.shut ?? 0;
  }

  /** Handshaken connections closed whose sockets were shut down after LINGER_MS (a peer not reading). */
  get lingeredShut(): number {
    return this.#reaper?.lingered ?? 0;
  }

  /** Calls onConn for each accepted connection until close(), on whichever listener is current. */
  serve(onConn: (sock: ByteSocket) => void): Promise<void> {
    this.#onConn = onConn;
    return this.#accepting = this.#acceptOn(this.#listener);
  }

  /**
   * Serves new connections with this certificate and key: false (nothing done) when they are the
   * ones in use; rejects, keeping the current ones, when Deno refuses them. Settles once the old
   * listener's socket is closed (its accept loop has ended), so every connection after it gets
   * the new certificate.
   */
  async replace(pem: TlsPem): Promise<boolean> {
    if (this.#closed) return false;
    if (pem.cert === this.#pem.cert && pem.key === this.#pem.key) return false;
    const next = listenTls(this.#hostname, this.port, pem, this.#tune);
    const old = this.#listener;
    const oldLoop = this.#accepting;
    this.#listener = next;
    this.#pem = pem;
    if (this.#onConn !== null) this.#accepting = this.#acceptOn(next);
    // Its accept loop ends on the close (BadResource), once Deno has dropped the socket.
    closeQuietly(old);
    await oldLoop;
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    this.#reaper?.close();
  }

  #acceptOn(l: Deno.TlsListener): Promise<void> {
    return acceptEach(
      l,
      () => this.#closed || this.#listener !== l,
      this.#log,
      (conn) => this.#onConn!(new TlsSocket(conn, this.#reaper)),
    );
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

/**
 * RTSP over HTTP tunnelling, the QuickTime/ONVIF way (ffmpeg `-rtsp_transport http`, GStreamer
 * `rtsph://`): a client opens two HTTP connections sharing an `x-sessioncookie`. The GET one stays
 * open and carries everything the server sends (plain RTSP responses and interleaved frames); the
 * POST one carries what the client sends, base64-encoded. Each pair becomes one ByteSocket, which
 * the worker serves like any RTSP connection.
 *
 * One listener, in one worker (no SO_REUSEPORT): both halves of a pair must reach the same worker.
 * Bounded: a connection's HTTP head must be in within headTimeoutMs of connecting (limits.
 * handshakeTimeoutMs; else 408), a half waits for its other half at most PAIR_TIMEOUT_MS, at most
 * MAX_PENDING connections are unpaired at once (reading their head or waiting), MAX_PENDING_PER_ADDRESS
 * of them from one address (further ones get 503 at once), and an HTTP head over MAX_HEAD_BYTES is
 * refused. A pair is then an RTSP connection like any other (limits.maxConnectionsPerAddress and the
 * request deadlines apply).
 */
import type { Logger } from "../log/logger.ts";
import { type ByteSocket, formatPeer, type ReadTarget, type SocketListener } from "./byte_socket.ts";
import { acceptEach } from "./deno_listener.ts";

/** Longest a GET waits for its POST (and the reverse). */
export const PAIR_TIMEOUT_MS = 10_000;
/** Connections not yet paired (reading their HTTP head, or waiting for their other half) at once. */
export const MAX_PENDING = 256;
/** Of those, from one address. */
export const MAX_PENDING_PER_ADDRESS = 16;
/** Longest wait for a connection's HTTP head, unless the listener is given another (limits.handshakeTimeoutMs). */
export const HEAD_TIMEOUT_MS = 10_000;
/** Longest HTTP request head taken. */
export const MAX_HEAD_BYTES = 8192;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUE = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/**
 * Decodes base64 as it arrives, in any split: characters outside the alphabet (line breaks) are
 * skipped, and `=` padding ends a group, as clients encode each message on its own.
 */
export class Base64Stream {
  #bits = 0;
  #count = 0;

  /** Decodes src into out from index 0; returns the bytes written (out must hold src.length * 3 / 4 + 3). */
  decode(src: Uint8Array, out: Uint8Array): number {
    let n = 0;
    let bits = this.#bits;
    let count = this.#count;
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (c === 0x3d) {
        // '=' ends a group early: 2 characters hold one byte, 3 hold two.
        if (count === 2) out[n++] = (bits >> 4) & 0xff;
        else if (count === 3) {
          out[n++] = (bits >> 10) & 0xff;
          out[n++] = (bits >> 2) & 0xff;
        }
        bits = 0;
        count = 0;
        continue;
      }
      const v = B64_VALUE[c];
      if (v < 0) continue;
      bits = (bits << 6) | v;
      if (++count === 4) {
        out[n++] = (bits >> 16) & 0xff;
        out[n++] = (bits >> 8) & 0xff;
        out[n++] = bits & 0xff;
        bits = 0;
        count = 0;
      }
    }
    this.#bits = bits;
    this.#count = count;
    return n;
  }
}

interface Half {
  conn: Deno.TcpConn;
  /** Bytes after the HTTP head (a POST's first base64). */
  rest: Uint8Array;
  timer: ReturnType<typeof setTimeout>;
  /** It is no longer unpaired (TunnelListener's bound). */
  paired: () => void;
}

/** The GET and POST of one tunnel as a ByteSocket. */
export class TunnelSocket implements ByteSocket {
  readonly peer: string;
  readonly #get: Deno.TcpConn;
  readonly #post: Deno.TcpConn;
  readonly #b64 = new Base64Stream();
  #pending: Uint8Array;
  #chunk = new Uint8Array(16384);
  #closed = false;

  constructor(get: Deno.TcpConn, post: Deno.TcpConn, first: Uint8Array) {
    this.#get = get;
    this.#post = post;
    this.#pending = first;
    this.peer = formatPeer(get.remoteAddr.hostname, get.remoteAddr.port);
  }

  async read(target: ReadTarget): Promise<number | null> {
    for (;;) {
      if (this.#closed) return null;
      const spare = target.spare();
      // Decoded bytes are at most 3/4 of the characters: read no more than fits.
      const max = Math.min(this.#chunk.length, Math.floor((spare.length - 3) * 4 / 3));
      let src: Uint8Array;
      if (this.#pending.length > 0) {
        src = this.#pending.subarray(0, max);
        this.#pending = this.#pending.subarray(src.length);
      } else {
        const n = await this.#post.read(this.#chunk.subarray(0, max));
        if (n === null) return null;
        src = this.#chunk.subarray(0, n);
      }
      const got = this.#b64.decode(src, spare);
      if (got > 0) return got;
    }
  }

  write(buf: Uint8Array, start: number, end: number): Promise<number> {
    return this.#get.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [this.#get, this.#post]) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }
}

/** What a tunnel half's HTTP head says. */
export interface TunnelHead {
  method: "GET" | "POST";
  cookie: string;
}

/** Reads an HTTP request head for a tunnel half; null when it is not one (the reason in `why`). */
export function parseTunnelHead(text: string): TunnelHead | { why: string } {
  const lines = text.split("\r\n");
  const m = /^(GET|POST) \S+ HTTP\/1\.[01]$/.exec(lines[0]);
  if (m === null) return { why: `not a tunnel request: ${JSON.stringify(lines[0].slice(0, 80))}` };
  let cookie: string | undefined;
  let type: string | undefined;
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    if (k === "x-sessioncookie") cookie = v;
    else if (k === "content-type") type = v;
  }
  if (cookie === undefined || cookie === "" || cookie.length > 128) {
    return { why: "no usable x-sessioncookie" };
  }
  if (m[1] === "POST" && type !== undefined && !/x-rtsp-tunnelled/i.test(type)) {
    return { why: `POST of ${type}, not application/x-rtsp-tunnelled` };
  }
  return { method: m[1] as "GET" | "POST", cookie };
}

const OK_HEAD = new TextEncoder().encode(
  "HTTP/1.0 200 OK\r\nServer: dm-live\r\nConnection: close\r\nCache-Control: no-store\r\n" +
    "Pragma: no-cache\r\nContent-Type: application/x-rtsp-tunnelled\r\n\r\n",
);

export class TunnelListener implements SocketListener {
  readonly #listener: Deno.TcpListener;
  readonly #log: Logger;
  readonly #headTimeoutMs: number;
  readonly #gets = new Map<string, Half>();
  readonly #posts = new Map<string, Half>();
  /** Unpaired connections per address, from accept until paired or closed. */
  readonly #unpaired = new Map<string, number>();
  #unpairedTotal = 0;
  #refusedLoggedAt = -Infinity;
  #refusedSinceLog = 0;
  #closed = false;

  constructor(hostname: string, port: number, log: Logger, headTimeoutMs = HEAD_TIMEOUT_MS) {
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#log = log;
    this.#headTimeoutMs = headTimeoutMs;
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections not yet paired now (reading their head or waiting for their other half). */
  get unpaired(): number {
    return this.#unpairedTotal;
  }

  serve(onConn: (sock: ByteSocket) => void): Promise<void> {
    return acceptEach(this.#listener, () => this.#closed, this.#log, (conn) => {
      const host = conn.remoteAddr.hostname;
      const mine = this.#unpaired.get(host) ?? 0;
      if (this.#unpairedTotal >= MAX_PENDING || mine >= MAX_PENDING_PER_ADDRESS) {
        this.#refused(conn, mine);
        return;
      }
      this.#unpaired.set(host, mine + 1);
      this.#unpairedTotal++;
      let counted = true;
      const paired = () => {
        if (!counted) return;
        counted = false;
        this.#unpairedTotal--;
        const n = (this.#unpaired.get(host) ?? 1) - 1;
        if (n <= 0) this.#unpaired.delete(host);
        else this.#unpaired.set(host, n);
      };
      this.#half(conn, onConn, paired).catch((e) => {
        paired();
        this.#log.warn(`tunnel ${peerOf(conn)}: ${(e as Error).message}`);
        closeQuietly(conn);
      });
    });
  }

  /** Too many unpaired connections: 503 and closed, one log line per 10 s. */
  #refused(conn: Deno.TcpConn, fromHost: number): void {
    conn.write(new TextEncoder().encode("HTTP/1.0 503 Service Unavailable\r\nConnection: close\r\n\r\n"))
      .catch(() => 0)
      .finally(() => closeQuietly(conn));
    this.#refusedSinceLog++;
    const now = performance.now();
    if (now - this.#refusedLoggedAt < 10_000) return;
    this.#log.warn(
      `tunnel ${
        peerOf(conn)
      }: refused (${fromHost} unpaired from its address, ${this.#unpairedTotal} in all; at most ${MAX_PENDING_PER_ADDRESS} and ${MAX_PENDING}); ${this.#refusedSinceLog} refused since the last such line`,
    );
    this.#refusedLoggedAt = now;
    this.#refusedSinceLog = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const h of [...this.#gets.values(), ...this.#posts.values()]) {
      clearTimeout(h.timer);
      closeQuietly(h.conn);
    }
    this.#gets.clear();
    this.#posts.clear();
  }

  /** Reads a connection's head and pairs it; `paired` is called once it no longer counts as unpaired. */
  async #half(conn: Deno.TcpConn, onConn: (sock: ByteSocket) => void, paired: () => void): Promise<void> {
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      conn.write(new TextEncoder().encode("HTTP/1.0 408 Request Timeout\r\nConnection: close\r\n\r\n"))
        .catch(() => 0)
        .finally(() => closeQuietly(conn));
    }, this.#headTimeoutMs);
    let head: string;
    let rest: Uint8Array;
    try {
      ({ head, rest } = await readHead(conn));
    } catch (e) {
      if (timedOut) throw new Error(`no HTTP head within ${this.#headTimeoutMs} ms of connecting`);
      throw e;
    } finally {
      clearTimeout(deadline);
    }
    const h = parseTunnelHead(head);
    if ("why" in h) {
      await conn.write(new TextEncoder().encode("HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n"))
        .catch(() => 0);
      throw new Error(h.why);
    }
    if (h.method === "GET") {
      let off = 0;
      while (off < OK_HEAD.length) off += await conn.write(OK_HEAD.subarray(off));
    }
    const mine = h.method === "GET" ? this.#gets : this.#posts;
    const theirs = h.method === "GET" ? this.#posts : this.#gets;
    const other = theirs.get(h.cookie);
    if (other === undefined) {
      if (mine.has(h.cookie)) {
        throw new Error(`a second ${h.method} for tunnel cookie ${JSON.stringify(h.cookie)}`);
      }
      const timer = setTimeout(() => {
        if (mine.get(h.cookie)?.conn !== conn) return;
        mine.delete(h.cookie);
        paired();
        this.#log.info(
          `tunnel ${peerOf(conn)}: no ${h.method === "GET" ? "POST" : "GET"} came for its cookie`,
        );
        closeQuietly(conn);
      }, PAIR_TIMEOUT_MS);
      mine.set(h.cookie, { conn, rest, timer, paired });
      return;
    }
    theirs.delete(h.cookie);
    clearTimeout(other.timer);
    other.paired();
    paired();
    if (h.method === "GET") onConn(new TunnelSocket(conn, other.conn, other.rest));
    else onConn(new TunnelSocket(other.conn, conn, rest));
  }
}

/** The HTTP head (up to the blank line) and the bytes after it. */
async function readHead(conn: Deno.TcpConn): Promise<{ head: string; rest: Uint8Array }> {
  const buf = new Uint8Array(MAX_HEAD_BYTES);
  let n = 0;
  for (;;) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) throw new Error("closed before its HTTP head ended");
    n += r;
    for (let i = Math.max(0, n - r - 3); i + 3 < n; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        return { head: new TextDecoder().decode(buf.subarray(0, i)), rest: buf.slice(i + 4, n) };
      }
    }
    if (n === buf.length) throw new Error(`HTTP head over ${MAX_HEAD_BYTES} bytes`);
  }
}

function peerOf(conn: Deno.TcpConn): string {
  return formatPeer(conn.remoteAddr.hostname, conn.remoteAddr.port);
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

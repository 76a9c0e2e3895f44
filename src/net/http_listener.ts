/**
 * A small HTTP/1.1 server for the HLS port, with the bounds Deno.serve does not have: a deadline
 * for each request's head (a slowloris trickling one byte at a time is answered 408 and closed),
 * a keep-alive idle timeout, a bounded head, and at most `maxConnections` connections, of them
 * `maxConnectionsPerAddress` per address (past either, 503 and closed, one log line per 10 s).
 *
 * It serves what HLS needs and nothing more: GET, HEAD and OPTIONS, no request bodies (a request
 * with one gets 413 and is closed), keep-alive and pipelining in order, responses with their full
 * length. A handler's Request has a signal that aborts when the connection closes, so a blocking
 * playlist reload stops waiting for a player that left.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { acceptEach } from "./deno_listener.ts";
import { formatPeer } from "./byte_socket.ts";

/** The bounds, read for every connection and request (a reload applies to the next). */
export interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** From a connection's accept to the end of its first request's head (a silent one: 408 then). */
  firstHeadTimeoutMs: number;
  /** From a later request's first byte to the end of its head. */
  headTimeoutMs: number;
  /** A kept-alive connection with no request begun this long is closed quietly. */
  idleTimeoutMs: number;
  maxHeadBytes: number;
}

export type HttpHandler = (req: Request, peerIp: string) => Promise<Response>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A Response whose body is bytes held elsewhere (a stream's parts, a cached playlist), which the
 * listener writes as they are. Deno copies a BufferSource body when a Response is made and again
 * in arrayBuffer(): two copies of every part for every player, and malloc'd memory the process
 * keeps. Other readers (tests, a Response passed on) get the same bytes through body, text(),
 * arrayBuffer() and bytes(); nobody may change the chunks after.
 */
export class RawResponse extends Response {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  #stream: ReadableStream<Uint8Array> | null = null;

  /** `chunks` empty for a HEAD answer (headers only; Content-Length is the caller's to set). */
  constructor(chunks: readonly Uint8Array[], init: ResponseInit) {
    super(null, init);
    this.chunks = chunks;
    let n = 0;
    for (const c of chunks) n += c.length;
    this.byteLength = n;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.chunks.length === 0) return null;
    if (this.#stream === null) {
      let i = 0;
      const chunks = this.chunks;
      this.#stream = new ReadableStream({
        pull(c) {
          const next = chunks[i++];
          if (next === undefined) c.close();
          else c.enqueue(next);
        },
      });
    }
    return this.#stream as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(this.byteLength);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return Promise.resolve(out);
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  override async text(): Promise<string> {
    return decoder.decode(await this.bytes());
  }
}

/** A head and a body this small go out in one write (one segment, one wake-up of the player). */
const JOIN_BELOW = 8 * 1024;
/** What a connection's read buffer starts at; it grows to maxHeadBytes for a larger head. */
const FIRST_READ_BYTES = 2048;

export class HttpListener {
  readonly #listener: Deno.TcpListener;
  readonly #limits: () => HttpLimits;
  readonly #group: (host: string) => string;
  readonly #log: Logger;
  readonly #perAddress = new Map<string, number>();
  readonly #conns = new Set<Deno.TcpConn>();
  #refusedLoggedAt = -Infinity;
  #refusedSinceLog = 0;
  #closed = false;
  /** Connections refused at a bound, and heads that did not come in time. */
  refused = 0;
  timedOut = 0;

  /** group: what the per-address bound counts a peer as (an IPv6 /64 as one address). */
  constructor(
    hostname: string,
    port: number,
    limits: () => HttpLimits,
    group: (host: string) => string,
    log: Logger,
  ) {
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#limits = limits;
    this.#group = group;
    this.#log = log;
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Open connections now. */
  get connections(): number {
    return this.#conns.size;
  }

  serve(handler: HttpHandler): Promise<void> {
    return acceptEach(this.#listener, () => this.#closed, this.#log, (conn) => {
      const l = this.#limits();
      const key = this.#group(conn.remoteAddr.hostname);
      const mine = this.#perAddress.get(key) ?? 0;
      if (
        (l.maxConnections > 0 && this.#conns.size >= l.maxConnections) ||
        (l.maxConnectionsPerAddress > 0 && mine >= l.maxConnectionsPerAddress)
      ) {
        this.#refuse(conn, mine);
        return;
      }
      this.#perAddress.set(key, mine + 1);
      this.#conns.add(conn);
      this.#connection(conn, handler).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        const n = (this.#perAddress.get(key) ?? 1) - 1;
        if (n <= 0) this.#perAddress.delete(key);
        else this.#perAddress.set(key, n);
        closeQuietly(conn);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const c of this.#conns) closeQuietly(c);
  }

  #refuse(conn: Deno.TcpConn, fromAddress: number): void {
    this.refused++;
    conn.write(
      encoder.encode("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
      .catch(() => 0)
      .finally(() => closeQuietly(conn));
    this.#refusedSinceLog++;
    const now = performance.now();
    if (now - this.#refusedLoggedAt < 10_000) return;
    const l = this.#limits();
    this.#log.warn(
      `HLS ${
        peerOf(conn)
      }: connection refused (${fromAddress} from its address, ${this.#conns.size} in all; ` +
        `at most ${l.maxConnectionsPerAddress} and ${l.maxConnections}); ${this.#refusedSinceLog} refused since the last such line`,
    );
    this.#refusedLoggedAt = now;
    this.#refusedSinceLog = 0;
  }

  /** One connection's requests, in order, until it closes, breaks a rule or times out. */
  async #connection(conn: Deno.TcpConn, handler: HttpHandler): Promise<void> {
    const r = new ConnReader(conn, this.#limits().maxHeadBytes);
    const peerIp = conn.remoteAddr.hostname;
    for (let first = true;; first = false) {
      const l = this.#limits();
      // Waiting for a request: idle (keep-alive) until its first byte, then the head's deadline.
      const end = first
        ? await r.head(l.firstHeadTimeoutMs, l.firstHeadTimeoutMs)
        : await r.head(l.idleTimeoutMs, l.headTimeoutMs);
      if (end === "closed" || end === "idle") return;
      if (end === "late") {
        this.timedOut++;
        await writeAll(conn, simple(408, "Request Timeout"));
        return;
      }
      if (end === "too big") {
        await writeAll(conn, simple(431, "Request Header Fields Too Large"));
        return;
      }
      const head = r.take(end);
      const req = parseHead(head, conn.localAddr.hostname, conn.localAddr.port);
      if (req === null) {
        await writeAll(conn, simple(400, "Bad Request"));
        return;
      }
      if (req.hasBody) {
        await writeAll(conn, simple(413, "Content Too Large"));
        return;
      }
      const ac = new AbortController();
      r.onClose = () => ac.abort(new Error("the client closed the connection"));
      let res: Response;
      try {
        res = await handler(
          new Request(req.url, { method: req.method, headers: req.headers, signal: ac.signal }),
          peerIp,
        );
      } catch (e) {
        this.#log.error(
          `HLS ${peerOf(conn)}: ${req.method} ${req.target}: internal error: ${(e as Error)?.stack ?? e}`,
        );
        res = new Response("internal error\n", { status: 500 });
      }
      r.onClose = null;
      if (r.closed) return;
      let chunks: readonly Uint8Array[];
      if (req.method === "HEAD") chunks = [];
      else if (res instanceof RawResponse) chunks = res.chunks;
      else chunks = [new Uint8Array(await res.arrayBuffer())];
      const keep = req.keepAlive && !r.closed;
      const length = req.method === "HEAD" ? lengthOf(res) : chunks.reduce((n, c) => n + c.length, 0);
      if (!await writeResponse(conn, responseHead(res, length, keep), chunks, length)) return;
      if (!keep) return;
    }
  }
}

/**
 * Reads a connection into a bounded buffer, all the time (so a close is seen while a request
 * waits). Its buffers start small (a player's heads are under 1 KiB) and the head's grows to the
 * bound only for a larger head: an idle or waiting connection holds 4 KiB, not 32 (a head bound
 * and a 16 KiB read chunk).
 */
class ConnReader {
  readonly #conn: Deno.TcpConn;
  readonly #max: number;
  #buf: Uint8Array;
  #len = 0;
  /** When the bytes of the request now being read began to come (null while none have). */
  #begunAt: number | null = null;
  closed = false;
  #overflow = false;
  #wake: (() => void) | null = null;
  onClose: (() => void) | null = null;

  constructor(conn: Deno.TcpConn, max: number) {
    this.#conn = conn;
    this.#max = max;
    this.#buf = new Uint8Array(Math.min(max, FIRST_READ_BYTES));
    this.#pump();
  }

  async #pump(): Promise<void> {
    // Read into a chunk of its own, not the buffer: take() moves the buffer's bytes while a read
    // is pending, which would land at an offset no longer the end.
    const chunk = new Uint8Array(FIRST_READ_BYTES);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        if (this.#len + n > this.#buf.length) {
          if (this.#len + n > this.#max) {
            this.#overflow = true;
            this.#notify();
            // Pipelined bytes past the bound: stop reading; the head or the close decides.
            return;
          }
          let size = this.#buf.length * 2;
          while (size < this.#len + n) size *= 2;
          const grown = new Uint8Array(Math.min(this.#max, size));
          grown.set(this.#buf.subarray(0, this.#len));
          this.#buf = grown;
        }
        this.#buf.set(chunk.subarray(0, n), this.#len);
        if (this.#len === 0) this.#begunAt = performance.now();
        this.#len += n;
        this.#notify();
      }
    } catch {
      // reset by the peer, or closed by us
    }
    this.closed = true;
    this.onClose?.();
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #headEnd(): number {
    const b = this.#buf;
    for (let i = 0; i + 3 < this.#len; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
    }
    return -1;
  }

  /**
   * Waits for a whole head: its end offset, or why not: the connection closed, stayed idle (no
   * byte within idleMs), came too late (begun, not ended within headMs of waiting), or too big.
   */
  async head(idleMs: number, headMs: number): Promise<number | "closed" | "idle" | "late" | "too big"> {
    const start = performance.now();
    for (;;) {
      const end = this.#headEnd();
      if (end >= 0) return end;
      if (this.#overflow) return "too big";
      if (this.closed) return "closed";
      const begun = this.#begunAt;
      const left = begun !== null
        ? headMs - (performance.now() - begun)
        : idleMs - (performance.now() - start);
      // A first request never begun is a silent connection (408, as RTSP's); a kept-alive one just idle.
      if (left <= 0) return begun !== null || idleMs === headMs ? "late" : "idle";
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** The head's bytes (up to `end`), consumed; what follows stays for the next request. */
  take(end: number): string {
    const text = decoder.decode(this.#buf.subarray(0, end));
    this.#buf.copyWithin(0, end, this.#len);
    this.#len -= end;
    // Pipelined bytes already here begin the next request now.
    this.#begunAt = this.#len > 0 ? performance.now() : null;
    return text;
  }
}

interface ParsedHead {
  method: string;
  target: string;
  url: string;
  headers: Headers;
  keepAlive: boolean;
  hasBody: boolean;
}

/** The request line and headers of an HTTP/1.x head, or null when it is not one. */
export function parseHead(head: string, host: string, port: number): ParsedHead | null {
  const lines = head.split("\r\n");
  const m = /^([A-Z]{1,16}) (\/[^ ]*) HTTP\/1\.([01])$/.exec(lines[0]);
  if (m === null) return null;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return null; // a name or value Headers refuses
    }
  }
  const connection = (headers.get("Connection") ?? "").toLowerCase();
  const keepAlive = m[3] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
  const length = headers.get("Content-Length");
  const hasBody = headers.has("Transfer-Encoding") || (length !== null && length.trim() !== "0");
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return { method: m[1], target: m[2], url: `http://${authority}${m[2]}`, headers, keepAlive, hasBody };
}

function lengthOf(res: Response): number {
  const n = Number(res.headers.get("Content-Length") ?? "0");
  return Number.isFinite(n) ? n : 0;
}

function responseHead(res: Response, length: number, keepAlive: boolean): Uint8Array {
  let head = `HTTP/1.1 ${res.status} ${res.statusText || REASONS[res.status] || "Status"}\r\n`;
  for (const [k, v] of res.headers) {
    if (k === "content-length" || k === "connection" || k === "transfer-encoding") continue;
    head += `${k}: ${v}\r\n`;
  }
  head += `content-length: ${length}\r\nconnection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  return encoder.encode(head);
}

const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function simple(status: number, reason: string): Uint8Array {
  return encoder.encode(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
}

/** The head and the body's chunks as they are; a small body joined to its head for one write. */
async function writeResponse(
  conn: Deno.TcpConn,
  head: Uint8Array,
  chunks: readonly Uint8Array[],
  length: number,
): Promise<boolean> {
  if (length > 0 && head.length + length <= JOIN_BELOW) {
    const one = new Uint8Array(head.length + length);
    one.set(head);
    let off = head.length;
    for (const c of chunks) {
      one.set(c, off);
      off += c.length;
    }
    return await writeAll(conn, one);
  }
  if (!await writeAll(conn, head)) return false;
  for (const c of chunks) if (c.length > 0 && !await writeAll(conn, c)) return false;
  return true;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    return true;
  } catch {
    return false;
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

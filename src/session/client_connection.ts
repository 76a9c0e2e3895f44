/**
 * An outgoing RTSP/TCP connection (dm-live as a client of a camera or another server): requests out
 * with CSeq, responses matched to them in order, interleaved frames in (to the owner's frame()), and
 * the owner's frames out (RTCP receiver reports). The same read buffer and splitter as the server's
 * connections, the other direction of the same wire files.
 *
 * Over 300 lines on purpose: the two transports (plain TCP and the HTTP tunnel's GET/POST pair) share
 * the request queue, the read loop and the close path; split, each would reach into the other's state.
 */
import { type ByteSocket, formatPeer, type ReadableListener } from "../net/byte_socket.ts";
import type { EpollPoller } from "../net/epoll_poller.ts";
import { FfiSocket } from "../net/ffi_socket.ts";
import { MEDIA_READ_BYTES, ReadBuffer } from "../net/read_buffer.ts";
import { RtspError } from "../rtsp/errors.ts";
import { HeaderMap } from "../rtsp/header_map.ts";
import { writeInterleavedHeader } from "../rtsp/interleaved_frame.ts";
import {
  MessageSplitter,
  SPLIT_FRAME,
  SPLIT_GARBAGE,
  SPLIT_INCOMPLETE,
  type SplitterLimits,
} from "../rtsp/message_splitter.ts";
import { serializeRequest } from "../rtsp/request.ts";
import { parseResponse, type RtspResponse } from "../rtsp/response.ts";
import { VERSION } from "../version.ts";

/** User-Agent of dm-live's requests. */
export const CLIENT_NAME = `dm-live/${VERSION}`;

/** What the owner of a client connection is told. */
export interface ClientConnectionOwner {
  /** An interleaved frame from the server, [start, end) of buf (reused after the call). */
  frame(channel: number, buf: Uint8Array, start: number, end: number): void;
  /** The frames of one read were all handed over. */
  flush(): void;
  /** The connection ended (the server closed it, a read failed, or close() was called). */
  closed(reason: string): void;
}

/** A failure of the connection or of one request, with what the log line and the API show. */
export class ClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientError";
  }
}

/** The byte stream under a client connection: one TCP connection, or an HTTP tunnel's GET and POST. */
interface ClientTransport {
  readonly remoteHost: string;
  readonly peer: string;
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
  /**
   * The socket, when it reads synchronously (the FFI backend's): the connection then reads media
   * into the worker's shared buffer and waits for bytes with no pending read, as a publisher does.
   */
  readonly sock?: ByteSocket;
}

/** A plain connection over an FFI socket. */
function socketTransport(sock: ByteSocket, remoteHost: string): ClientTransport {
  return {
    remoteHost,
    peer: sock.peer,
    sock,
    read: (into) => sock.read({ spare: () => into }),
    async write(bytes) {
      let off = 0;
      while (off < bytes.length) off += await sock.write(bytes, off, bytes.length);
    },
    close: () => sock.close(),
  };
}

/** The address an FFI socket can connect to without a name lookup, or null (a host name: Deno resolves it). */
function literalAddress(host: string): string | null {
  if (host === "localhost") return "127.0.0.1";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host;
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return /^[0-9a-f:]+$/i.test(h) && h.includes(":") && !h.includes(":::") ? h : null;
}

function plainTransport(conn: Deno.TcpConn): ClientTransport {
  const addr = conn.remoteAddr;
  return {
    remoteHost: addr.hostname,
    peer: formatPeer(addr.hostname, addr.port),
    read: (into) => conn.read(into),
    async write(bytes) {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    close: () => conn.close(),
  };
}

/**
 * RTSP over HTTP (QuickTime tunnelling, docs/protocol.md §25): the GET connection carries the
 * server's bytes after its HTTP head, the POST one ours, base64-encoded.
 */
async function tunnelTransport(
  get: Deno.TcpConn,
  post: Deno.TcpConn,
  path: string,
  host: string,
): Promise<ClientTransport> {
  const cookie = crypto.randomUUID().replaceAll("-", "").slice(0, 22);
  const enc = new TextEncoder();
  const send = async (c: Deno.TcpConn, bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += await c.write(bytes.subarray(off));
  };
  await send(
    get,
    enc.encode(
      `GET ${path} HTTP/1.0\r\nUser-Agent: ${CLIENT_NAME}\r\nHost: ${host}\r\nx-sessioncookie: ${cookie}\r\n` +
        `Accept: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\r\n`,
    ),
  );
  // The GET's answer: an HTTP head, then the RTSP stream.
  const head = new Uint8Array(8192);
  let n = 0;
  let end = -1;
  while (end < 0) {
    const r = await get.read(head.subarray(n));
    if (r === null) throw new ClientError("the tunnel's GET was closed before its answer");
    n += r;
    for (let i = 0; i + 3 < n; i++) {
      if (head[i] === 13 && head[i + 1] === 10 && head[i + 2] === 13 && head[i + 3] === 10) {
        end = i + 4;
        break;
      }
    }
    if (end < 0 && n === head.length) throw new ClientError("the tunnel's GET answer has no end");
  }
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(new TextDecoder().decode(head.subarray(0, end)));
  if (status === null || status[1] !== "200") {
    throw Object.assign(
      new ClientError(`the tunnel's GET was answered ${status?.[1] ?? "with no HTTP status"}`),
      {
        status: Number(status?.[1] ?? 0),
      },
    );
  }
  await send(
    post,
    enc.encode(
      `POST ${path} HTTP/1.0\r\nUser-Agent: ${CLIENT_NAME}\r\nHost: ${host}\r\nx-sessioncookie: ${cookie}\r\n` +
        `Content-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\nExpires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n`,
    ),
  );
  let left = head.slice(end, n);
  const addr = get.remoteAddr;
  return {
    remoteHost: addr.hostname,
    peer: formatPeer(addr.hostname, addr.port),
    read(into) {
      if (left.length > 0) {
        const k = Math.min(left.length, into.length);
        into.set(left.subarray(0, k));
        left = left.subarray(k);
        return Promise.resolve(k);
      }
      return get.read(into);
    },
    write: (bytes) => send(post, enc.encode(encodeBase64(bytes))),
    close() {
      for (const c of [get, post]) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

interface Pending {
  cseq: number;
  resolve: (r: RtspResponse) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ClientConnection implements ReadableListener {
  readonly peer: string;
  /** The server's address as connected (an IP: where UDP media comes from). */
  readonly remoteHost: string;
  /** performance.now() of the last byte from the server. */
  lastReceived = performance.now();
  bytesIn = 0;
  readonly #conn: ClientTransport;
  readonly #owner: ClientConnectionOwner;
  readonly #rb: ReadBuffer;
  readonly #splitter: MessageSplitter;
  readonly #pending: Pending[] = [];
  readonly #responseTimeoutMs: number;
  #cseq = 0;
  #closed = false;
  #writes: Promise<void> = Promise.resolve();
  /** The socket when it reads synchronously and can park (FFI): reads then borrow the worker's buffer. */
  readonly #parkable: ByteSocket | null;

  private constructor(
    conn: ClientTransport,
    owner: ClientConnectionOwner,
    limits: SplitterLimits,
    timeoutMs: number,
  ) {
    this.#conn = conn;
    this.#owner = owner;
    this.remoteHost = conn.remoteHost;
    this.peer = conn.peer;
    this.#splitter = new MessageSplitter(limits);
    this.#rb = new ReadBuffer(
      MEDIA_READ_BYTES,
      Math.max(limits.maxHeaderBlockBytes + limits.maxBodyBytes, 65540),
    );
    this.#responseTimeoutMs = timeoutMs;
    const sock = conn.sock;
    this.#parkable = sock?.readNow !== undefined && sock.whenReadable !== undefined ? sock : null;
    if (this.#parkable !== null) this.#rb.lend();
    this.#read();
  }

  /**
   * Connects within timeoutMs, directly or (`tunnelPath`) through an HTTP tunnel to that path; a
   * ClientError names the cause (refused, unreachable, timed out, the tunnel refused).
   */
  static async connect(
    host: string,
    port: number,
    owner: ClientConnectionOwner,
    o: { timeoutMs: number; limits: SplitterLimits; tunnelPath?: string; poller?: EpollPoller | null },
  ): Promise<ClientConnection> {
    const address = literalAddress(host);
    if (o.poller && o.tunnelPath === undefined && address !== null) {
      return await ClientConnection.#connectFfi(address, port, owner, { ...o, poller: o.poller });
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), o.timeoutMs);
    const opened: Deno.TcpConn[] = [];
    const dial = async () => {
      const c = await Deno.connect({ hostname: host, port, signal: ac.signal });
      opened.push(c);
      c.setNoDelay(true);
      return c;
    };
    try {
      const t = o.tunnelPath === undefined
        ? plainTransport(await dial())
        : await tunnelTransport(await dial(), await dial(), o.tunnelPath, `${host}:${port}`);
      return new ClientConnection(t, owner, o.limits, o.timeoutMs);
    } catch (e) {
      for (const c of opened) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      if (ac.signal.aborted) throw new ClientError(`connecting to ${host}:${port} timed out`);
      if (e instanceof ClientError) throw e;
      throw new ClientError(`cannot connect to ${host}:${port}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An FFI socket's connect (an address, plain TCP), bounded by closing the socket at the timeout. */
  static async #connectFfi(
    address: string,
    port: number,
    owner: ClientConnectionOwner,
    o: { timeoutMs: number; limits: SplitterLimits; poller: EpollPoller },
  ): Promise<ClientConnection> {
    let sock: FfiSocket | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      sock?.close();
    }, o.timeoutMs);
    try {
      const s = await FfiSocket.connect(address, port, o.poller, (opened) => sock = opened);
      return new ClientConnection(socketTransport(s, address), owner, o.limits, o.timeoutMs);
    } catch (e) {
      const where = formatPeer(address, port);
      if (timedOut) throw new ClientError(`connecting to ${where} timed out`);
      throw new ClientError(`cannot connect to ${where}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request and resolves with its response (matched by CSeq); rejects on timeout or close. */
  request(
    method: string,
    url: string,
    headers: readonly (readonly [string, string])[] = [],
    body?: Uint8Array,
  ): Promise<RtspResponse> {
    if (this.#closed) return Promise.reject(new ClientError("connection closed"));
    const cseq = ++this.#cseq;
    const h = new HeaderMap();
    h.set("CSeq", String(cseq));
    h.set("User-Agent", CLIENT_NAME);
    for (const [k, v] of headers) h.set(k, v);
    const bytes = serializeRequest({ method, url, headers: h, body });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(cseq);
        reject(new ClientError(`no answer to ${method} within ${this.#responseTimeoutMs} ms`));
      }, this.#responseTimeoutMs);
      this.#pending.push({ cseq, resolve, reject, timer });
      this.#write(bytes);
    });
  }

  /** Sends one interleaved frame (RTCP to the server on a track's odd channel). */
  sendFrame(channel: number, payload: Uint8Array): void {
    if (this.#closed) return;
    const b = new Uint8Array(4 + payload.length);
    writeInterleavedHeader(b, 0, channel, payload.length);
    b.set(payload, 4);
    this.#write(b);
  }

  /** Closes the socket; pending requests fail, the owner is told once (unless `tell` is false). */
  close(reason = "closed", tell = true): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new ClientError(`connection closed: ${reason}`));
    }
    if (tell) this.#owner.closed(reason);
  }

  #write(bytes: Uint8Array): void {
    this.#writes = this.#writes.then(async () => {
      if (this.#closed) return;
      try {
        await this.#conn.write(bytes);
      } catch (e) {
        this.close(`write failed: ${(e as Error).message}`);
      }
    });
  }

  #drop(cseq: number): void {
    const i = this.#pending.findIndex((p) => p.cseq === cseq);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  /** ReadableListener: bytes arrived while the loop was parked (FFI sockets). */
  readable(): void {
    this.#read();
  }

  async #read(): Promise<void> {
    const rb = this.#rb;
    const sock = this.#parkable;
    try {
      while (!this.#closed) {
        let n = sock === null ? undefined : sock.readNow!(rb.lent);
        if (n === undefined) {
          // Out of the worker's shared read buffer before anyone else reads (read_buffer.ts).
          rb.stash();
          if (sock !== null) {
            // Parked like a publisher: no pending read, no buffer but the leftover.
            sock.whenReadable!(this, false);
            return;
          }
          n = await this.#conn.read(rb.spare());
        }
        if (n === null) {
          this.close("server closed the connection");
          return;
        }
        this.lastReceived = performance.now();
        this.bytesIn += n;
        rb.end += n;
        this.#consume();
        if (!this.#closed && !rb.makeRoom()) {
          this.close("server sent a message larger than the read buffer");
          return;
        }
      }
    } catch (e) {
      this.close(this.#closed ? "closed" : `read failed: ${(e as Error).message}`);
    }
  }

  #consume(): void {
    const rb = this.#rb;
    const sp = this.#splitter;
    let frames = false;
    while (!this.#closed && rb.start < rb.end) {
      let kind;
      try {
        kind = sp.next(rb.buf, rb.start, rb.end);
      } catch (e) {
        this.close(`cannot read the server's stream: ${e instanceof RtspError ? e.message : e}`);
        return;
      }
      if (kind === SPLIT_INCOMPLETE) break;
      if (kind === SPLIT_FRAME) {
        this.#owner.frame(sp.channel, rb.buf, sp.payloadStart, sp.end);
        frames = true;
      } else if (kind !== SPLIT_GARBAGE) {
        this.#message(rb.buf.subarray(rb.start, sp.end));
      }
      rb.start = sp.end;
    }
    if (frames) this.#owner.flush();
  }

  #message(msg: Uint8Array): void {
    // A request from the server (some send GET_PARAMETER or OPTIONS as keep-alives): answer 200.
    if (!(msg[0] === 0x52 && msg[1] === 0x54 && msg[2] === 0x53 && msg[3] === 0x50 && msg[4] === 0x2f)) {
      const m = /\r?\ncseq:[ \t]*(\d+)/i.exec(new TextDecoder().decode(msg.subarray(0, 4096)));
      this.#write(new TextEncoder().encode(`RTSP/1.0 200 OK\r\nCSeq: ${m?.[1] ?? "0"}\r\n\r\n`));
      return;
    }
    let res: RtspResponse;
    try {
      res = parseResponse(msg.slice());
    } catch (e) {
      this.close(`unreadable response: ${(e as Error).message}`);
      return;
    }
    const cseq = Number(res.headers.get("CSeq") ?? NaN);
    // Servers that drop CSeq answer in order: the oldest request is the one answered.
    const i = Number.isInteger(cseq) ? this.#pending.findIndex((p) => p.cseq === cseq) : 0;
    const p = this.#pending.splice(i >= 0 ? i : 0, 1)[0];
    if (p === undefined) return;
    clearTimeout(p.timer);
    p.resolve(res);
  }
}

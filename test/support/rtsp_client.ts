/**
 * A raw RTSP/TCP client for tests (RTSPS with connectTls): sends requests, reads responses and
 * interleaved frames in order.
 */
import { HeaderMap } from "../../src/rtsp/header_map.ts";
import {
  MessageSplitter,
  SPLIT_FRAME,
  SPLIT_GARBAGE,
  SPLIT_INCOMPLETE,
} from "../../src/rtsp/message_splitter.ts";
import { parseResponse, type RtspResponse } from "../../src/rtsp/response.ts";
import { serializeRequest } from "../../src/rtsp/request.ts";
import { isSocketClosed } from "./expected_errors.ts";

/** One interleaved frame received. */
export interface Frame {
  channel: number;
  payload: Uint8Array;
}

/** What nextResponse (and so request) throws when the connection closed before the response came. */
export class ClosedBeforeResponse extends Error {
  constructor() {
    super("connection closed before a response");
    this.name = "ClosedBeforeResponse";
  }
}

/**
 * A connection that speaks RTSP the way a test wants, including badly.
 *
 * An error thrown by a callback (`onFrame`, an assertion in it) or by parsing what the server sent
 * is not lost in the read loop: the first one closes the client and is thrown by the next awaited
 * call (request, nextResponse, waitFrames, waitClosed, writeRaw, sendFrame) and by any pending one,
 * else by close() or check(). Only a socket closing (ours or the peer's) ends the loop quietly.
 */
export class RtspTestClient {
  readonly conn: Deno.TcpConn | Deno.TlsConn;
  readonly url: string;
  cseq = 1;
  session: string | undefined;
  readonly frames: Frame[] = [];
  /**
   * RTCP frames (first packet type 200-204, RFC 5761 §4), kept apart from `frames` so tests of the
   * RTP stream see only RTP; in arrival order, with `at` the frames.length when each came.
   */
  readonly rtcpFrames: (Frame & { at: number })[] = [];
  readonly #responses: RtspResponse[] = [];
  #waiters: (() => void)[] = [];
  #buf = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;
  #closed = false;
  #connClosed = false;
  /** The first error a callback or the parser threw, and whether a call has thrown it yet. */
  #failure: { error: unknown; surfaced: boolean } | null = null;
  readonly #splitter = new MessageSplitter({ maxHeaderBlockBytes: 1 << 16, maxBodyBytes: 1 << 20 });
  readonly done: Promise<void>;
  /** Called for each frame instead of storing it, when set. */
  onFrame: ((f: Frame) => void) | null = null;
  /** Bytes this client wrote and read, to check the server's counters against. */
  bytesWritten = 0;
  bytesRead = 0;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, url: string) {
    this.conn = conn;
    this.url = url;
    this.done = this.#readLoop();
  }

  static async connect(port: number, path: string, hostname = "127.0.0.1"): Promise<RtspTestClient> {
    const conn = await Deno.connect({ hostname, port });
    return new RtspTestClient(conn, `rtsp://${hostname}:${port}/${path}`);
  }

  /** RTSPS (connectTls) when caCerts are given, else plain RTSP (connect). */
  static open(port: number, path: string, caCerts?: string[]): Promise<RtspTestClient> {
    return caCerts === undefined
      ? RtspTestClient.connect(port, path)
      : RtspTestClient.connectTls(port, path, caCerts);
  }

  /** An RTSPS client (url rtsps://) that trusts only `caCerts`; the TLS handshake is done when it returns. */
  static async connectTls(
    port: number,
    path: string,
    caCerts: string[],
    hostname = "127.0.0.1",
  ): Promise<RtspTestClient> {
    const conn = await Deno.connectTls({ hostname, port, caCerts });
    try {
      await conn.handshake();
    } catch (e) {
      conn.close();
      throw e;
    }
    return new RtspTestClient(conn, `rtsps://${hostname}:${port}/${path}`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends raw bytes (for malformed input). */
  async writeRaw(bytes: Uint8Array | string): Promise<void> {
    this.check();
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
    this.bytesWritten += b.length;
  }

  /** Sends a request with CSeq (and Session once known) and returns its response. */
  async request(
    method: string,
    url = this.url,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<RtspResponse> {
    const h = new HeaderMap();
    h.set("CSeq", String(this.cseq++));
    if (this.session && !("Session" in headers)) h.set("Session", this.session);
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    if (body !== undefined) h.set("Content-Type", h.get("Content-Type") ?? "application/sdp");
    await this.writeRaw(
      serializeRequest({ method, url, headers: h, body: body ? new TextEncoder().encode(body) : undefined }),
    );
    const res = await this.nextResponse();
    const s = res.headers.get("Session");
    if (s) this.session = s.split(";")[0].trim();
    return res;
  }

  /** The next response (those already received first). */
  async nextResponse(timeoutMs = 5000): Promise<RtspResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.#responses.length === 0) {
      this.check();
      if (this.#closed) throw new ClosedBeforeResponse();
      if (Date.now() > deadline) throw new Error("no response in time");
      await this.#wait(deadline - Date.now());
    }
    return this.#responses.shift()!;
  }

  /** Waits until `pred` holds over the frames received (or the connection closes). */
  async waitFrames(pred: (frames: Frame[]) => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.frames)) {
      this.check();
      if (this.#closed || Date.now() > deadline) return pred(this.frames);
      await this.#wait(deadline - Date.now());
    }
    this.check();
    return true;
  }

  /** Waits for the server to close the connection. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await this.#wait(deadline - Date.now());
    this.check();
    return this.#closed;
  }

  /** Sends one interleaved frame. */
  async sendFrame(channel: number, payload: Uint8Array): Promise<void> {
    const b = new Uint8Array(4 + payload.length);
    b[0] = 0x24;
    b[1] = channel;
    b[2] = payload.length >> 8;
    b[3] = payload.length & 0xff;
    b.set(payload, 4);
    await this.writeRaw(b);
  }

  /**
   * Closes the socket (also after the server closed it, so no resource leaks); then throws the
   * error a callback threw if no call has thrown it yet.
   */
  close(): void {
    this.#shut();
    if (this.#failure !== null && !this.#failure.surfaced) this.check();
  }

  /** Throws the first error a callback (or the parser) threw, if one did. */
  check(): void {
    if (this.#failure === null) return;
    this.#failure.surfaced = true;
    throw this.#failure.error;
  }

  #shut(): void {
    this.#closed = true;
    if (!this.#connClosed) {
      this.#connClosed = true;
      try {
        this.conn.close();
      } catch (e) {
        // Expected: BadResource, the read loop's socket already gone.
        if (!(e instanceof Deno.errors.BadResource)) throw e;
      }
    }
    this.#wake();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve();
      }, Math.max(1, ms));
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #readLoop(): Promise<void> {
    try {
      while (true) {
        if (this.#end === this.#buf.length) {
          if (this.#start > 0) {
            this.#buf.copyWithin(0, this.#start, this.#end);
            this.#end -= this.#start;
            this.#start = 0;
          } else {
            const b = new Uint8Array(this.#buf.length * 2);
            b.set(this.#buf);
            this.#buf = b;
          }
        }
        const n = await this.conn.read(this.#buf.subarray(this.#end));
        if (n === null) break;
        this.bytesRead += n;
        this.#end += n;
        this.#parse();
        this.#wake();
      }
    } catch (e) {
      // A closed socket (ours or the peer's) ends the loop; anything else came from a callback
      // (an assertion in onFrame), the parser or the socket, and must reach the test.
      if (!isSocketClosed(e)) this.#failure ??= { error: e, surfaced: false };
    }
    // After a failure the client closes itself; after the server closed, close() still must be called.
    if (this.#failure !== null) this.#shut();
    this.#closed = true;
    this.#wake();
  }

  #parse(): void {
    const sp = this.#splitter;
    while (this.#start < this.#end) {
      const kind = sp.next(this.#buf, this.#start, this.#end);
      if (kind === SPLIT_INCOMPLETE) break;
      if (kind === SPLIT_FRAME) {
        const f = { channel: sp.channel, payload: this.#buf.slice(sp.payloadStart, sp.end) };
        if (f.payload.length >= 8 && f.payload[0] >> 6 === 2 && f.payload[1] >= 200 && f.payload[1] <= 204) {
          this.rtcpFrames.push({ ...f, at: this.frames.length });
        } else if (this.onFrame) this.onFrame(f);
        else this.frames.push(f);
      } else if (kind !== SPLIT_GARBAGE) {
        this.#responses.push(parseResponse(this.#buf.slice(this.#start, sp.end)));
      }
      this.#start = sp.end;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}

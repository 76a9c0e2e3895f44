/**
 * One RTSP/TCP connection of the server: bytes in -> messages and interleaved frames (the read
 * buffer and the splitter), requests -> the router -> responses in order, frames -> the session.
 * Over 300 lines on purpose: the read loop, the framing errors and the response path share the
 * read buffer's state, and the hot path (frames) must stay one loop.
 */
import type { Logger } from "../log/logger.ts";
import type { ByteSocket } from "../net/byte_socket.ts";
import { ReadBuffer } from "../net/read_buffer.ts";
import { WriteQueue } from "../net/write_queue.ts";
import { RtspError } from "../rtsp/errors.ts";
import type { NonceCounter } from "../auth/authenticator.ts";
import { addressGroup } from "../auth/ip_address.ts";
import { ConnectionRate } from "./connection_rate.ts";
import { ErrorAnswerLog } from "./error_answer_log.ts";
import { HeaderMap } from "../rtsp/header_map.ts";
import {
  isBlankLineGarbage,
  MessageSplitter,
  SPLIT_FRAME,
  SPLIT_GARBAGE,
  SPLIT_INCOMPLETE,
} from "../rtsp/message_splitter.ts";
import { parseRequest, type RtspRequest } from "../rtsp/request.ts";
import { serializeResponse } from "../rtsp/response.ts";
import { STATUS_CODE, type StatusCode } from "../rtsp/status.ts";
import { serializeSessionHeader } from "../rtsp/session_header.ts";
import type { Reply, RequestConnection } from "./request_context.ts";
import { handleRequest } from "./request_router.ts";
import type { RtspSession } from "./rtsp_session.ts";
import type { WorkerContext } from "./worker_context.ts";
import { workerShare } from "../config.ts";
import { loggableUrl } from "./access_control.ts";

/** Server header on every response. */
export const SERVER_NAME = "dm-live/0.1";
/** First read buffer of a connection; grows only for large messages (publishers' 64 KiB frames). */
const INITIAL_READ_BYTES = 1024;
/** RTSP responses a peer may leave unread before it is disconnected. */
const MAX_UNREAD_CONTROL_BYTES = 256 * 1024;

/**
 * One RTSP/TCP connection: reads requests and interleaved frames, answers in order, and carries at
 * most one session (closing the connection ends it, as clients expect: docs/protocol.md §14).
 */
export class RtspConnection implements RequestConnection {
  readonly ctx: WorkerContext;
  readonly sock: ByteSocket;
  readonly peer: string;
  /** Whether it came in on the RTSPS port (TLS). */
  readonly encrypted: boolean;
  readonly writer: WriteQueue;
  /** The connection's session (at most one); whether it ever had one decides how its close is logged. */
  get session(): RtspSession | null {
    return this.#session;
  }
  set session(s: RtspSession | null) {
    if (s !== null) this.#hadSession = true;
    this.#session = s;
  }
  #session: RtspSession | null = null;
  #hadSession = false;
  /** performance.now() of the last byte received, for the idle timeout. */
  lastSeen: number;
  /** Bytes read from the peer, and when it connected (Date.now()), for the API's session list. */
  bytesIn = 0;
  readonly opened = Date.now();
  /** Number of the connection in its worker (set by the worker), naming it in the API before it has a session. */
  serial = 0;
  #closed = false;
  #closeReason = "";
  readonly #splitter: MessageSplitter;
  readonly #rb: ReadBuffer;

  readonly #onClosed: (c: RtspConnection) => void;

  /** onClosed: told once, when the connection has closed (the worker keeps its set of connections). */
  constructor(ctx: WorkerContext, sock: ByteSocket, onClosed: (c: RtspConnection) => void = () => {}) {
    this.ctx = ctx;
    this.#onClosed = onClosed;
    this.sock = sock;
    this.peer = sock.peer;
    this.encrypted = sock.encrypted === true;
    const l = ctx.config.limits;
    this.#splitter = new MessageSplitter({
      maxHeaderBlockBytes: l.maxHeaderBlockBytes,
      maxBodyBytes: l.maxBodyBytes,
    });
    // Large enough for a whole request or one interleaved frame (at most 4 + 65535 bytes).
    this.#rb = new ReadBuffer(INITIAL_READ_BYTES, Math.max(l.maxHeaderBlockBytes + l.maxBodyBytes, 65540));
    this.writer = new WriteQueue(
      sock,
      MAX_UNREAD_CONTROL_BYTES,
      (e) => this.close(`write failed: ${errText(e)}`),
      ctx.stats,
    );
    this.lastSeen = performance.now();
    if (ctx.log.enabled("debug")) this.log.debug("opened");
  }

  /** Logger whose lines name this connection's peer; built per use (a kept one costs per viewer). */
  get log(): Logger {
    return this.ctx.log.child(`conn ${this.peer}`);
  }

  /** performance.now() since which a message has been half-received (0: none); see limits.requestTimeoutMs. */
  pendingSince = 0;
  /** Whether a whole request has arrived (limits.handshakeTimeoutMs runs until then). */
  handshaked = false;
  /** performance.now() of the connection. */
  readonly openedAt = performance.now();

  /** Whether this connection reads media through the worker's shared buffer (expectMedia). */
  #lends = false;

  expectMedia(bytes: number): void {
    // Synchronous reads (FFI sockets) can borrow the worker's buffer; others need one of their own.
    if (this.sock.readNow !== undefined && this.sock.whenReadable !== undefined) {
      this.#rb.lend();
      this.#lends = true;
    } else {
      this.#rb.reserve(bytes);
    }
  }

  /** A deadline of `limits` passed: 408, then closed. */
  timedOut(detail: string): void {
    if (this.#closed || this.#refusing) return;
    this.#refuse(STATUS_CODE.RequestTimeout, detail);
  }

  /** Digest nonce counts this connection has used (replay check); made by the first Digest answer. */
  nonceCounter: NonceCounter | null = null;
  /** The path this connection last DESCRIBEd: a first SETUP resolves against it. */
  describedPath: string | null = null;

  /** The peer's address without the port (IPv6 without brackets). */
  get peerHost(): string {
    const p = this.peer;
    const i = p.lastIndexOf(":");
    const h = i < 0 ? p : p.slice(0, i);
    return h.startsWith("[") ? h.slice(1, -1) : h;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads until the peer leaves or the connection is closed. A playing viewer with nothing
   * unconsumed parks instead (FFI sockets): no pending read, buffer or suspended loop while it
   * only receives; the socket calls readable() when bytes arrive, which runs this again.
   */
  async run(woken = false): Promise<void> {
    if (!this.#admitted && !this.#admit()) return;
    try {
      while (!this.#closed) {
        if (
          !woken && this.session?.state === "play" && this.#rb.start === this.#rb.end &&
          this.sock.whenReadable
        ) {
          this.#rb.release();
          this.sock.whenReadable(this);
          return;
        }
        woken = false;
        let n = this.sock.readNow?.(this.#rb.lent);
        if (n === undefined) {
          // Out of the worker's shared read buffer before anyone else reads (read_buffer.ts).
          this.#rb.stash();
          if (this.#lends) {
            // A publisher waits like a parked viewer: no promise, no buffer but its leftover.
            this.sock.whenReadable!(this, false);
            return;
          }
          n = await this.sock.read(this.#rb);
        }
        if (n === null) {
          this.close("peer disconnected");
          break;
        }
        this.lastSeen = performance.now();
        this.ctx.stats.bytesIn += n;
        this.bytesIn += n;
        this.#rb.end += n;
        if (this.#refusing) {
          this.#rb.start = this.#rb.end;
        } else {
          const before = this.#rb.start;
          // Media is taken synchronously (no promise per read); only requests are awaited.
          for (let msg = this.#consume(); msg !== null; msg = this.#closed ? null : this.#consume()) {
            this.#rb.stash();
            await this.#message(msg);
          }
          // A deadline runs for what is left half-received: from now when this read completed
          // something, else from when the last one did (a request trickled byte by byte never does).
          if (this.#rb.start === this.#rb.end) this.pendingSince = 0;
          else if (this.#rb.start !== before || this.pendingSince === 0) {
            this.pendingSince = performance.now();
          }
        }
        if (!this.#closed && !this.#rb.makeRoom()) {
          this.#refuse(STATUS_CODE.RequestEntityTooLarge, "input exceeds the read buffer");
        }
      }
    } catch (e) {
      // ffmpeg resets the connection after TEARDOWN: that is a disconnect, not a failure.
      const why = e instanceof Deno.errors.ConnectionReset
        ? "peer reset the connection"
        : `read failed: ${errText(e)}`;
      this.close(why);
    }
  }

  #admitted = false;

  /**
   * limits.maxConnectionsPerSecondPerAddress, checked once, when the connection starts: past this
   * worker's share for its address, closed at once, unanswered (one log line per address and 10 s).
   */
  #admit(): boolean {
    this.#admitted = true;
    const total = this.ctx.config.limits.maxConnectionsPerSecondPerAddress;
    if (total <= 0) return true;
    const ctx = this.ctx;
    const rate = ctx.connectionRate ??= new ConnectionRate((host, refused) =>
      ctx.log.warn(
        `refused connections from ${host}: over ${
          workerShare(ctx.config, ctx.config.limits.maxConnectionsPerSecondPerAddress)
        } a second on this worker (limits.maxConnectionsPerSecondPerAddress ${ctx.config.limits.maxConnectionsPerSecondPerAddress}); ${refused} refused since the last such line`,
      )
    );
    if (rate.admit(addressGroup(this.peerHost), workerShare(ctx.config, total), performance.now())) {
      return true;
    }
    ctx.stats.connectionsRateRefused++;
    this.close("refused: limits.maxConnectionsPerSecondPerAddress");
    return false;
  }

  /** Whether an error answer's line may be written (ErrorAnswerLog); else it is counted for a summary. */
  #errorLine(): boolean {
    const ctx = this.ctx;
    return (ctx.errorAnswers ??= new ErrorAnswerLog(ctx.log)).allow(addressGroup(this.peerHost));
  }

  /** ReadableListener: bytes arrived for a parked viewer. */
  readable(): void {
    this.run(true);
  }

  /**
   * Sends what is queued and what the session's source still has, then closes; closes anyway
   * after graceMs (a viewer that does not read).
   */
  closeAfterDrain(reason: string, graceMs: number): void {
    if (this.#closed) return;
    const timer = setTimeout(() => this.close(reason), graceMs);
    this.writer.whenDrained(() => {
      clearTimeout(timer);
      this.close(reason);
    });
  }

  /** Ends the session and the connection once; the reason is logged. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#holdBody(0);
    this.#onClosed(this);
    this.ctx.stats.connectionsOpen--;
    this.writer.close();
    this.session?.end(reason);
    this.session = null;
    this.sock.close();
    // A connection that never had a session (a probe, OPTIONS, a DESCRIBE, a churning client) closes
    // at debug: one info line per connection would let connection churn fill the log (or run into
    // journald's rate limit and hide the lines that matter). Refusals log their own line.
    if (this.#hadSession) this.log.info(`closed: ${reason}`);
    else this.log.debug(`closed: ${reason}`);
  }

  /**
   * Takes what the read buffer holds up to the next whole RTSP message, which it returns (past it,
   * and with the media before it published) for the caller to handle; null when the buffer holds
   * no more whole message (or the connection was refused).
   */
  // hot path (media): no allocation
  #consume(): Uint8Array | null {
    const rb = this.#rb;
    const sp = this.#splitter;
    let published = false;
    while (!this.#closed && rb.start < rb.end) {
      let kind;
      try {
        kind = sp.next(rb.buf, rb.start, rb.end);
      } catch (e) {
        const status = e instanceof RtspError ? e.status : STATUS_CODE.BadRequest;
        this.#refuse(status, errText(e));
        return null;
      }
      if (kind === SPLIT_INCOMPLETE) {
        // A message whose head is in and whose body is still coming holds its announced size.
        if (sp.headerEnd >= 0 && sp.contentLength > 0 && !this.#holdBody(sp.end - rb.start)) return null;
        break;
      }
      if (kind === SPLIT_FRAME) {
        if (this.session !== null && this.session.frame(sp.channel, rb.buf, sp.payloadStart, sp.end)) {
          published = true;
        }
        rb.start = sp.end;
        continue;
      }
      if (kind === SPLIT_GARBAGE) {
        if (!isBlankLineGarbage(rb.buf, rb.start, sp.end)) {
          const n = sp.end - rb.start;
          this.ctx.stats.garbageBytes += n;
          this.#garbage += n;
          if (this.#garbage > this.ctx.config.limits.maxGarbageBytes) {
            this.#refuse(
              STATUS_CODE.BadRequest,
              `more than ${this.ctx.config.limits.maxGarbageBytes} bytes of garbage`,
            );
            return null;
          }
        }
        rb.start = sp.end;
        continue;
      }
      // A whole RTSP message. Make what was ingested visible first: requests may take a while.
      if (published) {
        this.session?.flush();
        published = false;
      }
      const msg = rb.buf.slice(rb.start, sp.end);
      rb.start = sp.end;
      this.#holdBody(0);
      return msg;
    }
    if (published) this.session?.flush();
    return null;
  }

  #garbage = 0;
  /** Bytes of the unfinished message this connection holds against its address (PendingBodies). */
  #bodyHold = 0;

  /**
   * Sets this connection's hold of announced body bytes; past the address's share of
   * limits.maxPendingBodyBytesPerAddress on this worker, 503 and closed (false).
   */
  #holdBody(bytes: number): boolean {
    if (bytes === this.#bodyHold) return true;
    const total = this.ctx.config.limits.maxPendingBodyBytesPerAddress;
    const share = workerShare(this.ctx.config, total);
    const host = addressGroup(this.peerHost);
    if (!this.ctx.pendingBodies.move(host, this.#bodyHold, bytes, share)) {
      this.#refuse(
        STATUS_CODE.ServiceUnavailable,
        `a ${bytes}-byte request would put the unfinished bodies of ${host} past its ${share} bytes on this worker (limits.maxPendingBodyBytesPerAddress ${total})`,
      );
      return false;
    }
    this.#bodyHold = bytes;
    return true;
  }

  async #message(msg: Uint8Array): Promise<void> {
    // Responses from the peer (to requests we never send today) are read and ignored.
    if (
      msg.length > 5 && msg[0] === 0x52 && msg[1] === 0x54 && msg[2] === 0x53 && msg[3] === 0x50 &&
      msg[4] === 0x2f
    ) {
      return;
    }
    let req: RtspRequest;
    try {
      req = parseRequest(msg);
    } catch (e) {
      const status = e instanceof RtspError ? e.status : STATUS_CODE.BadRequest;
      this.#respondError(undefined, status, `unparseable request: ${errText(e)}`);
      return;
    }
    this.ctx.stats.requests++;
    this.handshaked = true;
    const cseq = req.headers.get("CSeq");
    if (cseq === undefined || !/^\s*\d{1,10}\s*$/.test(cseq)) {
      this.#respondError(
        req,
        STATUS_CODE.BadRequest,
        cseq === undefined ? "CSeq missing" : `invalid CSeq '${cseq}'`,
      );
      return;
    }
    let reply: Reply;
    try {
      reply = await handleRequest(this, req);
    } catch (e) {
      if (e instanceof RtspError) {
        this.#respondError(req, e.status, e.message, e.headers, e.routine);
      } else {
        this.log.error(`${req.method} ${loggableUrl(req.url)}: internal error: ${(e as Error)?.stack ?? e}`);
        this.#respondError(req, STATUS_CODE.InternalServerError, "internal error");
      }
      return;
    }
    if (this.#closed) return;
    const status = reply.status ?? STATUS_CODE.OK;
    if (status >= 400) {
      this.ctx.stats.errorResponses++;
      if (this.#errorLine()) {
        this.log.warn(
          `${req.method} ${loggableUrl(req.url)}: ${status} ${
            reply.headers?.map(([k, v]) => `${k}: ${v}`).join("; ") ?? ""
          }`,
        );
      }
    }
    this.#send(req, status, reply.headers, reply.body);
    reply.after?.();
  }

  #respondError(
    req: RtspRequest | undefined,
    status: StatusCode,
    detail: string,
    headers?: [string, string][],
    routine = false,
  ): void {
    this.ctx.stats.errorResponses++;
    if (routine ? this.ctx.log.enabled("debug") : this.#errorLine()) {
      const who = this.session ? `[session ${this.session.id}] ` : "";
      const what = req ? `${req.method} ${loggableUrl(req.url)}` : "request";
      const line = `${who}${what}: ${status} ${detail}`;
      if (routine) this.log.debug(line);
      else this.log.warn(line);
    }
    this.#send(req, status, headers, undefined);
  }

  #send(req: RtspRequest | undefined, status: number, extra?: [string, string][], body?: Uint8Array): void {
    const h = new HeaderMap();
    const cseq = req?.headers.get("CSeq");
    if (cseq !== undefined) h.set("CSeq", cseq.trim());
    h.set("Server", SERVER_NAME);
    // append: a 401 carries one WWW-Authenticate per challenge.
    if (extra) { for (const [k, v] of extra) h.append(k, v); }
    const s = this.session;
    // Session on every response once the client knows the id, except TEARDOWN (docs/protocol.md §11).
    if (s && s.idSent && req?.method !== "TEARDOWN" && !h.has("Session")) {
      h.set("Session", serializeSessionHeader(s.id, s.advertisedTimeoutSec));
    }
    if (!this.writer.sendControl(serializeResponse(status, h, body))) {
      this.close("peer does not read its responses");
    }
  }

  /** Answers input that breaks framing, then closes: the byte stream cannot be trusted after it. */
  #refuse(status: StatusCode, detail: string): void {
    this.#respondError(undefined, status, detail);
    this.#refusing = true;
    this.#rb.start = this.#rb.end;
    this.session?.end(`refused: ${detail}`);
    this.session = null;
    this.writer.source = null;
    this.writer.whenDrained(() => this.close(`refused: ${detail}`));
  }

  #refusing = false;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A scriptable RTSP camera over raw sockets for the client's dialect tests: it answers OPTIONS,
 * DESCRIBE, SETUP, PLAY, GET_PARAMETER and TEARDOWN the way a given camera does (its Content-Base,
 * its controls, its Session header, its SDP) and, once playing, sends a synthetic H.264 stream on
 * the interleaved channels it chose. Every request it got is kept, so a test can check what the
 * client sent.
 */
import { HeaderMap } from "../../src/rtsp/header_map.ts";
import { MessageSplitter, SPLIT_FRAME, SPLIT_INCOMPLETE } from "../../src/rtsp/message_splitter.ts";
import { parseRequest, type RtspRequest } from "../../src/rtsp/request.ts";
import { buildRtpPacket } from "../../src/rtp/rtp_header.ts";
import { parseTransportHeader } from "../../src/rtsp/transport_header.ts";
import { isSocketClosed } from "./expected_errors.ts";

/** How the camera behaves; every field has the well-behaved default. */
export interface CameraDialect {
  /** Content-Base of the DESCRIBE answer: a URL, a relative path, or none (undefined). */
  contentBase?: (requestUrl: string) => string | undefined;
  /** The SDP of DESCRIBE (its media controls decide the SETUP URLs). */
  sdp?: (requestUrl: string) => string;
  /** The Session header value of SETUP answers. */
  session?: string;
  /** Answer GET_PARAMETER with this status (default 200). */
  getParameterStatus?: number;
  /** Interleaved channels the camera answers for track t whatever was asked (default: as asked). */
  channels?: (track: number) => [number, number];
  /** RTP-Info in the PLAY answer (default: none). */
  rtpInfo?: boolean;
  /** Set the RTP marker bit at the end of each frame (default true). */
  marker?: boolean;
  /** Send SPS/PPS in-band before each IDR (default true). */
  inBandParameterSets?: boolean;
  /** Start the stream with P-frames before the first keyframe (default false). */
  startWithoutKeyframe?: boolean;
  /** Add this to every RTP timestamp after frame 15 (a jump, default 0). */
  timestampJump?: number;
  /** Answer DESCRIBE of this request URL with a redirect (status and Location), or not (undefined). */
  redirect?: (requestUrl: string) => { status: number; location: string } | undefined;
  /** Omit `a=rtpmap` for the audio track's static payload type (PCMU, 0). */
  audio?: "pcmu-static";
}

export const SPS_PPS_SDP = "Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==";

/** A plain SDP with a video track (and a PCMU track when asked); `controls` per track. */
export function cameraSdp(
  controls: string[],
  opts: { sessionControl?: string; audio?: boolean; odd?: boolean } = {},
) {
  const nl = "\r\n";
  const lines = [
    "v=0",
    opts.odd ? "o=- 1 1 IN IPV4 10.0.0.1" : "o=- 1 1 IN IP4 10.0.0.1",
    "s=Camera",
    opts.odd ? "c=IN IPV4 0.0.0.0 " : "c=IN IP4 0.0.0.0",
    "t=0 0",
    ...(opts.sessionControl ? [`a=control:${opts.sessionControl}`] : []),
    "m=video 0 RTP/AVP 96",
    opts.odd ? "a=rtpmap:96  H264/90000" : "a=rtpmap:96 H264/90000",
    `a=fmtp:96 packetization-mode=1;sprop-parameter-sets=${SPS_PPS_SDP};profile-level-id=42C01E`,
    `a=control:${controls[0]}`,
  ];
  if (opts.audio) lines.push("m=audio 0 RTP/AVP 0", `a=control:${controls[1]}`);
  return lines.join(nl) + nl;
}

export class FakeCamera {
  readonly listener: Deno.TcpListener;
  readonly port: number;
  /** Every request received, over every connection, in order. */
  readonly requests: RtspRequest[] = [];
  /** Connections accepted so far. */
  connections = 0;
  readonly #dialect: CameraDialect;
  readonly #conns = new Set<Deno.Conn>();
  readonly #timers = new Set<ReturnType<typeof setInterval>>();
  #closed = false;
  /** The first error serving threw other than a socket closing (a request it could not parse). */
  #failure: unknown = null;

  constructor(dialect: CameraDialect = {}) {
    this.#dialect = dialect;
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.#accept();
  }

  url(path = "cam"): string {
    return `rtsp://127.0.0.1:${this.port}/${path}`;
  }

  /** The requests with this method. */
  sent(method: string): RtspRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Stops serving; then throws the first error serving met, if any (it is a test failure). */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch (e) {
        // Expected: BadResource, a connection #serve already closed.
        if (!(e instanceof Deno.errors.BadResource)) throw e;
      }
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /** Keeps the first unexpected error (close() throws it); a socket closing is expected. */
  #fail(e: unknown): void {
    if (!isSocketClosed(e)) this.#failure ??= e;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.listener) {
        this.connections++;
        this.#conns.add(conn);
        this.#serve(conn).finally(() => this.#conns.delete(conn));
      }
    } catch (e) {
      // Expected: the listener closed by close() (BadResource, Interrupted).
      this.#fail(e);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const sp = new MessageSplitter({ maxHeaderBlockBytes: 1 << 16, maxBodyBytes: 1 << 20 });
    let buf = new Uint8Array(1 << 16);
    let end = 0;
    const channels: [number, number][] = [];
    const write = async (b: Uint8Array) => {
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    };
    try {
      for (;;) {
        if (end === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const n = await conn.read(buf.subarray(end));
        if (n === null) break;
        end += n;
        let start = 0;
        for (;;) {
          const kind = sp.next(buf, start, end);
          if (kind === SPLIT_INCOMPLETE) break;
          if (kind !== SPLIT_FRAME) {
            const req = parseRequest(buf.slice(start, sp.end));
            this.requests.push(req);
            await write(this.#answer(req, channels, () => this.#play(channels, write)));
          }
          start = sp.end;
        }
        buf.copyWithin(0, start, end);
        end -= start;
      }
    } catch (e) {
      // Expected: the client went away or close() closed the connection; a request that does not
      // parse (the client under test sent garbage) is kept for close() to throw.
      this.#fail(e);
    }
    // The client left (a redirect, a retry): its connection is closed here, not left to close().
    if (!this.#closed) {
      try {
        conn.close();
      } catch (e) {
        // Expected: BadResource, already closed.
        if (!(e instanceof Deno.errors.BadResource)) throw e;
      }
    }
  }

  #answer(req: RtspRequest, channels: [number, number][], play: () => void): Uint8Array {
    const d = this.#dialect;
    const h = new HeaderMap();
    h.set("CSeq", req.headers.get("CSeq") ?? "0");
    let status = 200;
    let body = "";
    switch (req.method) {
      case "OPTIONS":
        h.set("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER");
        break;
      case "DESCRIBE": {
        const moved = d.redirect?.(req.url);
        if (moved !== undefined) {
          status = moved.status;
          h.set("Location", moved.location);
          break;
        }
        const base = d.contentBase ? d.contentBase(req.url) : req.url + "/";
        if (base !== undefined) h.set("Content-Base", base);
        h.set("Content-Type", "application/sdp");
        body = d.sdp ? d.sdp(req.url) : cameraSdp(["trackID=1"]);
        break;
      }
      case "SETUP": {
        const t = parseTransportHeader(req.headers.get("Transport") ?? "")[0];
        const track = channels.length;
        const ch = d.channels ? d.channels(track) : t?.interleaved ?? [2 * track, 2 * track + 1];
        channels.push(ch);
        h.set("Transport", `RTP/AVP/TCP;unicast;interleaved=${ch[0]}-${ch[1]}`);
        h.set("Session", d.session ?? "12345678;timeout=60");
        break;
      }
      case "PLAY":
        h.set("Session", d.session ?? "12345678");
        if (d.rtpInfo) h.set("RTP-Info", `url=${req.url};seq=0;rtptime=0`);
        queueMicrotask(play);
        break;
      case "GET_PARAMETER":
        status = d.getParameterStatus ?? 200;
        break;
      case "TEARDOWN":
        break;
      default:
        status = 405;
    }
    const reason = status === 200
      ? "OK"
      : status === 405
      ? "Method Not Allowed"
      : status < 400
      ? "Moved"
      : "Error";
    let head = `RTSP/1.0 ${status} ${reason}\r\n`;
    for (const [k, v] of h) head += `${k}: ${v}\r\n`;
    if (body !== "") head += `Content-Length: ${new TextEncoder().encode(body).length}\r\n`;
    return new TextEncoder().encode(head + "\r\n" + body);
  }

  /** Sends 30 fps H.264 (10-frame GOPs) on the first track's channel, PCMU on the second if set up. */
  #play(channels: [number, number][], write: (b: Uint8Array) => Promise<void>): void {
    const d = this.#dialect;
    let frame = d.startWithoutKeyframe ? 5 : 0;
    let seq = 1000;
    let aseq = 5000;
    let sent = 0;
    const marker = d.marker ?? true;
    const timer = setInterval(() => {
      if (this.#closed) return;
      const ts = (frame * 3000 + (sent >= 15 ? d.timestampJump ?? 0 : 0)) >>> 0;
      const out: Uint8Array[] = [];
      const video = (payload: Uint8Array, last: boolean) =>
        out.push(
          frameOf(
            channels[0][0],
            buildRtpPacket({
              payloadType: 96,
              sequence: seq++ & 0xffff,
              timestamp: ts,
              ssrc: 0x1111,
              marker: marker && last,
              payload,
            }),
          ),
        );
      if (frame % 10 === 0) {
        if (d.inBandParameterSets ?? true) {
          video(new Uint8Array([0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]), false);
        }
        video(new Uint8Array(300).fill(1).map((v, i) => i === 0 ? 0x65 : v), true);
      } else {
        video(new Uint8Array(200).fill(2).map((v, i) => i === 0 ? 0x41 : v), true);
      }
      if (channels.length > 1) {
        out.push(
          frameOf(
            channels[1][0],
            buildRtpPacket({
              payloadType: 0,
              sequence: aseq++ & 0xffff,
              timestamp: (frame * 267) >>> 0,
              ssrc: 0x2222,
              payload: new Uint8Array(160).fill(0xff),
            }),
          ),
        );
      }
      frame++;
      sent++;
      const all = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of out) {
        all.set(p, o);
        o += p.length;
      }
      write(all).catch((e) => {
        // Expected: the connection closed (the client went away, or close()): the stream ends.
        clearInterval(timer);
        this.#fail(e);
      });
    }, 33);
    this.#timers.add(timer);
  }
}

function frameOf(channel: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  b[0] = 0x24;
  b[1] = channel;
  b[2] = payload.length >> 8;
  b[3] = payload.length & 0xff;
  b.set(payload, 4);
  return b;
}

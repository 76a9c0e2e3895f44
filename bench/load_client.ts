/**
 * One load-generator process: `viewers` RTSP/TCP viewers (DESCRIBE, SETUP each track with
 * channels 2i/2i+1, PLAY), ramped in, then counted: bytes and packets in the steady window, RTP
 * sequence gaps per viewer, disconnects, and for viewers that join during the steady phase the
 * time from PLAY to their first packet and first keyframe. Prints one JSON line at the end.
 *
 * Works against any RTSP server (controls are resolved from its SDP), so the same load can be run
 * against dm-live and its peers.
 */
import { epochMs, readStamp } from "./stamped_publisher.ts";
import { EpollPoller } from "../src/net/epoll_poller.ts";
import { FfiUdpEndpoint } from "../src/net/ffi_udp.ts";

/**
 * UDP viewers' sockets are nonblocking libc sockets on one epoll per process (dm-live's own FFI
 * path, src/net/), read with recvfrom until EAGAIN at each wake, so one process takes thousands
 * of UDP viewers; Deno.listenDatagram (one promise per datagram) stops near 1,000.
 */
let poller: EpollPoller | null = null;
function udpPoller(): EpollPoller | null {
  if (poller === null && Deno.build.os === "linux") {
    try {
      poller = new EpollPoller();
      poller.run();
    } catch {
      poller = null;
    }
  }
  return poller;
}
/**
 * An RTP socket on an even port the kernel picked and an RTCP socket on the next: RFC 3550's pair,
 * which the server checks (a viewer's RTP port must not be another viewer's RTCP port).
 */
function udpPair(
  p: EpollPoller,
  onRtp: (d: Uint8Array, at: number, end: number) => void,
): [FfiUdpEndpoint, FfiUdpEndpoint] {
  for (let tries = 0;; tries++) {
    const rtp = new FfiUdpEndpoint("0.0.0.0", 0, p, onRtp, false, UDP_RECEIVE_BUFFER);
    if (rtp.port % 2 === 0 && rtp.port < 65535) {
      try {
        return [rtp, new FfiUdpEndpoint("0.0.0.0", rtp.port + 1, p, () => {})];
      } catch (e) {
        if (tries > 100) throw e;
      }
    }
    rtp.close();
  }
}

/** SO_RCVBUF of a UDP viewer's socket: a GOP burst of a few hundred KB must wait, not drop. */
const UDP_RECEIVE_BUFFER = 1 << 20;

/** What the orchestrator (bench/fanout.ts) asks of this process; times are epoch ms. */
export interface LoadPlan {
  /** Stream URLs; viewer i plays urls[i % urls.length]. Hosts may differ (127.0.0.x) to spread ports. */
  urls: string[];
  viewers: number;
  rampStartAt: number;
  rampEndAt: number;
  steadyStartAt: number;
  steadyEndAt: number;
  /** Viewers (beyond `viewers`) that join evenly spread over the steady phase. */
  joiners: number;
  /** Keep-alive interval (GET_PARAMETER), ms. */
  keepAliveMs: number;
  /** RTP over the RTSP connection (interleaved), or over UDP (one socket per viewer, every track). */
  transport?: "tcp" | "udp";
}

/** What this process reports. */
export interface LoadReport {
  viewers: number;
  connected: number;
  failed: number;
  disconnects: number;
  steadyBytes: number;
  steadyPackets: number;
  gaps: number;
  joinFirstPacketMs: number[];
  joinFirstKeyframeMs: number[];
  /**
   * DESCRIBE to first keyframe of this process's first viewer of each stream (from the ramp): with
   * on-demand sources, the time a first viewer waits for the pull to start.
   */
  startFirstKeyframeMs: number[];
  /**
   * For a few viewers playing since the ramp, each steady-phase video packet's delay. From the
   * bench's stamped publisher (bench/stamped_publisher.ts): arrival minus the send time the packet
   * carries, so the server's added delay and loopback's. Otherwise (ffmpeg, another server's
   * stream): arrival minus RTP time, less the smallest such offset of that viewer; ffmpeg -re
   * sends each frame at its own time, so this adds ffmpeg's pacing jitter.
   */
  addedDelayMs: number[];
  /** Whether addedDelayMs came from stamps. */
  stampedDelay: boolean;
  errors: string[];
}

/** Viewers per load process whose packet delays are sampled. */
const DELAY_SAMPLERS = 10;
/** Set while the steady phase runs: delay samples are taken only then (no GOP bursts). */
let sampling = false;

const READ_BYTES = 16384;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Counters {
  bytes: number;
  packets: number;
  gaps: number;
  disconnects: number;
}

class Viewer {
  conn!: Deno.TcpConn;
  buf = new Uint8Array(READ_BYTES);
  start = 0;
  end = 0;
  cseq = 1;
  session = "";
  lastSeq = new Int32Array(16).fill(-1);
  /** When DESCRIBE was sent (an on-demand source is started by it). */
  tDescribe = 0;
  tPlay = 0;
  tFirst = 0;
  tKey = 0;
  stopped = false;
  playing = false;
  /** Arrival minus RTP time (ms) of steady-phase video packets, when this viewer samples. */
  offsets: number[] | null = null;
  /** Arrival minus send stamp (ms) of steady-phase stamped video packets, when this viewer samples. */
  delays: number[] = [];
  readonly url: string;
  readonly c: Counters;
  readonly transport: "tcp" | "udp";
  udp: Deno.DatagramConn | null = null;
  ffiUdp: FfiUdpEndpoint | null = null;
  /** The RTCP port (RTP's + 1), bound so no other viewer's RTP lands on it; what arrives is dropped. */
  ffiRtcp: FfiUdpEndpoint | null = null;
  /** RTP payload type of the first (video) media, to find keyframes in UDP datagrams. */
  videoPt = -1;

  constructor(url: string, c: Counters, transport: "tcp" | "udp" = "tcp") {
    this.url = url;
    this.c = c;
    this.transport = transport;
  }

  async write(s: string): Promise<void> {
    const b = enc.encode(s);
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Reads until one whole RTSP response is buffered; returns it, leaving what follows. */
  async response(): Promise<{ status: number; head: string; body: string }> {
    for (;;) {
      const text = dec.decode(this.buf.subarray(this.start, this.end));
      const he = text.indexOf("\r\n\r\n");
      if (he >= 0) {
        const head = text.slice(0, he);
        const cl = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const headBytes = enc.encode(text.slice(0, he + 4)).length;
        if (this.end - this.start >= headBytes + cl) {
          const body = dec.decode(this.buf.subarray(this.start + headBytes, this.start + headBytes + cl));
          this.start += headBytes + cl;
          return { status: Number(head.split(" ")[1]), head, body };
        }
      }
      await this.fill();
    }
  }

  async fill(): Promise<void> {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      if (this.start === 0) {
        const bigger = new Uint8Array(this.buf.length * 2);
        bigger.set(this.buf);
        this.buf = bigger;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) throw new Error("closed by server");
    this.end += n;
  }

  async request(
    method: string,
    url: string,
    extra = "",
  ): Promise<{ status: number; head: string; body: string }> {
    const s = this.session ? `Session: ${this.session}\r\n` : "";
    await this.write(`${method} ${url} RTSP/1.0\r\nCSeq: ${this.cseq++}\r\n${s}${extra}\r\n`);
    const r = await this.response();
    if (r.status !== 200) throw new Error(`${method} ${url}: ${r.status}`);
    const sess = /\r\nsession:\s*([^;\r\n]+)/i.exec(r.head);
    if (sess) this.session = sess[1].trim();
    return r;
  }

  async run(): Promise<void> {
    const u = new URL(this.url.replace(/^rtsp:/, "http:"));
    this.conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 554) });
    this.conn.setNoDelay(true);
    this.tDescribe = performance.now();
    const d = await this.request("DESCRIBE", this.url, "Accept: application/sdp\r\n");
    const base = /\r\ncontent-base:\s*([^\r\n]+)/i.exec(d.head)?.[1].trim() ?? this.url + "/";
    const controls: string[] = [];
    for (const m of d.body.split(/\r?\nm=/).slice(1)) {
      const ctl = /\na=control:([^\r\n]+)/.exec(m)?.[1].trim() ?? "";
      controls.push(ctl.startsWith("rtsp://") ? ctl : base.replace(/\/?$/, "/") + ctl);
    }
    this.videoPt = Number(/\nm=video \d+ [^ ]+ (\d+)/.exec(d.body)?.[1] ?? -1);
    let port = 0;
    if (this.transport === "udp") {
      // One socket takes every track (told apart by payload type); no RTCP socket is needed.
      const p = udpPoller();
      if (p !== null) {
        [this.ffiUdp, this.ffiRtcp] = udpPair(p, this.datagram);
        port = this.ffiUdp.port;
      } else {
        this.udp = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
        port = (this.udp.addr as Deno.NetAddr).port;
      }
    }
    for (let i = 0; i < controls.length; i++) {
      const t = this.transport === "udp"
        ? `RTP/AVP;unicast;client_port=${port}-${port + 1}`
        : `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`;
      await this.request("SETUP", controls[i], `Transport: ${t}\r\n`);
    }
    this.tPlay = performance.now();
    await this.request("PLAY", base.replace(/\/$/, ""), "Range: npt=0.000-\r\n");
    this.playing = true;
    if (this.udp !== null) this.datagrams();
    await this.frames();
  }

  /** UDP through Deno.listenDatagram (no FFI): each datagram to datagram(). */
  async datagrams(): Promise<void> {
    try {
      for await (const [d] of this.udp!) this.datagram(d, 0, d.length);
    } catch {
      // closed
    }
  }

  /** UDP: counts a datagram d[at..end) as frames() counts interleaved frames (track = payload type & 15). */
  readonly datagram = (d: Uint8Array, at: number, end: number): void => {
    const len = end - at;
    if (len < 12) return;
    const c = this.c;
    const pt = d[at + 1] & 0x7f;
    const seq = (d[at + 2] << 8) | d[at + 3];
    const last = this.lastSeq[pt & 15];
    if (last >= 0 && seq !== ((last + 1) & 0xffff)) c.gaps++;
    this.lastSeq[pt & 15] = seq;
    if (this.tFirst === 0) this.tFirst = performance.now();
    if (pt === this.videoPt) {
      if (sampling && this.offsets !== null) {
        const ts = ((d[at + 4] << 24) | (d[at + 5] << 16) | (d[at + 6] << 8) | d[at + 7]) >>> 0;
        this.offsets.push(performance.now() - ts / 90);
        const stamp = readStamp(d, at, len);
        if (!Number.isNaN(stamp)) this.delays.push(epochMs() - stamp);
      }
      if (this.tKey === 0 && len > 13) {
        const nal = d[at + 12] & 0x1f;
        if (nal === 5 || nal === 7 || nal === 24 || (nal === 28 && (d[at + 13] & 0x1f) === 5)) {
          this.tKey = performance.now();
        }
      }
    }
    c.packets++;
    c.bytes += len;
  };

  /** Reads interleaved frames until stopped; responses to keep-alives are skipped. */
  async frames(): Promise<void> {
    const c = this.c;
    for (;;) {
      let i = this.start;
      const buf = this.buf;
      const end = this.end;
      while (i < end) {
        if (buf[i] === 0x24) {
          if (end - i < 4) break;
          const len = (buf[i + 2] << 8) | buf[i + 3];
          if (end - i < 4 + len) break;
          const ch = buf[i + 1];
          if ((ch & 1) === 0 && len >= 12) {
            const seq = (buf[i + 6] << 8) | buf[i + 7];
            const last = this.lastSeq[ch & 15];
            if (last >= 0 && seq !== ((last + 1) & 0xffff)) c.gaps++;
            this.lastSeq[ch & 15] = seq;
            if (this.tFirst === 0) this.tFirst = performance.now();
            if (sampling && ch === 0 && this.offsets !== null) {
              const ts = ((buf[i + 8] << 24) | (buf[i + 9] << 16) | (buf[i + 10] << 8) | buf[i + 11]) >>> 0;
              this.offsets.push(performance.now() - ts / 90);
              const stamp = readStamp(buf, i + 4, len);
              if (!Number.isNaN(stamp)) this.delays.push(epochMs() - stamp);
            }
            if (this.tKey === 0 && ch === 0 && len > 13) {
              const nal = buf[i + 16] & 0x1f;
              if (nal === 5 || nal === 7 || nal === 24 || (nal === 28 && (buf[i + 17] & 0x1f) === 5)) {
                this.tKey = performance.now();
              }
            }
            c.packets++;
          }
          c.bytes += 4 + len;
          i += 4 + len;
        } else {
          // A response to a keep-alive: skip its head (keep-alive responses have no body).
          let j = i;
          while (
            j + 3 < end && !(buf[j] === 13 && buf[j + 1] === 10 && buf[j + 2] === 13 && buf[j + 3] === 10)
          ) j++;
          if (j + 3 >= end) break;
          i = j + 4;
        }
      }
      this.start = i;
      if (this.stopped) return;
      try {
        await this.fill();
      } catch {
        if (!this.stopped) c.disconnects++;
        return;
      }
    }
  }

  keepAlive(): void {
    if (!this.playing || this.stopped) return;
    this.write(
      `GET_PARAMETER ${this.url} RTSP/1.0\r\nCSeq: ${this.cseq++}\r\nSession: ${this.session}\r\n\r\n`,
    )
      .catch(() => {});
  }

  close(): void {
    this.stopped = true;
    this.ffiUdp?.close();
    this.ffiRtcp?.close();
    for (const x of [this.conn, this.udp]) {
      try {
        x?.close();
      } catch {
        // already closed
      }
    }
  }
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

async function main(plan: LoadPlan): Promise<LoadReport> {
  const counters: Counters = { bytes: 0, packets: 0, gaps: 0, disconnects: 0 };
  const joinCounters: Counters = { bytes: 0, packets: 0, gaps: 0, disconnects: 0 };
  const viewers: Viewer[] = [];
  const joiners: Viewer[] = [];
  const errors: string[] = [];
  let failed = 0;
  const start = (v: Viewer) =>
    v.run().catch((e) => {
      if (v.stopped) return;
      failed++;
      if (errors.length < 10) errors.push(String((e as Error).message ?? e));
    });

  await sleepUntil(plan.rampStartAt);
  const rampMs = Math.max(1, plan.rampEndAt - plan.rampStartAt);
  for (let i = 0; i < plan.viewers; i++) {
    await sleepUntil(plan.rampStartAt + (rampMs * i) / plan.viewers);
    const v = new Viewer(plan.urls[i % plan.urls.length], counters, plan.transport);
    if (i < DELAY_SAMPLERS) v.offsets = [];
    viewers.push(v);
    start(v);
  }
  const ka = setInterval(() => {
    for (const v of viewers) v.keepAlive();
    for (const v of joiners) v.keepAlive();
  }, plan.keepAliveMs);

  await sleepUntil(plan.steadyStartAt);
  sampling = true;
  const b0 = counters.bytes;
  const p0 = counters.packets;
  const g0 = counters.gaps;
  const steadyMs = plan.steadyEndAt - plan.steadyStartAt;
  for (let j = 0; j < plan.joiners; j++) {
    await sleepUntil(plan.steadyStartAt + (steadyMs * (j + 0.5)) / plan.joiners);
    const v = new Viewer(plan.urls[j % plan.urls.length], joinCounters, plan.transport);
    joiners.push(v);
    start(v);
  }
  await sleepUntil(plan.steadyEndAt);
  sampling = false;
  const addedDelayMs: number[] = [];
  const stampedDelay = viewers.some((v) => v.delays.length > 0);
  for (const v of viewers) {
    if (stampedDelay) {
      addedDelayMs.push(...v.delays);
      continue;
    }
    if (v.offsets === null || v.offsets.length === 0) continue;
    const min = Math.min(...v.offsets);
    // A jump of hours is an RTP timestamp discontinuity (the clip looping), not a delay.
    for (const o of v.offsets) if (o - min < 60_000) addedDelayMs.push(o - min);
  }
  const report: LoadReport = {
    viewers: plan.viewers,
    connected: viewers.filter((v) => v.playing).length,
    failed,
    disconnects: counters.disconnects,
    steadyBytes: counters.bytes - b0,
    steadyPackets: counters.packets - p0,
    gaps: counters.gaps - g0 + joinCounters.gaps,
    joinFirstPacketMs: joiners.filter((v) => v.tFirst > 0).map((v) => v.tFirst - v.tPlay),
    joinFirstKeyframeMs: joiners.filter((v) => v.tKey > 0).map((v) => v.tKey - v.tPlay),
    startFirstKeyframeMs: viewers.slice(0, plan.urls.length).filter((v) => v.tKey > 0).map((v) =>
      v.tKey - v.tDescribe
    ),
    addedDelayMs,
    stampedDelay,
    errors,
  };
  clearInterval(ka);
  for (const v of viewers) v.close();
  for (const v of joiners) v.close();
  return report;
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0]) as LoadPlan;
  const report = await main(plan);
  console.log(JSON.stringify(report));
  Deno.exit(0);
}

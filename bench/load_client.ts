/**
 * One load-generator process: `viewers` RTSP/TCP viewers (DESCRIBE, SETUP each track with
 * channels 2i/2i+1, PLAY; over TLS for rtsps:// URLs), ramped in, then counted: bytes and packets in the steady window, RTP
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
 * path, src/net/), read with recvmmsg (up to 32 datagrams a call) at each wake, so one process takes
 * thousands of UDP viewers; Deno.listenDatagram (one promise per datagram) stops near 1,000. No
 * socket option changes how the kernel delivers to them (no UDP_GRO, no busy polling): the server's
 * side of loopback is measured as a real receiver would leave it.
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
    const rtp = new FfiUdpEndpoint("0.0.0.0", 0, p, onRtp, false, UDP_RECEIVE_BUFFER, true);
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
  /** PEM certificates rtsps:// viewers trust (Deno.connectTls caCerts): the bench's self-signed one. */
  caCerts?: string[];
  /**
   * Further viewers, each joining `url` at epoch ms `at` (any phase), reported one by one in
   * LoadReport.joins (not in joinFirst*Ms) and closed `joinHoldMs` after their first keyframe.
   */
  joinAt?: { url: string; at: number }[];
  /** How long a joinAt viewer stays after its first keyframe (default: to the end). */
  joinHoldMs?: number;
  /**
   * From this epoch ms on, each viewer's longest wait between RTP packets is tracked (LoadReport.hold's
   * stalls): how long a viewer went without media through a failover.
   */
  stallFrom?: number;
  /**
   * With stallFrom: also the arrival of each viewer's first video packet stamped (by the bench's
   * stamped publisher) at or after this epoch ms, i.e. sent by a publisher that started after it
   * (StallSample.freshAt), so a cached GOP replayed to a viewer does not count as new media.
   */
  freshAfter?: number;
  /**
   * Keep the viewers after steadyEndAt until this epoch ms, then report (the steady figures are still
   * those of the steady phase; what happened after it is in LoadReport.hold).
   */
  holdUntil?: number;
}

/** One LoadPlan.joinAt viewer: its times, ms (null: it never got there). */
export interface JoinSample {
  url: string;
  /** Epoch ms of its DESCRIBE (null when it could not connect). */
  describedAt: number | null;
  describeToKeyframeMs: number | null;
  playToKeyframeMs: number | null;
  playToPacketMs: number | null;
  error: string | null;
}

/** One viewer's longest wait between RTP packets since LoadPlan.stallFrom. */
export interface StallSample {
  url: string;
  /** The longest wait, ms (0 when fewer than two reads brought it RTP since stallFrom). */
  maxMs: number;
  /** Epoch ms of the packet that ended it (0: none). */
  endAt: number;
  /** Epoch ms of its last packet (0: none since stallFrom). */
  lastAt: number;
  /** Waits of more than LONG_GAP_MS. */
  longGaps: number;
  /** With LoadPlan.freshAfter: epoch ms of its first video packet stamped at or after it (0: none). */
  freshAt: number;
  /**
   * With LoadPlan.freshAfter: video packets stamped before it that arrived more than
   * REPLAY_GRACE_MS after it (old media sent again, e.g. a cached GOP), and the oldest such stamp
   * (epoch ms, 0: none).
   */
  replayed: number;
  replayedOldest: number;
  /** The newest stamp among its video packets that arrived before that (epoch ms, 0: none). */
  newestBefore: number;
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
  /** LoadPlan.joinAt's viewers, in plan order. */
  joins?: JoinSample[];
  /** With LoadPlan.holdUntil: from steadyEndAt to holdUntil. */
  hold?: {
    /** Viewers (not joiners) still playing at holdUntil. */
    connected: number;
    disconnects: number;
    gaps: number;
    /** With LoadPlan.stallFrom: each viewer that played (not the joiners). */
    stalls: StallSample[];
  };
}

/** A wait between RTP packets counted as long in StallSample.longGaps, ms. */
export const LONG_GAP_MS = 250;
/** Set from LoadPlan.stallFrom on: viewers with a stall record update it at each read with RTP. */
let stalling = false;
/** LoadPlan.freshAfter (epoch ms), or Infinity. */
let freshAfter = Infinity;
/** An old packet arriving later than this after freshAfter counts as replayed (StallSample.replayed). */
export const REPLAY_GRACE_MS = 100;

/** Viewers per load process whose packet delays are sampled. */
const DELAY_SAMPLERS = 10;
/** Set while the steady phase runs: delay samples are taken only then (no GOP bursts). */
let sampling = false;

const READ_BYTES = 16384;
/** LoadPlan.caCerts, for rtsps:// viewers. */
let caCerts: string[] | undefined;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Counters {
  bytes: number;
  packets: number;
  gaps: number;
  disconnects: number;
}

class Viewer {
  conn!: Deno.TcpConn | Deno.TlsConn;
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
  /** Its connection ended without close() (the server closed it, or it broke). */
  ended = false;
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
  /**
   * With LoadPlan.stallFrom: [last RTP arrival, longest wait (ms), arrival that ended it, long
   * waits, first fresh video arrival, replayed video packets, oldest replayed stamp, newest stamp
   * before] (StallSample; times epoch ms, one clock read per read or datagram), without allocating.
   */
  stall: Float64Array | null = null;

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
    const u = new URL(this.url.replace(/^rtsps?:/, "http:"));
    if (this.url.startsWith("rtsps:")) {
      // Reads decrypt into the same buffer (no JS allocation beyond the plain path's); a TlsConn
      // has no setNoDelay.
      this.conn = await Deno.connectTls({ hostname: u.hostname, port: Number(u.port || 322), caCerts });
    } else {
      const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 554) });
      conn.setNoDelay(true);
      this.conn = conn;
    }
    this.tDescribe = performance.now();
    const d = await this.request("DESCRIBE", this.url, "Accept: application/sdp\r\n");
    const base = /\r\ncontent-base:\s*([^\r\n]+)/i.exec(d.head)?.[1].trim() ?? this.url + "/";
    const controls: string[] = [];
    for (const m of d.body.split(/\r?\nm=/).slice(1)) {
      const ctl = /\na=control:([^\r\n]+)/.exec(m)?.[1].trim() ?? "";
      controls.push(/^rtsps?:\/\//.test(ctl) ? ctl : base.replace(/\/?$/, "/") + ctl);
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
    const arrival = stalling && this.stall !== null ? epochMs() : 0;
    const c = this.c;
    const pt = d[at + 1] & 0x7f;
    const seq = (d[at + 2] << 8) | d[at + 3];
    const last = this.lastSeq[pt & 15];
    if (last >= 0 && seq !== ((last + 1) & 0xffff)) c.gaps++;
    this.lastSeq[pt & 15] = seq;
    if (this.tFirst === 0) this.tFirst = performance.now();
    if (pt === this.videoPt) {
      if (arrival > 0) this.freshness(d, at, len, arrival);
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
    if (arrival > 0) this.stalled(arrival);
  };

  /** A video RTP packet at d[at..at+len), arrived at epoch ms `now` while stalls are tracked. */
  freshness(d: Uint8Array, at: number, len: number, now: number): void {
    const s = this.stall!;
    const stamp = readStamp(d, at, len);
    if (Number.isNaN(stamp)) return;
    if (stamp >= freshAfter) {
      if (s[4] === 0) s[4] = now;
    } else if (now > freshAfter + REPLAY_GRACE_MS) {
      s[5]++;
      if (s[6] === 0 || stamp < s[6]) s[6] = stamp;
    } else if (stamp > s[7]) s[7] = stamp;
  }

  /** RTP arrived at epoch ms `now`: the wait since the last arrival may be the longest (see `stall`). */
  stalled(now: number): void {
    const s = this.stall!;
    if (s[0] > 0) {
      const wait = now - s[0];
      if (wait > s[1]) {
        s[1] = wait;
        s[2] = now;
      }
      if (wait > LONG_GAP_MS) s[3]++;
    }
    s[0] = now;
  }

  /** Reads interleaved frames until stopped; responses to keep-alives are skipped. */
  async frames(): Promise<void> {
    const c = this.c;
    for (;;) {
      let i = this.start;
      const buf = this.buf;
      const end = this.end;
      let rtp = false;
      const arrival = stalling && this.stall !== null ? epochMs() : 0;
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
            if (arrival > 0 && ch === 0) this.freshness(buf, i + 4, len, arrival);
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
            rtp = true;
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
      if (rtp && arrival > 0) this.stalled(arrival);
      if (this.stopped) return;
      try {
        await this.fill();
      } catch {
        if (!this.stopped) {
          c.disconnects++;
          this.ended = true;
        }
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

  // LoadPlan.joinAt: each on its own timer, whatever phase it falls in.
  const atCounters: Counters = { bytes: 0, packets: 0, gaps: 0, disconnects: 0 };
  const atJoiners: { v: Viewer; error: string | null }[] = [];
  const atTimers: ReturnType<typeof setTimeout>[] = [];
  const JOIN_AT_TIMEOUT_MS = 20_000;
  for (const j of plan.joinAt ?? []) {
    const slot: { v: Viewer; error: string | null } = {
      v: new Viewer(j.url, atCounters, plan.transport),
      error: null,
    };
    atJoiners.push(slot);
    atTimers.push(setTimeout(() => {
      const v = slot.v;
      v.run().catch((e) => {
        if (!v.stopped) slot.error = String((e as Error).message ?? e);
      });
      // Closed once it has its keyframe and joinHoldMs passed (or given up on).
      const t0 = Date.now();
      const poll = setInterval(() => {
        const done = v.stopped || slot.error !== null || Date.now() - t0 > JOIN_AT_TIMEOUT_MS;
        if (v.tKey > 0 || done) {
          clearInterval(poll);
          if (plan.joinHoldMs !== undefined || done) {
            atTimers.push(setTimeout(() => v.close(), done ? 0 : plan.joinHoldMs));
          }
        }
      }, 20);
    }, Math.max(0, j.at - Date.now())));
  }
  if (plan.stallFrom !== undefined) {
    freshAfter = plan.freshAfter ?? Infinity;
    atTimers.push(setTimeout(() => stalling = true, Math.max(0, plan.stallFrom - Date.now())));
  }

  await sleepUntil(plan.rampStartAt);
  const rampMs = Math.max(1, plan.rampEndAt - plan.rampStartAt);
  for (let i = 0; i < plan.viewers; i++) {
    await sleepUntil(plan.rampStartAt + (rampMs * i) / plan.viewers);
    const v = new Viewer(plan.urls[i % plan.urls.length], counters, plan.transport);
    if (i < DELAY_SAMPLERS) v.offsets = [];
    if (plan.stallFrom !== undefined) v.stall = new Float64Array(8);
    viewers.push(v);
    start(v);
  }
  const ka = setInterval(() => {
    for (const v of viewers) v.keepAlive();
    for (const v of joiners) v.keepAlive();
    for (const j of atJoiners) j.v.keepAlive();
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
  const steadyBytes = counters.bytes - b0;
  const steadyPackets = counters.packets - p0;
  const gaps = counters.gaps - g0 + joinCounters.gaps;
  const disconnects = counters.disconnects;
  const connected = viewers.filter((v) => v.playing).length;
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
  let hold: LoadReport["hold"];
  if (plan.holdUntil !== undefined) {
    const g1 = counters.gaps;
    await sleepUntil(plan.holdUntil);
    hold = {
      connected: viewers.filter((v) => v.playing && !v.ended).length,
      disconnects: counters.disconnects - disconnects,
      gaps: counters.gaps - g1,
      stalls: viewers.filter((v) => v.playing && v.stall !== null).map((v) => ({
        url: v.url,
        maxMs: v.stall![1],
        endAt: v.stall![2],
        lastAt: v.stall![0],
        longGaps: v.stall![3],
        freshAt: v.stall![4],
        replayed: v.stall![5],
        replayedOldest: v.stall![6],
        newestBefore: v.stall![7],
      })),
    };
  }
  const report: LoadReport = {
    viewers: plan.viewers,
    connected,
    failed,
    disconnects,
    steadyBytes,
    steadyPackets,
    gaps,
    joinFirstPacketMs: joiners.filter((v) => v.tFirst > 0).map((v) => v.tFirst - v.tPlay),
    joinFirstKeyframeMs: joiners.filter((v) => v.tKey > 0).map((v) => v.tKey - v.tPlay),
    startFirstKeyframeMs: viewers.slice(0, plan.urls.length).filter((v) => v.tKey > 0).map((v) =>
      v.tKey - v.tDescribe
    ),
    addedDelayMs,
    stampedDelay,
    errors,
  };
  if (plan.joinAt !== undefined) {
    const ms = (a: number, b: number) => (a > 0 && b > 0 ? a - b : null);
    report.joins = atJoiners.map(({ v, error }) => ({
      url: v.url,
      describedAt: v.tDescribe > 0 ? performance.timeOrigin + v.tDescribe : null,
      describeToKeyframeMs: ms(v.tKey, v.tDescribe),
      playToKeyframeMs: ms(v.tKey, v.tPlay),
      playToPacketMs: ms(v.tFirst, v.tPlay),
      error: error ?? (v.tKey > 0 ? null : v.tDescribe > 0 ? "no keyframe" : "never joined"),
    }));
  }
  if (hold !== undefined) report.hold = hold;
  clearInterval(ka);
  for (const t of atTimers) clearTimeout(t);
  for (const v of viewers) v.close();
  for (const v of joiners) v.close();
  for (const j of atJoiners) j.v.close();
  return report;
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0]) as LoadPlan;
  caCerts = plan.caCerts;
  const report = await main(plan);
  console.log(JSON.stringify(report));
  Deno.exit(0);
}

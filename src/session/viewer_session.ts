import { udpKey } from "../net/udp_endpoint.ts";
import type { RingReader } from "../ring/ring_reader.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import { rtpSequence, rtpTimestamp } from "../rtp/rtp_header.ts";
import type { RtpInfoEntry } from "../rtsp/rtp_info_header.ts";
import type { LocalStream, StreamSubscriber } from "../stream/local_stream.ts";
import { wallClockMs } from "../stream/publisher_clock.ts";
import { RtspSession } from "./rtsp_session.ts";
import { SenderReports, type SentCounts } from "./sender_reports.ts";
import type { SessionHost } from "./session_host.ts";
import { TcpSink } from "./tcp_sink.ts";
import { UdpSink } from "./udp_sink.ts";
import { rtcpRoute } from "./udp_ports.ts";
import type { ViewerSink } from "./viewer_sink.ts";
import { ViewerReception } from "./viewer_reception.ts";

/** How long a viewer of an ended stream may take to receive the rest before it is closed. */
const STREAM_END_DRAIN_MS = 2000;

/**
 * RTP-Info for PLAY (docs/protocol.md §16): per set-up track, the seq/rtptime of the first packet the
 * reader will hand out (from the GOP burst), or the next sequence number when the burst has none.
 */
export function rtpInfoAt(
  reader: RingReader,
  tracks: Iterable<number>,
  trackUrl: (track: number) => string,
): RtpInfoEntry[] {
  const ring = reader.ring;
  const out: RtpInfoEntry[] = [];
  for (const t of [...tracks].sort((a, b) => a - b)) {
    const s = reader.firstOf(t);
    if (s >= 0) {
      const o = ring.rtpOffset(s);
      out.push({ url: trackUrl(t), seq: rtpSequence(ring.data, o), rtptime: rtpTimestamp(ring.data, o) });
      continue;
    }
    const last = ring.trackLastSeq(t);
    if (last !== undefined) out.push({ url: trackUrl(t), seq: (last + 1) & 0xffff });
  }
  return out;
}

/**
 * The viewer side of a session: its first SETUP made it on one stream, each SETUP adds a track (an
 * interleaved channel or UDP client ports), PLAY starts a RingReader at the newest GOP and a sink
 * (TCP or UDP) that sends from it on every wake of the stream, PAUSE stops them. Its RTCP receiver
 * reports keep it alive and feed the API's reception figures; nothing reaches the publisher.
 */
export class ViewerSession extends RtspSession implements StreamSubscriber {
  readonly role = "read";
  streamSlot = -1;
  /** StreamSubscriber: a UDP viewer costs a datagram per packet. SETUP fixed the transport. */
  get perPacket(): boolean {
    return this.transport === "udp";
  }
  readonly stream: LocalStream;
  /** Track -> RTP interleaved channel (TCP) or 2·track (UDP, which uses no channels). */
  readonly channels = new Map<number, number>();
  /** From PLAY to PAUSE: the ring cursor and where its packets go. */
  sink: ViewerSink | null = null;
  /** What the viewer's RTCP receiver reports say (made at the first one). */
  reception: ViewerReception | null = null;
  /** Its first PLAY was a read.start for hooks: its end is a read.stop. */
  #reading = false;
  /** The reader PLAY made, until it starts playing (closed if the session ends first). */
  #prepared: RingReader | null = null;

  constructor(conn: SessionHost, stream: LocalStream, user: string | null) {
    super(conn, stream.path, user);
    this.stream = stream;
    this.enter("prePlay");
  }

  /** PLAY: a reader at the newest GOP (what RTP-Info describes), not sending yet. */
  prepare(): RingReader {
    const cfg = this.conn.ctx.config.viewer;
    this.#prepared?.close();
    return this.#prepared = this.stream.newReader(
      { skipLagPercent: cfg.skipLagPercent, dropLagPercent: cfg.dropLagPercent },
      this.conn.ctx.stats,
    );
  }

  /** Whether a reader on this session serves straight from the ring (TCP on channels 2i/2i+1). */
  zeroCopy(): boolean {
    if (this.transport === "udp") return false;
    if (this.channels.size !== this.stream.ring.trackCount) return false;
    for (const [t, ch] of this.channels) if (ch !== 2 * t) return false;
    return true;
  }

  /** PLAY accepted (its response queued): starts sending from `reader`'s position. */
  startPlaying(reader: RingReader): void {
    const stream = this.stream;
    const ctx = this.conn.ctx;
    if (this.#prepared === reader) this.#prepared = null;
    this.enter("play");
    // Clock mappings and SSRCs come from the ring the reader is on (it holds it; a ring the
    // stream left keeps the mappings it had).
    const reports = (counts: SentCounts) =>
      new SenderReports(
        reader,
        stream.info.tracks,
        this.channels.keys(),
        counts,
        stream.streamId,
        ctx.stats,
      );
    if (this.transport === "udp") {
      const udp = ctx.udp!;
      const host = this.conn.peerHost;
      const to = (i: 0 | 1) =>
        Array.from({ length: stream.ring.trackCount }, (_, t) => {
          const p = this.udpClientPorts!.get(t);
          return p === undefined ? null : udp.address(host, p[i]);
        });
      // The viewer's receiver reports keep the session alive.
      for (const [t, p] of this.udpClientPorts!) this.route(udpKey(host, p[1]), rtcpRoute(t));
      this.sink = new UdpSink(
        reader,
        {
          rtp: udp.rtp,
          rtpTo: to(0),
          rtcp: udp.rtcp,
          rtcpTo: to(1),
          reports,
          flush: () => udp.flush(),
        },
        ctx.stats,
        this,
      );
    } else {
      const max = ctx.config.viewer.maxWriteBytes;
      this.sink = new TcpSink(reader, this.channels, max, { writer: this.conn.writer, reports });
    }
    stream.subscribe(this);
    this.sink.start();
    if (!this.#reading) {
      this.#reading = true;
      ctx.hook({
        event: "read.start",
        path: this.path,
        streamId: stream.streamId,
        worker: ctx.worker,
        session: this.id,
        peer: this.conn.peerHost,
        transport: this.transport === "udp" ? "udp" : "tcp",
        user: this.user,
      });
    }
  }

  /** PAUSE: stops sending; PLAY resumes at the newest GOP. */
  pause(): void {
    this.stream.unsubscribe(this);
    this.#stopSink();
    this.enter("prePlay");
  }

  /** Stops the sink and closes its reader: the rings it held may go back to main.ts's pool. */
  #stopSink(): void {
    const sink = this.sink;
    this.sink = null;
    if (sink === null) return;
    sink.stop();
    sink.reader.close();
  }

  /** StreamSubscriber: the ring moved. */
  // hot path: no allocation
  wake(writePos: number): void {
    const sink = this.sink;
    if (sink === null) return;
    const r = sink.reader;
    if (!sink.wake(writePos)) {
      this.conn.close(`slow viewer dropped: ${r.dropReason}`);
      return;
    }
    if (r.lastSkip !== null) {
      this.log.info(`slow viewer: ${r.lastSkip}`);
      r.lastSkip = null;
    }
  }

  /** StreamSubscriber: the publisher left; what it published still reaches the viewer, then it closes. */
  streamEnded(): void {
    this.conn.closeAfterDrain("stream ended: the publisher left", STREAM_END_DRAIN_MS);
  }

  /** An interleaved frame from the viewer: RTCP on the odd channel after one of its tracks' RTP channel. */
  frame(channel: number, buf: Uint8Array, start: number, end: number): boolean {
    if (this.sink === null) return false;
    for (const [t, ch] of this.channels) if (ch + 1 === channel) this.#rtcp(t, buf, start, end);
    return false;
  }

  flush(): void {}

  /** A datagram from the viewer's RTCP port (its receiver reports, which also keep it alive). */
  udpDatagram(track: number, buf: Uint8Array, start: number, end: number): void {
    this.conn.lastSeen = performance.now();
    this.udpBytesIn += end - start;
    this.conn.ctx.stats.bytesIn += end - start;
    if (track < 0) this.#rtcp(-1 - track, buf, start, end);
  }

  /** The viewer's RTCP about `track`: its report blocks become its reception figures. */
  #rtcp(track: number, buf: Uint8Array, start: number, end: number): void {
    const packets = this.parseRtcp(buf, start, end);
    if (packets === null || this.sink === null) return;
    const s = this.stream;
    // Reports are taken only while playing: SSRCs come from the ring the sink's reader holds.
    this.reception ??= new ViewerReception(this, s.info.tracks, this.channels.keys());
    this.reception.receive(track, packets, wallClockMs(), performance.now());
  }

  /** The ring the playing sink's reader is on, else the stream's (ViewerReception reads SSRCs there). */
  get ring(): SharedRing {
    return this.sink?.reader.ring ?? this.stream.ring;
  }

  protected released(reason: string): void {
    this.stream.unsubscribe(this);
    this.#stopSink();
    this.#prepared?.close();
    this.#prepared = null;
    if (!this.#reading) return;
    const ctx = this.conn.ctx;
    ctx.hook({
      event: "read.stop",
      path: this.path,
      streamId: this.stream.streamId,
      worker: ctx.worker,
      session: this.id,
      peer: this.conn.peerHost,
      reason,
    });
  }
}

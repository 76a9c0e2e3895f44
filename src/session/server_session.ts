import type { Logger } from "../log/logger.ts";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import type { LocalStream, StreamSubscriber } from "../stream/local_stream.ts";
import { StreamIngest } from "../stream/ingest.ts";
import { Continuity, trackEnds } from "../stream/continuity.ts";
import type { StreamInfo } from "../stream/stream_info.ts";
import { RingViewer } from "./ring_viewer.ts";
import type { RtspConnection } from "./rtsp_connection.ts";
import { UdpIngest, UdpSender } from "./udp_media.ts";
import { udpKey } from "../net/udp_endpoint.ts";
import { parseRtcpCompound } from "../rtcp/compound.ts";
import { PublisherClock, wallClockMs } from "../stream/publisher_clock.ts";
import { passClock } from "../stream/pass_clock.ts";
import { SenderReports } from "./sender_reports.ts";
import { rtcpRoute } from "./udp_ports.ts";
import { ViewerReception } from "./viewer_reception.ts";

/** How long a viewer of an ended stream may take to receive the rest before it is closed. */
const STREAM_END_DRAIN_MS = 2000;

/** RFC 2326 Appendix A, as a publisher (announced → preRecord → record) or a viewer (prePlay ↔ play). */
export type SessionState = "initial" | "announced" | "preRecord" | "record" | "prePlay" | "play";

/** What ANNOUNCE told us about a stream to be published. */
export interface Announced {
  sdp: string;
  info: StreamInfo;
  /** URL the ANNOUNCE was sent to; the publisher's relative controls resolve against it. */
  baseUrl: string;
}

/** One RTSP session, owned by the connection that created it. */
export class ServerSession implements StreamSubscriber {
  streamSlot = -1;
  readonly id: string;
  readonly conn: RtspConnection;
  state: SessionState = "initial";
  path: string | null = null;
  /** The user the session authenticated as; null when its path needs no credentials. */
  user: string | null = null;
  /** Whether a response has carried the id (from SETUP on), so later ones repeat it. */
  idSent = false;
  readonly advertisedTimeoutSec: number;
  /** When the session was made (Date.now()), and what it moved over UDP, for the API's session list. */
  readonly created = Date.now();
  udpBytesIn = 0;
  udpBytesOut = 0;

  // Publisher side.
  announced: Announced | null = null;
  claimed = false;
  #publisherChannels: Map<number, number> | null = null;
  ingest: StreamIngest | null = null;
  streamId = 0;
  /** The stream's NTP↔RTP mapping from this publisher's packets and Sender Reports (from RECORD). */
  clock: PublisherClock | null = null;

  /** Lower transport, fixed by the first SETUP: one per session. */
  transport: "tcp" | "udp" | null = null;
  /** UDP: track → the client's RTP/RTCP ports (publisher or viewer). */
  udpClientPorts: Map<number, [number, number]> | null = null;
  #udpSender: UdpSender | null = null;
  #udpIngest: UdpIngest | null = null;
  #udpRoutes: number[] = [];

  // Viewer side.
  stream: LocalStream | null = null;
  /** Track → RTP interleaved channel the viewer asked for. */
  readonly viewerChannels = new Map<number, number>();
  viewer: RingViewer | null = null;
  /** What the viewer's RTCP receiver reports say (made at the first one). */
  reception: ViewerReception | null = null;

  /** Interleaved channel → track for the publisher's RTP; RTCP channels map to -1. Made on first use. */
  get publisherChannels(): Map<number, number> {
    return this.#publisherChannels ??= new Map();
  }

  #ended = false;
  #batchTime = 0;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, conn: RtspConnection) {
    this.id = id;
    this.conn = conn;
    // Advertise less than the real timeout: some clients ping exactly at the deadline (RTSP-NOTES 7).
    this.advertisedTimeoutSec = Math.max(1, Math.floor(conn.ctx.config.sessionTimeoutMs / 1000) - 5);
  }

  /**
   * Logger whose lines name the peer, the session and (once known) the path; built per use, not
   * kept: a session logs a few lines in its life, and a kept logger costs memory per viewer.
   */
  get log(): Logger {
    const l = this.conn.log.child(`session ${this.id}`);
    return this.path === null ? l : l.child(`path ${this.path}`);
  }

  /** Sets the path once known; log lines name it from then on. */
  setPath(path: string): void {
    this.path = path;
  }

  /** Whether this session publishes (ANNOUNCE seen). */
  get isPublisher(): boolean {
    return this.announced !== null;
  }

  /**
   * An interleaved frame from the peer: RTP of a publishing session goes into the ring (returns
   * true, visible at flush()); RTCP (the odd channel of a pair) is read and used, never relayed.
   */
  // hot path: no allocation
  frame(channel: number, buf: Uint8Array, start: number, end: number): boolean {
    const ingest = this.ingest;
    if (ingest === null) {
      if (this.viewer !== null) {
        for (const [t, ch] of this.viewerChannels) if (ch + 1 === channel) this.#rtcp(t, buf, start, end);
      }
      return false;
    }
    const track = this.publisherChannels.get(channel);
    if (track === undefined) return false;
    if (track < 0) {
      this.#rtcp(this.publisherChannels.get(channel - 1) ?? -1, buf, start, end);
      return false;
    }
    if (this.#batchTime === 0) this.#batchTime = performance.now() | 0;
    ingest.packet(buf, start, end, track, this.#batchTime);
    this.conn.ctx.stats.packetsIn++;
    return true;
  }

  /**
   * Publishes the packets ingested since the last flush, at an access-unit boundary: in the middle
   * of a video frame it waits for the frame's last packet, at most config.ingest.maxFrameHoldMs
   * (for cameras that never set the marker bit); audio alone waits for the next video frame, at
   * most config.ingest.maxAudioHoldMs.
   */
  flush(): void {
    const ingest = this.ingest;
    if (ingest === null) return;
    const cfg = this.conn.ctx.config.ingest;
    const hold = ingest.midFrame ? cfg.maxFrameHoldMs : ingest.withoutVideo ? cfg.maxAudioHoldMs : 0;
    if (hold > 0) {
      if (this.#holdTimer === undefined) this.#holdTimer = setTimeout(() => this.#flushHeld(), hold);
      return;
    }
    this.#publish();
  }

  #flushHeld(): void {
    this.#holdTimer = undefined;
    if (this.ingest !== null) this.#publish();
  }

  #publish(): void {
    if (this.#holdTimer !== undefined) {
      clearTimeout(this.#holdTimer);
      this.#holdTimer = undefined;
    }
    const ingest = this.ingest!;
    ingest.flush(this.#batchTime === 0 ? performance.now() | 0 : this.#batchTime);
    this.#batchTime = 0;
    const bad = ingest.invalidPackets;
    if (bad > 0) {
      this.conn.ctx.stats.invalidPackets += bad;
      ingest.invalidPackets = 0;
      this.log.warn(`dropped ${bad} interleaved frames that are not RTP`);
    }
  }

  /** RECORD, before the directory answers: a ring for the stream (dropped if it continues another). */
  newRing(): SharedRing {
    const cfg = this.conn.ctx.config;
    return SharedRing.create(cfg.ring.slots, cfg.ring.bytes, this.announced!.info.tracks.length);
  }

  /**
   * RECORD accepted: packets go into `ring`, this session's new one, or the ring of the stream it
   * continues (`continued`: its previous publisher left at leftAtMs, see Continuity).
   */
  startRecording(ring: SharedRing, continued?: { leftAtMs: number }): void {
    const cfg = this.conn.ctx.config;
    const info = this.announced!.info;
    if (continued === undefined) {
      this.ingest = new StreamIngest(new RingWriter(ring), info, cfg.viewer.audioStartWindowMs);
    } else {
      const ends = trackEnds(ring, info.tracks.map((t) => t.clockRate));
      // Packets are rewritten to the continued stream's payload types: read them with its SDP.
      const served = this.conn.ctx.directory.get(this.path!)?.info ?? info;
      this.ingest = new StreamIngest(RingWriter.resume(ring), served, cfg.viewer.audioStartWindowMs);
      this.ingest.continueFrom(new Continuity(ends, continued.leftAtMs));
    }
    const cont = this.ingest.continuity;
    this.clock = new PublisherClock(
      ring,
      info.tracks.map((t) => t.clockRate),
      cont === null ? null : (t) => cont.timestampOffset(t),
    );
    this.ingest.writer.clock = this.clock;
    this.state = "record";
    if (this.transport === "udp") {
      this.#udpIngest = new UdpIngest(
        this.ingest,
        info.tracks.length,
        cfg.udp.reorderPackets,
        cfg.udp.reorderMs,
        this.conn.ctx.stats,
        () => this.flush(),
      );
      const host = this.conn.peerHost;
      for (const [track, p] of this.udpClientPorts!) {
        this.#route(udpKey(host, p[0]), track);
        this.#route(udpKey(host, p[1]), rtcpRoute(track));
      }
    }
  }

  /** PLAY: starts sending from the newest GOP. The PLAY response must already be queued. */
  startPlaying(): void {
    const stream = this.stream!;
    this.state = "play";
    if (this.transport === "udp") {
      const udp = this.conn.ctx.udp!;
      const host = this.conn.peerHost;
      const to = Array.from({ length: stream.ring.trackCount }, (_, t) => {
        const p = this.udpClientPorts!.get(t);
        return p === undefined ? null : udp.address(host, p[0]);
      });
      // The viewer's receiver reports keep the session alive.
      for (const [t, p] of this.udpClientPorts!) this.#route(udpKey(host, p[1]), rtcpRoute(t));
      this.#udpSender = new UdpSender(this.viewer!, udp.rtp, to, this.conn.ctx.stats, this);
      const rtcpTo = Array.from({ length: stream.ring.trackCount }, (_, t) => {
        const p = this.udpClientPorts!.get(t);
        return p === undefined ? null : udp.address(host, p[1]);
      });
      this.#udpSender.rtcp = { reports: this.#senderReports(), ep: udp.rtcp, to: rtcpTo };
      stream.subscribe(this);
      this.#udpSender.send();
      udp.flush();
      return;
    }
    this.conn.writer.source = this.viewer;
    this.#reports = this.#senderReports();
    // Queued before the first chunk: the reports of tracks with packets precede the GOP burst.
    this.#queueReports(performance.now());
    stream.subscribe(this);
    this.conn.writer.kick();
  }

  /** TCP viewer: its Sender Reports, queued between chunks (see wake). */
  #reports: SenderReports | null = null;

  /**
   * Queues the viewer's Sender Reports as a control message: the write queue sends those between
   * media chunks and before the next one, so each report precedes the packets it does not count.
   * Dropped, not queued, when the viewer does not read (its control queue is full).
   */
  #queueReports(now: number): void {
    const r = this.#reports!;
    if (r.writeInterleaved(now, this.viewerChannels) === 0) return;
    this.conn.writer.sendControl(r.buffer);
    r.release();
  }

  /** The viewer's Sender Reports (PLAY). */
  #senderReports(): SenderReports {
    const s = this.stream!;
    const stats = this.conn.ctx.stats;
    return new SenderReports(
      s.ring,
      s.info.tracks,
      this.viewerChannels.keys(),
      this.viewer!,
      s.streamId,
      stats,
    );
  }

  /**
   * RTCP from the peer about `track`: a publisher's Sender Reports set the stream's clock mapping,
   * a viewer's report blocks its reception figures. Nothing is forwarded either way.
   */
  #rtcp(track: number, buf: Uint8Array, start: number, end: number): void {
    const stats = this.conn.ctx.stats;
    const packets = parseRtcpCompound(buf, start, end);
    if (packets === null) {
      stats.rtcpInvalid++;
      return;
    }
    stats.rtcpIn++;
    if (this.clock !== null) {
      this.clock.receive(track, packets);
      return;
    }
    const s = this.stream;
    if (this.viewer === null || s === null) return;
    this.reception ??= new ViewerReception(s.ring, s.info.tracks, this.viewerChannels.keys());
    this.reception.receive(track, packets, wallClockMs(), performance.now());
  }

  /** Sends datagrams from `key` to this session (rtcpRoute(track): RTCP about that track). */
  #route(key: number, track: number): void {
    const udp = this.conn.ctx.udp;
    if (udp === null || key < 0) return;
    if (udp.addRoute(key, { session: this, track })) this.#udpRoutes.push(key);
    else this.log.warn(`UDP source port ${key % 65536} is already used by another session`);
  }

  /** A datagram routed to this session: a UDP publisher's RTP, or RTCP (which also keeps it alive). */
  udpDatagram(track: number, buf: Uint8Array, start: number, end: number): void {
    this.conn.lastSeen = performance.now();
    this.udpBytesIn += end - start;
    this.conn.ctx.stats.bytesIn += end - start;
    if (track < 0) {
      this.#rtcp(-1 - track, buf, start, end);
      return;
    }
    const ui = this.#udpIngest;
    if (ui === null) return;
    this.conn.ctx.stats.packetsIn++;
    ui.rtp(track, buf, start, end);
  }

  /** Tracks a publisher has set up, on either transport. */
  publisherTracksSetUp(): number {
    let n = this.udpClientPorts?.size ?? 0;
    for (const t of this.publisherChannels.values()) if (t >= 0) n++;
    return n;
  }

  /** Creates the viewer cursor (at the newest GOP) for PLAY; its RTP-Info describes where it starts. */
  prepareViewer(): RingViewer {
    const cfg = this.conn.ctx.config.viewer;
    const ring = this.stream!.ring;
    const v = new RingViewer(ring, this.viewerChannels, {
      maxWriteBytes: cfg.maxWriteBytes,
      skipLagBytes: Math.floor(ring.dataBytes * cfg.skipLagPercent / 100),
      dropLagBytes: Math.floor(ring.dataBytes * cfg.dropLagPercent / 100),
    }, this.conn.ctx.stats);
    this.viewer = v;
    return v;
  }

  /** PAUSE: stops sending; PLAY resumes at the newest GOP. */
  pause(): void {
    if (this.state !== "play") return;
    this.stream?.unsubscribe(this);
    this.conn.writer.source = null;
    this.viewer = null;
    this.#udpSender = null;
    this.state = "prePlay";
  }

  /** StreamSubscriber: the ring moved. */
  // hot path: no allocation
  wake(writePos: number): void {
    const v = this.viewer;
    if (v === null) return;
    const us = this.#udpSender;
    if (us !== null) {
      us.send();
      if (v.lastSkip !== null) {
        this.log.info(`slow viewer: ${v.lastSkip}`);
        v.lastSkip = null;
      }
      return;
    }
    if (!v.safe(writePos)) {
      this.conn.close(`slow viewer dropped: ${v.dropReason}`);
      return;
    }
    // Once per viewer and pass: one comparison, and one bit test once every track had its first report.
    const r = this.#reports;
    if (r !== null && (r.due(passClock.now) || r.firstOwed())) this.#queueReports(passClock.now);
    this.conn.writer.kick();
    if (v.lastSkip !== null) {
      this.log.info(`slow viewer: ${v.lastSkip}`);
      v.lastSkip = null;
    }
  }

  /** StreamSubscriber: the publisher left; what it published still reaches the viewer, then it closes. */
  streamEnded(): void {
    this.conn.closeAfterDrain("stream ended: the publisher left", STREAM_END_DRAIN_MS);
  }

  /** Releases everything the session holds; idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const dir = this.conn.ctx.directory;
    if (this.stream !== null) this.stream.unsubscribe(this);
    this.viewer = null;
    this.#udpSender = null;
    if (this.#udpRoutes.length > 0) this.conn.ctx.udp?.removeRoutes(this, this.#udpRoutes);
    this.#udpRoutes = [];
    this.#udpIngest?.close();
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (this.ingest !== null) {
      // Publish what is pending; the directory ends the stream, or keeps it for a new publisher.
      this.ingest.detach();
      const lost = this.#udpIngest === null ? "" : `, ${this.#udpIngest.lost} lost on UDP`;
      this.log.info(`publisher left (${reason}); ${this.ingest.writer.packets} packets relayed${lost}`);
    }
    if (this.claimed && this.path !== null) dir.release(this.path, this.id);
    this.claimed = false;
  }
}

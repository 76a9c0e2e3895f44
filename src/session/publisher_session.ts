import { MEDIA_READ_BYTES } from "../net/read_buffer.ts";
import { udpKey } from "../net/udp_endpoint.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import { feedSizing, StreamFeed } from "../stream/stream_feed.ts";
import type { StreamInfo } from "../stream/stream_info.ts";
import { RtspSession } from "./rtsp_session.ts";
import type { SessionHost } from "./session_host.ts";
import { UdpIngest } from "./udp_ingest.ts";
import { RATE_WINDOW_MS } from "../stream/rate_meter.ts";
import { rtcpRoute } from "./udp_ports.ts";

/** What ANNOUNCE told us about a stream to be published. */
export interface Announced {
  sdp: string;
  info: StreamInfo;
  /** URL the ANNOUNCE was sent to; the publisher's relative controls resolve against it. */
  baseUrl: string;
}

/**
 * The publisher side of a session: ANNOUNCE made it, SETUP gives each announced track an
 * interleaved channel pair or UDP client ports, RECORD starts its StreamFeed into the stream's ring.
 * Its RTP goes into the feed; its RTCP (the odd channel of a pair, or its RTCP port) sets the
 * stream's clock mapping and is never relayed.
 */
export class PublisherSession extends RtspSession {
  readonly role = "publish";
  readonly announced: Announced;
  /** Whether the directory reserved the path for this session (released at the end). */
  claimed = false;
  /** Interleaved channel -> track for the publisher's RTP; RTCP channels map to -1. */
  readonly channels = new Map<number, number>();
  /** From RECORD: where the packets go. */
  feed: StreamFeed | null = null;
  streamId = 0;
  #udpIngest: UdpIngest | null = null;
  /** When RECORD started feeding the ring (performance.now()); 0 before. */
  #recordingSince = 0;

  constructor(conn: SessionHost, path: string, user: string | null, announced: Announced) {
    super(conn, path, user);
    this.announced = announced;
    this.enter("announced");
  }

  /**
   * What the publisher sent over the last RATE_WINDOW_MS, in kbit/s, once it has recorded that
   * long (a start's keyframe burst is averaged in, not judged alone); -1 before.
   */
  sustainedKbps(nowMs: number): number {
    const feed = this.feed;
    if (feed === null || this.#recordingSince === 0 || nowMs - this.#recordingSince < RATE_WINDOW_MS) {
      return -1;
    }
    return feed.ingest.rate.perSecond(nowMs, feed.ingest.writer.bytes) * 8 / 1000;
  }

  /** Tracks set up, on either transport. */
  tracksSetUp(): number {
    let n = this.udpClientPorts?.size ?? 0;
    for (const t of this.channels.values()) if (t >= 0) n++;
    return n;
  }

  /** Whether `track` has been set up already. */
  hasTrack(track: number): boolean {
    for (const t of this.channels.values()) if (t === track) return true;
    return this.udpClientPorts?.has(track) ?? false;
  }

  // hot path: no allocation
  frame(channel: number, buf: Uint8Array, start: number, end: number): boolean {
    const feed = this.feed;
    if (feed === null) return false;
    const track = this.channels.get(channel);
    if (track === undefined) return false;
    if (track < 0) {
      this.#rtcp(this.channels.get(channel - 1) ?? -1, buf, start, end);
      return false;
    }
    feed.packet(track, buf, start, end);
    this.conn.ctx.stats.packetsIn++;
    return true;
  }

  flush(): void {
    this.feed?.flush();
  }

  /**
   * RECORD accepted (streamId set): packets go into `ring`, the new stream's first, or the ring of
   * the stream it continues (`continued`: its previous publisher left at leftAtMs, see
   * stream/continuity.ts); the ring is sized to the stream from then on (ring/ring_sizer.ts).
   */
  startRecording(ring: SharedRing, continued?: { leftAtMs: number }): void {
    const ctx = this.conn.ctx;
    const info = this.announced.info;
    const feed = this.feed = new StreamFeed(ring, {
      info,
      holds: () => ctx.config.ingest,
      audioStartWindowMs: ctx.config.viewer.audioStartWindowMs,
      onInvalid: (n) => {
        ctx.stats.invalidPackets += n;
        this.log.warn(`dropped ${n} interleaved frames that are not RTP`);
      },
      continued: continued === undefined
        ? undefined
        : { served: ctx.directory.get(this.path)?.info ?? info, leftAtMs: continued.leftAtMs },
      sizing: feedSizing(ctx.config.ring, this.streamId, ctx.directory),
    });
    this.enter("record");
    this.#recordingSince = performance.now();
    if (this.transport !== "udp") {
      this.conn.expectMedia(MEDIA_READ_BYTES);
      return;
    }
    const cfg = ctx.config.udp;
    this.#udpIngest = new UdpIngest(
      feed.ingest,
      info.tracks.length,
      cfg.reorderPackets,
      cfg.reorderMs,
      ctx.stats,
      () => feed.flush(),
    );
    const host = this.conn.peerHost;
    for (const [track, p] of this.udpClientPorts!) {
      this.route(udpKey(host, p[0]), track);
      this.route(udpKey(host, p[1]), rtcpRoute(track));
    }
  }

  /** A datagram from the publisher's ports: RTP of a track, or RTCP (which also keeps it alive). */
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

  /** The publisher's RTCP about `track`: its Sender Reports set the stream's clock mapping. */
  #rtcp(track: number, buf: Uint8Array, start: number, end: number): void {
    const packets = this.parseRtcp(buf, start, end);
    if (packets !== null) this.feed?.rtcp(track, packets);
  }

  protected released(reason: string): void {
    this.#udpIngest?.close();
    const feed = this.feed;
    if (feed !== null) {
      // Publish what is pending; the directory ends the stream, or keeps it for a new publisher.
      feed.detach();
      const lost = this.#udpIngest === null ? "" : `, ${this.#udpIngest.lost} lost on UDP`;
      this.log.info(`publisher left (${reason}); ${feed.ingest.writer.packets} packets relayed${lost}`);
    }
    if (this.claimed) this.conn.ctx.directory.release(this.path, this.id);
    this.claimed = false;
  }
}

/**
 * A viewer's RTCP Sender Reports, one per set-up track (RFC 3550 §6.4.1): SSRC as in the track's
 * packets, NTP = now on the server's clock, the track's RTP timestamp at that instant from the
 * stream's shared mapping (stream/publisher_clock.ts), and the packets and payload octets this
 * viewer was sent of the track; each in a compound packet with an SDES CNAME (§6.1), one CNAME per
 * stream so players know the tracks belong together.
 *
 * When: the first batch before the viewer's first packet (the PLAY response, then the reports,
 * then the GOP burst), a track that gets its first packet later gets its report before that packet,
 * then every SENDER_REPORT_INTERVAL_MS. Built into one buffer per viewer, a few times a minute.
 *
 * @module
 */
import { MAX_TRACKS } from "../ring/ring_layout.ts";
import { CLOCK_SOURCE_NONE } from "../ring/ring_layout.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import {
  type ClockMapping,
  clockSsrc,
  newClockMapping,
  readClockMapping,
  rtpTimestampAt,
} from "../ring/track_clock.ts";
import { ntpFraction, ntpSeconds, unixMsFromNtp } from "../rtcp/ntp_time.ts";
import { SDES_ITEM, type SdesChunk, writeSdes } from "../rtcp/sdes.ts";
import { SENDER_REPORT_BYTES, type SenderReport, writeSenderReport } from "../rtcp/sender_report.ts";
import type { UdpAddress, UdpEndpoint } from "../net/udp_endpoint.ts";
import { wallClockMs } from "../stream/publisher_clock.ts";

/**
 * How often a viewer gets a Sender Report per track. RFC 3550 §6.2 has 5 s as the minimum RTCP
 * interval; players sync from the first report, later ones follow clock drift. A named constant,
 * not (yet) a config key.
 */
export const SENDER_REPORT_INTERVAL_MS = 5000;

/** Packets and payload octets a viewer was sent, per track (counted as runs are written or sent). */
export interface SentCounts {
  readonly sentPackets: number[];
  readonly sentOctets: number[];
  /** Brings the counts up to date when they are kept in batches (TCP viewers). */
  syncCounts?(): void;
}

/** The CNAME dm-live gives a stream's tracks in its Sender Reports. */
export function streamCname(streamId: number): string {
  return `dm-live-stream-${streamId}`;
}

/** Most bytes of one track's SR + SDES CNAME (a CNAME of up to 32 ASCII bytes). */
const COMPOUND_BYTES = SENDER_REPORT_BYTES + 4 + Math.ceil((4 + 2 + 32 + 1) / 4) * 4;

/** What the reports need of a stream's tracks (stream_info.ts's TrackInfo has it). */
export interface ReportedTrack {
  readonly clockRate: number;
}

// Scratch shared by every viewer of the worker: a report is built and written in one go.
const mapping: ClockMapping = newClockMapping();
const sr: SenderReport = {
  ssrc: 0,
  ntpSeconds: 0,
  ntpFraction: 0,
  rtpTimestamp: 0,
  packetCount: 0,
  octetCount: 0,
  reports: [],
};
const sdes: SdesChunk[] = [{ ssrc: 0, items: [{ type: SDES_ITEM.CNAME, text: "" }] }];
/** Datagrams are copied (or sent) at once, so UDP viewers share one buffer. */
let datagram: Uint8Array | null = null;
/** TCP reports are built here, then copied out at their exact size (see #buf). */
const tcpScratch = new Uint8Array((4 + COMPOUND_BYTES) * MAX_TRACKS);

export class SenderReports {
  /** The ring to read clock mappings and SSRCs from: the viewer's reader's (it follows the stream's moves). */
  readonly #src: { readonly ring: SharedRing };
  readonly #info: readonly ReportedTrack[];
  /** Bit t: track t is set up (a number, not an array: this object exists per viewer). */
  readonly #trackMask: number;
  readonly #counts: SentCounts;
  readonly #streamId: number;
  readonly #totals: { senderReports: number };
  /** Bit t: track t has not had its first report yet. */
  #pendingFirst = 0;
  #nextDue = 0;
  /**
   * TCP: the frames last built, until the caller has queued them (release()): a buffer per report
   * rather than one kept per viewer, which at 19,000 viewers cost more memory than reports every 5 s
   * cost garbage.
   */
  #buf: Uint8Array | null = null;
  /** Sender Reports sent so far. */
  sent = 0;

  /**
   * tracks: the viewer's set-up tracks; info: every track of the stream; counts: what it was sent;
   * totals.senderReports adds up the reports of every viewer of the worker.
   */
  constructor(
    ring: { readonly ring: SharedRing },
    info: readonly ReportedTrack[],
    tracks: Iterable<number>,
    counts: SentCounts,
    streamId: number,
    totals: { senderReports: number } = { senderReports: 0 },
  ) {
    this.#totals = totals;
    this.#src = ring;
    this.#info = info;
    let mask = 0;
    for (const t of tracks) mask |= 1 << t;
    this.#trackMask = mask;
    this.#counts = counts;
    this.#streamId = streamId;
    // A track without a clock rate gets no reports (there is no RTP time to give).
    for (let t = 0; t < info.length; t++) {
      if ((mask & (1 << t)) !== 0 && info[t]?.clockRate > 0) this.#pendingFirst |= 1 << t;
    }
  }

  /** The frames writeInterleaved() built last. */
  get buffer(): Uint8Array {
    return this.#buf!;
  }

  /** The frames of `buffer` were written: let the buffer go. */
  release(): void {
    this.#buf = null;
  }

  /** Whether the interval since the last batch has passed (performance.now() time). */
  due(now: number): boolean {
    return now >= this.#nextDue;
  }

  /**
   * Whether a track still without its first report has packets now: the report must go before the
   * next chunk, which may hold its first one.
   */
  // hot path: one comparison once every track had its first report
  firstOwed(): boolean {
    const p = this.#pendingFirst;
    if (p === 0) return false;
    for (let t = 0; t < this.#info.length; t++) {
      if ((p & (1 << t)) !== 0 && this.#src.ring.trackLastSeq(t) !== undefined) return true;
    }
    return false;
  }

  /** Whether track t waits for its first report. */
  // hot path: no allocation
  owesFirst(track: number): boolean {
    return (this.#pendingFirst & (1 << track)) !== 0;
  }

  /**
   * TCP: the reports of every set-up track that has a mapping and a packet, each as an interleaved
   * frame on the odd channel after its RTP channel, into buffer[0..n); returns n (0: none yet).
   */
  writeInterleaved(nowPerf: number, rtpChannels: ReadonlyMap<number, number>): number {
    const wall = wallClockMs();
    this.#counts.syncCounts?.();
    const b = tcpScratch;
    let n = 0;
    for (let t = 0; t < this.#info.length; t++) {
      if ((this.#trackMask & (1 << t)) === 0) continue;
      const len = this.#writeCompound(t, wall, b, n + 4);
      if (len === 0) continue;
      b[n] = 0x24;
      b[n + 1] = (rtpChannels.get(t) ?? 2 * t) + 1;
      b[n + 2] = len >> 8;
      b[n + 3] = len & 0xff;
      n += 4 + len;
    }
    this.#nextDue = nowPerf + SENDER_REPORT_INTERVAL_MS;
    this.#buf = n === 0 ? null : b.slice(0, n);
    return n;
  }

  /**
   * UDP: each set-up track's report (with a mapping and a packet) as one datagram to its RTCP
   * address; returns the bytes handed to the socket.
   */
  sendDatagrams(nowPerf: number, ep: UdpEndpoint, to: readonly (UdpAddress | null)[]): number {
    const wall = wallClockMs();
    this.#counts.syncCounts?.();
    const b = datagram ??= new Uint8Array(COMPOUND_BYTES);
    let bytes = 0;
    for (let t = 0; t < this.#info.length; t++) {
      if ((this.#trackMask & (1 << t)) === 0) continue;
      const dest = to[t];
      if (dest === null || dest === undefined) continue;
      const len = this.#writeCompound(t, wall, b, 0);
      if (len > 0 && ep.send(b, 0, len, dest)) bytes += len;
    }
    this.#nextDue = nowPerf + SENDER_REPORT_INTERVAL_MS;
    return bytes;
  }

  /** SR + SDES of track t at buf[off..]; its length, or 0 when the track has no mapping or packet yet. */
  #writeCompound(t: number, wallMs: number, buf: Uint8Array, off: number): number {
    const ring = this.#src.ring;
    const rate = this.#info[t]?.clockRate;
    if (!(rate > 0) || ring.trackLastSeq(t) === undefined) return 0;
    // Tried once the track has packets: should the mapping be unreadable, the next interval retries.
    this.#pendingFirst &= ~(1 << t);
    if (!readClockMapping(ring.header, t, mapping) || mapping.source === CLOCK_SOURCE_NONE) return 0;
    sr.ssrc = clockSsrc(ring.header, t);
    sr.ntpSeconds = ntpSeconds(wallMs);
    sr.ntpFraction = ntpFraction(wallMs);
    sr.rtpTimestamp = rtpTimestampAt(
      mapping,
      unixMsFromNtp(mapping.ntpSeconds, mapping.ntpFraction),
      wallMs,
      rate,
    );
    sr.packetCount = this.#counts.sentPackets[t] >>> 0;
    sr.octetCount = this.#counts.sentOctets[t] % 2 ** 32;
    let n = writeSenderReport(sr, buf, off);
    sdes[0].ssrc = sr.ssrc;
    sdes[0].items[0].text = streamCname(this.#streamId);
    n += writeSdes(sdes, buf, off + n);
    this.sent++;
    this.#totals.senderReports++;
    return n;
  }
}

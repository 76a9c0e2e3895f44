import { FRAME_HEADER_BYTES, SLOT_FLAG_OVERHEAD_SHIFT, SLOT_FLAG_TRACK_MASK } from "../ring/ring_layout.ts";
import type { RingReader } from "../ring/ring_reader.ts";
import { passClock } from "../stream/pass_clock.ts";
import type { UdpAddress, UdpEndpoint } from "../net/udp_endpoint.ts";
import type { SenderReports, SentCounts } from "./sender_reports.ts";
import type { ViewerSink } from "./viewer_sink.ts";

/** What a UDP viewer's sending counts: the worker's totals, and this viewer's bytes alone. */
export interface UdpSinkCounters {
  bytesOut: number;
  udpSendDrops: number;
}

/** Where a UDP viewer's datagrams go: per track its RTP address, and its RTCP address for reports. */
export interface UdpSinkOutput {
  /** The worker's RTP port, and each track's destination (null when the track is not set up). */
  readonly rtp: UdpEndpoint;
  readonly rtpTo: readonly (UdpAddress | null)[];
  /** The worker's RTCP port, and each track's RTCP destination. */
  readonly rtcp: UdpEndpoint;
  readonly rtcpTo: readonly (UdpAddress | null)[];
  /** Makes the viewer's Sender Reports over what this sink counts. */
  readonly reports: (counts: SentCounts) => SenderReports;
  /** Sends what the endpoints batched (udp.batchSends); a wake's batches go at the end of its slice. */
  readonly flush: () => void;
}

/**
 * A UDP viewer's packets: each packet the reader hands out leaves as one datagram (the ring's `$`
 * header left off) to the client's RTP port of its track, from the worker's RTP port, straight
 * from the shared memory. A packet the writer evicted before it is queued is skipped, never sent
 * torn. With udp.batchSends the datagrams point into the ring until the slice's flush: the stream
 * keeps a ring its readers leave meanwhile until then (LocalStream); a reader is dropped past the
 * drop lag, so the writer would have to write the rest of the ring (25 % by default) within one
 * slice (a few ms) to overwrite a queued datagram.
 */
export class UdpSink implements SentCounts, ViewerSink {
  readonly reader: RingReader;
  readonly #out: UdpSinkOutput;
  readonly #counters: UdpSinkCounters;
  readonly #session: { udpBytesOut: number };
  #reports: SenderReports | null = null;
  packetsSent = 0;
  /** Per track: RTP packets and payload octets sent, for this viewer's Sender Reports. */
  readonly sentPackets: number[];
  readonly sentOctets: number[];

  /** counters are the worker's; session.udpBytesOut counts this viewer's bytes alone. */
  constructor(
    reader: RingReader,
    out: UdpSinkOutput,
    counters: UdpSinkCounters,
    session: { udpBytesOut: number },
  ) {
    this.reader = reader;
    this.#out = out;
    this.#counters = counters;
    this.#session = session;
    this.sentPackets = new Array<number>(reader.ring.trackCount).fill(0);
    this.sentOctets = new Array<number>(reader.ring.trackCount).fill(0);
  }

  start(): void {
    this.#reports = this.#out.reports(this);
    this.#send();
    this.#out.flush();
  }

  // hot path: no allocation
  wake(_writePos: number): boolean {
    this.#send();
    return true;
  }

  stop(): void {
    this.#reports = null;
  }

  /** Sends everything published since the last call. */
  // hot path: no allocation (sendto from the ring by address). Per datagram only what differs per
  // datagram: the byte counters are summed here and stored once per wake.
  #send(): void {
    const r = this.reader;
    const reports = this.#reports;
    if (reports === null) return;
    if (reports.due(passClock.now)) this.#sendReports();
    const ep = this.#out.rtp;
    const dest = this.#out.rtpTo;
    const sentPackets = this.sentPackets;
    const sentOctets = this.sentOctets;
    let bytesOut = 0;
    let drops = 0;
    while (r.ready()) {
      // ready() may have moved the reader to the stream's next ring.
      const ring = r.ring;
      const data = ring.data;
      const from = r.pos;
      const to = r.head;
      this.packetsSent += (to - from) | 0;
      r.advance(to);
      for (let seq = from; seq !== to; seq = (seq + 1) | 0) {
        const flags = ring.slotFlags(seq);
        const track = flags & SLOT_FLAG_TRACK_MASK;
        const addr = dest[track];
        if (addr === null || addr === undefined) continue;
        // Checked per datagram: with batchSends off each one leaves at once, so one the writer
        // evicts during this loop is skipped, not sent torn.
        if (!r.intact(seq)) continue;
        // A track's first packet goes after its first Sender Report.
        if (reports.owesFirst(track)) this.#sendReports();
        const off = ring.slotOffset(seq);
        const end = off + ring.slotLen(seq);
        const bytes = end - off - FRAME_HEADER_BYTES;
        if (ep.send(data, off + FRAME_HEADER_BYTES, end, addr)) {
          bytesOut += bytes;
          sentPackets[track]++;
          sentOctets[track] += bytes - (flags >>> SLOT_FLAG_OVERHEAD_SHIFT);
        } else {
          drops++;
        }
      }
    }
    if (bytesOut !== 0) {
      this.#counters.bytesOut += bytesOut;
      this.#session.udpBytesOut += bytesOut;
    }
    if (drops !== 0) this.#counters.udpSendDrops += drops;
  }

  #sendReports(): void {
    const n = this.#reports!.sendDatagrams(performance.now(), this.#out.rtcp, this.#out.rtcpTo);
    this.#counters.bytesOut += n;
    this.#session.udpBytesOut += n;
  }
}

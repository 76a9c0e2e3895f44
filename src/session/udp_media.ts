import { FRAME_HEADER_BYTES, SLOT_FLAG_OVERHEAD_SHIFT, SLOT_FLAG_TRACK_MASK } from "../ring/ring_layout.ts";
import { ReorderBuffer } from "../rtp/reorder_buffer.ts";
import { rtpPayloadStart } from "../rtp/rtp_header.ts";
import { passClock } from "../stream/pass_clock.ts";
import type { UdpAddress, UdpEndpoint } from "../net/udp_endpoint.ts";
import type { StreamIngest } from "../stream/ingest.ts";
import type { RingViewer } from "./ring_viewer.ts";
import type { SenderReports } from "./sender_reports.ts";

/** Counters a worker sums over its UDP sessions. */
export interface UdpCounters {
  bytesOut: number;
  udpSendDrops: number;
  udpLost: number;
  udpReordered: number;
  udpLate: number;
}

/**
 * A UDP viewer's sending: each packet the ring cursor hands out leaves as one datagram (the ring's
 * `$` header left off) to the client's RTP port of its track, from the worker's RTP port.
 */
export class UdpSender {
  readonly #viewer: RingViewer;
  readonly #ep: UdpEndpoint;
  /** Destination per track, null when the track is not set up. */
  readonly #to: (UdpAddress | null)[];
  readonly #counters: UdpCounters;
  readonly #session: { udpBytesOut: number };
  /** The viewer's Sender Reports, sent from `ep` (the worker's RTCP port) to each track's RTCP port. */
  rtcp: { reports: SenderReports; ep: UdpEndpoint; to: (UdpAddress | null)[] } | null = null;

  /** counters are the worker's; session.udpBytesOut counts this viewer's bytes alone. */
  constructor(
    viewer: RingViewer,
    ep: UdpEndpoint,
    to: (UdpAddress | null)[],
    counters: UdpCounters,
    session: { udpBytesOut: number },
  ) {
    this.#viewer = viewer;
    this.#ep = ep;
    this.#to = to;
    this.#counters = counters;
    this.#session = session;
  }

  /** Sends everything published since the last call. */
  // hot path: no allocation (sendto from the ring by address)
  send(): void {
    const v = this.#viewer;
    const ring = v.ring;
    const data = ring.data;
    const rtcp = this.rtcp;
    if (rtcp !== null && rtcp.reports.due(passClock.now)) this.#sendReports();
    while (v.nextRun()) {
      for (let seq = v.runFrom; seq !== v.runTo; seq = (seq + 1) | 0) {
        const flags = ring.slotFlags(seq);
        const track = flags & SLOT_FLAG_TRACK_MASK;
        const to = this.#to[track];
        if (to === null || to === undefined) continue;
        // Sent synchronously: a packet the writer already evicted is skipped, never sent torn.
        if (((ring.tail() - seq) | 0) > 0) continue;
        // A track's first packet goes after its first Sender Report.
        if (rtcp !== null && rtcp.reports.owesFirst(track)) this.#sendReports();
        const off = ring.slotOffset(seq);
        const end = off + ring.slotLen(seq);
        if (this.#ep.send(data, off + FRAME_HEADER_BYTES, end, to)) {
          this.#counters.bytesOut += end - off - FRAME_HEADER_BYTES;
          this.#session.udpBytesOut += end - off - FRAME_HEADER_BYTES;
          v.sentPackets[track]++;
          v.sentOctets[track] += end - off - FRAME_HEADER_BYTES - (flags >>> SLOT_FLAG_OVERHEAD_SHIFT);
        } else {
          this.#counters.udpSendDrops++;
        }
      }
    }
  }

  #sendReports(): void {
    const r = this.rtcp!;
    const n = r.reports.sendDatagrams(performance.now(), r.ep, r.to);
    this.#counters.bytesOut += n;
    this.#session.udpBytesOut += n;
  }
}

/**
 * A UDP publisher's packets on their way into the ring: one reorder buffer per track puts them
 * back in sequence order (bounded in packets and milliseconds); what it gives up is counted lost.
 */
export class UdpIngest {
  readonly #ingest: StreamIngest;
  readonly #buffers: ReorderBuffer[];
  readonly #release: ((buf: Uint8Array, start: number, end: number) => void)[];
  readonly #flush: () => void;
  readonly #counters: UdpCounters;
  #now = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Datagrams that are not RTP. */
  invalid = 0;

  constructor(
    ingest: StreamIngest,
    tracks: number,
    maxPackets: number,
    maxDelayMs: number,
    counters: UdpCounters,
    flush: () => void,
  ) {
    this.#ingest = ingest;
    this.#counters = counters;
    this.#flush = flush;
    this.#buffers = Array.from({ length: tracks }, () => new ReorderBuffer(maxPackets, maxDelayMs));
    this.#release = Array.from(
      { length: tracks },
      (_, t) => (buf: Uint8Array, start: number, end: number) => ingest.packet(buf, start, end, t, this.#now),
    );
  }

  /** Lost, late and reordered packets over all tracks. */
  get lost(): number {
    return this.#buffers.reduce((n, b) => n + b.lost, 0);
  }

  /** One RTP datagram of a track. */
  rtp(track: number, buf: Uint8Array, start: number, end: number): void {
    if (this.#closed) return;
    if (rtpPayloadStart(buf, start, end) < 0) {
      this.invalid++;
      return;
    }
    const b = this.#buffers[track];
    const now = this.#now = performance.now() | 0;
    const lost = b.lost, reordered = b.reordered, late = b.late + b.duplicates;
    b.push(buf, start, end, (buf[start + 2] << 8) | buf[start + 3], now, this.#release[track]);
    this.#count(b, lost, reordered, late);
    this.#flush();
    if (b.waiting > 0 && this.#timer === undefined) this.#arm();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #count(b: ReorderBuffer, lost: number, reordered: number, late: number): void {
    const c = this.#counters;
    c.udpLost += b.lost - lost;
    c.udpReordered += b.reordered - reordered;
    c.udpLate += b.late + b.duplicates - late;
  }

  /** Wakes at the earliest deadline of a waiting packet to give up on what is missing. */
  #arm(): void {
    let dl = Infinity;
    for (const b of this.#buffers) {
      const d = b.deadline();
      if (d >= 0 && d < dl) dl = d;
    }
    if (dl === Infinity) return;
    this.#timer = setTimeout(this.#expire, Math.max(1, dl - performance.now()));
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#now = performance.now() | 0;
    for (let t = 0; t < this.#buffers.length; t++) {
      const b = this.#buffers[t];
      const lost = b.lost, reordered = b.reordered, late = b.late + b.duplicates;
      b.expire(now, this.#release[t]);
      this.#count(b, lost, reordered, late);
    }
    this.#flush();
    this.#arm();
  };
}

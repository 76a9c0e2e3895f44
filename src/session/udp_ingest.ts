import { ReorderBuffer } from "../rtp/reorder_buffer.ts";
import { rtpPayloadStart, rtpSequence } from "../rtp/rtp_header.ts";
import type { StreamIngest } from "../stream/ingest.ts";

/** Counters a worker sums over its UDP publishers. */
export interface UdpIngestCounters {
  udpLost: number;
  udpReordered: number;
  udpLate: number;
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
  readonly #counters: UdpIngestCounters;
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
    counters: UdpIngestCounters,
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
    b.push(buf, start, end, rtpSequence(buf, start), now, this.#release[track]);
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

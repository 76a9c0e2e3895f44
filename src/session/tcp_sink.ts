import type { ChunkSource, WriteQueue } from "../net/write_queue.ts";
import {
  FRAME_HEADER_BYTES,
  SLOT,
  SLOT_FLAG_OVERHEAD_SHIFT,
  SLOT_FLAG_TRACK_MASK,
  SLOT_WORDS,
} from "../ring/ring_layout.ts";
import type { RingReader } from "../ring/ring_reader.ts";
import { passClock } from "../stream/pass_clock.ts";
import type { SenderReports, SentCounts } from "./sender_reports.ts";
import type { ViewerSink } from "./viewer_sink.ts";

/** Packets written between two counts of sentPackets/sentOctets (see #countSent). */
const COUNT_BATCH = 256;

/** Where a TCP viewer's bytes go, and its Sender Reports (made over this sink's counts). */
export interface TcpSinkOutput {
  readonly writer: WriteQueue;
  readonly reports: (counts: SentCounts) => SenderReports;
}

/**
 * A TCP viewer's packets as chunks of its connection's write queue (docs/ring.md, "zero copy").
 *
 * Fast path (every track set up on channels 2i/2i+1, as ffmpeg, VLC and GStreamer ask): a chunk is
 * a view of consecutive pre-framed packets in the shared ring, borrowed from the reader until the
 * write settles. Otherwise each packet is copied into a per-viewer buffer with its channel byte
 * rewritten and unwanted tracks left out. Sender Reports go through the queue's control path, so
 * each precedes the packets it does not count.
 */
export class TcpSink implements ChunkSource, SentCounts, ViewerSink {
  readonly reader: RingReader;
  readonly #maxWriteBytes: number;
  /** RTP channel per track, or -1 when the track is not set up (a small array: a typed one costs ~200 bytes more). */
  readonly #channel: number[];
  /** The same as a map, the session's own (Sender Reports go on each RTP channel's odd partner). */
  readonly #channels: ReadonlyMap<number, number>;
  readonly #fast: boolean;
  readonly #out: TcpSinkOutput | null;
  #reports: SenderReports | null = null;
  #scratch: Uint8Array | null = null;
  /** ChunkSource: where the last chunk lies in the buffer nextChunk() returned. */
  chunkStart = 0;
  chunkEnd = 0;
  packetsSent = 0;
  /** Per track: RTP packets and payload octets written to the socket, for this viewer's Sender Reports. */
  readonly sentPackets: number[];
  readonly sentOctets: number[];
  /** The ring sequences of the last chunk handed out. */
  #chunkFrom = 0;
  #chunkTo = 0;
  /** Packets written are those before #writtenTo; counted, those from #countedTo back to the last jump. */
  #writtenTo: number;
  #countedTo: number;

  /** channels: track -> RTP channel of each track set up; out: null in tests that only read chunks. */
  constructor(
    reader: RingReader,
    channels: ReadonlyMap<number, number>,
    maxWriteBytes: number,
    out: TcpSinkOutput | null = null,
  ) {
    this.reader = reader;
    this.#maxWriteBytes = maxWriteBytes;
    this.#out = out;
    this.#channels = channels;
    const tracks = reader.ring.trackCount;
    this.#channel = new Array<number>(tracks).fill(-1);
    this.sentPackets = new Array<number>(tracks).fill(0);
    this.sentOctets = new Array<number>(tracks).fill(0);
    let fast = channels.size === tracks;
    for (const [track, ch] of channels) {
      this.#channel[track] = ch;
      if (ch !== track * 2) fast = false;
    }
    this.#fast = fast;
    this.#writtenTo = this.#countedTo = reader.pos;
    // What was written from a ring is counted there, before the reader moves to the stream's next.
    reader.onLeave = () => this.#countSent();
  }

  /** Whether chunks are served straight from the ring. */
  get zeroCopy(): boolean {
    return this.#fast;
  }

  start(): void {
    const out = this.#out!;
    this.#reports = out.reports(this);
    out.writer.source = this;
    // Queued before the first chunk: the reports of tracks with packets precede the GOP burst.
    this.#queueReports(performance.now());
    out.writer.kick();
  }

  // hot path: no allocation
  wake(writePos: number): boolean {
    if (!this.reader.safe(writePos)) return false;
    // Once per viewer and pass: one comparison, and one bit test once every track had its first report.
    const r = this.#reports;
    if (r !== null && (r.due(passClock.now) || r.firstOwed())) this.#queueReports(passClock.now);
    this.#out!.writer.kick();
    return true;
  }

  stop(): void {
    if (this.#out !== null) this.#out.writer.source = null;
    this.#reports = null;
  }

  /**
   * Queues the Sender Reports due as one control message; dropped, not queued, when the viewer
   * does not read (its control queue is full).
   */
  #queueReports(now: number): void {
    const r = this.#reports!;
    if (r.writeInterleaved(now, this.#channels) === 0) return;
    this.#out!.writer.sendControl(r.buffer);
    r.release();
  }

  /**
   * ChunkSource: the buffer holding the next run of packets for this viewer, at
   * [chunkStart, chunkEnd), or null when it is caught up.
   */
  // hot path: no allocation
  nextChunk(): Uint8Array | null {
    const r = this.reader;
    if (r.dropReason !== null) return null;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!r.ready()) return null;
      const from = r.pos;
      const chunk = this.#fast ? this.#view(r.head) : this.#copy(r.head);
      if (chunk === null) return null;
      // The writer may have evicted what we just read (or are about to lend): start over from there.
      if (!r.intact(from)) {
        r.rewind(from);
        continue;
      }
      this.#chunkFrom = from;
      this.#chunkTo = r.pos;
      return chunk;
    }
    return null;
  }

  /** ChunkSource: the borrowed chunk has left; advance past it. */
  chunkWritten(): void {
    this.reader.release();
    const from = this.#chunkFrom;
    if (from !== this.#writtenTo) {
      // A skip (or a restart at a GOP) between chunks: what lies between was never sent.
      this.#countSent();
      this.#countedTo = from;
    }
    this.#writtenTo = this.#chunkTo;
    this.#chunkFrom = this.#chunkTo;
    if (((this.#writtenTo - this.#countedTo) | 0) >= COUNT_BATCH) this.#countSent();
  }

  /** SentCounts: brings sentPackets/sentOctets up to every packet written (before a Sender Report). */
  syncCounts(): void {
    this.#countSent();
  }

  /**
   * Counts the set-up tracks' packets of [#countedTo, #writtenTo) into sentPackets/sentOctets
   * (payload only, RFC 3550 §6.4.1). Run in batches (COUNT_BATCH packets, a skip, or a report), not
   * per write: per write it was a measurable part of the server's CPU at 2,000 viewers. A viewer so
   * slow that the ring reused the slots before they were counted loses those from its counts.
   */
  // hot path (batched): no allocation
  #countSent(): void {
    const ring = this.reader.ring;
    const slots = ring.slots;
    const mask = ring.slotMask;
    const channel = this.#channel;
    const packets = this.sentPackets;
    const octets = this.sentOctets;
    const to = this.#writtenTo;
    let seq = this.#countedTo;
    if (((ring.tail() - seq) | 0) > 0) seq = ring.tail();
    for (; ((to - seq) | 0) > 0; seq = (seq + 1) | 0) {
      const i = (seq & mask) * SLOT_WORDS;
      const flags = slots[i + SLOT.FLAGS];
      const t = flags & SLOT_FLAG_TRACK_MASK;
      if (channel[t] < 0) continue;
      packets[t]++;
      octets[t] += slots[i + SLOT.LEN] - FRAME_HEADER_BYTES - (flags >>> SLOT_FLAG_OVERHEAD_SHIFT);
    }
    this.#countedTo = to;
  }

  /** The run from the reader's position as one view of the ring, borrowed until written. */
  #view(head: number): Uint8Array {
    const r = this.reader;
    const ring = r.ring;
    const from = r.pos;
    const end = ring.runEnd(from, head, this.#maxWriteBytes);
    const last = (end - 1) | 0;
    r.borrow(from);
    r.advance(end);
    this.packetsSent += (end - from) | 0;
    this.chunkStart = ring.slotOffset(from);
    this.chunkEnd = ring.slotOffset(last) + ring.slotLen(last);
    return ring.data;
  }

  /** The packets of set-up tracks from the reader's position, copied with this viewer's channels. */
  #copy(head: number): Uint8Array | null {
    const r = this.reader;
    const ring = r.ring;
    const data = ring.data;
    const max = this.#maxWriteBytes;
    let n = 0;
    let seq = r.pos;
    while (seq !== head && n < max) {
      const ch = this.#channel[ring.slotTrack(seq)];
      if (ch >= 0) {
        const len = ring.slotLen(seq);
        const scratch = this.#scratchFor(n, len);
        if (scratch === null) break;
        const off = ring.slotOffset(seq);
        scratch.set(data.subarray(off, off + len), n);
        scratch[n + 1] = ch;
        n += len;
        this.packetsSent++;
      }
      seq = (seq + 1) | 0;
    }
    r.advance(seq);
    if (n === 0 || this.#scratch === null) return null;
    this.chunkStart = 0;
    this.chunkEnd = n;
    return this.#scratch;
  }

  /** The copy buffer with room for len more bytes after n, grown lazily; null when the chunk is full. */
  #scratchFor(n: number, len: number): Uint8Array | null {
    const cur = this.#scratch;
    if (cur !== null && n + len <= cur.length) return cur;
    if (n > 0 && n + len > this.#maxWriteBytes) return null;
    const size = Math.max(cur === null ? 16384 : cur.length * 2, n + len);
    // Shared memory, like the ring, so the FFI socket sends from it without a view per write.
    const bigger = new Uint8Array(new SharedArrayBuffer(size));
    if (cur !== null) bigger.set(cur.subarray(0, n));
    return this.#scratch = bigger;
  }
}

import type { ChunkSource } from "../net/write_queue.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import {
  FRAME_HEADER_BYTES,
  SLOT,
  SLOT_FLAG_OVERHEAD_SHIFT,
  SLOT_FLAG_TRACK_MASK,
  SLOT_WORDS,
} from "../ring/ring_layout.ts";
import type { RtpInfoEntry } from "../rtsp/rtp_info_header.ts";

/** Packets written between two counts of sentPackets/sentOctets (see #countSent). */
const COUNT_BATCH = 256;

/** What a viewer does when it falls behind; the numbers come from the `viewer` config section. */
export interface ViewerPolicy {
  maxWriteBytes: number;
  /** Lag (bytes behind the writer) at which the viewer skips to the newest keyframe. */
  skipLagBytes: number;
  /** Lag of an unfinished write at which the viewer is dropped before the ring overwrites it. */
  dropLagBytes: number;
}

/** Counters a worker sums over its viewers. */
export interface ViewerCounters {
  skips: number;
  /** Ring packets jumped over by skips: what slow viewers never got. */
  skippedPackets: number;
  drops: number;
}

/**
 * One viewer's cursor into a stream's ring, and the source of its socket writes.
 *
 * Fast path (the viewer set up every track on channels 2i/2i+1, as ffmpeg, VLC and GStreamer ask):
 * the chunk is a view of consecutive pre-framed packets in the shared ring, no copy. Otherwise each
 * packet is copied into a per-viewer buffer with its channel byte rewritten and unwanted tracks left
 * out. A borrowed view stays valid because the viewer is dropped before the writer gets within
 * `dropLagBytes` of it; a viewer with nothing in flight that lags `skipLagBytes` skips to the newest
 * GOP instead.
 */
export class RingViewer implements ChunkSource {
  readonly ring: SharedRing;
  readonly #policy: ViewerPolicy;
  readonly #counters: ViewerCounters;
  /** RTP channel per track, or -1 when the track is not set up (a small array: a typed one costs ~200 bytes more). */
  readonly #channel: number[];
  readonly #fast: boolean;
  #scratch: Uint8Array | null = null;
  /** ChunkSource: where the last chunk lies in the buffer nextChunk() returned. */
  chunkStart = 0;
  chunkEnd = 0;
  #pos: number;
  #waitKey: boolean;
  #inflight = false;
  #inflightPos = 0;
  /** Set when the viewer must be closed; the owner checks it after a wake. */
  dropReason: string | null = null;
  /** Why the last skip happened, for the owner's log line. */
  lastSkip: string | null = null;
  packetsSent = 0;
  /** Per track: RTP packets and payload octets written to the socket, for this viewer's Sender Reports. */
  readonly sentPackets: number[];
  readonly sentOctets: number[];
  /** This viewer's skips and the ring packets they jumped over. */
  skips = 0;
  skippedPackets = 0;

  constructor(
    ring: SharedRing,
    channels: ReadonlyMap<number, number>,
    policy: ViewerPolicy,
    counters: ViewerCounters,
  ) {
    this.ring = ring;
    this.#policy = policy;
    this.#counters = counters;
    this.#channel = new Array<number>(ring.trackCount).fill(-1);
    this.sentPackets = new Array<number>(ring.trackCount).fill(0);
    this.sentOctets = new Array<number>(ring.trackCount).fill(0);
    let fast = channels.size === ring.trackCount;
    for (const [track, ch] of channels) {
      this.#channel[track] = ch;
      if (ch !== track * 2) fast = false;
    }
    this.#fast = fast;
    const gop = ring.gopStart();
    if (gop === undefined) {
      this.#pos = ring.head();
      this.#waitKey = true;
    } else {
      this.#pos = gop;
      this.#waitKey = false;
    }
    this.#writtenTo = this.#countedTo = this.#pos;
  }

  /** Whether chunks are served straight from the ring. */
  get zeroCopy(): boolean {
    return this.#fast;
  }

  /**
   * RTP-Info for PLAY: per set-up track, the seq/rtptime of the first packet this viewer will get
   * (from the GOP burst), or the next sequence number when the burst has none of that track.
   */
  rtpInfo(trackUrl: (track: number) => string): RtpInfoEntry[] {
    const ring = this.ring;
    const head = ring.head();
    const out: RtpInfoEntry[] = [];
    for (let t = 0; t < this.#channel.length; t++) {
      if (this.#channel[t] < 0) continue;
      let found = false;
      if (!this.#waitKey) {
        for (let s = this.#pos; s !== head; s = (s + 1) | 0) {
          if (ring.slotTrack(s) !== t) continue;
          const o = ring.rtpOffset(s);
          const d = ring.data;
          const seq = (d[o + 2] << 8) | d[o + 3];
          const ts = ((d[o + 4] << 24) | (d[o + 5] << 16) | (d[o + 6] << 8) | d[o + 7]) >>> 0;
          out.push({ url: trackUrl(t), seq, rtptime: ts });
          found = true;
          break;
        }
      }
      if (!found) {
        const last = ring.trackLastSeq(t);
        if (last !== undefined) out.push({ url: trackUrl(t), seq: (last + 1) & 0xffff });
      }
    }
    return out;
  }

  /**
   * Called on every wake with the writer's position: false when the viewer's unfinished write is
   * about to be overwritten, so it must be closed now.
   */
  // hot path: no allocation
  safe(writePos: number): boolean {
    if (!this.#inflight || this.dropReason !== null) return this.dropReason === null;
    if (((writePos - this.#inflightPos) | 0) <= this.#policy.dropLagBytes) return true;
    this.#counters.drops++;
    this.dropReason = "socket not draining: unfinished write would be overwritten by the ring";
    return false;
  }

  /**
   * ChunkSource: the buffer holding the next run of packets for this viewer, at
   * [chunkStart, chunkEnd), or null when it is caught up.
   */
  // hot path: no allocation
  nextChunk(): Uint8Array | null {
    if (this.dropReason !== null) return null;
    const ring = this.ring;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.#ready()) return null;
      const head = this.#head;
      const from = this.#pos;
      const chunk = this.#fast ? this.#view(head) : this.#copy(head);
      if (chunk === null) return null;
      // The writer may have evicted what we just read: it stores TAIL before overwriting, so a
      // tail still at or before `from` means every byte of the chunk was intact.
      if (((ring.tail() - from) | 0) > 0) {
        this.#pos = from;
        this.#inflight = false;
        continue;
      }
      this.#chunkFrom = from;
      this.#chunkTo = this.#pos;
      return chunk;
    }
    return null;
  }

  /** UDP: the run of packets [runFrom, runTo) (ring sequences) the last nextRun() handed out. */
  runFrom = 0;
  runTo = 0;

  /**
   * UDP: moves over the next run of packets (each sent as its own datagram, at once), with the
   * same lapping, lag and keyframe rules as nextChunk(); false when caught up.
   */
  // hot path: no allocation
  nextRun(): boolean {
    if (!this.#ready()) return false;
    const head = this.#head;
    this.runFrom = this.#pos;
    this.runTo = head;
    this.packetsSent += (head - this.#pos) | 0;
    this.#pos = head;
    return true;
  }

  /** The head #ready() read. */
  #head = 0;

  /**
   * Whether there is something to send from #pos up to #head, after the lapping rule (skip when
   * the ring overtook us), the lag rule (skip when too far behind) and, at a start, the keyframe
   * rule (wait for a GOP start).
   */
  #ready(): boolean {
    const ring = this.ring;
    for (let attempt = 0; attempt < 3; attempt++) {
      const head = ring.head();
      if (this.#pos === head) return false;
      if (((ring.tail() - this.#pos) | 0) > 0) {
        this.#skip(head, "lapped by the ring");
        continue;
      }
      if (((ring.writePos() - ring.slotPos(this.#pos)) | 0) > this.#policy.skipLagBytes) {
        this.#skip(head, "too far behind");
        continue;
      }
      if (this.#waitKey && !this.#seekKey(head)) return false;
      this.#head = head;
      return true;
    }
    return false;
  }

  /**
   * Counts the set-up tracks' packets of [#countedTo, #writtenTo) into sentPackets/sentOctets
   * (payload only, RFC 3550 §6.4.1). Run in batches (COUNT_BATCH packets, a skip, or a report), not
   * per write: per write it was a measurable part of the server's CPU at 2,000 viewers. A viewer so
   * slow that the ring reused the slots before they were counted loses those from its counts.
   */
  // hot path (batched): no allocation
  #countSent(): void {
    const ring = this.ring;
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

  /** SentCounts: brings sentPackets/sentOctets up to every packet written (before a Sender Report). */
  syncCounts(): void {
    this.#countSent();
  }

  /** The ring sequences of the last chunk handed out. */
  #chunkFrom = 0;
  #chunkTo = 0;
  /** Packets written are those before #writtenTo; counted, those from #countedTo back to the last jump. */
  #writtenTo = 0;
  #countedTo = 0;

  /** ChunkSource: the borrowed chunk has left; advance past it. */
  chunkWritten(): void {
    this.#inflight = false;
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

  #view(head: number): Uint8Array {
    const ring = this.ring;
    const from = this.#pos;
    const end = ring.runEnd(from, head, this.#policy.maxWriteBytes);
    const last = (end - 1) | 0;
    const off = ring.slotOffset(from);
    const stop = ring.slotOffset(last) + ring.slotLen(last);
    this.#inflight = true;
    this.#inflightPos = ring.slotPos(from);
    this.packetsSent += (end - from) | 0;
    this.#pos = end;
    this.chunkStart = off;
    this.chunkEnd = stop;
    return ring.data;
  }

  #copy(head: number): Uint8Array | null {
    const ring = this.ring;
    const data = ring.data;
    const max = this.#policy.maxWriteBytes;
    let n = 0;
    let seq = this.#pos;
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
    this.#pos = seq;
    if (n === 0 || this.#scratch === null) return null;
    this.chunkStart = 0;
    this.chunkEnd = n;
    return this.#scratch;
  }

  /** The copy buffer with room for len more bytes after n, grown lazily; null when the chunk is full. */
  #scratchFor(n: number, len: number): Uint8Array | null {
    const cur = this.#scratch;
    if (cur !== null && n + len <= cur.length) return cur;
    if (n > 0 && n + len > this.#policy.maxWriteBytes) return null;
    const size = Math.max(cur === null ? 16384 : cur.length * 2, n + len);
    // Shared memory, like the ring, so the FFI socket sends from it without a view per write.
    const bigger = new Uint8Array(new SharedArrayBuffer(size));
    if (cur !== null) bigger.set(cur.subarray(0, n));
    return this.#scratch = bigger;
  }

  /** Moves to the first GOP start before head; false (and caught up) when there is none yet. */
  #seekKey(head: number): boolean {
    const ring = this.ring;
    let seq = this.#pos;
    while (seq !== head && !ring.isGopStart(seq)) seq = (seq + 1) | 0;
    this.#pos = seq;
    if (seq === head) return false;
    this.#waitKey = false;
    return true;
  }

  #skip(head: number, why: string): void {
    const from = this.#pos;
    this.#counters.skips++;
    this.skips++;
    const gop = this.ring.gopStart();
    if (gop !== undefined && ((gop - this.#pos) | 0) > 0) {
      this.#pos = gop;
      this.lastSkip = `${why}: skipped to the newest keyframe`;
    } else {
      this.#pos = head;
      this.#waitKey = true;
      this.lastSkip = `${why}: waiting for the next keyframe`;
    }
    const jumped = (this.#pos - from) | 0;
    this.#counters.skippedPackets += jumped;
    this.skippedPackets += jumped;
  }
}

import {
  FRAME_HEADER_BYTES,
  HDR,
  SLOT,
  SLOT_FLAG_GOP_START,
  SLOT_FLAG_OVERHEAD_SHIFT,
  SLOT_WORDS,
  STATE_ENDED,
} from "./ring_layout.ts";
import type { SharedRing } from "./shared_ring.ts";
import { rtpOverhead, rtpSequence, rtpTimestamp } from "../rtp/rtp_header.ts";

/** Sees each packet as it is appended, on the writer's thread (before readers can). */
export interface AppendObserver {
  /** A packet of `track` with RTP timestamp `timestamp` (uint32) was appended from src[start..]. */
  appended(track: number, timestamp: number, src: Uint8Array, start: number): void;
}

/**
 * The single writer of a stream's ring, in the publisher's worker.
 *
 * Order of effects, which readers in other workers rely on: the oldest surviving sequence (TAIL) is
 * stored before any byte of an evicted packet is overwritten; a packet's bytes and slot are written
 * before HEAD moves past it; GOP_START is stored after HEAD.
 */
export class RingWriter {
  readonly ring: SharedRing;
  /** Told of every packet appended (the stream's clock mapping: stream/publisher_clock.ts). */
  clock: AppendObserver | null = null;
  #head = 0;
  #tail = 0;
  #pos = 0;
  #gopStart = 0;
  #hasGop = false;
  #gopDirty = false;
  #packets = 0;
  #bytes = 0;

  /**
   * A writer that takes over a ring another writer left (a publisher reconnecting within
   * ingest.reconnectGraceMs, maybe on another worker): it goes on from the published head, keeping
   * the packets, the GOP start and the per-track RTP state readers already use.
   */
  static resume(ring: SharedRing): RingWriter {
    const w = new RingWriter(ring, null);
    const h = ring.header;
    w.#head = Atomics.load(h, HDR.HEAD);
    w.#tail = Atomics.load(h, HDR.TAIL);
    w.#pos = Atomics.load(h, HDR.WRITE_POS);
    w.#hasGop = Atomics.load(h, HDR.HAS_GOP) === 1;
    w.#gopStart = Atomics.load(h, HDR.GOP_START);
    return w;
  }

  /** `start` places the counters elsewhere than 0 (tests run them across the 2^31 wrap); null: see resume(). */
  constructor(ring: SharedRing, start: { seq: number; pos: number } | null = { seq: 0, pos: 0 }) {
    this.ring = ring;
    if (start === null) return;
    this.#head = this.#tail = start.seq | 0;
    this.#pos = start.pos | 0;
    Atomics.store(ring.header, HDR.HEAD, this.#head);
    Atomics.store(ring.header, HDR.TAIL, this.#tail);
    Atomics.store(ring.header, HDR.WRITE_POS, this.#pos);
    for (let t = 0; t < ring.trackCount; t++) ring.header[HDR.TRACKS + 2 * t] = -1;
  }

  /** Packets and payload bytes appended so far. */
  get packets(): number {
    return this.#packets;
  }
  get bytes(): number {
    return this.#bytes;
  }
  /** Sequence the next append gets. */
  get nextSeq(): number {
    return this.#head;
  }

  /**
   * Appends one RTP packet (src[start..end)) for a track, framed as `$ 2·track len`.
   * Visible to readers after the next publish(). Returns the packet's sequence.
   */
  // hot path: one subarray view for the copy, nothing else
  append(src: Uint8Array, start: number, end: number, track: number, timeMs: number, flags = 0): number {
    const ring = this.ring;
    const n = end - start;
    const len = n + FRAME_HEADER_BYTES;
    let pos = this.#pos;
    let off = pos & ring.dataMask;
    if (off + len > ring.dataBytes) {
      pos = (pos + (ring.dataBytes - off)) | 0;
      off = 0;
    }
    this.#evictBefore((pos + len - ring.dataBytes) | 0);

    const data = ring.data;
    data[off] = 0x24;
    data[off + 1] = track << 1;
    data[off + 2] = n >> 8;
    data[off + 3] = n & 0xff;
    data.set(src.subarray(start, end), off + FRAME_HEADER_BYTES);

    const seq = this.#head;
    const s = (seq & ring.slotMask) * SLOT_WORDS;
    ring.slots[s + SLOT.POS] = pos;
    ring.slots[s + SLOT.LEN] = len;
    ring.slots[s + SLOT.FLAGS] = track | flags | (rtpOverhead(src, start, end) << SLOT_FLAG_OVERHEAD_SHIFT);
    ring.slots[s + SLOT.TIME] = timeMs;
    // RTP sequence and timestamp, for RTP-Info of viewers that start after this packet.
    const h = ring.header;
    h[HDR.TRACKS + 2 * track] = rtpSequence(src, start);
    const ts = rtpTimestamp(src, start);
    h[HDR.TRACKS + 2 * track + 1] = ts;
    if (this.clock !== null) this.clock.appended(track, ts, src, start);

    this.#pos = (pos + len) | 0;
    this.#head = (seq + 1) | 0;
    this.#packets++;
    this.#bytes += n;
    return seq;
  }

  /** Marks an appended packet (not older than the tail) as the start of a new GOP; new viewers start there. */
  markGopStart(seq: number): void {
    const s = (seq & this.ring.slotMask) * SLOT_WORDS + SLOT.FLAGS;
    this.ring.slots[s] |= SLOT_FLAG_GOP_START;
    this.#gopStart = seq;
    this.#hasGop = true;
    this.#gopDirty = true;
  }

  /** Makes everything appended so far visible and wakes the readers. */
  publish(): void {
    const h = this.ring.header;
    Atomics.store(h, HDR.WRITE_POS, this.#pos);
    Atomics.store(h, HDR.HEAD, this.#head);
    if (this.#gopDirty) {
      Atomics.store(h, HDR.GOP_START, this.#gopStart);
      Atomics.store(h, HDR.HAS_GOP, this.#hasGop ? 1 : 0);
      this.#gopDirty = false;
    }
    Atomics.notify(h, HDR.HEAD);
  }

  /** Marks the stream ended (the publisher left) and wakes every reader one last time. */
  end(): void {
    this.publish();
    Atomics.store(this.ring.header, HDR.STATE, STATE_ENDED);
    Atomics.notify(this.ring.header, HDR.HEAD);
  }

  /** Drops packets whose bytes lie before logical position `limit`, and frees a slot for the next one. */
  #evictBefore(limit: number): void {
    const ring = this.ring;
    let tail = this.#tail;
    const head = this.#head;
    while (tail !== head) {
      const s = (tail & ring.slotMask) * SLOT_WORDS;
      if (((limit - ring.slots[s + SLOT.POS]) | 0) <= 0 && ((head - tail) | 0) < ring.slotCount) break;
      tail = (tail + 1) | 0;
    }
    if (tail === this.#tail) return;
    this.#tail = tail;
    Atomics.store(ring.header, HDR.TAIL, tail);
    if (this.#hasGop && ((this.#gopStart - tail) | 0) < 0) {
      this.#hasGop = false;
      this.#gopDirty = true;
      Atomics.add(ring.header, HDR.GOPS_EVICTED, 1);
    }
  }
}

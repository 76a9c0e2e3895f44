import {
  CLOCK_WORDS,
  FRAME_HEADER_BYTES,
  HDR,
  MAX_TRACKS,
  SLOT,
  SLOT_FLAG_GOP_START,
  SLOT_FLAG_OVERHEAD_SHIFT,
  SLOT_WORDS,
  STATE_ENDED,
} from "./ring_layout.ts";
import type { SharedRing } from "./shared_ring.ts";
import { rtpOverhead, rtpSequence, rtpTimestamp } from "../rtp/rtp_header.ts";

/**
 * Where a packet is lined up before it goes into the ring: V8 copies into shared memory with relaxed
 * atomic stores, a word at a time only when source and destination sit at the same offset modulo
 * the word, else a byte at a time (4-8x slower). A packet's place in a read buffer and in the ring
 * rarely agree, so it is first copied (memmove: neither side shared) to where it agrees with its
 * place in the ring. One per worker thread; an RTP packet is at most 65,535 bytes.
 */
const ALIGN = new Uint8Array(65536 + 8);
/** Below this many bytes the byte-wise copy costs less than a second copy. */
const ALIGN_MIN_BYTES = 128;

/** data[at..] = src[start..end), a word at a time where the alignments allow it (see ALIGN). */
// hot path: the views of the copy, nothing else
function copyInto(data: Uint8Array, at: number, src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  const dst = data.byteOffset + at;
  if (
    n < ALIGN_MIN_BYTES || ((src.byteOffset + start - dst) & 7) === 0 ||
    src.buffer instanceof SharedArrayBuffer
  ) {
    data.set(src.subarray(start, end), at);
    return;
  }
  const k = (dst - ALIGN.byteOffset) & 7;
  ALIGN.set(src.subarray(start, end), k);
  data.set(ALIGN.subarray(k, k + n), at);
}

/** Sees each packet as it is appended, on the writer's thread (before readers can). */
export interface AppendObserver {
  /** A packet of `track` with RTP timestamp `timestamp` (uint32) was appended from src[start..]. */
  appended(track: number, timestamp: number, src: Uint8Array, start: number): void;
  /** The writer moved to `ring` (moveTo): what the observer keeps in the ring's header goes there now. */
  moved?(ring: SharedRing): void;
}

/**
 * The single writer of a stream's ring, in the publisher's worker.
 *
 * Order of effects, which readers in other workers rely on: the oldest surviving sequence (TAIL) is
 * stored before any byte of an evicted packet is overwritten; a packet's bytes and slot are written
 * before HEAD moves past it; GOP_START is stored after HEAD.
 *
 * Moving (docs/ring.md, "Sizes and moves"): a ring offered with offer() takes over at the next
 * publish() that has new packets and whose copy fits in half of it. The copy is every packet from
 * the newest GOP start (or the last published head, or the pinned sequence, whichever is oldest) to
 * the head, with the same sequences, flags and arrival times; then the new ring is published, and
 * the old one gets MOVED_TO and its last HEAD, in that order. Byte positions go on from where they
 * were (the copy starts at the old position of its first packet), so they only grow across a move.
 */
export class RingWriter {
  #ring: SharedRing;
  /** Told of every packet appended (the stream's clock mapping: stream/publisher_clock.ts). */
  clock: AppendObserver | null = null;
  /** Told after each move, old ring then new (the feed tells main.ts). */
  onMove: ((from: SharedRing, to: SharedRing) => void) | null = null;
  #head = 0;
  #tail = 0;
  #pos = 0;
  #gopStart = 0;
  #hasGop = false;
  #gopDirty = false;
  /** HEAD as last stored. */
  #published = 0;
  /** Logical position of the newest GOP start, kept after its eviction (the span goes on growing). */
  #gopPos = 0;
  /** A GOP start was ever marked: before it, the span is 0 (nothing is kept yet). */
  #gopSeen = false;
  #pinned = 0;
  #hasPin = false;
  /** The ring offered to move to, or null. */
  #next: SharedRing | null = null;
  #packets = 0;
  #bytes = 0;
  /** Moves made so far. */
  moves = 0;

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
    w.#published = w.#head;
    w.#gopSeen = w.#hasGop;
    w.#gopPos = w.#hasGop ? ring.slotPos(w.#gopStart) : w.#pos;
    return w;
  }

  /** `start` places the counters elsewhere than 0 (tests run them across the 2^31 wrap); null: see resume(). */
  constructor(ring: SharedRing, start: { seq: number; pos: number } | null = { seq: 0, pos: 0 }) {
    this.#ring = ring;
    if (start === null) return;
    this.#head = this.#tail = this.#published = start.seq | 0;
    this.#pos = start.pos | 0;
    Atomics.store(ring.header, HDR.HEAD, this.#head);
    Atomics.store(ring.header, HDR.TAIL, this.#tail);
    Atomics.store(ring.header, HDR.WRITE_POS, this.#pos);
    for (let t = 0; t < ring.trackCount; t++) ring.header[HDR.TRACKS + 2 * t] = -1;
  }

  /** The ring written now (another after each move). */
  get ring(): SharedRing {
    return this.#ring;
  }

  /**
   * What the ring keeps for new viewers: logical bytes and packets from the newest GOP start to the
   * head (0 before the first GOP start). A ring smaller than twice this is too small (ring_sizer.ts).
   */
  get spanBytes(): number {
    return this.#gopSeen ? (this.#pos - this.#gopPos) | 0 : 0;
  }
  get spanPackets(): number {
    return this.#gopSeen ? (this.#head - this.#gopStart) | 0 : 0;
  }

  /** The ring offered to move to and not taken yet, or null. */
  get offered(): SharedRing | null {
    return this.#next;
  }

  /** The writer moves to `ring` (empty: SharedRing.init) at the first publish() where its copy fits. */
  offer(ring: SharedRing): void {
    if (ring.trackCount !== this.#ring.trackCount) throw new RangeError("a ring for another track count");
    this.#next = ring;
  }

  /** Takes back the ring offered, if it was not moved to (the feed's sender left). */
  withdraw(): SharedRing | null {
    const r = this.#next;
    this.#next = null;
    return r;
  }

  /**
   * A sequence the caller may still mark as a GOP start (parameter sets waiting for their keyframe):
   * a move copies from it on, so the mark finds it in the new ring. null: none.
   */
  pin(seq: number | null): void {
    this.#hasPin = seq !== null;
    this.#pinned = seq ?? 0;
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
  // hot path: the views of the copy (copyInto), nothing else
  append(src: Uint8Array, start: number, end: number, track: number, timeMs: number, flags = 0): number {
    const ring = this.#ring;
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
    copyInto(data, off + FRAME_HEADER_BYTES, src, start, end);

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
    const ring = this.#ring;
    // Older than the tail: not in this ring (evicted, or before the copy of a move).
    if (((seq - this.#tail) | 0) < 0 || ((this.#head - seq) | 0) <= 0) return;
    const s = (seq & ring.slotMask) * SLOT_WORDS;
    ring.slots[s + SLOT.FLAGS] |= SLOT_FLAG_GOP_START;
    this.#gopStart = seq;
    this.#gopPos = ring.slots[s + SLOT.POS];
    this.#gopSeen = true;
    this.#hasGop = true;
    this.#gopDirty = true;
  }

  /** Makes everything appended so far visible and wakes the readers (in an offered ring, if it fits now). */
  publish(): void {
    const next = this.#next;
    if (next !== null && this.#head !== this.#published && this.#fits(next, this.#copyFrom())) {
      this.#moveTo(next);
      return;
    }
    this.#store(this.#ring.header);
    Atomics.notify(this.#ring.header, HDR.HEAD);
  }

  /** Marks the stream ended (the publisher left) and wakes every reader one last time. */
  end(): void {
    this.publish();
    Atomics.store(this.#ring.header, HDR.STATE, STATE_ENDED);
    Atomics.notify(this.#ring.header, HDR.HEAD);
  }

  /** Publishes into header h: WRITE_POS, HEAD, then the GOP start. */
  #store(h: Int32Array): void {
    Atomics.store(h, HDR.WRITE_POS, this.#pos);
    Atomics.store(h, HDR.HEAD, this.#head);
    this.#published = this.#head;
    if (this.#gopDirty) {
      Atomics.store(h, HDR.GOP_START, this.#gopStart);
      Atomics.store(h, HDR.HAS_GOP, this.#hasGop ? 1 : 0);
      this.#gopDirty = false;
    }
  }

  /**
   * First packet a move copies: the newest GOP start, the last published head (readers at the head
   * go on from there) or the pinned sequence, whichever is oldest and still in the ring.
   */
  #copyFrom(): number {
    let from = this.#published;
    if (this.#hasGop && ((this.#gopStart - from) | 0) < 0) from = this.#gopStart;
    const pin = this.#pinned;
    if (this.#hasPin && ((pin - from) | 0) < 0 && ((pin - this.#tail) | 0) >= 0) from = pin;
    // A batch larger than the ring evicted the last published head itself: what is left.
    if (((from - this.#tail) | 0) < 0) from = this.#tail;
    return from;
  }

  /** Whether the packets from `from` to the head take at most half of `next` (bytes and slots). */
  #fits(next: SharedRing, from: number): boolean {
    const packets = (this.#head - from) | 0;
    const bytes = packets === 0 ? 0 : (this.#pos - this.#ring.slotPos(from)) | 0;
    return 2 * bytes <= next.dataBytes && 2 * packets <= next.slotCount;
  }

  /** The move (see the class comment); not a hot path: once per size change of a stream. */
  #moveTo(next: SharedRing): void {
    const old = this.#ring;
    const from = this.#copyFrom();
    const head = this.#head;
    let pos = from === head ? this.#pos : old.slotPos(from);
    let gopPos = 0;
    let gopCopied = false;
    for (let seq = from; seq !== head; seq = (seq + 1) | 0) {
      const s = (seq & old.slotMask) * SLOT_WORDS;
      const len = old.slots[s + SLOT.LEN];
      const off = old.slots[s + SLOT.POS] & old.dataMask;
      let o = pos & next.dataMask;
      if (o + len > next.dataBytes) {
        pos = (pos + (next.dataBytes - o)) | 0;
        o = 0;
      }
      next.data.set(old.data.subarray(off, off + len), o);
      const d = (seq & next.slotMask) * SLOT_WORDS;
      next.slots[d + SLOT.POS] = pos;
      next.slots[d + SLOT.LEN] = len;
      next.slots[d + SLOT.FLAGS] = old.slots[s + SLOT.FLAGS];
      next.slots[d + SLOT.TIME] = old.slots[s + SLOT.TIME];
      if (seq === this.#gopStart) {
        gopPos = pos;
        gopCopied = true;
      }
      pos = (pos + len) | 0;
    }
    // What the stream keeps in the header: per-track RTP state, clock mappings, the eviction count.
    const oh = old.header;
    const nh = next.header;
    for (let i = HDR.TRACKS; i < HDR.TRACKS + 2 * MAX_TRACKS; i++) nh[i] = oh[i];
    for (let i = HDR.CLOCKS; i < HDR.CLOCKS + CLOCK_WORDS * MAX_TRACKS; i++) {
      Atomics.store(nh, i, Atomics.load(oh, i));
    }
    Atomics.store(nh, HDR.GOPS_EVICTED, Atomics.load(oh, HDR.GOPS_EVICTED));
    // The old ring's last state: everything appended is there too, for readers still in it.
    const oldPos = this.#pos;
    Atomics.store(oh, HDR.WRITE_POS, oldPos);
    if (this.#gopDirty) {
      Atomics.store(oh, HDR.GOP_START, this.#gopStart);
      Atomics.store(oh, HDR.HAS_GOP, this.#hasGop ? 1 : 0);
    }
    // The new ring, complete before any reader can find it.
    this.#ring = next;
    this.#tail = from;
    this.#pos = pos;
    if (gopCopied) this.#gopPos = gopPos;
    else this.#hasGop = false; // none, or older than the copy: new viewers wait for the next one
    this.#gopDirty = true;
    Atomics.store(nh, HDR.TAIL, from);
    this.#store(nh);
    // Then the old one: MOVED_TO before its last HEAD, so a wake on HEAD finds it set.
    Atomics.store(oh, HDR.MOVED_TO, next.id);
    Atomics.store(oh, HDR.HEAD, head);
    Atomics.notify(oh, HDR.HEAD);
    Atomics.notify(nh, HDR.HEAD);
    this.#next = null;
    this.moves++;
    this.clock?.moved?.(next);
    this.onMove?.(old, next);
  }

  /** Drops packets whose bytes lie before logical position `limit`, and frees a slot for the next one. */
  #evictBefore(limit: number): void {
    const ring = this.#ring;
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

import {
  FRAME_HEADER_BYTES,
  HDR,
  isPowerOfTwo,
  MAX_TRACKS,
  RING_HEADER_WORDS,
  ringByteLength,
  ringIndexWords,
  SLOT,
  SLOT_FLAG_GOP_START,
  SLOT_FLAG_TRACK_MASK,
  SLOT_WORDS,
  STATE_ENDED,
} from "./ring_layout.ts";

/** Views over one stream's SharedArrayBuffer; the same object shape in every worker. */
export class SharedRing {
  readonly sab: SharedArrayBuffer;
  readonly header: Int32Array;
  readonly slots: Int32Array;
  readonly data: Uint8Array;
  readonly dataBytes: number;
  readonly dataMask: number;
  readonly slotCount: number;
  readonly slotMask: number;
  readonly trackCount: number;
  /** HDR.RING_ID when wrapped: which use of the buffer this is (0 for rings made outside main.ts's pool). */
  readonly id: number;

  /** Allocates a new ring (main.ts's ring directory does, and posts `sab` to the workers). */
  static create(slotCount: number, dataBytes: number, trackCount: number, id = 0): SharedRing {
    checkDimensions(slotCount, dataBytes);
    return SharedRing.init(new SharedArrayBuffer(ringByteLength(slotCount, dataBytes)), {
      slotCount,
      dataBytes,
      trackCount,
      id,
    });
  }

  /**
   * Makes `sab` (new, or an ended ring's buffer taken from the pool) an empty ring: the header and
   * the slot index are cleared, so nothing of an earlier use is reachable (readers find packets only
   * through slots from TAIL to HEAD). The data area is left as it is: no slot points into it.
   */
  static init(
    sab: SharedArrayBuffer,
    d: { slotCount: number; dataBytes: number; trackCount: number; id: number },
  ): SharedRing {
    checkDimensions(d.slotCount, d.dataBytes);
    if (d.trackCount < 1 || d.trackCount > MAX_TRACKS) {
      throw new RangeError(`track count ${d.trackCount} not in 1..8`);
    }
    if (sab.byteLength !== ringByteLength(d.slotCount, d.dataBytes)) {
      throw new RangeError(
        `a buffer of ${sab.byteLength} bytes is no ring of ${d.slotCount} slots, ${d.dataBytes} bytes`,
      );
    }
    const index = new Int32Array(sab, 0, ringIndexWords(d.slotCount));
    index.fill(0);
    index[HDR.SLOT_COUNT] = d.slotCount;
    index[HDR.DATA_BYTES] = d.dataBytes;
    index[HDR.TRACK_COUNT] = d.trackCount;
    index[HDR.RING_ID] = d.id;
    return new SharedRing(sab);
  }

  /** Wraps a ring received from another worker. */
  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.header = new Int32Array(sab, 0, RING_HEADER_WORDS);
    this.id = Atomics.load(this.header, HDR.RING_ID);
    this.slotCount = this.header[HDR.SLOT_COUNT];
    this.dataBytes = this.header[HDR.DATA_BYTES];
    this.trackCount = this.header[HDR.TRACK_COUNT];
    this.slotMask = this.slotCount - 1;
    this.dataMask = this.dataBytes - 1;
    this.slots = new Int32Array(sab, RING_HEADER_WORDS * 4, this.slotCount * SLOT_WORDS);
    this.data = new Uint8Array(sab, (RING_HEADER_WORDS + this.slotCount * SLOT_WORDS) * 4, this.dataBytes);
  }

  head(): number {
    return Atomics.load(this.header, HDR.HEAD);
  }
  tail(): number {
    return Atomics.load(this.header, HDR.TAIL);
  }
  writePos(): number {
    return Atomics.load(this.header, HDR.WRITE_POS);
  }
  ended(): boolean {
    return Atomics.load(this.header, HDR.STATE) === STATE_ENDED;
  }

  /** Workers with prompt viewers of the stream on this ring (HDR.PROMPT_READERS). */
  promptReaders(): number {
    return Atomics.load(this.header, HDR.PROMPT_READERS);
  }

  /** A worker's prompt viewers of the stream came (+1) or went (-1). */
  addPromptReader(delta: 1 | -1): void {
    Atomics.add(this.header, HDR.PROMPT_READERS, delta);
  }

  /** The RING_ID of the ring the stream moved to, or 0 while it is written here (HDR.MOVED_TO). */
  movedTo(): number {
    return Atomics.load(this.header, HDR.MOVED_TO);
  }

  /** Sequence of the newest GOP start still intact in the ring, or undefined. */
  gopStart(): number | undefined {
    // GOP_START is stored after HEAD, so a head loaded after it is never older than it.
    if (Atomics.load(this.header, HDR.HAS_GOP) !== 1) return undefined;
    const gop = Atomics.load(this.header, HDR.GOP_START);
    if (((gop - this.tail()) | 0) < 0) return undefined;
    return gop;
  }

  slotPos(seq: number): number {
    return this.slots[(seq & this.slotMask) * SLOT_WORDS + SLOT.POS];
  }
  slotLen(seq: number): number {
    return this.slots[(seq & this.slotMask) * SLOT_WORDS + SLOT.LEN];
  }
  slotFlags(seq: number): number {
    return this.slots[(seq & this.slotMask) * SLOT_WORDS + SLOT.FLAGS];
  }
  slotTime(seq: number): number {
    return this.slots[(seq & this.slotMask) * SLOT_WORDS + SLOT.TIME];
  }
  slotTrack(seq: number): number {
    return this.slotFlags(seq) & SLOT_FLAG_TRACK_MASK;
  }
  isGopStart(seq: number): boolean {
    return (this.slotFlags(seq) & SLOT_FLAG_GOP_START) !== 0;
  }

  /** Physical offset in `data` of packet seq's `$`. */
  slotOffset(seq: number): number {
    return this.slotPos(seq) & this.dataMask;
  }

  /** Offset in `data` of packet seq's RTP header. */
  rtpOffset(seq: number): number {
    return (this.slotPos(seq) & this.dataMask) + FRAME_HEADER_BYTES;
  }

  /** Last published RTP sequence number of a track (undefined before its first packet). */
  trackLastSeq(track: number): number | undefined {
    const v = Atomics.load(this.header, HDR.TRACKS + 2 * track);
    return v < 0 ? undefined : v;
  }
  trackLastTimestamp(track: number): number {
    return Atomics.load(this.header, HDR.TRACKS + 2 * track + 1) >>> 0;
  }

  /**
   * End (exclusive) of the run of packets from `from` that are adjacent in `data`, stop before `to`,
   * and total at most maxBytes (the first packet is always taken).
   */
  // hot path: no allocation
  runEnd(from: number, to: number, maxBytes: number): number {
    const slots = this.slots;
    const mask = this.slotMask;
    let i = (from & mask) * SLOT_WORDS;
    let end = (slots[i + SLOT.POS] + slots[i + SLOT.LEN]) | 0;
    let total = slots[i + SLOT.LEN];
    let seq = (from + 1) | 0;
    while (seq !== to) {
      i = (seq & mask) * SLOT_WORDS;
      const pos = slots[i + SLOT.POS];
      const len = slots[i + SLOT.LEN];
      // A jump to offset 0 shows as a logical gap; physically adjacent frames have pos === end.
      if (pos !== end || total + len > maxBytes || (pos & this.dataMask) === 0) break;
      end = (pos + len) | 0;
      total += len;
      seq = (seq + 1) | 0;
    }
    return seq;
  }
}

function checkDimensions(slotCount: number, dataBytes: number): void {
  if (!isPowerOfTwo(slotCount, 16)) {
    throw new RangeError(`slot count ${slotCount} is not a power of two >= 16`);
  }
  if (!isPowerOfTwo(dataBytes, 1 << 17)) {
    throw new RangeError(`ring data bytes ${dataBytes} is not a power of two >= 128 KiB`);
  }
}

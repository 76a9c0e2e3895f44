/**
 * Puts a UDP publisher's RTP packets back in sequence order before they enter the ring. A packet
 * that arrives ahead of a missing one waits, at most `maxPackets` packets or `maxDelayMs`; then the
 * missing ones are given up (counted as lost) and the waiting ones released in order. Late and
 * duplicate packets are dropped and counted. Sequence numbers are 16-bit and wrap.
 */

/** Receives released packets, in sequence order. */
export type ReleasePacket = (buf: Uint8Array, start: number, end: number) => void;

/** A jump this large (either way) is a new sequence base (a restarted sender), not loss. */
export const RESYNC_DISTANCE = 3000;

/** Signed distance from a to b in 16-bit sequence space. */
export function seqDistance(a: number, b: number): number {
  return (((b - a + 32768) & 0xffff) - 32768);
}

export class ReorderBuffer {
  /** How far ahead of the expected packet one may wait. */
  readonly #capacity: number;
  /** Slots: a power of two >= capacity, so slot = seq % size stays distinct across the 16-bit wrap. */
  readonly #size: number;
  readonly #maxDelayMs: number;
  /** Held packets by (seq % capacity): copies, reused; null when the slot is empty. */
  readonly #bufs: (Uint8Array | null)[];
  readonly #lens: Int32Array;
  readonly #times: Float64Array;
  readonly #held: Uint8Array;
  #heldCount = 0;
  /** Next sequence number to release, or -1 before the first packet. */
  #expected = -1;
  /** Packets given up (never arrived in time). */
  lost = 0;
  /** Packets that arrived after their turn, or twice. */
  late = 0;
  duplicates = 0;
  /** Packets that arrived out of order and were put back in it. */
  reordered = 0;
  /** Jumps of the sequence base. */
  resyncs = 0;

  constructor(maxPackets: number, maxDelayMs: number) {
    if (!Number.isInteger(maxPackets) || maxPackets < 1 || maxPackets > 1024) {
      throw new RangeError(`reorder buffer size ${maxPackets} not in 1..1024`);
    }
    this.#capacity = maxPackets;
    let size = 1;
    while (size < maxPackets) size <<= 1;
    this.#size = size;
    this.#maxDelayMs = maxDelayMs;
    this.#bufs = new Array(size).fill(null);
    this.#lens = new Int32Array(size);
    this.#times = new Float64Array(size);
    this.#held = new Uint8Array(size);
  }

  /** Packets waiting for a missing one. */
  get waiting(): number {
    return this.#heldCount;
  }

  /** When the oldest waiting packet's time is up (ms, same clock as push), or -1 when none waits. */
  deadline(): number {
    if (this.#heldCount === 0) return -1;
    let oldest = Infinity;
    for (let i = 0; i < this.#size; i++) {
      if (this.#held[i] && this.#times[i] < oldest) oldest = this.#times[i];
    }
    return oldest + this.#maxDelayMs;
  }

  /**
   * One RTP packet (buf[start..end), sequence `seq`) arrived at nowMs. In-order packets are
   * released at once without a copy; early ones are copied and wait.
   */
  // hot path: no allocation in order; a held packet reuses its slot's buffer once grown
  push(buf: Uint8Array, start: number, end: number, seq: number, nowMs: number, out: ReleasePacket): void {
    if (this.#expected < 0) this.#expected = seq;
    let d = seqDistance(this.#expected, seq);
    if (d >= RESYNC_DISTANCE || d <= -RESYNC_DISTANCE) {
      this.resyncs++;
      this.#releaseAll(out);
      this.#expected = seq;
      d = 0;
    }
    if (d < 0) {
      this.late++;
      return;
    }
    if (d === 0) {
      out(buf, start, end);
      this.#expected = (seq + 1) & 0xffff;
      this.#drain(out);
      return;
    }
    while (d >= this.#capacity) {
      // No room to wait that far ahead: give up on the oldest missing packet.
      this.#skipOne();
      this.#drain(out);
      d = seqDistance(this.#expected, seq);
    }
    if (d === 0) {
      out(buf, start, end);
      this.#expected = (seq + 1) & 0xffff;
      this.#drain(out);
      return;
    }
    const slot = seq & (this.#size - 1);
    if (this.#held[slot]) {
      this.duplicates++;
      return;
    }
    const n = end - start;
    let copy = this.#bufs[slot];
    if (copy === null || copy.length < n) copy = this.#bufs[slot] = new Uint8Array(Math.max(n, 1500));
    copy.set(buf.subarray(start, end));
    this.#lens[slot] = n;
    this.#times[slot] = nowMs;
    this.#held[slot] = 1;
    this.#heldCount++;
    this.reordered++;
  }

  /** Gives up on missing packets older than maxDelayMs and releases what waited for them. */
  expire(nowMs: number, out: ReleasePacket): void {
    while (this.#heldCount > 0 && this.deadline() <= nowMs) this.#skipToHeld(out);
  }

  /** Releases everything waiting, in order, counting the holes as lost (the sender stopped). */
  releaseAll(out: ReleasePacket): void {
    this.#releaseAll(out);
  }

  #releaseAll(out: ReleasePacket): void {
    while (this.#heldCount > 0) this.#skipToHeld(out);
  }

  /** Gives up on the missing packets before the next waiting one, then releases from there. */
  #skipToHeld(out: ReleasePacket): void {
    while (!this.#held[this.#expected & (this.#size - 1)]) this.#skipOne();
    this.#drain(out);
  }

  /** Counts the expected packet as lost and moves on. */
  #skipOne(): void {
    this.lost++;
    this.#expected = (this.#expected + 1) & 0xffff;
  }

  /** Releases held packets from #expected on while they are consecutive. */
  #drain(out: ReleasePacket): void {
    while (this.#heldCount > 0) {
      const slot = this.#expected & (this.#size - 1);
      if (!this.#held[slot]) return;
      this.#held[slot] = 0;
      this.#heldCount--;
      out(this.#bufs[slot]!, 0, this.#lens[slot]);
      this.#expected = (this.#expected + 1) & 0xffff;
    }
  }
}

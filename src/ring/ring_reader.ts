import type { SharedRing } from "./shared_ring.ts";

/**
 * How far behind the writer a reader may fall, in percent of the data bytes of the ring it reads
 * (the `viewer` config section): a ring's size changes as its stream moves (docs/ring.md).
 */
export interface ReaderPolicy {
  /** Lag at which the reader skips to the newest keyframe (nothing of it borrowed). */
  skipLagPercent: number;
  /** Lag of a borrowed range at which the reader must be dropped before the ring overwrites it. */
  dropLagPercent: number;
}

/** The rings a reader holds now: the one it reads, and one it lent memory of before it moved on. */
export interface HeldRings {
  ring: SharedRing | null;
  borrowed: SharedRing | null;
}

/**
 * The rings of one stream as one worker knows them (stream/local_stream.ts): where a moved ring's
 * stream went, and who still reads which ring, so that a ring is given back (to main.ts's pool)
 * only once no reader of this worker is on it.
 */
export interface RingChain {
  /** The ring `ring` moved to (its MOVED_TO), or undefined while this worker does not have it. */
  successor(ring: SharedRing): SharedRing | undefined;
  /** A reader starts reading `ring` (or holds memory of it in a write). */
  hold(ring: SharedRing): void;
  /** ... and no longer does. */
  release(ring: SharedRing): void;
}

/** Counters a worker sums over its readers. */
export interface ReaderCounters {
  skips: number;
  /** Ring packets jumped over by skips: what slow readers never got. */
  skippedPackets: number;
  drops: number;
}

/**
 * One reader's cursor into a stream's ring, in any worker: which packets it may take next, and the
 * rules that keep it from reading torn bytes (docs/ring.md).
 *
 * - Start: at the newest GOP start, or (none yet) at the head, waiting for the next GOP start.
 * - Lapping: the writer stores TAIL before it overwrites a packet, so a cursor before TAIL was
 *   overtaken; the reader skips.
 * - Lag: a cursor more than `skipLagBytes` behind the writer skips too, before it is lapped, when
 *   a newer GOP start is there to skip to (at the newest one, skipping would only lose it).
 * - Skip: to the newest GOP start if it lies ahead, else to the head, waiting for the next one.
 * - Borrowing: a caller that hands ring memory to a write that may finish later borrows it; the
 *   writer coming within `dropLagBytes` of a borrowed range makes the reader unsafe: its owner
 *   must drop it before the bytes change under the write.
 *
 * - Moves: at the head of a ring whose stream moved on (MOVED_TO), the reader goes on in the next
 *   ring at the same sequence, which that ring holds (the writer copies from the newest GOP start
 *   or the last published head on): no packet lost, none twice. It holds the ring it reads (and,
 *   until the write settles, a ring it lent memory of) through its chain; close() lets go.
 *
 * Callers take packets [pos, head) after ready(), then advance(). A caller that copied packets
 * checks intact(from) afterwards: the writer may have evicted them meanwhile.
 */
export class RingReader {
  #ring: SharedRing;
  readonly #chain: RingChain | null;
  readonly #policy: ReaderPolicy;
  readonly #counters: ReaderCounters;
  #skipLagBytes = 0;
  #dropLagBytes = 0;
  #pos: number;
  #head = 0;
  #waitKey: boolean;
  #borrowed = false;
  #borrowPos = 0;
  /**
   * What it holds through its chain (`borrowed`: the ring a borrowed range lies in when the reader
   * moved on meanwhile). Cleared by close(); a chain that outlives a reader never closed (a bug)
   * may release what is left here once the reader is collected.
   */
  readonly held: HeldRings = { ring: null, borrowed: null };
  #closed = false;
  /** Called just before the reader leaves a ring for the next (a sink counts what it sent there). */
  onLeave: (() => void) | null = null;
  /** Rings moved to so far. */
  moves = 0;
  /** Set once the reader is unsafe (see safe()); the owner closes it. */
  dropReason: string | null = null;
  /** Why the last skip happened, for the owner's log line; the owner clears it. */
  lastSkip: string | null = null;
  /** This reader's skips and the ring packets they jumped over. */
  skips = 0;
  skippedPackets = 0;

  /** chain: null for a ring that never moves (tests); the reader holds `ring` through it from now on. */
  constructor(
    ring: SharedRing,
    policy: ReaderPolicy,
    counters: ReaderCounters,
    chain: RingChain | null = null,
  ) {
    this.#ring = ring;
    this.#chain = chain;
    this.#policy = policy;
    this.#counters = counters;
    this.#bind(ring);
    if (chain !== null) {
      chain.hold(ring);
      this.held.ring = ring;
    }
    const gop = ring.gopStart();
    if (gop === undefined) {
      this.#pos = ring.head();
      this.#waitKey = true;
    } else {
      this.#pos = gop;
      this.#waitKey = false;
    }
  }

  /** The ring read now (the next one after a move). */
  get ring(): SharedRing {
    return this.#ring;
  }

  /** Ring sequence of the next packet to take. */
  get pos(): number {
    return this.#pos;
  }

  /** The head the last successful ready() saw: packets before it are published. */
  get head(): number {
    return this.#head;
  }

  /** Whether the reader waits for a GOP start (at the start, or after a skip found none ahead). */
  get waitingForKey(): boolean {
    return this.#waitKey;
  }

  /**
   * Whether there are packets to take in [pos, head), after the lapping rule, the lag rule and, when
   * waiting for one, the keyframe rule (which moves pos to the GOP start).
   */
  // hot path: no allocation
  ready(): boolean {
    for (let attempt = 0; attempt < 4; attempt++) {
      const ring = this.#ring;
      const head = ring.head();
      if (this.#pos === head) {
        // At the end of a ring its stream left: on in the next one. The head read above may be older
        // than the writer's last publish before the move, whose packets the next ring need not hold;
        // read once MOVED_TO is seen (stored after that publish), the head is at least that one.
        if (ring.movedTo() === 0) return false;
        if (ring.head() !== head) continue;
        if (!this.#moveOn()) return false;
        continue;
      }
      if (((ring.tail() - this.#pos) | 0) > 0) {
        this.#skip(head, "lapped by the ring");
        continue;
      }
      if (((ring.writePos() - ring.slotPos(this.#pos)) | 0) > this.#skipLagBytes && this.#newerGop()) {
        this.#skip(head, "too far behind");
        continue;
      }
      if (this.#waitKey && !this.#seekKey(head)) return false;
      this.#head = head;
      return true;
    }
    return false;
  }

  /** The caller took the packets before `to`. */
  advance(to: number): void {
    this.#pos = to;
  }

  /** Whether every packet from `from` on is still intact: the writer stores TAIL before overwriting. */
  intact(from: number): boolean {
    return ((this.#ring.tail() - from) | 0) <= 0;
  }

  /**
   * What was taken from `from` on was evicted while the caller read it: back to `from` (the next
   * ready() skips, as the cursor is now behind the tail), nothing borrowed.
   */
  rewind(from: number): void {
    this.#pos = from;
    this.#unborrow();
  }

  /** Packets from `from` on are borrowed: a write that reads them from the ring may still be under way. */
  borrow(from: number): void {
    this.#unborrow();
    this.#borrowed = true;
    this.#borrowPos = this.#ring.slotPos(from);
  }

  /** The borrowed write finished. */
  release(): void {
    this.#unborrow();
  }

  /** The reader is done (its viewer paused or left): the rings it held may be given back. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unborrow();
    const r = this.held.ring;
    this.held.ring = null;
    if (r !== null) this.#chain!.release(r);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * False once the writer (at `writePos`) came within dropLagBytes of a borrowed range: the owner
   * must close the reader now (counted once, dropReason says why).
   */
  // hot path: no allocation
  safe(writePos: number): boolean {
    if (!this.#borrowed || this.dropReason !== null) return this.dropReason === null;
    if (((writePos - this.#borrowPos) | 0) <= this.#dropLagBytes) return true;
    this.#counters.drops++;
    this.dropReason = "socket not draining: unfinished write would be overwritten by the ring";
    return false;
  }

  /** Ring sequence of the first packet of `track` from pos to the head, or -1 (none, or waiting for a key). */
  firstOf(track: number): number {
    if (this.#waitKey) return -1;
    const ring = this.#ring;
    const head = ring.head();
    for (let s = this.#pos; s !== head; s = (s + 1) | 0) if (ring.slotTrack(s) === track) return s;
    return -1;
  }

  /**
   * Whether skipping for lag can help: a newer GOP start than the cursor's is in the ring, or none
   * is (the newest was evicted: wait for the next). A reader at or past the newest GOP start keeps
   * sending: a keyframe larger than the skip lag but fitting the ring still starts its viewers, and
   * the lapping and drop rules still protect them.
   */
  #newerGop(): boolean {
    const gop = this.#ring.gopStart();
    return gop === undefined || ((gop - this.#pos) | 0) > 0;
  }

  /** Moves to the first GOP start before head; false (and caught up) when there is none yet. */
  #seekKey(head: number): boolean {
    const ring = this.#ring;
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
    const gop = this.#ring.gopStart();
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

  /** Goes on in the ring this one moved to; false while this worker does not have it yet. */
  #moveOn(): boolean {
    const old = this.#ring;
    const next = this.#chain?.successor(old);
    if (next === undefined || this.#closed) return false;
    this.onLeave?.();
    const chain = this.#chain!;
    chain.hold(next);
    this.held.ring = next;
    // A range still lent from the old ring keeps it held until the write settles.
    if (this.#borrowed && this.held.borrowed === null) this.held.borrowed = old;
    else chain.release(old);
    this.#ring = next;
    this.#bind(next);
    this.moves++;
    return true;
  }

  #bind(ring: SharedRing): void {
    this.#skipLagBytes = Math.floor(ring.dataBytes * this.#policy.skipLagPercent / 100);
    this.#dropLagBytes = Math.floor(ring.dataBytes * this.#policy.dropLagPercent / 100);
  }

  #unborrow(): void {
    this.#borrowed = false;
    const r = this.held.borrowed;
    if (r === null) return;
    this.held.borrowed = null;
    this.#chain!.release(r);
  }
}

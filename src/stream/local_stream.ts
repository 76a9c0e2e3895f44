import { RingWatch } from "../ring/ring_watch.ts";
import type { StreamAnnouncement } from "./stream_announcement.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import {
  type HeldRings,
  type ReaderCounters,
  type ReaderPolicy,
  type RingChain,
  RingReader,
} from "../ring/ring_reader.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { type StreamInfo, streamInfoFromSdp } from "./stream_info.ts";
import { buildViewerSdp } from "./viewer_sdp.ts";
import { passClock } from "./pass_clock.ts";
import type { MergeWindow } from "./merge_window.ts";
import { Deadline } from "../clock/deadlines.ts";

/**
 * Longest a pass over the viewers runs before it lets the event loop in: RTSP requests (a joining
 * viewer's PLAY), the publisher's packets and other streams must not wait for 10,000 writes.
 */
const PASS_SLICE_MS = 4;

/** A viewer as the fan-out sees it. */
export interface StreamSubscriber {
  /** Its index in the stream's viewer list (kept by LocalStream), -1 when not subscribed. */
  streamSlot: number;
  /** The writer published: check safety, then start a write if idle. */
  wake(writePos: number): void;
  /** The publisher left. */
  streamEnded(): void;
  /**
   * Whether this viewer costs the server per packet (UDP: a datagram each) rather than per write
   * (TCP); fixed while subscribed.
   */
  readonly perPacket?: boolean;
  /**
   * false: it takes packets late without harm (HLS segments, recording), so the publisher's worker
   * may read the stream's socket on its slower tick (read_pace.ts). Fixed while subscribed.
   */
  readonly prompt?: boolean;
}

/** One ring of the stream as this worker knows it. */
interface RingEntry {
  readonly ring: SharedRing;
  /** Readers of this worker on it (RingReader holds). */
  holds: number;
  /** The stream left it (moved on, or ended) or main.ts said it will never be used. */
  retired: boolean;
}

/**
 * A published stream as one worker sees it: the shared ring, the SDP served to viewers, and this
 * worker's viewers of it. The fan-out runs here: one wake per publish (or per merge window) and one
 * pass over the local viewers.
 *
 * It also keeps the stream's rings as this worker knows them (a RingChain for its readers): the
 * current one, those main.ts announced for a move (ringAdded) and those left that readers are
 * still on. A ring is given back (onRingFree, to main.ts) once it is retired and no reader of this
 * worker holds it; main.ts pools it when every worker has.
 */
export class LocalStream implements RingChain {
  readonly streamId: number;
  readonly path: string;
  #ring: SharedRing;
  readonly #rings = new Map<number, RingEntry>();
  readonly #onRingFree: (ringId: number) => void;
  /** Whether a slice of a pass runs, and the rings freed during it (see #free). */
  #inSlice = false;
  readonly #freedInSlice: number[] = [];
  /** Collects readers never closed (a bug elsewhere), so their rings still come back. */
  readonly #lost = new FinalizationRegistry<HeldRings>((h) => this.#releaseHeld(h));
  readonly info: StreamInfo;
  readonly viewerSdp: string;
  readonly publisherWorker: number;
  /** This worker's viewers; removal swaps the last one into the hole (StreamSubscriber.streamSlot). */
  readonly #subscribers: StreamSubscriber[] = [];
  /** How many of them cost per packet (StreamSubscriber.perPacket). */
  #perPacket = 0;
  /** How many of them want packets at once (StreamSubscriber.prompt); the ring counts this worker while any do. */
  #prompt = 0;
  readonly #watch: RingWatch;
  /** The worker's window (merge_window.ts), read at each wake. */
  readonly #mergeWindow: Pick<MergeWindow, "ms" | "maxMs">;
  /** The merge window's wait before a pass (clock/deadlines.ts: no runtime timer per wake). */
  readonly #timer = new Deadline(() => this.#flush());
  /** Duration and end of the last pass over the viewers, for self-clocking. */
  #lastPassMs = 0;
  #lastPassEnd = 0;
  #ended = false;
  /** The pass under way: next viewer index (-1: none), CPU time so far, whether a wake came meanwhile. */
  #cursor = -1;
  #passBusy = 0;
  #wokenDuringPass = false;
  /** Resumes a pass after a slice; a fresh channel each time, so nothing stays open between passes. */
  #resume: MessageChannel | null = null;

  readonly #afterSlice: () => void;

  readonly #onReaders: (count: number) => void;

  /**
   * afterSlice runs after every slice of a pass; onReaders hears when this worker's viewers of the
   * stream go from none to some (their count) or back to none (0); onRingFree when a ring of the
   * stream is retired and no reader of this worker is on it.
   */
  constructor(
    a: StreamAnnouncement,
    mergeWindow: Pick<MergeWindow, "ms" | "maxMs">,
    afterSlice: () => void = () => {},
    onReaders: (count: number) => void = () => {},
    onRingFree: (ringId: number) => void = () => {},
  ) {
    this.#afterSlice = afterSlice;
    this.#onReaders = onReaders;
    this.#onRingFree = onRingFree;
    this.streamId = a.streamId;
    this.path = a.path;
    this.#ring = new SharedRing(a.sab);
    this.#rings.set(this.#ring.id, { ring: this.#ring, holds: 0, retired: false });
    const sd = parseSdp(a.sdp);
    this.info = streamInfoFromSdp(sd);
    this.viewerSdp = buildViewerSdp(sd, a.streamId);
    this.publisherWorker = a.worker;
    this.#mergeWindow = mergeWindow;
    this.#watch = new RingWatch(this.#ring, this.#onWake);
  }

  /** The stream's current ring: the one its writer writes (as far as this worker has seen). */
  get ring(): SharedRing {
    return this.#ring;
  }

  /** A reader at the newest GOP start of the current ring, held until close(). Not after end(). */
  newReader(policy: ReaderPolicy, counters: ReaderCounters): RingReader {
    if (this.#ended) throw new Error(`stream ${this.streamId} ended: no new readers`);
    this.#follow();
    const r = new RingReader(this.#ring, policy, counters, this);
    this.#lost.register(r, r.held);
    return r;
  }

  /** main.ts's ringAdded: a ring the stream may move to (the writer asked for another size). */
  addRing(sab: SharedArrayBuffer): number {
    const ring = new SharedRing(sab);
    if (this.#ended) {
      this.#onRingFree(ring.id);
      return ring.id;
    }
    this.#rings.set(ring.id, { ring, holds: 0, retired: false });
    // Not before main.ts has every worker's ack; should a reader wait at the move, it goes on now.
    if (this.#ring.movedTo() === ring.id) this.#onWake();
    return ring.id;
  }

  /** main.ts's ringRetired: the stream moved off the ring, or the ring will not be used. */
  retireRing(ringId: number): void {
    this.#follow();
    const e = this.#rings.get(ringId);
    if (e === undefined || e.ring === this.#ring) return;
    e.retired = true;
    this.#free(e);
  }

  /** The rings this worker holds of the stream (the API, tests). */
  ringIds(): number[] {
    return [...this.#rings.keys()];
  }

  /** RingChain: the ring `ring` moved to, if this worker has it. */
  successor(ring: SharedRing): SharedRing | undefined {
    const id = ring.movedTo();
    return id === 0 ? undefined : this.#rings.get(id)?.ring;
  }

  hold(ring: SharedRing): void {
    const e = this.#rings.get(ring.id);
    if (e !== undefined) e.holds++;
  }

  release(ring: SharedRing): void {
    const e = this.#rings.get(ring.id);
    if (e === undefined) return;
    e.holds--;
    this.#free(e);
  }

  /** Moves the current ring along the stream's moves (MOVED_TO), as far as this worker has the rings. */
  #follow(): void {
    if (this.#ended) return;
    for (;;) {
      const next = this.successor(this.#ring);
      if (next === undefined) return;
      const old = this.#rings.get(this.#ring.id)!;
      if (this.#prompt > 0) {
        this.#ring.addPromptReader(-1);
        next.addPromptReader(1);
      }
      this.#ring = next;
      this.#watch.retarget(next);
      old.retired = true;
      this.#free(old);
    }
  }

  #free(e: RingEntry): void {
    if (!e.retired || e.holds > 0 || this.#rings.get(e.ring.id) !== e) return;
    this.#rings.delete(e.ring.id);
    // Within a slice, UDP viewers' batched datagrams may still point into the ring (they leave at
    // the slice's end, afterSlice), and main.ts gives a freed ring's pages back at once (they read
    // as zeros then) or hands it to another stream: it is told after the slice.
    if (this.#inSlice) this.#freedInSlice.push(e.ring.id);
    else this.#onRingFree(e.ring.id);
  }

  /** The slice's batches are sent (afterSlice): the rings freed meanwhile may go now. */
  #afterSliceSent(): void {
    this.#inSlice = false;
    const freed = this.#freedInSlice;
    if (freed.length === 0) return;
    for (const id of freed) this.#onRingFree(id);
    freed.length = 0;
  }

  #releaseHeld(h: HeldRings): void {
    if (h.ring !== null) this.release(h.ring);
    if (h.borrowed !== null) this.release(h.borrowed);
    h.ring = h.borrowed = null;
  }

  get viewerCount(): number {
    return this.#subscribers.length;
  }

  /** This worker's viewers that want packets at once (StreamSubscriber.prompt). */
  get promptViewers(): number {
    return this.#prompt;
  }

  get ended(): boolean {
    return this.#ended;
  }

  subscribe(s: StreamSubscriber): void {
    if (s.streamSlot !== -1) return;
    s.streamSlot = this.#subscribers.length;
    this.#subscribers.push(s);
    if (s.perPacket) this.#perPacket++;
    if (s.prompt !== false && ++this.#prompt === 1) this.#ring.addPromptReader(1);
    if (this.#subscribers.length === 1) {
      this.#watch.start();
      this.#onReaders(1);
    }
  }

  unsubscribe(s: StreamSubscriber): void {
    const subs = this.#subscribers;
    const i = s.streamSlot;
    if (i < 0 || subs[i] !== s) return;
    s.streamSlot = -1;
    if (s.perPacket) this.#perPacket--;
    if (s.prompt !== false && --this.#prompt === 0) this.#ring.addPromptReader(-1);
    // A pass under way may skip the viewer moved into the hole; the next pass serves it.
    const last = subs.pop()!;
    if (last !== s) {
      subs[i] = last;
      last.streamSlot = i;
    }
    if (subs.length === 0) {
      this.#stopWatching();
      this.#onReaders(0);
    }
  }

  /** The directory removed the stream (or its ring says ended): tell every local viewer. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopWatching();
    const subs = this.#subscribers.splice(0);
    this.#perPacket = 0;
    if (this.#prompt > 0) this.#ring.addPromptReader(-1);
    this.#prompt = 0;
    for (const s of subs) s.streamSlot = -1;
    for (const s of subs) s.streamEnded();
    // Every ring is retired; each goes back once its last reader here closes.
    for (const e of [...this.#rings.values()]) {
      e.retired = true;
      this.#free(e);
    }
  }

  #stopWatching(): void {
    this.#watch.stop();
    this.#timer.disarm();
    this.#endSlice();
    this.#cursor = -1;
  }

  readonly #onWake = (): void => {
    this.#follow();
    if (this.#cursor !== -1) {
      // Viewers already passed have not seen this publish: another pass follows this one.
      this.#wokenDuringPass = true;
      return;
    }
    if (this.ring.ended()) {
      // Send what is left; the directory's streamRemoved ends the viewers.
      this.#flush();
      return;
    }
    if (this.#timer.armed) return;
    // Self-clocking: the next pass waits as long as the last one took. Idle, that is ~0 and adds
    // no delay; under load each viewer's write carries more packets instead of the worker falling
    // behind with more, smaller writes (synchronous FFI writes have no in-flight write to skip).
    // With UDP viewers, at most mergeWindowMs: they cost per datagram, so waiting as long as the
    // pass took only makes the next one longer, and unbounded the waits grow without end (2,000
    // UDP viewers: passes of 1-2 s, packets seconds late, workers half idle). A TCP pass costs
    // per write, so its length does not grow with the wait.
    const w = this.#mergeWindow;
    const bound = this.#perPacket > 0 ? w.maxMs : Infinity;
    const clocked = Math.min(bound, this.#lastPassMs - (performance.now() - this.#lastPassEnd));
    const wait = Math.max(w.ms, clocked);
    if (wait < 1) this.#flush();
    else this.#timer.arm(wait);
  };

  #flush(): void {
    if (this.#cursor !== -1) return;
    this.#follow();
    this.#cursor = 0;
    this.#passBusy = 0;
    this.#slice();
  }

  /** Runs the pass for at most PASS_SLICE_MS, then yields (a macrotask, so I/O is polled meanwhile). */
  // hot path: no allocation per viewer
  #slice(): void {
    const start = passClock.now = performance.now();
    // The newest ring's position: viewers' borrowed ranges are checked against where the writer is.
    this.#follow();
    const wp = this.ring.writePos();
    const subs = this.#subscribers;
    let i = this.#cursor;
    this.#inSlice = true;
    while (i < subs.length) {
      subs[i++].wake(wp);
      if ((i & 63) === 0 && performance.now() - start > PASS_SLICE_MS && i < subs.length) {
        this.#afterSlice();
        this.#afterSliceSent();
        this.#cursor = i;
        this.#passBusy += performance.now() - start;
        const mc = this.#resume = new MessageChannel();
        mc.port1.onmessage = this.#onResume;
        mc.port2.postMessage(null);
        return;
      }
    }
    this.#afterSlice();
    this.#afterSliceSent();
    const end = performance.now();
    this.#cursor = -1;
    this.#lastPassEnd = end;
    this.#lastPassMs = this.#passBusy + (end - start);
    if (this.#wokenDuringPass) {
      this.#wokenDuringPass = false;
      this.#onWake();
    }
  }

  readonly #onResume = (): void => {
    this.#endSlice();
    if (this.#cursor !== -1) this.#slice();
  };

  #endSlice(): void {
    const mc = this.#resume;
    if (mc === null) return;
    this.#resume = null;
    mc.port1.close();
    mc.port2.close();
  }
}

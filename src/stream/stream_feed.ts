import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { type RingClass, RingClasses } from "../ring/ring_classes.ts";
import { RingSizer } from "../ring/ring_sizer.ts";
import type { RtcpPacket } from "../rtcp/compound.ts";
import { Continuity, trackEnds } from "./continuity.ts";
import { StreamIngest } from "./ingest.ts";
import { PublisherClock } from "./publisher_clock.ts";
import { Deadline } from "../clock/deadlines.ts";
import type { StreamInfo } from "./stream_info.ts";

/** How long a batch may wait for the end of its access unit (the `ingest` config section, read per flush). */
export interface FeedHolds {
  readonly maxFrameHoldMs: number;
  readonly maxAudioHoldMs: number;
}

/** How long a feed whose request for another ring was refused waits before it asks again. */
const REFUSED_RETRY_MS = 1000;

/**
 * Where a feed gets a ring of another size for its stream (main.ts's ring directory, asked through
 * the worker's directory: cluster/worker_directory.ts), and what it tells of the rings it got.
 */
export interface RingSupply {
  /**
   * An empty ring of class c for the stream, known to every worker once this resolves; null when
   * refused (the stream ended, or a worker did not answer).
   */
  request(streamId: number, c: RingClass): Promise<SharedArrayBuffer | null>;
  /** The stream's writer moved to ring `ringId` (the ring it left is retired). */
  moved(streamId: number, ringId: number): void;
  /** A ring granted that the feed will not use (its sender left first). */
  discard(ringId: number): void;
}

/** The sizing of a feed's ring: the classes it may take and who hands them out. */
export interface FeedSizing {
  readonly streamId: number;
  readonly classes: RingClasses;
  readonly supply: RingSupply;
}

/** The sizing of stream `streamId`'s ring under the `ring` config section, asked of `supply`. */
export function feedSizing(
  ring: { readonly minBytes: number; readonly bytes: number; readonly slots: number },
  streamId: number,
  supply: RingSupply,
): FeedSizing {
  return { streamId, classes: new RingClasses(ring.minBytes, ring.bytes, ring.slots), supply };
}

/** What a feed needs besides its ring. */
export interface FeedOptions {
  /** The tracks of the packets as they arrive (the publisher's SDP, or a source's DESCRIBE). */
  readonly info: StreamInfo;
  /** Read at every flush, so a reload applies to running feeds. */
  readonly holds: () => FeedHolds;
  readonly audioStartWindowMs: number;
  /** Told how many packets a flush found not to be RTP (dropped). */
  readonly onInvalid: (count: number) => void;
  /**
   * The feed takes over a stream another feed left (its publisher reconnected within
   * ingest.reconnectGraceMs): `served` is that stream's SDP, `leftAtMs` when it was left.
   */
  readonly continued?: { readonly served: StreamInfo; readonly leftAtMs: number };
  /** Rings sized to the stream (ring_sizer.ts); without it the feed keeps the ring it got. */
  readonly sizing?: FeedSizing;
}

/**
 * The writing side of one stream, whoever feeds it: RTP packets per track go into the ring through
 * the ingest (keyframes, GOP starts, figures), RTCP Sender Reports set the stream's clock mapping,
 * and batches are published at access-unit boundaries so each video frame wakes the viewers'
 * workers once. A publishing RTSP session feeds one today; a pulled source will feed one the same
 * way, so viewers cannot tell them apart.
 */
export class StreamFeed {
  readonly ingest: StreamIngest;
  /** The stream's NTP<->RTP mapping from the feed's packets and Sender Reports. */
  readonly clock: PublisherClock;
  readonly #holds: () => FeedHolds;
  readonly #onInvalid: (count: number) => void;
  #batchTime = 0;
  /**
   * Publishes a held batch at #holdUntil. Armed at a hold when not armed, and not disarmed when the
   * batch leaves earlier (the next frame came): a stream with audio holds 40-50 times a second.
   * Fired early (its hold was of an earlier batch), it arms again for the rest.
   */
  readonly #holdTimer = new Deadline(() => this.#flushHeld());
  /** performance.now() by which the batch held now is published; 0: none held. */
  #holdUntil = 0;
  #detached = false;
  readonly #sizing: FeedSizing | null;
  readonly #sizer: RingSizer | null;
  /** A ring asked of the supply and not answered yet. */
  #asking = false;
  /** No new request before this (performance.now()), after a refusal. */
  #askAfter = 0;

  constructor(ring: SharedRing, o: FeedOptions) {
    this.#holds = o.holds;
    this.#onInvalid = o.onInvalid;
    this.#sizing = o.sizing ?? null;
    this.#sizer = o.sizing === undefined ? null : new RingSizer(o.sizing.classes, performance.now());
    const rates = o.info.tracks.map((t) => t.clockRate);
    if (o.continued === undefined) {
      this.ingest = new StreamIngest(new RingWriter(ring), o.info, o.audioStartWindowMs);
    } else {
      // Packets are rewritten to the continued stream's payload types: read them with its SDP.
      const ends = trackEnds(ring, rates);
      this.ingest = new StreamIngest(RingWriter.resume(ring), o.continued.served, o.audioStartWindowMs);
      this.ingest.continueFrom(new Continuity(ends, o.continued.leftAtMs));
    }
    const cont = this.ingest.continuity;
    this.clock = new PublisherClock(ring, rates, cont === null ? null : (t) => cont.timestampOffset(t));
    this.ingest.writer.clock = this.clock;
    const sizing = this.#sizing;
    if (sizing !== null) {
      this.ingest.writer.onMove = (_from, to) => {
        this.#sizer!.reset(performance.now());
        sizing.supply.moved(sizing.streamId, to.id);
      };
    }
  }

  /** One RTP packet buf[start..end) of a track; visible to viewers at the next flush(). */
  // hot path: no allocation besides the ring copy's view
  packet(track: number, buf: Uint8Array, start: number, end: number): void {
    if (this.#batchTime === 0) this.#batchTime = performance.now() | 0;
    this.ingest.packet(buf, start, end, track, this.#batchTime);
  }

  /** RTCP from the feed's sender about `track` (-1: unknown): Sender Reports set the clock mapping. */
  rtcp(track: number, packets: readonly RtcpPacket[]): void {
    this.clock.receive(track, packets);
  }

  /**
   * Publishes the packets taken since the last flush, at an access-unit boundary: in the middle of
   * a video frame it waits for the frame's last packet, at most maxFrameHoldMs (for cameras that
   * never set the marker bit); audio alone waits for the next video frame, at most maxAudioHoldMs.
   */
  flush(): void {
    if (this.#detached) return;
    const ingest = this.ingest;
    const h = this.#holds();
    const hold = ingest.midFrame ? h.maxFrameHoldMs : ingest.withoutVideo ? h.maxAudioHoldMs : 0;
    if (hold > 0) {
      const now = performance.now();
      if (this.#holdUntil === 0) this.#holdUntil = now + hold;
      // A timer left from an earlier, longer hold (audio's) would keep this batch past its own.
      const t = this.#holdTimer;
      if (!t.armed || t.dueMs > this.#holdUntil + 1) this.#arm(this.#holdUntil - now);
      return;
    }
    this.#publish();
  }

  /** The feed's sender left: what is pending becomes visible; nothing is taken any more. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#holdTimer.disarm();
    this.ingest.detach();
    const unused = this.ingest.writer.withdraw();
    if (unused !== null) this.#sizing!.supply.discard(unused.id);
  }

  #flushHeld(): void {
    if (this.#detached || this.#holdUntil === 0) return;
    const left = this.#holdUntil - performance.now();
    if (left >= 1) this.#arm(left);
    else this.#publish();
  }

  #arm(ms: number): void {
    this.#holdTimer.arm(Math.max(0, Math.ceil(ms)));
  }

  #publish(): void {
    this.#holdUntil = 0;
    const ingest = this.ingest;
    ingest.flush(this.#batchTime === 0 ? performance.now() | 0 : this.#batchTime);
    this.#batchTime = 0;
    const bad = ingest.invalidPackets;
    if (bad > 0) {
      ingest.invalidPackets = 0;
      this.#onInvalid(bad);
    }
    if (this.#sizer !== null) this.#size();
  }

  /** After a publish: asks for a ring of another class when the sizer wants one (ring_sizer.ts). */
  // once per publish: a few comparisons; a request a few times in a stream's life
  #size(): void {
    const w = this.ingest.writer;
    const ring = w.ring;
    const want = this.#sizer!.observe(
      w.spanBytes,
      w.spanPackets,
      ring.dataBytes,
      ring.slotCount,
      performance.now(),
    );
    if (want === null || this.#asking || performance.now() < this.#askAfter) return;
    const offered = w.offered;
    if (offered !== null) {
      if (offered.dataBytes === want.dataBytes) return;
      // An offer of another size (a shrink waiting for its copy to fit): this one is needed now.
      w.withdraw();
      this.#sizing!.supply.discard(offered.id);
    }
    const sizing = this.#sizing!;
    this.#asking = true;
    sizing.supply.request(sizing.streamId, want).then((sab) => {
      this.#asking = false;
      if (sab === null) {
        this.#askAfter = performance.now() + REFUSED_RETRY_MS;
        return;
      }
      const next = new SharedRing(sab);
      if (this.#detached) sizing.supply.discard(next.id);
      else w.offer(next);
    });
  }
}

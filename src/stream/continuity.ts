/**
 * A new publisher continuing a stream whose publisher left (ingest.reconnectGraceMs): its RTP
 * packets are rewritten, per track, so viewers see one stream go on. Sequence numbers follow the
 * last one relayed; timestamps follow the last one plus the wall-clock gap; SSRC and payload type
 * are the first publisher's, which the viewers' SDP and decoders already know.
 */
import { HDR, SLOT, SLOT_FLAG_TRACK_MASK, SLOT_WORDS } from "../ring/ring_layout.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import { clockSsrc } from "../ring/track_clock.ts";
import {
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  setRtpPayloadType,
  setRtpSequence,
  setRtpSsrc,
  setRtpTimestamp,
} from "../rtp/rtp_header.ts";

/** Where one track of the previous publisher stopped. */
export interface TrackEnd {
  /** Last RTP sequence relayed, or -1 when the track never had a packet. */
  seq: number;
  /** Last RTP timestamp relayed (uint32). */
  timestamp: number;
  /** SSRC and payload type of that last packet (-1 when unknown). */
  ssrc: number;
  payloadType: number;
  clockRate: number;
}

/** Reads where each track stopped from the ring the previous publisher wrote. */
export function trackEnds(ring: SharedRing, clockRates: readonly number[]): TrackEnd[] {
  const ends: TrackEnd[] = clockRates.map((clockRate, t) => ({
    seq: ring.header[HDR.TRACKS + 2 * t],
    timestamp: ring.header[HDR.TRACKS + 2 * t + 1] >>> 0,
    ssrc: -1,
    payloadType: -1,
    clockRate,
  }));
  // The newest packet of each track, scanning back from the head (once per reconnect).
  let missing = ends.filter((e) => e.seq !== -1).length;
  const tail = ring.tail();
  for (let seq = (ring.head() - 1) | 0; missing > 0 && ((seq - tail) | 0) >= 0; seq = (seq - 1) | 0) {
    const s = (seq & ring.slotMask) * SLOT_WORDS;
    const e = ends[ring.slots[s + SLOT.FLAGS] & SLOT_FLAG_TRACK_MASK];
    if (e === undefined || e.ssrc !== -1 || e.seq === -1) continue;
    const off = (ring.slots[s + SLOT.POS] & ring.dataMask) + 4;
    e.payloadType = rtpPayloadType(ring.data, off);
    e.ssrc = rtpSsrc(ring.data, off);
    missing--;
  }
  // A track whose last packet the ring no longer holds (a move copies from the newest GOP start,
  // or only the last batch when that start was evicted): its SSRC from the header, which keeps the
  // newest packet's and is carried across moves. Without it, replays would pass as new packets.
  for (const [t, e] of ends.entries()) {
    if (e.seq === -1 || e.ssrc !== -1 || t >= ring.trackCount) continue;
    // 0 is the cleared word of a ring that never held the track's packets.
    const ssrc = clockSsrc(ring.header, t);
    if (ssrc !== 0) e.ssrc = ssrc;
  }
  return ends;
}

/** A replay is at most this many packets behind the last one relayed (and REPLAY_WINDOW_S of timestamps). */
export const REPLAY_WINDOW_PACKETS = 4096;
export const REPLAY_WINDOW_S = 10;

export class Continuity {
  readonly #ends: TrackEnd[];
  readonly #leftAtMs: number;
  /** Wall-clock gap, fixed at the new publisher's first packet so every track shifts alike. */
  #gapMs = -1;
  readonly #started: Uint8Array;
  readonly #seqOffset: Int32Array;
  readonly #tsOffset: Uint32Array;

  /** `leftAtMs`: Date.now() when the previous publisher left. */
  constructor(ends: TrackEnd[], leftAtMs: number) {
    this.#ends = ends;
    this.#leftAtMs = leftAtMs;
    this.#started = new Uint8Array(ends.length);
    this.#seqOffset = new Int32Array(ends.length);
    this.#tsOffset = new Uint32Array(ends.length);
  }

  /** What is added to this track's RTP timestamps (uint32), for mapping the publisher's SRs. */
  timestampOffset(track: number): number {
    return this.#tsOffset[track];
  }

  /**
   * Whether a packet, before this track's first rewritten one, repeats what the previous publisher
   * already relayed: the same SSRC, a sequence number and timestamp not after the last relayed, and
   * close behind them. A cluster edge whose pull moves to a new owner is served that owner's cached
   * GOP first, the same packets it relayed from the old owner; passed on, its viewers would see the
   * last second again. A camera that restarts sends another SSRC, or numbers far from these.
   */
  // hot path (continued streams only, until the track's first packet): no allocation
  isReplay(buf: Uint8Array, start: number, track: number): boolean {
    if (this.#started[track] === 1) return false; // every packet after the first: one test
    const e = this.#ends[track];
    if (e === undefined || e.seq === -1 || e.ssrc === -1) return false;
    if (rtpSsrc(buf, start) !== e.ssrc) return false;
    const behind = (e.seq - rtpSequence(buf, start)) & 0xffff;
    if (behind >= REPLAY_WINDOW_PACKETS) return false;
    const ticks = (e.timestamp - rtpTimestamp(buf, start)) | 0;
    return ticks >= 0 && ticks <= REPLAY_WINDOW_S * e.clockRate;
  }

  /** The payload type a packet of this track will carry once rewritten. */
  mapPayloadType(track: number, pt: number): number {
    const e = this.#ends[track];
    return e === undefined || e.payloadType === -1 ? pt : e.payloadType;
  }

  /** Rewrites the RTP header at buf[start..] in place. */
  // hot path: no allocation
  /** `nowWallMs` (Date.now() when left out) only matters at the new publisher's first packet. */
  rewrite(buf: Uint8Array, start: number, track: number, nowWallMs?: number): void {
    const e = this.#ends[track];
    if (e === undefined || e.seq === -1) return; // nothing relayed on this track: nothing to follow
    if (this.#started[track] === 0) this.#begin(buf, start, track, nowWallMs);
    setRtpSequence(buf, start, rtpSequence(buf, start) + this.#seqOffset[track]);
    setRtpTimestamp(buf, start, rtpTimestamp(buf, start) + this.#tsOffset[track]);
    if (e.ssrc !== -1) setRtpSsrc(buf, start, e.ssrc);
    if (e.payloadType !== -1) setRtpPayloadType(buf, start, e.payloadType);
  }

  #begin(buf: Uint8Array, start: number, track: number, nowWallMs = Date.now()): void {
    if (this.#gapMs < 0) this.#gapMs = Math.max(0, nowWallMs - this.#leftAtMs);
    const e = this.#ends[track];
    this.#seqOffset[track] = (e.seq + 1 - rtpSequence(buf, start)) & 0xffff;
    // At least one tick, so the first new frame never shares the last old frame's timestamp.
    const advance = Math.max(1, Math.round((this.#gapMs * e.clockRate) / 1000));
    this.#tsOffset[track] = (e.timestamp + advance - rtpTimestamp(buf, start)) >>> 0;
    this.#started[track] = 1;
  }
}

/**
 * A new publisher continuing a stream whose publisher left (ingest.reconnectGraceMs): its RTP
 * packets are rewritten, per track, so viewers see one stream go on. Sequence numbers follow the
 * last one relayed; timestamps follow the last one plus the wall-clock gap; SSRC and payload type
 * are the first publisher's, which the viewers' SDP and decoders already know.
 */
import { HDR, SLOT, SLOT_FLAG_TRACK_MASK, SLOT_WORDS } from "../ring/ring_layout.ts";
import type { SharedRing } from "../ring/shared_ring.ts";

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
    const d = ring.data;
    e.payloadType = d[off + 1] & 0x7f;
    e.ssrc = ((d[off + 8] << 24) | (d[off + 9] << 16) | (d[off + 10] << 8) | d[off + 11]) >>> 0;
    missing--;
  }
  return ends;
}

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

  /** The payload type a packet of this track will carry once rewritten. */
  mapPayloadType(track: number, pt: number): number {
    const e = this.#ends[track];
    return e === undefined || e.payloadType === -1 ? pt : e.payloadType;
  }

  /** Rewrites the RTP header at buf[start..] in place. */
  // hot path: no allocation
  rewrite(buf: Uint8Array, start: number, track: number, nowWallMs: number): void {
    const e = this.#ends[track];
    if (e === undefined || e.seq === -1) return; // nothing relayed on this track: nothing to follow
    if (this.#started[track] === 0) this.#begin(buf, start, track, nowWallMs);
    const seq = (((buf[start + 2] << 8) | buf[start + 3]) + this.#seqOffset[track]) & 0xffff;
    buf[start + 2] = seq >> 8;
    buf[start + 3] = seq & 0xff;
    const ts = (readU32(buf, start + 4) + this.#tsOffset[track]) >>> 0;
    writeU32(buf, start + 4, ts);
    if (e.ssrc !== -1) writeU32(buf, start + 8, e.ssrc);
    if (e.payloadType !== -1) buf[start + 1] = (buf[start + 1] & 0x80) | e.payloadType;
  }

  #begin(buf: Uint8Array, start: number, track: number, nowWallMs: number): void {
    if (this.#gapMs < 0) this.#gapMs = Math.max(0, nowWallMs - this.#leftAtMs);
    const e = this.#ends[track];
    const seq = (buf[start + 2] << 8) | buf[start + 3];
    this.#seqOffset[track] = (e.seq + 1 - seq) & 0xffff;
    // At least one tick, so the first new frame never shares the last old frame's timestamp.
    const advance = Math.max(1, Math.round((this.#gapMs * e.clockRate) / 1000));
    this.#tsOffset[track] = (e.timestamp + advance - readU32(buf, start + 4)) >>> 0;
    this.#started[track] = 1;
  }
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/**
 * The NTP↔RTP mapping of each track of a stream, kept by its publisher's worker in the ring's
 * shared header (ring/track_clock.ts) for every worker's viewers' Sender Reports.
 *
 * From the publisher's Sender Reports when it sends them: their NTP time is moved onto the
 * server's clock by one offset per publisher, the server's time at an SR's arrival less the SR's
 * NTP time, taken from the least delayed SR (a later SR that arrives more than
 * SR_OFFSET_TOLERANCE_MS sooner lowers it, and every track's mapping moves with it; a difference of
 * CLOCK_JUMP_MS, a clock step, starts over; SENDER_REPORT_DRIFT_WINDOW_MS of SRs all arriving
 * later than the tolerance raise it to their least delay, following clock drift). Every track so
 * keeps the publisher's relation between them, SRs say NTP = now on the server's clock, and a
 * switch from the fallback below to SRs moves the timeline by the network delay, not by however
 * wrong the camera's clock is.
 *
 * Without Sender Reports (or once they stop for SENDER_REPORT_STALE_MS), the server's clock: the
 * first packet of a track maps its arrival time to its RTP timestamp. After that, per window of
 * SERVER_CLOCK_WINDOW_MS, the packet that arrived earliest relative to that mapping (the least
 * delayed one) is the best evidence of the publisher's clock; the mapping moves to it only when it
 * is more than SERVER_CLOCK_TOLERANCE_MS off (drift, a delayed first packet), since every move is a
 * small jump in the timeline players sync with. A gap of CLOCK_JUMP_MS or more (a timestamp
 * discontinuity, a stall) maps anew at once. With B-frames, video timestamps are presentation
 * times sent in decoding order: the mapping then leads by the reorder delay (a frame or two).
 *
 * A stream continued by a new publisher (stream/continuity.ts) keeps its viewers' timeline: each
 * track goes on from the previous publisher's mapping, and the new publisher's SRs get the offset
 * that agrees with it at their first use (players such as ffmpeg take a jump back in the mapping
 * as time going backwards); later SRs only raise that offset (drift) or reset it forward (a clock
 * step), never back, and until its first SR its server-clock mapping only moves forward.
 *
 * Over 300 lines on purpose: one algorithm whose two sources (Sender Reports, arrival times) share
 * the per-publisher offset and the per-track mappings; split, each half would need the other's state.
 *
 * @module
 */
import type { AppendObserver } from "../ring/ring_writer.ts";
import type { SharedRing } from "../ring/shared_ring.ts";
import { storeClockSsrc, writeClockMapping } from "../ring/track_clock.ts";
import { CLOCK_SOURCE_SENDER_REPORT, CLOCK_SOURCE_SERVER } from "../ring/ring_layout.ts";
import { clockSsrc, newClockMapping, readClockMapping } from "../ring/track_clock.ts";
import type { RtcpPacket } from "../rtcp/compound.ts";
import { ntpFraction, ntpSeconds, unixMsFromNtp } from "../rtcp/ntp_time.ts";
import { rtpSsrc } from "../rtp/rtp_header.ts";

/** Span over which the least delayed packet is looked for (server-clock mapping). */
export const SERVER_CLOCK_WINDOW_MS = 5000;
/** How far that packet may be from the mapping before the mapping moves to it. */
export const SERVER_CLOCK_TOLERANCE_MS = 5;
/** A departure from the mapping this large is a discontinuity: mapped anew at once. */
export const CLOCK_JUMP_MS = 1000;
/** Sender Reports older than this no longer hold a track's mapping: the server's clock takes over. */
export const SENDER_REPORT_STALE_MS = 30_000;
/** An SR arriving this much sooner than the offset in force lowers it. */
export const SR_OFFSET_TOLERANCE_MS = 1;
/** Span whose SRs, all later than the tolerance, raise the offset to their least delay (drift). */
export const SENDER_REPORT_DRIFT_WINDOW_MS = 60_000;

/** Wall-clock ms with sub-ms precision; the same clock in every worker (see README). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export class PublisherClock implements AppendObserver {
  #ring: SharedRing;
  #header: Int32Array;
  readonly #rates: readonly number[];
  readonly #now: () => number;
  readonly #timestampOffset: ((track: number) => number) | null;
  /** Per track: the last timestamp seen, and whether this publisher has sent the track a packet. */
  readonly #lastTs: number[];
  readonly #seen: boolean[];
  /** Per track, the server-clock mapping in force (valid when #anchored). */
  readonly #anchored: boolean[];
  readonly #anchorMs: number[];
  readonly #anchorTs: number[];
  /** Per track, the window under way: its start, and its least delayed packet (delay vs the anchor). */
  readonly #windowStart: number[];
  readonly #windowMin: number[];
  readonly #windowMinMs: number[];
  readonly #windowMinTs: number[];
  /** Per track, arrival of the last Sender Report (-Infinity: none, or gone stale). */
  readonly #srAt: number[];
  /** Per track, its last SR (publisher's clock in ms, NaN: none), and whether it waits for the track's first packet. */
  readonly #srMs: number[];
  readonly #srRtp: number[];
  readonly #srPending: boolean[];
  /** Server wall clock less the publisher's NTP clock (least SR delay), null before the first SR. */
  #offsetMs: number | null = null;
  /** The offset was set to agree with the previous publisher's mapping: SRs arriving sooner do not lower it. */
  #aligned = false;
  /** Per track, whether its first SR has been weighed against the previous publisher's mapping. */
  readonly #alignedTracks: boolean[];
  /** A continued stream: each track's mapping as the previous publisher left it (null: none). */
  readonly #previous: ({ ms: number; rtp: number } | null)[] | null;
  /** The drift window under way: its start and the least offset of its SRs. */
  #driftStart = 0;
  #driftMin = Infinity;
  /** Sender Reports used so far. */
  senderReports = 0;

  /**
   * `timestampOffset`: for a stream continued by a new publisher, what its timestamps get added
   * (stream/continuity.ts), known once the track's first packet arrived; null otherwise.
   */
  constructor(
    ring: SharedRing,
    clockRates: readonly number[],
    timestampOffset: ((track: number) => number) | null = null,
    now: () => number = wallClockMs,
  ) {
    this.#ring = ring;
    this.#header = ring.header;
    this.#rates = clockRates;
    this.#now = now;
    this.#timestampOffset = timestampOffset;
    const n = ring.trackCount;
    const fill = <T>(v: T): T[] => new Array<T>(n).fill(v);
    this.#lastTs = fill(0);
    this.#seen = fill(false);
    this.#anchored = fill(false);
    this.#anchorMs = fill(0);
    this.#anchorTs = fill(0);
    this.#windowStart = fill(0);
    this.#windowMin = fill(Infinity);
    this.#windowMinMs = fill(0);
    this.#windowMinTs = fill(0);
    this.#srAt = fill(-Infinity);
    this.#srMs = fill(NaN);
    this.#srRtp = fill(0);
    this.#srPending = fill(false);
    this.#alignedTracks = fill(false);
    this.#previous = timestampOffset === null ? null : Array.from({ length: n }, (_, t) => {
      const m = newClockMapping();
      return readClockMapping(ring.header, t, m)
        ? { ms: unixMsFromNtp(m.ntpSeconds, m.ntpFraction), rtp: m.rtpTimestamp }
        : null;
    });
  }

  /** AppendObserver: the writer moved to `ring` (it copied the mappings there): write them there now. */
  moved(ring: SharedRing): void {
    this.#ring = ring;
    this.#header = ring.header;
  }

  /** AppendObserver: a packet went into the ring (before it is published). */
  // hot path: no allocation; past the first test, once per new timestamp (a frame, an audio packet)
  appended(track: number, ts: number, src: Uint8Array, start: number): void {
    if (ts === this.#lastTs[track] && this.#seen[track]) return;
    this.#lastTs[track] = ts;
    storeClockSsrc(this.#header, track, rtpSsrc(src, start));
    const rate = this.#rates[track];
    if (!this.#seen[track]) {
      this.#seen[track] = true;
      const prev = this.#previous?.[track];
      if (prev && rate > 0) {
        // Continued: the previous publisher's mapping goes on for the rewritten timestamps.
        this.#anchored[track] = true;
        this.#anchorMs[track] = prev.ms;
        this.#anchorTs[track] = prev.rtp;
        this.#windowStart[track] = this.#now();
        this.#windowMin[track] = Infinity;
      }
      if (this.#srPending[track]) {
        this.#srPending[track] = false;
        this.#useSenderReport(track, this.#srAt[track]);
      }
    }
    if (!(rate > 0)) return;
    const now = this.#now();
    if (now - this.#srAt[track] < SENDER_REPORT_STALE_MS) return;
    if (this.#srAt[track] !== -Infinity) {
      // The publisher stopped sending SRs: the server's clock maps this track from here on.
      this.#srAt[track] = -Infinity;
      this.#anchored[track] = false;
    }
    if (!this.#anchored[track]) {
      this.#anchor(track, now, ts);
      return;
    }
    // How much later than the mapping predicts this packet arrived.
    const late = now - this.#anchorMs[track] - (((ts - this.#anchorTs[track]) | 0) * 1000) / rate;
    // A continued stream ahead of the clock stays ahead: mapping it anew would move its viewers back.
    if (late > CLOCK_JUMP_MS || (late < -CLOCK_JUMP_MS && this.#previous === null)) {
      this.#anchor(track, now, ts);
      return;
    }
    if (late < this.#windowMin[track]) {
      this.#windowMin[track] = late;
      this.#windowMinMs[track] = now;
      this.#windowMinTs[track] = ts;
    }
    if (now - this.#windowStart[track] >= SERVER_CLOCK_WINDOW_MS) {
      const min = this.#windowMin[track];
      // A continued stream's viewers already play on the previous timeline: it may move on (a
      // step forward, which players take as a gap) but never back, which ffmpeg reports as
      // timestamps not increasing. A camera restarting sends its first frames in a burst.
      const back = this.#previous === null ? -SERVER_CLOCK_TOLERANCE_MS : -Infinity;
      if (min > SERVER_CLOCK_TOLERANCE_MS || min < back) {
        this.#anchor(track, this.#windowMinMs[track], this.#windowMinTs[track]);
      }
      this.#windowStart[track] = now;
      this.#windowMin[track] = Infinity;
    }
  }

  /**
   * RTCP from the publisher about `track` (the channel or port it came on): its Sender Reports set
   * the mapping, of the track whose packets carry the SR's SSRC when there is one. Returns how
   * many Sender Reports were used.
   */
  receive(track: number, packets: readonly RtcpPacket[], arrivalMs: number = this.#now()): number {
    let used = 0;
    for (const p of packets) {
      if (p.type !== "sr") continue;
      const t = this.#trackOf(p.report.ssrc, track);
      if (t < 0 || !(this.#rates[t] > 0)) continue;
      this.senderReport(t, p.report.ntpSeconds, p.report.ntpFraction, p.report.rtpTimestamp, arrivalMs);
      used++;
    }
    return used;
  }

  /** A Sender Report of the publisher for `track`, received at arrivalMs (server wall clock). */
  senderReport(
    track: number,
    ntpSec: number,
    ntpFrac: number,
    rtpTimestamp: number,
    arrivalMs: number,
  ): void {
    this.#srMs[track] = unixMsFromNtp(ntpSec, ntpFrac);
    this.#srRtp[track] = rtpTimestamp;
    this.#srAt[track] = arrivalMs;
    this.senderReports++;
    // The rewriting of a continued stream's timestamps is known at the track's first packet.
    this.#srPending[track] = this.#timestampOffset !== null && !this.#seen[track];
    if (!this.#srPending[track]) this.#useSenderReport(track, arrivalMs);
  }

  /** Maps `track` from its last SR, which arrived at arrivalMs; the other tracks follow a new offset. */
  #useSenderReport(track: number, arrivalMs: number): void {
    // A continued stream: the first SR of each track may raise the offset (never lower it) until no
    // track maps earlier than the previous publisher left it. Taking the first track's alone would
    // move another back by however much the new publisher's tracks relate differently, and players
    // (ffmpeg) take time going back as non-monotonic timestamps.
    let aligned: number | null = null;
    if (this.#offsetMs === null || (this.#aligned && !this.#alignedTracks[track])) {
      aligned = this.#alignedOffset(track);
      this.#alignedTracks[track] = true;
      if (aligned !== null && this.#offsetMs !== null && aligned <= this.#offsetMs) aligned = null;
    }
    let moved: boolean;
    if (aligned !== null) {
      this.#offsetMs = aligned;
      this.#aligned = true;
      this.#driftStart = arrivalMs;
      this.#driftMin = Infinity;
      moved = true;
    } else {
      moved = this.#offsetSample(arrivalMs - this.#srMs[track], arrivalMs);
    }
    this.#writeFromSenderReport(track);
    if (!moved) return;
    // One offset for every track: those mapped from earlier SRs move with it.
    for (let t = 0; t < this.#srMs.length; t++) {
      if (t !== track && !this.#srPending[t] && arrivalMs - this.#srAt[t] < SENDER_REPORT_STALE_MS) {
        this.#writeFromSenderReport(t);
      }
    }
  }

  /** A continued stream: the offset that maps this track's SR where the previous mapping has it, or null. */
  #alignedOffset(track: number): number | null {
    const prev = this.#previous?.[track];
    const rate = this.#rates[track];
    if (!prev || !(rate > 0)) return null;
    const rtp = (this.#srRtp[track] + this.#timestampOffset!(track)) >>> 0;
    return prev.ms + (((rtp - prev.rtp) | 0) * 1000) / rate - this.#srMs[track];
  }

  /** Takes an SR's offset (arrival less its NTP time) into the estimate; true when the estimate moved. */
  #offsetSample(offset: number, now: number): boolean {
    const cur = this.#offsetMs;
    // Aligned to a previous publisher's timeline, which may run ahead of this one's by more than a
    // clock step (an edge's new source first sends its cached GOP, and the gap is counted after it):
    // stepping back to this publisher's own offset would be time going back for the viewers.
    if (cur !== null && this.#aligned && offset < cur - CLOCK_JUMP_MS) return false;
    if (
      cur === null || Math.abs(offset - cur) > CLOCK_JUMP_MS ||
      (!this.#aligned && offset < cur - SR_OFFSET_TOLERANCE_MS)
    ) {
      this.#offsetMs = offset;
      this.#aligned = false;
      this.#driftStart = now;
      this.#driftMin = Infinity;
      return true;
    }
    if (offset < this.#driftMin) this.#driftMin = offset;
    if (now - this.#driftStart < SENDER_REPORT_DRIFT_WINDOW_MS) return false;
    const min = this.#driftMin;
    this.#driftStart = now;
    this.#driftMin = Infinity;
    if (min <= cur + SR_OFFSET_TOLERANCE_MS) return false;
    this.#offsetMs = min;
    return true;
  }

  #writeFromSenderReport(track: number): void {
    const ms = this.#srMs[track] + this.#offsetMs!;
    const ts = this.#srRtp[track];
    const rtp = this.#timestampOffset === null ? ts : ts + this.#timestampOffset(track);
    writeClockMapping(
      this.#header,
      track,
      ntpSeconds(ms),
      ntpFraction(ms),
      rtp >>> 0,
      CLOCK_SOURCE_SENDER_REPORT,
    );
  }

  #anchor(track: number, ms: number, ts: number): void {
    this.#anchored[track] = true;
    this.#anchorMs[track] = ms;
    this.#anchorTs[track] = ts;
    this.#windowStart[track] = ms;
    this.#windowMin[track] = Infinity;
    writeClockMapping(this.#header, track, ntpSeconds(ms), ntpFraction(ms), ts, CLOCK_SOURCE_SERVER);
  }

  /** The track whose packets carry `ssrc`, else `fallback` (the channel's or port's track). */
  #trackOf(ssrc: number, fallback: number): number {
    for (let t = 0; t < this.#ring.trackCount; t++) {
      if (this.#seen[t] && clockSsrc(this.#header, t) === ssrc) return t;
    }
    return fallback < this.#ring.trackCount ? fallback : -1;
  }
}

/**
 * Each track's NTP↔RTP clock mapping in the ring's header (HDR.CLOCKS): written by the publisher's
 * worker (from the publisher's Sender Reports, or the server's clock at packet arrival), read by
 * every worker that builds Sender Reports for viewers.
 *
 * A seqlock keeps a reader from combining fields of two mappings: the writer makes the generation
 * odd, stores the fields, makes it even; the reader takes a snapshot only when it saw the same even
 * generation before and after reading the fields. All accesses are Atomics (sequentially
 * consistent), so this holds across workers. There is one writer at a time (the stream's publisher).
 *
 * @module
 */
import { CLOCK, CLOCK_SOURCE_NONE, CLOCK_WORDS, HDR } from "./ring_layout.ts";

/** A snapshot of one track's mapping. */
export interface ClockMapping {
  /** NTP timestamp (server wall clock) of the instant whose RTP timestamp is rtpTimestamp. */
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  /** CLOCK_SOURCE_*. */
  source: number;
}

/** A mapping object to read into (reused by a reader; reading allocates nothing). */
export function newClockMapping(): ClockMapping {
  return { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, source: CLOCK_SOURCE_NONE };
}

/** How often a reader retries while the writer is mid-update (an update is a few stores). */
const READ_ATTEMPTS = 64;

function base(track: number): number {
  return HDR.CLOCKS + CLOCK_WORDS * track;
}

/** Publishes a track's mapping (the publisher's worker only). */
export function writeClockMapping(
  header: Int32Array,
  track: number,
  ntpSeconds: number,
  ntpFraction: number,
  rtpTimestamp: number,
  source: number,
): void {
  const b = base(track);
  Atomics.add(header, b + CLOCK.GEN, 1);
  Atomics.store(header, b + CLOCK.NTP_SECONDS, ntpSeconds | 0);
  Atomics.store(header, b + CLOCK.NTP_FRACTION, ntpFraction | 0);
  Atomics.store(header, b + CLOCK.RTP, rtpTimestamp | 0);
  Atomics.store(header, b + CLOCK.SOURCE, source);
  Atomics.add(header, b + CLOCK.GEN, 1);
}

/**
 * Reads a track's mapping into `out`: false when there is none yet, or when the writer kept
 * changing it for every attempt (the caller tries again later).
 */
// no allocation: called for every Sender Report to every viewer
export function readClockMapping(header: Int32Array, track: number, out: ClockMapping): boolean {
  const b = base(track);
  for (let i = 0; i < READ_ATTEMPTS; i++) {
    const g = Atomics.load(header, b + CLOCK.GEN);
    if ((g & 1) !== 0) continue;
    const sec = Atomics.load(header, b + CLOCK.NTP_SECONDS);
    const frac = Atomics.load(header, b + CLOCK.NTP_FRACTION);
    const rtp = Atomics.load(header, b + CLOCK.RTP);
    const source = Atomics.load(header, b + CLOCK.SOURCE);
    if (Atomics.load(header, b + CLOCK.GEN) !== g) continue;
    if (source === CLOCK_SOURCE_NONE) return false;
    out.ntpSeconds = sec >>> 0;
    out.ntpFraction = frac >>> 0;
    out.rtpTimestamp = rtp >>> 0;
    out.source = source;
    return true;
  }
  return false;
}

/** Where a track's mapping comes from now (CLOCK_SOURCE_*), without a consistent snapshot. */
export function clockSource(header: Int32Array, track: number): number {
  return Atomics.load(header, base(track) + CLOCK.SOURCE);
}

/** Records the SSRC the track's packets carry (the publisher's worker, as packets arrive). */
export function storeClockSsrc(header: Int32Array, track: number, ssrc: number): void {
  Atomics.store(header, base(track) + CLOCK.SSRC, ssrc | 0);
}

/** The SSRC of the track's newest packets (meaningful once the track has a packet). */
export function clockSsrc(header: Int32Array, track: number): number {
  return Atomics.load(header, base(track) + CLOCK.SSRC) >>> 0;
}

/**
 * The RTP timestamp a mapping gives for Unix time `unixMs` at `clockRate` Hz (uint32): the mapped
 * timestamp moved on by the time since the mapping's instant.
 */
export function rtpTimestampAt(
  m: ClockMapping,
  unixMsOfMapping: number,
  unixMs: number,
  clockRate: number,
): number {
  return (m.rtpTimestamp + Math.round(((unixMs - unixMsOfMapping) * clockRate) / 1000)) >>> 0;
}

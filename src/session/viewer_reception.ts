/**
 * What a viewer's RTCP says about its reception (RFC 3550 §6.4: the report blocks of its Receiver
 * Reports, or of Sender Reports it sends): per track the latest loss, jitter and round trip, for
 * the API. Used here only: nothing a viewer sends reaches the publisher.
 *
 * @module
 */
import type { SharedRing } from "../ring/shared_ring.ts";
import { clockSsrc } from "../ring/track_clock.ts";
import type { RtcpPacket } from "../rtcp/compound.ts";
import type { ReportBlock } from "../rtcp/report_block.ts";
import { roundTripMs } from "../rtcp/ntp_time.ts";
import type { ReceptionSummary } from "../stats/reports.ts";

/** Jitter above this (ms) is not a measurement but a made-up report. */
const MAX_JITTER_MS = 10_000;
/** Duplicates can make cumulative loss negative (RFC 3550 §6.4.1), by this much at most. */
const MAX_DUPLICATES = 65_536;

export class ViewerReception {
  /** The ring to read clock mappings and SSRCs from: the viewer's reader's (it follows the stream's moves). */
  readonly #src: { readonly ring: SharedRing };
  readonly #info: readonly { readonly clockRate: number }[];
  readonly #tracks: readonly number[];
  /** Per track: whether it was reported on, and the latest figures. */
  readonly #has: boolean[];
  readonly #fractionLost: number[];
  readonly #cumulativeLost: number[];
  readonly #jitterMs: number[];
  readonly #roundTripMs: (number | null)[];
  #at = 0;
  /** Report blocks taken, and those left out as implausible. */
  blocks = 0;
  implausible = 0;

  /** tracks: the ones the viewer set up; info: every track of the stream (jitter is in its clock's units). */
  constructor(
    ring: { readonly ring: SharedRing },
    info: readonly { readonly clockRate: number }[],
    tracks: Iterable<number>,
  ) {
    this.#src = ring;
    this.#info = info;
    this.#tracks = [...tracks];
    const n = ring.ring.trackCount;
    this.#has = new Array<boolean>(n).fill(false);
    this.#fractionLost = new Array<number>(n).fill(0);
    this.#cumulativeLost = new Array<number>(n).fill(0);
    this.#jitterMs = new Array<number>(n).fill(0);
    this.#roundTripMs = new Array<number | null>(n).fill(null);
  }

  /**
   * RTCP from the viewer on `track`'s channel or port: each report block is about the track whose
   * packets carry its SSRC (else about `track`).
   */
  receive(track: number, packets: readonly RtcpPacket[], wallMs: number, nowPerf: number): void {
    for (const p of packets) {
      if (p.type !== "rr" && p.type !== "sr") continue;
      for (const b of p.report.reports) this.#block(this.#trackOf(b.ssrc, track), b, wallMs, nowPerf);
    }
  }

  /** The latest figures over the tracks, or null before the first report block. */
  summary(nowPerf: number): ReceptionSummary | null {
    let any = false;
    let fraction = 0, lost = 0, jitter = 0;
    let rtt: number | null = null;
    for (let t = 0; t < this.#has.length; t++) {
      if (!this.#has[t]) continue;
      any = true;
      fraction = Math.max(fraction, this.#fractionLost[t]);
      lost += this.#cumulativeLost[t];
      jitter = Math.max(jitter, this.#jitterMs[t]);
      const r = this.#roundTripMs[t];
      if (r !== null) rtt = rtt === null ? r : Math.max(rtt, r);
    }
    if (!any) return null;
    const centi = (x: number) => Math.round(x * 100) / 100;
    return {
      fractionLost: fraction,
      cumulativeLost: lost,
      jitterMs: centi(jitter),
      roundTripMs: rtt === null ? null : centi(rtt),
      ageMs: Math.round(nowPerf - this.#at),
    };
  }

  #block(t: number, b: ReportBlock, wallMs: number, nowPerf: number): void {
    if (t < 0) return;
    const rate = this.#info[t]?.clockRate ?? 0;
    // A viewer cannot have lost more packets than the highest sequence number it counts up to, nor
    // see seconds of jitter on a live relay: such a block is made up, and left out of the figures.
    const jitterMs = rate > 0 ? (b.jitter * 1000) / rate : 0;
    if (
      b.cumulativeLost > b.highestSeq + 1 || b.cumulativeLost < -MAX_DUPLICATES || jitterMs > MAX_JITTER_MS
    ) {
      this.implausible++;
      return;
    }
    this.#has[t] = true;
    this.#fractionLost[t] = b.fractionLost / 256;
    this.#cumulativeLost[t] = b.cumulativeLost;
    this.#jitterMs[t] = jitterMs;
    const rtt = roundTripMs(wallMs, b.lastSr, b.delaySinceLastSr);
    if (rtt !== null) this.#roundTripMs[t] = rtt;
    this.#at = nowPerf;
    this.blocks++;
  }

  #trackOf(ssrc: number, fallback: number): number {
    for (const t of this.#tracks) {
      if (this.#src.ring.trackLastSeq(t) !== undefined && clockSsrc(this.#src.ring.header, t) === ssrc) {
        return t;
      }
    }
    return this.#tracks.includes(fallback) ? fallback : -1;
  }
}

/**
 * A stream's ring read back as RTP packets for a StreamMuxer, in the worker that muxes (the media
 * worker, workers/media_runtime.ts): a subscriber of the stream's LocalStream like a viewer, with
 * its own RingReader. The stream's ring watch (an Atomics.waitAsync on the ring's head) wakes it
 * when the writer publishes; the media worker's passes have no merge window, as nothing but taps
 * reads there. The pass only schedules it: the reading and muxing run in a task of their own, so
 * one stream's muxer never holds up the pass over another tap of it. Each packet is copied out of
 * the ring and checked intact before the muxer sees it, so a writer lapping a slow tap never feeds
 * torn bytes: the tap skips (the reader's rules) and the muxer starts again at the next keyframe.
 *
 * @module
 */
import type { LocalStream, StreamSubscriber } from "../stream/local_stream.ts";
import type { ReaderCounters, ReaderPolicy, RingReader } from "../ring/ring_reader.ts";
import { FRAME_HEADER_BYTES, SLOT_FLAG_TRACK_MASK } from "../ring/ring_layout.ts";
import { newClockMapping, readClockMapping } from "../ring/track_clock.ts";
import { unixMsFromNtp } from "../rtcp/ntp_time.ts";
import type { TrackClock } from "./stream_muxer.ts";

/** What a tap feeds. */
export interface TapTarget {
  packet(ringTrack: number, buf: Uint8Array, start: number, end: number): void;
  /** Packets were skipped: what is in progress is broken. */
  reset(): void;
  /** The stream ended. */
  end(): void;
}

/** The largest RTP packet a ring slot holds (interleaved frames carry 16-bit lengths). */
const MAX_PACKET = 65_535 + FRAME_HEADER_BYTES;

export class RingTap implements StreamSubscriber {
  streamSlot = -1;
  /** HLS parts and recorded segments are hundreds of ms long: a read 20 ms late changes nothing. */
  readonly prompt = false;
  readonly #stream: LocalStream;
  readonly #reader: RingReader;
  readonly #target: TapTarget;
  readonly #scratch = new Uint8Array(MAX_PACKET);
  #skips = 0;
  #closed = false;
  #scheduled = false;
  /** Packets handed to the target, and skips (the tap fell behind the writer). */
  packets = 0;

  constructor(stream: LocalStream, policy: ReaderPolicy, counters: ReaderCounters, target: TapTarget) {
    this.#stream = stream;
    this.#target = target;
    this.#reader = stream.newReader(policy, counters);
    stream.subscribe(this);
    // What the ring holds already (from the newest keyframe) goes now, not at the next publish.
    this.wake();
  }

  /** The ring's clock mapping as the muxer's TrackClock (the publisher's Sender Reports, or the server's clock). */
  clock(): TrackClock {
    const m = newClockMapping();
    return (track, ts) => {
      const ring = this.#reader.ring;
      if (track >= ring.trackCount || !readClockMapping(ring.header, track, m)) return null;
      const rate = this.#stream.info.tracks[track]?.clockRate ?? 90_000;
      return unixMsFromNtp(m.ntpSeconds, m.ntpFraction) + (((ts - m.rtpTimestamp) | 0) / rate) * 1000;
    };
  }

  wake(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setTimeout(this.#drain, 0);
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    const r = this.#reader;
    const scratch = this.#scratch;
    while (r.ready()) {
      if (r.skips !== this.#skips) {
        this.#skips = r.skips;
        this.#target.reset();
      }
      // ready() may have moved the reader to the stream's next ring.
      const ring = r.ring;
      const from = r.pos;
      const to = r.head;
      r.advance(to);
      for (let seq = from; seq !== to; seq = (seq + 1) | 0) {
        const off = ring.slotOffset(seq) + FRAME_HEADER_BYTES;
        const len = ring.slotLen(seq) - FRAME_HEADER_BYTES;
        const track = ring.slotFlags(seq) & SLOT_FLAG_TRACK_MASK;
        if (len <= 0 || len > scratch.length) continue;
        scratch.set(ring.data.subarray(off, off + len));
        if (!r.intact(seq)) {
          // Overwritten while copied: back to it, and the next ready() skips past the writer.
          r.rewind(seq);
          break;
        }
        this.packets++;
        this.#target.packet(track, scratch, 0, len);
      }
    }
    if (r.skips !== this.#skips) {
      this.#skips = r.skips;
      this.#target.reset();
    }
  };

  streamEnded(): void {
    // What the ring still holds goes first: a recording keeps the stream's last frames.
    this.#drain();
    this.close();
    this.#target.end();
  }

  /** Stops reading (the muxing is no longer wanted). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.unsubscribe(this);
    this.#reader.close();
  }
}

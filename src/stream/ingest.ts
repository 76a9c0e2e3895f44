import type { RingWriter } from "../ring/ring_writer.ts";
import { SLOT_FLAG_GOP_START } from "../ring/ring_layout.ts";
import { rtpMarker, rtpPayloadEnd, rtpPayloadStart, rtpTimestamp } from "../rtp/rtp_header.ts";
import { H264_FLAG, h264IsKeyframeStart, h264PacketFlags } from "../rtp/h264.ts";
import type { StreamInfo } from "./stream_info.ts";

const PARAMETER_SETS = H264_FLAG.SPS | H264_FLAG.PPS;
const SLICES = H264_FLAG.IDR | H264_FLAG.NON_IDR;

/**
 * A publisher's packets into its ring: checks each is RTP, marks where GOPs start so new viewers
 * begin at a keyframe (or at the SPS/PPS sent in-band just before it), and publishes per batch.
 */
export class StreamIngest {
  readonly writer: RingWriter;
  readonly #videoTrack: number;
  readonly #audioWindowMs: number;
  /** Sequence of the first parameter-set packet since the last slice, or -1. */
  #paramStart = -1;
  #haveKeyTs = false;
  #lastKeyTs = 0;
  #audioStart = 0;
  #hasAudioStart = false;
  /** Packets refused because they are not RTP. */
  invalidPackets = 0;
  /** GOP starts seen. */
  keyframes = 0;
  /**
   * The last video packet did not end its access unit (no RTP marker): publishing now would wake
   * every viewer's worker for a partial frame, which no decoder can use yet.
   */
  midFrame = false;
  /**
   * Only other tracks' packets (audio) arrived since the last flush in a stream with video: they
   * can wait for the next video frame and leave with it, one wake and one write instead of two.
   */
  withoutVideo = false;

  constructor(writer: RingWriter, info: StreamInfo, audioStartWindowMs: number) {
    this.writer = writer;
    this.#videoTrack = info.videoTrack;
    this.#audioWindowMs = audioStartWindowMs;
  }

  /** Appends one RTP packet buf[start..end) of a track; visible to viewers at the next flush(). */
  // hot path: no allocation besides the ring copy's view
  packet(buf: Uint8Array, start: number, end: number, track: number, nowMs: number): void {
    const ps = rtpPayloadStart(buf, start, end);
    if (ps < 0) {
      this.invalidPackets++;
      return;
    }
    const w = this.writer;
    if (track === this.#videoTrack) {
      const flags = h264PacketFlags(buf, ps, rtpPayloadEnd(buf, start, end));
      const seq = w.append(buf, start, end, track, nowMs);
      this.midFrame = !rtpMarker(buf, start);
      this.withoutVideo = false;
      if (h264IsKeyframeStart(flags)) {
        // Several slices of one IDR each start an FU-A: only the first (new timestamp) starts a GOP.
        const ts = rtpTimestamp(buf, start);
        if (!this.#haveKeyTs || ts !== this.#lastKeyTs) {
          this.#haveKeyTs = true;
          this.#lastKeyTs = ts;
          this.keyframes++;
          w.markGopStart(seq);
          if (this.#paramStart !== -1) w.markGopStart(this.#paramStart);
        }
        this.#paramStart = -1;
      } else if ((flags & SLICES) !== 0) {
        this.#paramStart = -1;
      } else if ((flags & PARAMETER_SETS) !== 0 && this.#paramStart === -1) {
        this.#paramStart = seq;
      }
      return;
    }
    if (this.#videoTrack >= 0) {
      if (w.nextSeq === w.ring.head()) this.withoutVideo = true;
      w.append(buf, start, end, track, nowMs);
      return;
    }
    // Audio-only: any packet is a fine place to start; new viewers start audioStartWindowMs back.
    const seq = w.append(buf, start, end, track, nowMs, SLOT_FLAG_GOP_START);
    if (!this.#hasAudioStart) {
      this.#hasAudioStart = true;
      this.#audioStart = seq;
      w.markGopStart(seq);
    }
  }

  /** Publishes the packets appended since the last flush and wakes every viewer's worker. */
  flush(nowMs: number): void {
    if (this.#hasAudioStart) this.#advanceAudioStart(nowMs);
    this.withoutVideo = false;
    this.writer.publish();
  }

  /** Ends the stream: viewers' workers see it ended and close their sessions. */
  end(): void {
    this.writer.end();
  }

  #advanceAudioStart(nowMs: number): void {
    const ring = this.writer.ring;
    const head = this.writer.nextSeq;
    let seq = this.#audioStart;
    const tail = ring.tail();
    if (((seq - tail) | 0) < 0) seq = tail;
    while (((head - seq) | 0) > 1 && nowMs - ring.slotTime(seq) > this.#audioWindowMs) seq = (seq + 1) | 0;
    if (seq !== this.#audioStart || seq === tail) {
      this.#audioStart = seq;
      this.writer.markGopStart(seq);
    }
  }
}

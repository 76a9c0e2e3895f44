import type { RingWriter } from "../ring/ring_writer.ts";
import { SLOT_FLAG_GOP_START } from "../ring/ring_layout.ts";
import {
  RTP_HEADER_MIN_BYTES,
  rtpMarker,
  rtpPayloadEnd,
  rtpPayloadStart,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  setRtpPayloadType,
  setRtpSequence,
  setRtpSsrc,
  setRtpTimestamp,
} from "../rtp/rtp_header.ts";
import { VIDEO_FLAG, videoPacketFlags } from "../rtp/video_packet.ts";
import { type StreamInfo, videoCodecsByPayloadType } from "./stream_info.ts";
import { RESYNC_DISTANCE, seqDistance } from "../rtp/reorder_buffer.ts";
import { RateMeter } from "./rate_meter.ts";
import type { Continuity } from "./continuity.ts";
import type { GopSize } from "../stats/reports.ts";

/**
 * A publisher's packets into its ring: checks each is RTP, marks where GOPs start so new viewers
 * begin at a keyframe (or at the SPS/PPS sent in-band just before it), and publishes per batch.
 * Also keeps the stream's figures for the API: sequence gaps, the last GOP's size and the bitrate.
 */
export class StreamIngest {
  readonly writer: RingWriter;
  readonly #videoTrack: number;
  /** VIDEO_CODEC per RTP payload type of the video track: packets are read by the format actually sent. */
  readonly #videoCodecs: Uint8Array;
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

  /** Packets missing from each track's RTP sequence (gaps; a jump of RESYNC_DISTANCE or more is a restart). */
  lost = 0;
  /** Next RTP sequence number expected per track, -1 before the track's first packet. */
  readonly #expectedSeq: Int32Array;
  /** The last complete GOP, null until two GOP starts were seen. */
  lastGop: GopSize | null = null;
  /** The GOP under way (counting only once the first GOP start is seen). */
  #gopStarted = false;
  #gopPackets = 0;
  #gopBytes = 0;
  #gopFrames = 0;
  /** The GOP counters when the parameter sets at #paramStart arrived: where the next GOP begins. */
  #paramPackets = 0;
  #paramBytes = 0;
  #paramFrames = 0;
  #haveVideoTs = false;
  #lastVideoTs = 0;
  /** RTP bytes per second over the last few seconds (sampled at flush). */
  readonly rate = new RateMeter();

  /**
   * The SDP's parameter sets as an RTP packet (header rewritten per use), sent before a keyframe
   * that comes without them in-band; null when the SDP has none.
   */
  readonly #inject: Uint8Array | null = null;
  /** VIDEO_CODEC of the parameter sets (the video track's first format). */
  readonly #injectCodec: number = 0;
  /** Video packets' sequence numbers move up by one per injected packet, so viewers see no gap. */
  #videoSeqShift = 0;
  /** Parameter-set packets put in before keyframes that came without them. */
  injected = 0;

  constructor(writer: RingWriter, info: StreamInfo, audioStartWindowMs: number) {
    this.writer = writer;
    this.#videoTrack = info.videoTrack;
    this.#videoCodecs = videoCodecsByPayloadType(info.tracks[info.videoTrack]);
    const video = info.tracks[info.videoTrack];
    if (video?.parameterSets !== undefined) {
      this.#inject = new Uint8Array(RTP_HEADER_MIN_BYTES + video.parameterSets.length);
      this.#inject[0] = 0x80;
      this.#inject.set(video.parameterSets, RTP_HEADER_MIN_BYTES);
      this.#injectCodec = this.#videoCodecs[video.payloadType];
    }
    this.#audioWindowMs = audioStartWindowMs;
    this.#expectedSeq = new Int32Array(info.tracks.length).fill(-1);
  }

  /** Appends one RTP packet buf[start..end) of a track; visible to viewers at the next flush(). */
  // hot path: no allocation besides the ring copy's view
  packet(buf: Uint8Array, start: number, end: number, track: number, nowMs: number): void {
    const ps = rtpPayloadStart(buf, start, end);
    if (ps < 0) {
      this.invalidPackets++;
      return;
    }
    if (this.#continuity !== null && !this.#admit(buf, start, ps, end, track)) return;
    this.#countSequence(buf, start, track);
    const w = this.writer;
    if (track === this.#videoTrack) {
      const codec = this.#videoCodecs[rtpPayloadType(buf, start)];
      const flags = videoPacketFlags(codec, buf, ps, rtpPayloadEnd(buf, start, end));
      const ts = rtpTimestamp(buf, start);
      if (this.#videoSeqShift !== 0) {
        setRtpSequence(buf, start, rtpSequence(buf, start) + this.#videoSeqShift);
      }
      if (
        (flags & VIDEO_FLAG.KEYFRAME_START) !== 0 && this.#paramStart === -1 && this.#inject !== null &&
        codec === this.#injectCodec && (!this.#haveKeyTs || ts !== this.#lastKeyTs)
      ) {
        this.#injectParameterSets(buf, start, ts, track, nowMs);
      }
      const seq = w.append(buf, start, end, track, nowMs);
      this.midFrame = !rtpMarker(buf, start);
      this.withoutVideo = false;
      const newFrame = !this.#haveVideoTs || ts !== this.#lastVideoTs;
      this.#haveVideoTs = true;
      this.#lastVideoTs = ts;
      if ((flags & VIDEO_FLAG.KEYFRAME_START) !== 0) {
        // Several slices of one IDR/IRAP each start a NAL unit: only the first (new timestamp) starts a GOP.
        if (!this.#haveKeyTs || ts !== this.#lastKeyTs) {
          this.#haveKeyTs = true;
          this.#lastKeyTs = ts;
          this.keyframes++;
          w.markGopStart(seq);
          if (this.#paramStart !== -1) w.markGopStart(this.#paramStart);
          this.#newGop(this.#paramStart !== -1);
        }
        this.#unpin();
      } else if ((flags & VIDEO_FLAG.SLICE) !== 0) {
        this.#unpin();
      } else if ((flags & VIDEO_FLAG.PARAMETER_SETS) !== 0 && this.#paramStart === -1) {
        this.#paramStart = seq;
        // A move of the ring before the keyframe keeps them, so the GOP can start there.
        w.pin(seq);
        this.#paramPackets = this.#gopPackets;
        this.#paramBytes = this.#gopBytes;
        this.#paramFrames = this.#gopFrames;
      }
      this.#gopPackets++;
      this.#gopBytes += end - start;
      if (newFrame) this.#gopFrames++;
      return;
    }
    this.#gopPackets++;
    this.#gopBytes += end - start;
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

  /**
   * Puts the SDP's parameter sets in before a keyframe that came without them (docs/protocol.md
   * §19): the keyframe's timestamp, SSRC and payload type, its sequence number; the keyframe and
   * every later video packet move up by one.
   */
  #injectParameterSets(buf: Uint8Array, start: number, ts: number, track: number, nowMs: number): void {
    const p = this.#inject!;
    const seq = rtpSequence(buf, start);
    setRtpPayloadType(p, 0, rtpPayloadType(buf, start));
    setRtpSequence(p, 0, seq);
    setRtpTimestamp(p, 0, ts);
    setRtpSsrc(p, 0, rtpSsrc(buf, start));
    this.#paramStart = this.writer.append(p, 0, p.length, track, nowMs);
    this.writer.pin(this.#paramStart);
    this.#paramPackets = this.#gopPackets;
    this.#paramBytes = this.#gopBytes;
    this.#paramFrames = this.#gopFrames;
    this.#gopPackets++;
    this.#gopBytes += p.length;
    this.injected++;
    this.#videoSeqShift++;
    setRtpSequence(buf, start, seq + 1);
  }

  #unpin(): void {
    if (this.#paramStart === -1) return;
    this.#paramStart = -1;
    this.writer.pin(null);
  }

  /** Publishes the packets appended since the last flush and wakes every viewer's worker. */
  flush(nowMs: number): void {
    if (this.#hasAudioStart) this.#advanceAudioStart(nowMs);
    this.withoutVideo = false;
    this.writer.publish();
    this.rate.sample(nowMs, this.writer.bytes);
  }

  /** Counts the packets missing before this one in its track's sequence (RFC 3550 A.1's rule, simplified). */
  // hot path: no allocation
  #countSequence(buf: Uint8Array, start: number, track: number): void {
    const seq = rtpSequence(buf, start);
    const expected = this.#expectedSeq[track];
    if (expected >= 0) {
      const d = seqDistance(expected, seq);
      // Behind (duplicate or late, possible only on UDP): nothing missing, the expectation stays.
      if (d < 0 && d > -RESYNC_DISTANCE) return;
      if (d > 0 && d < RESYNC_DISTANCE) this.lost += d;
    }
    this.#expectedSeq[track] = (seq + 1) & 0xffff;
  }

  /** A video keyframe starts a GOP; the one before it (if any) is complete. With parameter sets, the GOP began at them. */
  #newGop(fromParams: boolean): void {
    const packets = fromParams ? this.#paramPackets : this.#gopPackets;
    const bytes = fromParams ? this.#paramBytes : this.#gopBytes;
    const frames = fromParams ? this.#paramFrames : this.#gopFrames;
    if (this.#gopStarted) {
      // One object per GOP (seconds apart), not per packet.
      this.lastGop = { packets, bytes, frames };
    }
    this.#gopStarted = true;
    this.#gopPackets -= packets;
    this.#gopBytes -= bytes;
    this.#gopFrames -= frames;
  }

  /**
   * The publisher left: what is pending becomes visible. Whether the stream ends or waits for
   * another publisher (ingest.reconnectGraceMs) is main.ts's call; it marks the ring ended.
   */
  detach(): void {
    this.writer.publish();
  }

  /** Packets of a continued stream dropped while waiting for the new publisher's first keyframe. */
  droppedBeforeKeyframe = 0;
  /** Packets of a continued stream dropped as repeats of what the previous publisher relayed. */
  droppedReplays = 0;
  #continuity: Continuity | null = null;
  #awaitKey = false;

  /**
   * This ingest continues a stream another publisher left: viewers following it live must get the
   * new publisher's packets from a GOP start on (anything before cannot be decoded), renumbered.
   */
  continueFrom(c: Continuity): void {
    this.#continuity = c;
    this.#awaitKey = this.#videoTrack >= 0;
  }

  /** The rewriting of a continued stream, or null; its timestamp offsets also map the publisher's SRs. */
  get continuity(): Continuity | null {
    return this.#continuity;
  }

  // hot path (continued streams only): no allocation
  #admit(buf: Uint8Array, start: number, ps: number, end: number, track: number): boolean {
    if (this.#continuity!.isReplay(buf, start, track)) {
      this.droppedReplays++;
      return false;
    }
    if (this.#awaitKey) {
      if (track !== this.#videoTrack || !this.#startsGop(buf, start, ps, rtpPayloadEnd(buf, start, end))) {
        this.droppedBeforeKeyframe++;
        return false;
      }
      this.#awaitKey = false;
    }
    this.#continuity!.rewrite(buf, start, track);
    return true;
  }

  /** Whether a video packet can begin a GOP: in-band parameter sets or the start of a keyframe. */
  #startsGop(buf: Uint8Array, start: number, ps: number, pe: number): boolean {
    // Still the new publisher's payload type; the codec table is the continued stream's.
    const pt = this.#continuity!.mapPayloadType(this.#videoTrack, rtpPayloadType(buf, start));
    const flags = videoPacketFlags(this.#videoCodecs[pt], buf, ps, pe);
    return (flags & (VIDEO_FLAG.KEYFRAME_START | VIDEO_FLAG.PARAMETER_SETS)) !== 0;
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

/**
 * Audio whose RTP payload is one frame as is: G.711 PCMU/PCMA (RFC 3551 §4.5.14, any number of
 * samples per packet, the payload being the frame) and Opus (RFC 7587 §4.2: one Opus packet per RTP
 * packet, never split or aggregated). Each packet becomes one access unit at its timestamp; a lost
 * packet is a lost frame with nothing to reassemble, counted in `packetsLost` alone.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import {
  type AccessUnitCallback,
  DEFAULT_MAX_AUDIO_FRAME_BYTES,
  type Depacketizer,
  type DepacketizerCounters,
  limitOption,
  newDepacketizerCounters,
  SequenceCheck,
} from "./depacketizer.ts";
import { rtpPayloadEnd, rtpPayloadStart, rtpSequence, rtpTimestamp } from "./rtp_header.ts";
import { RtpTimestampUnwrapper } from "./rtp_timestamp_unwrap.ts";

/** Options of {@link SimpleAudioDepacketizer}. */
export interface SimpleAudioDepacketizerOptions {
  /** Receives each packet's payload as one frame, always random. */
  onUnit: AccessUnitCallback;
  /** Largest frame in bytes (default 64 KiB); a larger payload is dropped, counted. */
  maxFrameBytes?: number;
}

/** RTP packets of one G.711 or Opus track to access units, one per packet. */
export class SimpleAudioDepacketizer implements Depacketizer {
  readonly counters: DepacketizerCounters = newDepacketizerCounters();
  readonly maxFrameBytes: number;
  readonly #onUnit: AccessUnitCallback;
  readonly #sequence = new SequenceCheck();
  readonly #time = new RtpTimestampUnwrapper();

  constructor(options: SimpleAudioDepacketizerOptions) {
    this.#onUnit = options.onUnit;
    this.maxFrameBytes = limitOption("maxFrameBytes", options.maxFrameBytes, DEFAULT_MAX_AUDIO_FRAME_BYTES);
  }

  /** One whole RTP packet in packet[start..end); never throws on wire input. */
  push(packet: Uint8Array, start = 0, end: number = packet.length): void {
    // hot path: no allocation but the copy of the payload
    const c = this.counters;
    c.packets++;
    const at = rtpPayloadStart(packet, start, end);
    const payloadEnd = rtpPayloadEnd(packet, start, end);
    if (at < 0 || payloadEnd < 0) {
      c.packetsInvalid++;
      return;
    }
    this.#sequence.step(rtpSequence(packet, start), c);
    const pts = this.#time.unwrap(rtpTimestamp(packet, start));
    // An empty payload is no frame (Opus DTX sends none at all rather than an empty one).
    if (payloadEnd <= at) {
      c.packetsInvalid++;
      return;
    }
    if (payloadEnd - at > this.maxFrameBytes) {
      c.framesDropped++;
      c.framesTooLarge++;
      return;
    }
    c.units++;
    const au: AccessUnit = { pts, units: [packet.slice(at, payloadEnd)], random: true };
    this.#onUnit(au);
  }

  /** Forgets the sequence; pts goes on from the last timestamp. */
  reset(): void {
    this.#sequence.reset();
  }
}

/**
 * The RTP half the H.264 (RFC 6184) and H.265 (RFC 7798) depacketizers share: a packet's header,
 * sequence number, timestamp and marker go to the frame assembly (`_nal_assembler.ts`); the codec
 * class reads only its payload structures (single NAL unit, aggregation, fragmentation).
 *
 * @module
 */
import type {
  AccessUnitCallback,
  Depacketizer,
  DepacketizerCounters,
  DepacketizerLimits,
} from "./depacketizer.ts";
import { NalAssembler, type NalClassifier } from "./_nal_assembler.ts";
import { rtpMarker, rtpPayloadEnd, rtpPayloadStart, rtpSequence, rtpTimestamp } from "./rtp_header.ts";

/** RTP packets of one H.264 or H.265 track to access units; the codec reads the payload. */
export abstract class NalDepacketizer implements Depacketizer {
  protected readonly frame: NalAssembler;
  /** A shorter payload is invalid: the codec's NAL unit header. */
  readonly #minPayloadBytes: number;

  protected constructor(
    classify: NalClassifier,
    onUnit: AccessUnitCallback,
    limits: DepacketizerLimits,
    minPayloadBytes: number,
  ) {
    this.frame = new NalAssembler(classify, onUnit, limits);
    this.#minPayloadBytes = minPayloadBytes;
  }

  /** See {@link DepacketizerCounters}. */
  get counters(): Readonly<DepacketizerCounters> {
    return this.frame.counters;
  }

  /** Bytes held for frame assembly; never above maxFrameBytes. */
  get bufferBytes(): number {
    return this.frame.bufferBytes;
  }

  /** One whole RTP packet in packet[start..end); never throws on wire input. */
  push(packet: Uint8Array, start = 0, end: number = packet.length): void {
    // hot path: no allocation but the copy of the payload into the frame buffer
    const frame = this.frame;
    frame.counters.packets++;
    const at = rtpPayloadStart(packet, start, end);
    const payloadEnd = rtpPayloadEnd(packet, start, end);
    if (at < 0 || payloadEnd < 0) return frame.notRtp();
    frame.beginPacket(rtpSequence(packet, start), rtpTimestamp(packet, start));
    if (payloadEnd - at < this.#minPayloadBytes) frame.invalid();
    else this.payload(packet, at, payloadEnd);
    frame.endPacket(rtpMarker(packet, start));
  }

  /** Forgets the frame in progress and the sequence; the next frame delivered is a random access point. */
  reset(): void {
    this.frame.reset();
  }

  /** The RTP payload buf[at..end), at least minPayloadBytes long: its NAL units to `frame`. */
  protected abstract payload(buf: Uint8Array, at: number, end: number): void;
}

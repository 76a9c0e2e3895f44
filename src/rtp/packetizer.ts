/**
 * What every packetizer shares: the serializers paired with the depacketizers, {@link AccessUnit}s
 * back into RTP packets. They feed synthetic streams to tests (HLS, recording) and make the round
 * trip depacketize(packetize(au)) = au checkable; they allocate each packet, so they stay off the
 * relay path. The codec files are `h264_packetizer.ts`, `h265_packetizer.ts`, `aac_packetizer.ts`
 * and `simple_audio_packetizer.ts`; a unit they cannot encode throws RangeError.
 *
 * @module
 */
import { buildRtpPacket } from "./rtp_header.ts";

/** Options every packetizer takes. */
export interface PacketizerOptions {
  /** 0..127, the SDP's. */
  payloadType: number;
  ssrc: number;
  /** Sequence number of the first packet (default 0); it wraps modulo 2^16. */
  sequence?: number;
  /** Largest RTP payload in bytes (default 1200: a packet with header fits an IPv6 path MTU of 1280). */
  maxPayloadBytes?: number;
}

/** Default payload bound: 1200 bytes of payload + 12 of RTP header + 48 of IPv6/UDP stay under 1280. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1200;

/** Numbers packets of one track in order; the timestamp is any integer, written modulo 2^32. */
export class RtpPacketSequence {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly maxPayloadBytes: number;
  #sequence: number;

  /** `minPayloadBytes` is the smallest bound the codec can work with (its headers plus one byte). */
  constructor(options: PacketizerOptions, minPayloadBytes: number) {
    this.payloadType = options.payloadType;
    this.ssrc = options.ssrc;
    this.#sequence = options.sequence ?? 0;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (!Number.isSafeInteger(this.maxPayloadBytes) || this.maxPayloadBytes < minPayloadBytes) {
      throw new RangeError(
        `Packetizer option 'maxPayloadBytes' must be an integer >= ${minPayloadBytes}, got ${options.maxPayloadBytes}`,
      );
    }
    if (!Number.isSafeInteger(this.#sequence)) {
      throw new RangeError(`Packetizer option 'sequence' must be an integer, got ${options.sequence}`);
    }
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#sequence & 0xffff;
  }

  /** The next packet; throws RangeError for a payload type outside 0..127. */
  packet(payload: Uint8Array, timestamp: number, marker: boolean): Uint8Array {
    const out = buildRtpPacket({
      payloadType: this.payloadType,
      sequence: this.#sequence & 0xffff,
      timestamp,
      ssrc: this.ssrc,
      marker,
      payload,
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return out;
  }
}

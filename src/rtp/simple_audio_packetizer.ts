/**
 * G.711 and Opus access units into RTP packets, one packet each (RFC 3551 §4.5.14, RFC 7587 §4.2),
 * the serializer paired with `simple_audio_depacketizer.ts`. The marker bit stays clear: RFC 3551
 * §4.1 keeps it for the first packet after silence, which a stream of frames does not know about.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import { type PacketizerOptions, RtpPacketSequence } from "./packetizer.ts";

/** G.711 or Opus access units of one track to RTP packets; allocates, for tests and tools. */
export class SimpleAudioPacketizer {
  readonly #rtp: RtpPacketSequence;

  constructor(options: PacketizerOptions) {
    this.#rtp = new RtpPacketSequence(options, 1);
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#rtp.sequence;
  }

  /** The one packet of a frame; RangeError when it is empty or over the payload bound. */
  packetize(au: AccessUnit): Uint8Array[] {
    const frame = au.units.length === 1 ? au.units[0] : undefined;
    if (frame === undefined || frame.length === 0 || frame.length > this.#rtp.maxPayloadBytes) {
      throw new RangeError(
        `Audio access unit must be one frame of 1..${this.#rtp.maxPayloadBytes} bytes, got ` +
          `${au.units.length} units of ${au.units.map((u) => u.length).join(", ")} bytes`,
      );
    }
    return [this.#rtp.packet(frame, au.pts, false)];
  }
}

/**
 * Access units into H.264 RTP packets (RFC 6184), the serializer paired with
 * `h264_depacketizer.ts`. packetization-mode 1 (§6.3, the default): a NAL unit that fits goes
 * alone (§5.6) or, with `aggregate`, together with the small ones after it in a STAP-A (§5.7.1);
 * one that does not fit is cut into FU-As (§5.8). packetization-mode 0 (§6.2) allows single NAL
 * units only, so a NAL unit over the payload bound throws. The marker bit ends the access unit.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import { H264_NAL } from "./h264.ts";
import { type PacketizerOptions, RtpPacketSequence } from "./packetizer.ts";
import { aggregationPacket, fragmentationUnits, nalPayloads } from "./_nal_packetizer.ts";

/** Options of {@link H264Packetizer}. */
export interface H264PacketizerOptions extends PacketizerOptions {
  /** The fmtp's packetization-mode, 0 or 1 (default 1). */
  packetizationMode?: 0 | 1;
  /** Mode 1: consecutive NAL units that fit together go in one STAP-A (default true). */
  aggregate?: boolean;
}

const TYPE_MASK = 0x1f;
const NRI_MASK = 0x60;
const F_BIT = 0x80;
const FU_HEADER_BYTES = 2;
const STAP_HEADER_BYTES = 1;

/** Access units of one H.264 track to RTP packets; allocates, for tests and tools. */
export class H264Packetizer {
  readonly #rtp: RtpPacketSequence;
  readonly #mode: 0 | 1;
  readonly #aggregate: boolean;

  constructor(options: H264PacketizerOptions) {
    const mode = options.packetizationMode ?? 1;
    if (mode !== 0 && mode !== 1) {
      throw new RangeError(`H.264 packetization-mode must be 0 or 1, got ${mode} (mode 2 is not supported)`);
    }
    this.#mode = mode;
    this.#aggregate = mode === 1 && (options.aggregate ?? true);
    this.#rtp = new RtpPacketSequence(options, mode === 1 ? FU_HEADER_BYTES + 1 : 1);
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#rtp.sequence;
  }

  /** The packets of one access unit, the last one marked; RangeError for a unit it cannot carry. */
  packetize(au: AccessUnit): Uint8Array[] {
    const nals = au.units;
    if (nals.length === 0) throw new RangeError("H.264 access unit has no NAL units");
    for (const nal of nals) {
      const type = nal.length === 0 ? 0 : nal[0] & TYPE_MASK;
      if (type === 0 || type > 23) {
        throw new RangeError(`H.264 NAL unit of type ${type} (${nal.length} bytes) cannot be sent as is`);
      }
    }
    const max = this.#rtp.maxPayloadBytes;
    if (this.#mode === 0) {
      for (const nal of nals) {
        if (nal.length > max) {
          throw new RangeError(
            `H.264 NAL unit of ${nal.length} bytes exceeds ${max} and packetization-mode 0 cannot fragment`,
          );
        }
      }
    }
    const aggregate = this.#aggregate ? { headerBytes: STAP_HEADER_BYTES, packet: stapA } : undefined;
    const payloads = nalPayloads(nals, max, fuAs, aggregate);
    return payloads.map((p, i) => this.#rtp.packet(p, au.pts, i === payloads.length - 1));
  }
}

/** STAP-A (§5.7.1): F is the OR of the units' F bits, NRI their highest. */
function stapA(nals: readonly Uint8Array[]): Uint8Array {
  let f = 0;
  let nri = 0;
  for (const n of nals) {
    f |= n[0] & F_BIT;
    nri = Math.max(nri, n[0] & NRI_MASK);
  }
  return aggregationPacket([f | nri | H264_NAL.STAP_A], nals);
}

/** FU-As (§5.8) of a NAL unit: its header's F and NRI in the indicator, its type in each FU header. */
function fuAs(nal: Uint8Array, max: number): Uint8Array[] {
  return fragmentationUnits(nal, 1, [(nal[0] & (F_BIT | NRI_MASK)) | H264_NAL.FU_A, nal[0] & TYPE_MASK], max);
}

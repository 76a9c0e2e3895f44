/**
 * Access units into H.265 RTP packets (RFC 7798), the serializer paired with
 * `h265_depacketizer.ts`, without DONL (sprop-max-don-diff 0): a NAL unit that fits goes alone
 * (§4.4.1) or, with `aggregate`, together with the small ones after it in an AP (§4.4.2); one that
 * does not fit is cut into FUs (§4.4.3). The marker bit ends the access unit.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import { H265_NAL } from "./h265.ts";
import { type PacketizerOptions, RtpPacketSequence } from "./packetizer.ts";
import { aggregationPacket, fragmentationUnits, nalPayloads } from "./_nal_packetizer.ts";

/** Options of {@link H265Packetizer}. */
export interface H265PacketizerOptions extends PacketizerOptions {
  /** Consecutive NAL units that fit together go in one AP (default true). */
  aggregate?: boolean;
}

const HEADER_BYTES = 2;
const FU_HEADER_BYTES = 1;
const LAST_NAL_TYPE = 47;

/** Access units of one H.265 track to RTP packets; allocates, for tests and tools. */
export class H265Packetizer {
  readonly #rtp: RtpPacketSequence;
  readonly #aggregate: boolean;

  constructor(options: H265PacketizerOptions) {
    this.#aggregate = options.aggregate ?? true;
    this.#rtp = new RtpPacketSequence(options, HEADER_BYTES + FU_HEADER_BYTES + 1);
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#rtp.sequence;
  }

  /** The packets of one access unit, the last one marked; RangeError for a unit it cannot carry. */
  packetize(au: AccessUnit): Uint8Array[] {
    const nals = au.units;
    if (nals.length === 0) throw new RangeError("H.265 access unit has no NAL units");
    for (const nal of nals) {
      // nuh_temporal_id_plus1 0 is forbidden (H.265 §7.4.2.2) and would read as an Annex B start code.
      if (nal.length < HEADER_BYTES || ((nal[0] >> 1) & 0x3f) > LAST_NAL_TYPE || (nal[1] & 0x07) === 0) {
        throw new RangeError(`H.265 NAL unit (${nal.length} bytes) is not one that can be sent as is`);
      }
    }
    const aggregate = this.#aggregate ? { headerBytes: HEADER_BYTES, packet: aggregation } : undefined;
    const payloads = nalPayloads(nals, this.#rtp.maxPayloadBytes, fus, aggregate);
    return payloads.map((p, i) => this.#rtp.packet(p, au.pts, i === payloads.length - 1));
  }
}

/** AP (§4.4.2): F is the OR of the units' F bits, LayerId and TID their lowest. */
function aggregation(nals: readonly Uint8Array[]): Uint8Array {
  let f = 0;
  let layer = 63;
  let tid = 7;
  for (const n of nals) {
    f |= n[0] & 0x80;
    layer = Math.min(layer, ((n[0] & 1) << 5) | (n[1] >> 3));
    tid = Math.min(tid, n[1] & 0x07);
  }
  return aggregationPacket([f | (H265_NAL.AP << 1) | (layer >> 5), ((layer & 0x1f) << 3) | tid], nals);
}

/** FUs (§4.4.3): the NAL unit header with Type 49 as payload header, its type in each FU header. */
function fus(nal: Uint8Array, max: number): Uint8Array[] {
  const payloadHeader = [(nal[0] & 0x81) | (H265_NAL.FU << 1), nal[1]];
  return fragmentationUnits(nal, HEADER_BYTES, [...payloadHeader, (nal[0] >> 1) & 0x3f], max);
}

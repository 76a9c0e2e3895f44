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

/** Options of {@link H265Packetizer}. */
export interface H265PacketizerOptions extends PacketizerOptions {
  /** Consecutive NAL units that fit together go in one AP (default true). */
  aggregate?: boolean;
}

const HEADER_BYTES = 2;
const FU_HEADER_BYTES = 1;
const SIZE_BYTES = 2;
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
    const max = this.#rtp.maxPayloadBytes;
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < nals.length;) {
      const nal = nals[i];
      if (nal.length > max) {
        for (const p of fragments(nal, max)) payloads.push(p);
        i++;
        continue;
      }
      let j = i + 1;
      if (this.#aggregate) {
        let size = HEADER_BYTES + SIZE_BYTES + nal.length;
        while (j < nals.length && size + SIZE_BYTES + nals[j].length <= max) {
          size += SIZE_BYTES + nals[j++].length;
        }
      }
      payloads.push(j - i >= 2 ? aggregation(nals.slice(i, j)) : nal);
      i = j;
    }
    return payloads.map((p, i) => this.#rtp.packet(p, au.pts, i === payloads.length - 1));
  }
}

/** AP (§4.4.2): F is the OR of the units' F bits, LayerId and TID their lowest. */
function aggregation(nals: readonly Uint8Array[]): Uint8Array {
  let size = HEADER_BYTES;
  let f = 0;
  let layer = 63;
  let tid = 7;
  for (const n of nals) {
    size += SIZE_BYTES + n.length;
    f |= n[0] & 0x80;
    layer = Math.min(layer, ((n[0] & 1) << 5) | (n[1] >> 3));
    tid = Math.min(tid, n[1] & 0x07);
  }
  const out = new Uint8Array(size);
  out[0] = f | (H265_NAL.AP << 1) | (layer >> 5);
  out[1] = ((layer & 0x1f) << 3) | tid;
  let at = HEADER_BYTES;
  for (const n of nals) {
    out[at] = n.length >> 8;
    out[at + 1] = n.length;
    out.set(n, at + SIZE_BYTES);
    at += SIZE_BYTES + n.length;
  }
  return out;
}

/** FUs (§4.4.3): the NAL unit header with Type 49 as payload header, its type in each FU header. */
function fragments(nal: Uint8Array, max: number): Uint8Array[] {
  const h0 = (nal[0] & 0x81) | (H265_NAL.FU << 1);
  const type = (nal[0] >> 1) & 0x3f;
  const prefix = HEADER_BYTES + FU_HEADER_BYTES;
  const chunk = max - prefix;
  const out: Uint8Array[] = [];
  for (let at = HEADER_BYTES; at < nal.length; at += chunk) {
    const end = Math.min(at + chunk, nal.length);
    const p = new Uint8Array(prefix + end - at);
    p[0] = h0;
    p[1] = nal[1];
    p[2] = (at === HEADER_BYTES ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
    p.set(nal.subarray(at, end), prefix);
    out.push(p);
  }
  return out;
}

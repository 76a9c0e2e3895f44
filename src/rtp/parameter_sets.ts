/**
 * The parameter sets of an SDP (`sprop-parameter-sets`, RFC 6184 §8.1; `sprop-vps/sps/pps`, RFC
 * 7798 §7.1) as one RTP payload to send in-band before a keyframe that came without them: an H.264
 * STAP-A (RFC 6184 §5.7.1) or an H.265 aggregation packet (RFC 7798 §4.4.2). Many decoders need them
 * in-band (docs/protocol.md §19); cameras often put them only in the SDP. Allocates; built once per
 * stream. And whether a parameter set repeats one already held: cameras resend them before every
 * keyframe, and only a changed one is parsed again.
 */
import { aggregationPacket } from "./_nal_packetizer.ts";

/** NAL type of an H.264 STAP-A (RFC 6184 §5.7.1), with forbidden_zero 0 and NRI 3. */
const STAP_A = 0x78;
/** H.265 aggregation packet header: type 48, layer 0, TID 1 (RFC 7798 §4.4.2). */
const H265_AP = [0x60, 0x01] as const;

/** A STAP-A of the SPS and PPS among `nals`; null unless both are there (and each fits a packet). */
export function h264ParameterSetPayload(nals: readonly Uint8Array[]): Uint8Array | null {
  const sps = nals.filter((n) => n.length > 0 && (n[0] & 0x1f) === 7);
  const pps = nals.filter((n) => n.length > 0 && (n[0] & 0x1f) === 8);
  if (sps.length === 0 || pps.length === 0) return null;
  const all = [...sps, ...pps];
  if (all.some((n) => n.length > 0xffff) || all.reduce((s, n) => s + n.length + 2, 1) > 1400) return null;
  return aggregationPacket([STAP_A], all);
}

/** An aggregation packet of VPS, SPS and PPS; null unless all three are there. */
export function h265ParameterSetPayload(
  vps: readonly Uint8Array[],
  sps: readonly Uint8Array[],
  pps: readonly Uint8Array[],
): Uint8Array | null {
  if (vps.length === 0 || sps.length === 0 || pps.length === 0) return null;
  const all = [...vps, ...sps, ...pps];
  if (all.reduce((s, n) => s + n.length + 2, 2) > 1400) return null;
  return aggregationPacket(H265_AP, all);
}

/** Whether parameter set `b` holds the bytes of `a`, the one held (undefined: none). */
export function sameParameterSet(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

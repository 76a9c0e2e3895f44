/**
 * The codec-neutral half of the H.264 (RFC 6184) and H.265 (RFC 7798) packetizers: which NAL units
 * of an access unit go alone, which together in an aggregation packet (STAP-A, AP) and which are cut
 * into fragmentation units (FU-A, FU), and the byte layout those share. The codec files compute
 * their headers. Allocates: packetizers serve tests and tools; the relay builds only its in-band
 * parameter sets with aggregationPacket(), once per stream (`parameter_sets.ts`).
 *
 * @module
 */

const SIZE_BYTES = 2;

/**
 * The payloads of one access unit's NAL units, in order: a unit over `max` bytes cut by `fragment`;
 * with `aggregate`, consecutive units that fit together behind an aggregation header of
 * `aggregationHeaderBytes` in one payload; any other unit alone.
 */
export function nalPayloads(
  nals: readonly Uint8Array[],
  max: number,
  fragment: (nal: Uint8Array, max: number) => Uint8Array[],
  aggregate?: { headerBytes: number; packet: (nals: readonly Uint8Array[]) => Uint8Array },
): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < nals.length;) {
    const nal = nals[i];
    if (nal.length > max) {
      for (const p of fragment(nal, max)) payloads.push(p);
      i++;
      continue;
    }
    let j = i + 1;
    if (aggregate !== undefined) {
      let size = aggregate.headerBytes + SIZE_BYTES + nal.length;
      while (j < nals.length && size + SIZE_BYTES + nals[j].length <= max) {
        size += SIZE_BYTES + nals[j++].length;
      }
    }
    payloads.push(j - i >= 2 ? aggregate!.packet(nals.slice(i, j)) : nal);
    i = j;
  }
  return payloads;
}

/** STAP-A (RFC 6184 §5.7.1) or AP (RFC 7798 §4.4.2): `header`, then each unit behind its 16-bit size. */
export function aggregationPacket(header: readonly number[], nals: readonly Uint8Array[]): Uint8Array {
  let size = header.length;
  for (const n of nals) size += SIZE_BYTES + n.length;
  const out = new Uint8Array(size);
  out.set(header);
  let at = header.length;
  for (const n of nals) {
    out[at] = n.length >> 8;
    out[at + 1] = n.length;
    out.set(n, at + SIZE_BYTES);
    at += SIZE_BYTES + n.length;
  }
  return out;
}

/**
 * Fragmentation units (FU-A, RFC 6184 §5.8; FU, RFC 7798 §4.4.3) of `nal`, each at most `max` bytes:
 * `prefix` (its last byte the FU header, whose S and E bits are set here), then the next bytes of
 * the NAL unit after its `nalHeaderBytes`-byte header, which the prefix carries instead.
 */
export function fragmentationUnits(
  nal: Uint8Array,
  nalHeaderBytes: number,
  prefix: readonly number[],
  max: number,
): Uint8Array[] {
  const fuHeader = prefix.length - 1;
  const chunk = max - prefix.length;
  const out: Uint8Array[] = [];
  for (let at = nalHeaderBytes; at < nal.length; at += chunk) {
    const end = Math.min(at + chunk, nal.length);
    const p = new Uint8Array(prefix.length + end - at);
    p.set(prefix);
    p[fuHeader] |= (at === nalHeaderBytes ? 0x80 : 0) | (end === nal.length ? 0x40 : 0);
    p.set(nal.subarray(at, end), prefix.length);
    out.push(p);
  }
  return out;
}

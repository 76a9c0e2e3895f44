/**
 * Annex B byte streams (H.264 Annex B, H.265 Annex B), as ffmpeg writes raw .h264 / .hevc, for the
 * media tests (test-only): NAL units split at their start codes, and grouped into access units the
 * way a decoder does (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).
 */

/** An H.264 or H.265 stream. */
export type VideoCodec = "h264" | "h265";

/** One NAL unit of an Annex B stream: a view of its bytes, and where its start code begins. */
export interface AnnexBNalUnit {
  nal: Uint8Array;
  /** Offset of the start code in the stream, its leading zero_byte included (4-byte start codes). */
  startCode: number;
}

/** NAL units of an Annex B byte stream, start codes and trailing zero bytes removed. */
export function annexBNalUnits(stream: Uint8Array): AnnexBNalUnit[] {
  const out: AnnexBNalUnit[] = [];
  let start = -1;
  let startCode = 0;
  const push = (end: number) => {
    while (end > start && stream[end - 1] === 0) end--;
    if (end > start) out.push({ nal: stream.subarray(start, end), startCode });
  };
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      if (start >= 0) push(i);
      startCode = i > 0 && stream[i - 1] === 0 ? i - 1 : i;
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) push(stream.length);
  return out;
}

/** The NAL units of an Annex B byte stream, as views. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  return annexBNalUnits(stream).map((u) => u.nal);
}

/** NAL type of an H.264 or H.265 NAL unit. */
export function nalType(codec: VideoCodec, nal: Uint8Array): number {
  return codec === "h264" ? nal[0] & 0x1f : (nal[0] >> 1) & 0x3f;
}

/** Where access units begin: the index in `nals` of each one's first NAL unit. */
function accessUnitStarts(codec: VideoCodec, nals: readonly Uint8Array[]): number[] {
  const starts: number[] = [];
  let sawSlice = false;
  nals.forEach((nal, i) => {
    const type = nalType(codec, nal);
    const vcl = codec === "h264" ? type >= 1 && type <= 5 : type <= 31;
    // first_mb_in_slice == 0 (ue "1") / first_slice_segment_in_pic_flag: the first bit after the header.
    const firstSlice = vcl && (nal[codec === "h264" ? 1 : 2] & 0x80) !== 0;
    // What may only lead an access unit: SEI, SPS, PPS, AUD; H.265 VPS, SPS, PPS, AUD, prefix SEI.
    const leads = codec === "h264"
      ? type === 6 || type === 7 || type === 8 || type === 9
      : (type >= 32 && type <= 35) || type === 39;
    if (i === 0 || (sawSlice && (leads || firstSlice))) {
      starts.push(i);
      sawSlice = false;
    }
    if (vcl) sawSlice = true;
  });
  return starts;
}

/** NAL units grouped into access units, in decoding order. */
export function accessUnits(codec: VideoCodec, nals: readonly Uint8Array[]): Uint8Array[][] {
  const starts = accessUnitStarts(codec, nals);
  return starts.map((s, k) => nals.slice(s, starts[k + 1] ?? nals.length));
}

/** One access unit of an Annex B stream: its NAL units and the bytes it spans there. */
export interface AnnexBAccessUnit {
  nals: Uint8Array[];
  /** Start codes included: the size of the encoder's packet for the frame. */
  annexBSize: number;
}

/** The access units of an Annex B byte stream, in decoding order. */
export function annexBAccessUnits(codec: VideoCodec, stream: Uint8Array): AnnexBAccessUnit[] {
  const units = annexBNalUnits(stream);
  const starts = accessUnitStarts(codec, units.map((u) => u.nal));
  return starts.map((s, k) => {
    const next = starts[k + 1];
    return {
      nals: units.slice(s, next ?? units.length).map((u) => u.nal),
      annexBSize: (next === undefined ? stream.length : units[next].startCode) - units[s].startCode,
    };
  });
}

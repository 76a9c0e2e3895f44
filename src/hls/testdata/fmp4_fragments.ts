/**
 * Test-only: splits a fragmented MP4 (as `ffmpeg -movflags frag_keyframe+empty_moov+default_base_moof`
 * writes it) into its init section (ftyp+moov) and its fragments (moof+mdat), each with the
 * duration and key-frame flag the store needs; the first track's timing is read.
 *
 * @module
 */

export interface Fragment {
  bytes: Uint8Array;
  /** Seconds. */
  duration: number;
  /** The first sample is a sync sample. */
  independent: boolean;
}

interface Box {
  type: string;
  start: number;
  end: number;
  body: number;
}

function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  for (let i = start; i + 8 <= end;) {
    const size = v.getUint32(i);
    const type = String.fromCharCode(...b.subarray(i + 4, i + 8));
    if (size < 8 || i + size > end) throw new Error(`bad ${type} box at ${i}`);
    out.push({ type, start: i, end: i + size, body: i + 8 });
    i += size;
  }
  return out;
}

function child(b: Uint8Array, parent: Box, type: string, skip = 0): Box | undefined {
  return boxes(b, parent.body + skip, parent.end).find((x) => x.type === type);
}

const SAMPLE_IS_NON_SYNC = 0x10000;

/** The init section and the fragments of `mp4`, in order. */
export function splitFragmentedMp4(mp4: Uint8Array): { init: Uint8Array; fragments: Fragment[] } {
  const v = new DataView(mp4.buffer, mp4.byteOffset, mp4.byteLength);
  const top = boxes(mp4, 0, mp4.length);
  const moov = top.find((x) => x.type === "moov")!;
  const trak = child(mp4, moov, "trak")!;
  const mdhd = child(mp4, child(mp4, trak, "mdia")!, "mdhd")!;
  const timescale = v.getUint32(mdhd.body + (mp4[mdhd.body] === 1 ? 20 : 12));
  const trex = child(mp4, child(mp4, moov, "mvex")!, "trex")!;
  const trexDuration = v.getUint32(trex.body + 12);
  const trexFlags = v.getUint32(trex.body + 20);
  const fragments: Fragment[] = [];
  for (let i = 0; i < top.length; i++) {
    const moof = top[i]!;
    if (moof.type !== "moof") continue;
    const mdat = top[i + 1]!;
    const traf = child(mp4, moof, "traf")!;
    const tfhd = child(mp4, traf, "tfhd")!;
    const trun = child(mp4, traf, "trun")!;
    const tfFlags = v.getUint32(tfhd.body) & 0xffffff;
    let at = tfhd.body + 8 + (tfFlags & 0x01 ? 8 : 0) + (tfFlags & 0x02 ? 4 : 0);
    const defaultDuration = tfFlags & 0x08 ? v.getUint32(at) : trexDuration;
    at += (tfFlags & 0x08 ? 4 : 0) + (tfFlags & 0x10 ? 4 : 0);
    const defaultFlags = tfFlags & 0x20 ? v.getUint32(at) : trexFlags;
    const trFlags = v.getUint32(trun.body) & 0xffffff;
    const count = v.getUint32(trun.body + 4);
    let p = trun.body + 8 + (trFlags & 0x01 ? 4 : 0);
    const firstFlags = trFlags & 0x04 ? v.getUint32(p) : undefined;
    p += trFlags & 0x04 ? 4 : 0;
    let ticks = 0;
    let firstSampleFlags = firstFlags;
    for (let s = 0; s < count; s++) {
      ticks += trFlags & 0x100 ? v.getUint32(p) : defaultDuration;
      p += trFlags & 0x100 ? 4 : 0;
      p += trFlags & 0x200 ? 4 : 0;
      if (trFlags & 0x400) {
        if (s === 0) firstSampleFlags ??= v.getUint32(p);
        p += 4;
      }
      p += trFlags & 0x800 ? 4 : 0;
    }
    fragments.push({
      bytes: mp4.slice(moof.start, mdat.end),
      duration: ticks / timescale,
      independent: ((firstSampleFlags ?? defaultFlags) & SAMPLE_IS_NON_SYNC) === 0,
    });
  }
  return { init: mp4.slice(0, moov.end), fragments };
}

/**
 * Moves the fragments of a movie in time: every traf's tfdt (baseMediaDecodeTime) minus a
 * per-track amount, in place. A recording's file starts each track at 0 this way though the
 * stream's timeline went on from the file before (the fragments are made once, for the stream).
 *
 * @module
 */
import { findBox, findBoxes, Fmp4ParseError, readBoxes } from "./box_reader.ts";

/**
 * The decode time of each track's first sample in `fragment` (moof + mdat), by track_ID: what a
 * file starting with it subtracts.
 */
export function firstDecodeTimes(fragment: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  forEachTfdt(fragment, (trackId, time) => {
    if (!out.has(trackId)) out.set(trackId, time);
  });
  return out;
}

/**
 * Subtracts `shift.get(track_ID)` from each traf's tfdt in `fragment`, in place; a track not in
 * `shift` is left alone, one that would go below 0 is put at 0. Throws Fmp4ParseError for bytes
 * that are no moof this module's writer makes (tfdt version 0 included).
 */
export function shiftDecodeTimes(fragment: Uint8Array, shift: ReadonlyMap<number, number>): void {
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  forEachTfdt(fragment, (trackId, time, at, version) => {
    const s = shift.get(trackId);
    if (s === undefined || s === 0) return;
    const t = Math.max(0, time - s);
    if (version === 1) {
      view.setUint32(at, Math.floor(t / 2 ** 32));
      view.setUint32(at + 4, t >>> 0);
    } else {
      view.setUint32(at, t);
    }
  });
}

function forEachTfdt(
  fragment: Uint8Array,
  f: (trackId: number, time: number, at: number, version: number) => void,
): void {
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const moof = findBox(readBoxes(fragment), "moof");
  if (moof === undefined) throw new Fmp4ParseError("no moof in the fragment");
  for (const traf of findBoxes(moof.children, "traf")) {
    const tfhd = findBox(traf.children, "tfhd");
    const tfdt = findBox(traf.children, "tfdt");
    if (tfhd === undefined || tfdt === undefined || tfhd.end - tfhd.bodyStart < 8) {
      throw new Fmp4ParseError("a traf without tfhd or tfdt");
    }
    const trackId = view.getUint32(tfhd.bodyStart + 4);
    const version = fragment[tfdt.bodyStart];
    const at = tfdt.bodyStart + 4;
    if (tfdt.end - at < (version === 1 ? 8 : 4)) throw new Fmp4ParseError("a tfdt too short");
    const time = version === 1 ? view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4) : view.getUint32(at);
    f(trackId, time, at, version);
  }
}

/**
 * The rules a media playlist must keep for players to accept it as Low-Latency HLS
 * (draft-pantos-hls-rfc8216bis), checked on the data: the store's tests run every playlist it
 * writes through them, and the glue's tests can too. docs/hls.md says why each matters.
 *
 * @module
 */
import type { MediaPlaylist } from "./playlist.ts";

const US = 1_000_000;
const us = (s: number) => Math.round(s * US);

/** Every rule `pl` breaks, one line each naming the section; empty when it keeps them all. */
export function mediaPlaylistProblems(pl: MediaPlaylist): string[] {
  const out: string[] = [];
  const td = pl.targetDuration;
  const pt = pl.partTarget;
  const allParts = [...pl.segments.flatMap((s) => s.parts), ...(pl.openSegment?.parts ?? [])];
  for (const s of pl.segments) {
    // §4.4.3.1: EXTINF rounded to the nearest integer at most the Target Duration.
    if (Math.round(s.duration) > td) {
      out.push(`${s.uri}: EXTINF ${s.duration} rounds above TARGETDURATION ${td}`);
    }
    if (s.parts.length > 0) {
      const sum = s.parts.reduce((n, p) => n + us(p.duration), 0);
      if (sum !== us(s.duration)) {
        out.push(`${s.uri}: its parts last ${sum / US} s, its EXTINF ${s.duration} s`);
      }
    }
  }
  if (allParts.length > 0) {
    if (pt === undefined) out.push("EXT-X-PART without EXT-X-PART-INF (§4.4.3.7)");
    else {
      // §4.4.4.9: every part at most PART-TARGET; at least 85% of it unless independent or last.
      for (const p of allParts) {
        if (us(p.duration) > us(pt)) out.push(`${p.uri}: DURATION ${p.duration} above PART-TARGET ${pt}`);
      }
      for (const s of pl.segments) {
        s.parts.forEach((p, i) => {
          if (!p.independent && i < s.parts.length - 1 && us(p.duration) < us(pt) * 0.85) {
            out.push(`${p.uri}: DURATION ${p.duration} under 85% of PART-TARGET ${pt}`);
          }
        });
      }
    }
    const sc = pl.serverControl;
    // §4.4.3.8: PART-HOLD-BACK MUST be at least twice PART-TARGET, SHOULD be three times (dm-live: 3).
    if (sc?.partHoldBack === undefined) out.push("EXT-X-PART without PART-HOLD-BACK (§4.4.3.8)");
    else if (pt !== undefined && us(sc.partHoldBack) < 3 * us(pt)) {
      out.push(`PART-HOLD-BACK ${sc.partHoldBack} under three PART-TARGETs (${pt})`);
    }
  }
  const sc = pl.serverControl;
  if (sc?.holdBack !== undefined && us(sc.holdBack) < 3 * td * US) {
    out.push(`HOLD-BACK ${sc.holdBack} under three TARGETDURATIONs (§4.4.3.8)`);
  }
  if (sc?.canSkipUntil !== undefined && us(sc.canSkipUntil) < 6 * td * US) {
    out.push(`CAN-SKIP-UNTIL ${sc.canSkipUntil} under six TARGETDURATIONs (§4.4.3.8)`);
  }
  if (pl.skippedSegments !== undefined && sc?.canSkipUntil === undefined) {
    out.push("EXT-X-SKIP without CAN-SKIP-UNTIL (§4.4.5.2)");
  }
  // §8: EXT-X-MAP without EXT-X-I-FRAMES-ONLY needs version 6; EXT-X-SKIP needs 9.
  const needed = pl.skippedSegments !== undefined ? 9 : pl.map !== undefined ? 6 : 3;
  if ((pl.version ?? 1) < needed) {
    out.push(`EXT-X-VERSION ${pl.version ?? 1} below the ${needed} its tags need`);
  }
  if (pl.endList && pl.preloadHint !== undefined) out.push("EXT-X-PRELOAD-HINT in an ended playlist");
  if (!pl.endList && allParts.length > 0 && pl.preloadHint === undefined) {
    // Not a MUST, but hls.js reloads in a loop without one (gohlslib notes the same).
    out.push("live LL-HLS playlist without EXT-X-PRELOAD-HINT");
  }
  return out;
}

/**
 * The names a stream's HLS resources have under `<path>/`, and their parser for the router.
 *
 * ```
 * index.m3u8                 multivariant playlist (one variant: stream.m3u8)
 * stream.m3u8                media playlist; _HLS_msn, _HLS_part, _HLS_skip directives
 * init.mp4                   fMP4 initialization section (EXT-X-MAP)
 * seg_<stream>_<msn>.m4s     a complete Media Segment, by media sequence number
 * part_<stream>_<seq>.m4s    a Partial Segment, by part number counted over the whole stream
 * ```
 * `<stream>` names one store (one run of muxing): a stream that restarts gets a new one, so a
 * name is never reused for other bytes and parts and segments can be cached as immutable. Parts
 * are numbered over the stream, not within their segment, because the preload hint must name the
 * next part before anyone knows whether it starts a new segment.
 *
 * @module
 */

export const MULTIVARIANT_NAME = "index.m3u8";
export const MEDIA_PLAYLIST_NAME = "stream.m3u8";
export const INIT_NAME = "init.mp4";

/** A store's name in its resources' URIs. */
export const STREAM_ID = /^[a-z0-9]{1,16}$/;

/** What a last path component names. */
export type HlsResource =
  | { kind: "multivariant" }
  | { kind: "media" }
  | { kind: "init" }
  | { kind: "segment"; streamId: string; msn: number }
  | { kind: "part"; streamId: string; seq: number };

/** URI of the complete segment `msn` of store `streamId`. */
export function segmentName(streamId: string, msn: number): string {
  return `seg_${streamId}_${msn}.m4s`;
}

/** URI of part `seq` (counted from the stream's first part) of store `streamId`. */
export function partName(streamId: string, seq: number): string {
  return `part_${streamId}_${seq}.m4s`;
}

// Canonical numbers only (no leading zeros, at most 15 digits: safe integers), so one resource
// has one name and caches hold one copy.
const MEDIA_NAME = /^(seg|part)_([a-z0-9]{1,16})_(0|[1-9][0-9]{0,14})\.m4s$/;

/** The resource a file name names, or undefined for any other name (a 404). */
export function parseResourceName(name: string): HlsResource | undefined {
  if (name === MULTIVARIANT_NAME) return { kind: "multivariant" };
  if (name === MEDIA_PLAYLIST_NAME) return { kind: "media" };
  if (name === INIT_NAME) return { kind: "init" };
  const m = MEDIA_NAME.exec(name);
  if (m === null) return undefined;
  const n = Number(m[3]);
  return m[1] === "seg"
    ? { kind: "segment", streamId: m[2]!, msn: n }
    : { kind: "part", streamId: m[2]!, seq: n };
}

/** A fresh store name: 8 random base-36 characters (41 bits; a clash needs the same path too). */
export function newStreamId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

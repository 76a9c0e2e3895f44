/**
 * The bench's LL-HLS client logic, without I/O (bench/hls_client.ts does the fetching): reading a
 * multivariant and a media playlist as a player does (its own small parser, not the server's, so
 * the bench checks what is on the wire), where a low-latency player starts (PART-HOLD-BACK behind
 * the end, back to an independent part, as hls.js does), which blocking reload asks for the next
 * part (`_HLS_msn`/`_HLS_part`), and which parts a new playlist lists that the client has not had.
 */

/** One EXT-X-PART as a client sees it: its place (segment msn, index in the segment) and times. */
export interface ListedPart {
  msn: number;
  /** Index within its segment, from 0. */
  index: number;
  uri: string;
  durationS: number;
  independent: boolean;
  /**
   * Epoch ms of its first sample from the segment's EXT-X-PROGRAM-DATE-TIME plus the durations of
   * the parts before it in the segment (NaN when the playlist gives no date).
   */
  startMs: number;
}

/** What the client reads from a media playlist. */
export interface ClientPlaylist {
  mediaSequence: number;
  targetDurationS: number;
  /** EXT-X-PART-INF PART-TARGET (NaN: none, not a low-latency playlist). */
  partTargetS: number;
  /** EXT-X-SERVER-CONTROL PART-HOLD-BACK (NaN: none given). */
  partHoldBackS: number;
  canBlockReload: boolean;
  mapUri: string | null;
  preloadHint: string | null;
  endList: boolean;
  /** Every listed part, in playlist order. */
  parts: ListedPart[];
  /** The blocking reload for the part after the last listed one: the open segment's next part. */
  next: { msn: number; part: number };
}

/** The quoted-string or plain values of an attribute list (RFC 8216 §4.2), by name. */
export function attributes(list: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
    const v = m[2];
    out.set(m[1], v.startsWith('"') ? v.slice(1, -1) : v);
  }
  return out;
}

/** The first variant's URI of a multivariant playlist (a media playlist's own text: null). */
export function firstVariantUri(text: string): string | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== "#EXTM3U") throw new Error("not a playlist (no #EXTM3U)");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("#EXT-X-STREAM-INF:")) {
      for (let j = i + 1; j < lines.length; j++) {
        if (lines[j] !== "" && !lines[j].startsWith("#")) return lines[j];
      }
    }
  }
  return null;
}

/** A media playlist as a low-latency client needs it; throws on text that is not one. */
export function parseClientPlaylist(text: string): ClientPlaylist {
  const lines = text.split(/\r?\n/);
  if (lines[0].trim() !== "#EXTM3U") throw new Error("not a playlist (no #EXTM3U)");
  const pl: ClientPlaylist = {
    mediaSequence: 0,
    targetDurationS: NaN,
    partTargetS: NaN,
    partHoldBackS: NaN,
    canBlockReload: false,
    mapUri: null,
    preloadHint: null,
    endList: false,
    parts: [],
    next: { msn: 0, part: 0 },
  };
  let msn: number | null = null;
  let index = 0;
  /** Epoch ms of the current segment's first sample, and how far into it the next part starts. */
  let segmentStart = NaN;
  let offsetMs = 0;
  let extinf = NaN;
  const tagValue = (line: string) => line.slice(line.indexOf(":") + 1);
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) {
      // A segment's URI: it is complete; the next one starts where it ends.
      msn ??= pl.mediaSequence;
      msn++;
      index = 0;
      segmentStart += extinf * 1000;
      offsetMs = 0;
      extinf = NaN;
      continue;
    }
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) {
      pl.mediaSequence = Number(tagValue(line));
    } else if (line.startsWith("#EXT-X-TARGETDURATION:")) {
      pl.targetDurationS = Number(tagValue(line));
    } else if (line.startsWith("#EXT-X-PART-INF:")) {
      pl.partTargetS = Number(attributes(tagValue(line)).get("PART-TARGET"));
    } else if (line.startsWith("#EXT-X-SERVER-CONTROL:")) {
      const a = attributes(tagValue(line));
      pl.canBlockReload = a.get("CAN-BLOCK-RELOAD") === "YES";
      pl.partHoldBackS = Number(a.get("PART-HOLD-BACK") ?? NaN);
    } else if (line.startsWith("#EXT-X-MAP:")) {
      pl.mapUri = attributes(tagValue(line)).get("URI") ?? null;
    } else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      segmentStart = Date.parse(tagValue(line));
      offsetMs = 0;
    } else if (line.startsWith("#EXT-X-PART:")) {
      msn ??= pl.mediaSequence;
      const a = attributes(tagValue(line));
      const durationS = Number(a.get("DURATION"));
      pl.parts.push({
        msn,
        index: index++,
        uri: a.get("URI") ?? "",
        durationS,
        independent: a.get("INDEPENDENT") === "YES",
        startMs: segmentStart + offsetMs,
      });
      offsetMs += durationS * 1000;
    } else if (line.startsWith("#EXTINF:")) {
      extinf = Number(tagValue(line).split(",")[0]);
    } else if (line.startsWith("#EXT-X-PRELOAD-HINT:")) {
      const a = attributes(tagValue(line));
      if (a.get("TYPE") === "PART") pl.preloadHint = a.get("URI") ?? null;
    } else if (line === "#EXT-X-ENDLIST") {
      pl.endList = true;
    }
  }
  pl.next = { msn: msn ?? pl.mediaSequence, part: index };
  return pl;
}

/**
 * Where a low-latency player starts: the part holding the time PART-HOLD-BACK before the end of
 * the listed parts (three parts when the playlist gives none), moved back to the independent part
 * at or before it so decoding can start (hls.js does both). -1 when no part is listed.
 */
export function startPartIndex(pl: ClientPlaylist): number {
  const parts = pl.parts;
  if (parts.length === 0) return -1;
  const holdBack = Number.isFinite(pl.partHoldBackS) ? pl.partHoldBackS : 3 * (pl.partTargetS || 0.2);
  let i = parts.length - 1;
  for (let back = parts[i].durationS; i > 0 && back < holdBack - 1e-6; back += parts[--i].durationS) {
    // walk back until PART-HOLD-BACK of media is after the start
  }
  while (i > 0 && !parts[i].independent) i--;
  return i;
}

/** Orders parts by their place: segment, then index. */
export function comparePlace(a: { msn: number; index: number }, b: { msn: number; index: number }): number {
  return a.msn - b.msn || a.index - b.index;
}

/**
 * The parts a client has been listed so far: each new playlist's parts after the last one it knew,
 * and how often the listing jumped (the first new part not the one after the last known: parts
 * the client never saw listed).
 */
export class PartTracker {
  #last: { msn: number; index: number } | null = null;
  /** Playlists whose first new part was not next to the last known one. */
  jumps = 0;

  /** The place of the last part listed so far (null: none yet). */
  get last(): { msn: number; index: number } | null {
    return this.#last;
  }

  /** Starts at parts[from] (parts before it count as known). */
  startAt(pl: ClientPlaylist, from: number): ListedPart[] {
    const out = pl.parts.slice(Math.max(0, from));
    if (pl.parts.length > 0) this.#last = pl.parts[pl.parts.length - 1];
    return out;
  }

  /** The parts of `pl` after the last known one, in order. */
  take(pl: ClientPlaylist): ListedPart[] {
    const last = this.#last;
    const fresh = last === null ? pl.parts : pl.parts.filter((p) => comparePlace(p, last) > 0);
    if (fresh.length > 0) {
      const f = fresh[0];
      // Next to the last known part: the next index in its segment, or a later segment's first part
      // (a segment's last part is not known to be last until the next segment starts).
      const next = (f.msn === last?.msn && f.index === last.index + 1) ||
        (f.msn === (last?.msn ?? NaN) + 1 && f.index === 0);
      if (last !== null && !next) {
        this.jumps++;
      }
      this.#last = fresh[fresh.length - 1];
    }
    return fresh;
  }
}

/** The blocking reload's query for a playlist's next part. */
export function blockingQuery(pl: ClientPlaylist): string {
  return `_HLS_msn=${pl.next.msn}&_HLS_part=${pl.next.part}`;
}

/**
 * The newest send stamp (bench/stamped_publisher.ts) in a part's bytes, found from the end (its
 * last video frame's last fragment), or NaN when the part carries none (another publisher).
 */
export function newestStamp(bytes: Uint8Array, magic: number): number {
  const m0 = magic >>> 24, m1 = (magic >>> 16) & 0xff, m2 = (magic >>> 8) & 0xff, m3 = magic & 0xff;
  for (let i = bytes.length - 12; i >= 0; i--) {
    if (bytes[i] === m0 && bytes[i + 1] === m1 && bytes[i + 2] === m2 && bytes[i + 3] === m3) {
      return new DataView(bytes.buffer, bytes.byteOffset + i + 4, 8).getFloat64(0);
    }
  }
  return NaN;
}

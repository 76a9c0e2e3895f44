/**
 * HLS playlists as data (RFC 8216, draft-pantos-hls-rfc8216bis for Low-Latency HLS) with their
 * parsers and serializers side by side: the media playlist a stream's store describes itself with,
 * and the multivariant playlist pointing at it. The parsers read what dm-live writes and what LL-HLS
 * servers commonly write; tags they do not model are skipped (§6.3.1: clients ignore unknown tags).
 *
 * A media playlist as written (one segment shown, then the open segment's parts and the hint):
 * ```
 * #EXTM3U
 * #EXT-X-VERSION:6
 * #EXT-X-TARGETDURATION:1
 * #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,HOLD-BACK=3
 * #EXT-X-PART-INF:PART-TARGET=0.2
 * #EXT-X-MEDIA-SEQUENCE:4
 * #EXT-X-MAP:URI="init.mp4"
 * #EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.000Z
 * #EXT-X-PART:DURATION=0.2,URI="part_k3x9_20.m4s",INDEPENDENT=YES
 * ...
 * #EXTINF:1,
 * seg_k3x9_4.m4s
 * #EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:56.000Z
 * #EXT-X-PART:DURATION=0.2,URI="part_k3x9_25.m4s",INDEPENDENT=YES
 * #EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_k3x9_26.m4s"
 * ```
 *
 * @module
 */
import {
  formatDateTime,
  formatDecimal,
  parseAttributeList,
  parseDateTime,
  parseDecimal,
  parseInteger,
  plainAttr,
  PlaylistParseError,
  quoted,
  quotedAttr,
  serializeAttributeList,
  yesNoAttr,
} from "./attribute_list.ts";

export { PlaylistParseError };

/** Decimals kept for durations: microseconds, finer than any media timescale's tick matters here. */
export const DURATION_PLACES = 6;
/** FRAME-RATE is "rounded to three decimal places" (RFC 8216 §4.3.4.2). */
export const FRAME_RATE_PLACES = 3;

/** EXT-X-PART (rfc8216bis §4.4.4.9): one Partial Segment. */
export interface Part {
  /** Seconds. */
  duration: number;
  uri: string;
  /** INDEPENDENT=YES: decoding can start here (a video key frame first). */
  independent: boolean;
}

/** EXTINF + URI (§4.4.4.1): one complete Media Segment, with its Partial Segments when still listed. */
export interface MediaSegment {
  /** EXTINF, seconds. */
  duration: number;
  uri: string;
  title?: string;
  /** EXT-X-PROGRAM-DATE-TIME of the segment's first sample. */
  programDateTime?: Date;
  /** Its EXT-X-PART tags, written before its EXTINF; empty once they left the playlist. */
  parts: Part[];
}

/** The Parent Segment being written: its parts so far, after the last complete segment. */
export interface OpenSegment {
  programDateTime?: Date;
  parts: Part[];
}

/** EXT-X-SERVER-CONTROL (rfc8216bis §4.4.3.8); times in seconds. */
export interface ServerControl {
  canBlockReload: boolean;
  partHoldBack?: number;
  holdBack?: number;
  canSkipUntil?: number;
}

/** EXT-X-PRELOAD-HINT (rfc8216bis §4.4.5.3): the resource the server will make available next. */
export interface PreloadHint {
  type: "PART" | "MAP";
  uri: string;
}

/** A media playlist (RFC 8216 §4.3.3 / rfc8216bis §4.4.3) as dm-live models it: one init section. */
export interface MediaPlaylist {
  version?: number;
  /** EXT-X-TARGETDURATION, whole seconds. */
  targetDuration: number;
  serverControl?: ServerControl;
  /** EXT-X-PART-INF PART-TARGET, seconds; required with any EXT-X-PART. */
  partTarget?: number;
  /** EXT-X-MEDIA-SEQUENCE: the first listed segment's number (0 when absent). */
  mediaSequence: number;
  /** EXT-X-MAP URI. */
  map?: string;
  /** EXT-X-SKIP SKIPPED-SEGMENTS of a delta update (rfc8216bis §4.4.5.2). */
  skippedSegments?: number;
  segments: MediaSegment[];
  openSegment?: OpenSegment;
  preloadHint?: PreloadHint;
  /** EXT-X-ENDLIST: no segment will be added. */
  endList: boolean;
}

/** One EXT-X-STREAM-INF (RFC 8216 §4.3.4.2). */
export interface Variant {
  /** Peak segment bit rate, bits per second. */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 codec list, as given ("avc1.64001f,mp4a.40.2"). */
  codecs?: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
  uri: string;
}

/** A multivariant playlist: the variants only (no renditions: dm-live serves one media playlist). */
export interface MultivariantPlaylist {
  version?: number;
  independentSegments: boolean;
  variants: Variant[];
}

const dur = (s: number) => formatDecimal(s, DURATION_PLACES);

/** Splits playlist text into lines; refuses a BOM and control characters (RFC 8216 §4.1). */
function lines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) throw new PlaylistParseError("Playlist starts with a byte order mark");
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\r(?!\n)/.test(text)) {
    throw new PlaylistParseError("Playlist contains a control character (RFC 8216 §4.1)");
  }
  const out = text.split(/\r?\n/).map((l) => l.trim());
  if (out[0] !== "#EXTM3U") throw new PlaylistParseError("Playlist does not start with #EXTM3U");
  return out;
}

/** `#EXT-X-NAME:value` → [name, value]; a tag without ':' has value "". */
function splitTag(line: string): [string, string] {
  const colon = line.indexOf(":");
  return colon < 0 ? [line.slice(1), ""] : [line.slice(1, colon), line.slice(colon + 1)];
}

function once<T>(current: T | undefined, tag: string): void {
  if (current !== undefined) throw new PlaylistParseError(`${tag} appears more than once`);
}

/** Parses a media playlist; throws PlaylistParseError. Durations are kept to the microsecond. */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const all = lines(text);
  let version: number | undefined;
  let targetDuration: number | undefined;
  let mediaSequence: number | undefined;
  let serverControl: ServerControl | undefined;
  let partTarget: number | undefined;
  let map: string | undefined;
  let skippedSegments: number | undefined;
  let preloadHint: PreloadHint | undefined;
  let endList = false;
  const segments: MediaSegment[] = [];
  let parts: Part[] = [];
  let pdt: Date | undefined;
  let extinf: { duration: number; title?: string } | undefined;

  for (const line of all.slice(1)) {
    if (line === "") continue;
    if (!line.startsWith("#")) {
      if (extinf === undefined) throw new PlaylistParseError(`URI line "${line}" without an EXTINF`);
      const seg: MediaSegment = { duration: extinf.duration, uri: line, parts };
      if (extinf.title !== undefined) seg.title = extinf.title;
      if (pdt !== undefined) seg.programDateTime = pdt;
      segments.push(seg);
      extinf = undefined;
      pdt = undefined;
      parts = [];
      continue;
    }
    if (!line.startsWith("#EXT")) continue; // a comment
    const [tag, value] = splitTag(line);
    switch (tag) {
      case "EXT-X-VERSION":
        once(version, tag);
        version = parseInteger(value, tag);
        break;
      case "EXT-X-TARGETDURATION":
        once(targetDuration, tag);
        targetDuration = parseInteger(value, tag);
        break;
      case "EXT-X-MEDIA-SEQUENCE":
        once(mediaSequence, tag);
        if (segments.length > 0 || parts.length > 0) {
          throw new PlaylistParseError(`${tag} must come before the first Media Segment`);
        }
        mediaSequence = parseInteger(value, tag);
        break;
      case "EXT-X-SERVER-CONTROL": {
        once(serverControl, tag);
        const a = parseAttributeList(value, tag);
        serverControl = { canBlockReload: yesNoAttr(a, "CAN-BLOCK-RELOAD", tag) };
        for (const [name, key] of SERVER_CONTROL_TIMES) {
          const v = plainAttr(a, name, tag);
          if (v !== undefined) serverControl[key] = parseDecimal(v, DURATION_PLACES, `${tag} ${name}`);
        }
        break;
      }
      case "EXT-X-PART-INF": {
        once(partTarget, tag);
        const v = plainAttr(parseAttributeList(value, tag), "PART-TARGET", tag);
        if (v === undefined) throw new PlaylistParseError(`${tag} without PART-TARGET`);
        partTarget = parseDecimal(v, DURATION_PLACES, tag);
        break;
      }
      case "EXT-X-MAP": {
        // dm-live's model has one initialization section; a second one would need discontinuities.
        once(map, tag);
        map = quotedAttr(parseAttributeList(value, tag), "URI", tag);
        if (map === undefined) throw new PlaylistParseError(`${tag} without URI`);
        break;
      }
      case "EXT-X-SKIP": {
        once(skippedSegments, tag);
        const v = plainAttr(parseAttributeList(value, tag), "SKIPPED-SEGMENTS", tag);
        if (v === undefined) throw new PlaylistParseError(`${tag} without SKIPPED-SEGMENTS`);
        skippedSegments = parseInteger(v, tag);
        break;
      }
      case "EXT-X-PROGRAM-DATE-TIME":
        pdt = parseDateTime(value);
        break;
      case "EXT-X-PART":
        parts.push(parsePart(value));
        break;
      case "EXTINF": {
        if (extinf !== undefined) throw new PlaylistParseError("Two EXTINF tags without a URI between them");
        const comma = value.indexOf(",");
        const duration = parseDecimal(comma < 0 ? value : value.slice(0, comma), DURATION_PLACES, tag);
        const title = comma < 0 ? "" : value.slice(comma + 1);
        extinf = title === "" ? { duration } : { duration, title };
        break;
      }
      case "EXT-X-PRELOAD-HINT": {
        const a = parseAttributeList(value, tag);
        const type = plainAttr(a, "TYPE", tag);
        const uri = quotedAttr(a, "URI", tag);
        if ((type !== "PART" && type !== "MAP") || uri === undefined) {
          throw new PlaylistParseError(`${tag} needs TYPE=PART|MAP and a URI`);
        }
        // §4.4.5.3: at most one per TYPE; dm-live only models the part hint and keeps the PART one.
        if (preloadHint === undefined || (type === "PART" && preloadHint.type === "MAP")) {
          preloadHint = { type, uri };
        } else if (preloadHint.type === type) throw new PlaylistParseError(`Two ${tag} tags of TYPE=${type}`);
        break;
      }
      case "EXT-X-ENDLIST":
        endList = true;
        break;
      case "EXT-X-STREAM-INF":
        throw new PlaylistParseError("EXT-X-STREAM-INF in a media playlist (is it a multivariant playlist?)");
    }
  }
  if (extinf !== undefined) throw new PlaylistParseError("EXTINF without a URI at the end of the playlist");
  if (targetDuration === undefined) {
    throw new PlaylistParseError("Media playlist without EXT-X-TARGETDURATION");
  }
  const hasParts = parts.length > 0 || segments.some((s) => s.parts.length > 0);
  if (hasParts && partTarget === undefined) {
    throw new PlaylistParseError("EXT-X-PART without EXT-X-PART-INF (rfc8216bis §4.4.3.7)");
  }
  const out: MediaPlaylist = { targetDuration, mediaSequence: mediaSequence ?? 0, segments, endList };
  if (version !== undefined) out.version = version;
  if (serverControl !== undefined) out.serverControl = serverControl;
  if (partTarget !== undefined) out.partTarget = partTarget;
  if (map !== undefined) out.map = map;
  if (skippedSegments !== undefined) out.skippedSegments = skippedSegments;
  if (parts.length > 0 || pdt !== undefined) {
    out.openSegment = pdt === undefined ? { parts } : { programDateTime: pdt, parts };
  }
  if (preloadHint !== undefined) out.preloadHint = preloadHint;
  return out;
}

const SERVER_CONTROL_TIMES = [
  ["PART-HOLD-BACK", "partHoldBack"],
  ["HOLD-BACK", "holdBack"],
  ["CAN-SKIP-UNTIL", "canSkipUntil"],
] as const;

function parsePart(value: string): Part {
  const tag = "EXT-X-PART";
  const a = parseAttributeList(value, tag);
  const d = plainAttr(a, "DURATION", tag);
  const uri = quotedAttr(a, "URI", tag);
  if (d === undefined || uri === undefined) throw new PlaylistParseError(`${tag} needs DURATION and URI`);
  return {
    duration: parseDecimal(d, DURATION_PLACES, `${tag} DURATION`),
    uri,
    independent: yesNoAttr(a, "INDEPENDENT", tag),
  };
}

function uriLine(uri: string): string {
  if (uri === "" || uri.startsWith("#") || /[\r\n]/.test(uri) || uri !== uri.trim()) {
    throw new RangeError(`Cannot write ${JSON.stringify(uri)} as a playlist URI line`);
  }
  return uri;
}

function partLine(p: Part): string {
  const attrs: [string, string][] = [["DURATION", dur(p.duration)], ["URI", quoted(p.uri)]];
  if (p.independent) attrs.push(["INDEPENDENT", "YES"]);
  return `#EXT-X-PART:${serializeAttributeList(attrs)}`;
}

/** Writes a media playlist in canonical order, LF line ends; throws RangeError on unwritable values. */
export function serializeMediaPlaylist(pl: MediaPlaylist): string {
  const out = ["#EXTM3U"];
  if (pl.version !== undefined) out.push(`#EXT-X-VERSION:${pl.version}`);
  out.push(`#EXT-X-TARGETDURATION:${pl.targetDuration}`);
  const sc = pl.serverControl;
  if (sc !== undefined) {
    const attrs: [string, string][] = [["CAN-BLOCK-RELOAD", sc.canBlockReload ? "YES" : "NO"]];
    for (const [name, key] of SERVER_CONTROL_TIMES) {
      const v = sc[key];
      if (v !== undefined) attrs.push([name, dur(v)]);
    }
    out.push(`#EXT-X-SERVER-CONTROL:${serializeAttributeList(attrs)}`);
  }
  if (pl.partTarget !== undefined) out.push(`#EXT-X-PART-INF:PART-TARGET=${dur(pl.partTarget)}`);
  out.push(`#EXT-X-MEDIA-SEQUENCE:${pl.mediaSequence}`);
  if (pl.map !== undefined) out.push(`#EXT-X-MAP:URI=${quoted(pl.map)}`);
  if (pl.skippedSegments !== undefined) out.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${pl.skippedSegments}`);
  for (const s of pl.segments) {
    if (s.programDateTime !== undefined) {
      out.push(`#EXT-X-PROGRAM-DATE-TIME:${formatDateTime(s.programDateTime)}`);
    }
    for (const p of s.parts) out.push(partLine(p));
    if (s.title !== undefined && /[\r\n]/.test(s.title)) {
      throw new RangeError("EXTINF title with a line break");
    }
    out.push(`#EXTINF:${dur(s.duration)},${s.title ?? ""}`, uriLine(s.uri));
  }
  const open = pl.openSegment;
  if (open !== undefined) {
    if (open.programDateTime !== undefined) {
      out.push(`#EXT-X-PROGRAM-DATE-TIME:${formatDateTime(open.programDateTime)}`);
    }
    for (const p of open.parts) out.push(partLine(p));
  }
  if (pl.preloadHint !== undefined) {
    out.push(`#EXT-X-PRELOAD-HINT:TYPE=${pl.preloadHint.type},URI=${quoted(pl.preloadHint.uri)}`);
  }
  if (pl.endList) out.push("#EXT-X-ENDLIST");
  return out.join("\n") + "\n";
}

/** Parses a multivariant playlist's variants; throws PlaylistParseError. */
export function parseMultivariantPlaylist(text: string): MultivariantPlaylist {
  const all = lines(text);
  let version: number | undefined;
  let independentSegments = false;
  const variants: Variant[] = [];
  let pending: Omit<Variant, "uri"> | undefined;
  for (const line of all.slice(1)) {
    if (line === "") continue;
    if (!line.startsWith("#")) {
      if (pending === undefined) {
        throw new PlaylistParseError(`URI line "${line}" without an EXT-X-STREAM-INF`);
      }
      variants.push({ ...pending, uri: line });
      pending = undefined;
      continue;
    }
    if (!line.startsWith("#EXT")) continue;
    const [tag, value] = splitTag(line);
    switch (tag) {
      case "EXT-X-VERSION":
        once(version, tag);
        version = parseInteger(value, tag);
        break;
      case "EXT-X-INDEPENDENT-SEGMENTS":
        independentSegments = true;
        break;
      case "EXT-X-STREAM-INF":
        if (pending !== undefined) {
          throw new PlaylistParseError(`${tag} followed by another ${tag}, not a URI`);
        }
        pending = parseStreamInf(value);
        break;
      case "EXTINF":
      case "EXT-X-TARGETDURATION":
      case "EXT-X-PART":
        throw new PlaylistParseError(`${tag} in a multivariant playlist (is it a media playlist?)`);
    }
  }
  if (pending !== undefined) throw new PlaylistParseError("EXT-X-STREAM-INF without a URI at the end");
  const out: MultivariantPlaylist = { independentSegments, variants };
  if (version !== undefined) out.version = version;
  return out;
}

function parseStreamInf(value: string): Omit<Variant, "uri"> {
  const tag = "EXT-X-STREAM-INF";
  const a = parseAttributeList(value, tag);
  const bandwidth = plainAttr(a, "BANDWIDTH", tag);
  if (bandwidth === undefined) throw new PlaylistParseError(`${tag} without BANDWIDTH (RFC 8216 §4.3.4.2)`);
  const v: Omit<Variant, "uri"> = { bandwidth: parseInteger(bandwidth, `${tag} BANDWIDTH`) };
  const average = plainAttr(a, "AVERAGE-BANDWIDTH", tag);
  if (average !== undefined) v.averageBandwidth = parseInteger(average, `${tag} AVERAGE-BANDWIDTH`);
  const codecs = quotedAttr(a, "CODECS", tag);
  if (codecs !== undefined) v.codecs = codecs;
  const resolution = plainAttr(a, "RESOLUTION", tag);
  if (resolution !== undefined) {
    const m = /^(\d{1,9})x(\d{1,9})$/.exec(resolution);
    if (m === null) throw new PlaylistParseError(`${tag}: RESOLUTION "${resolution}" is not WIDTHxHEIGHT`);
    v.resolution = { width: Number(m[1]), height: Number(m[2]) };
  }
  const frameRate = plainAttr(a, "FRAME-RATE", tag);
  if (frameRate !== undefined) v.frameRate = parseDecimal(frameRate, FRAME_RATE_PLACES, `${tag} FRAME-RATE`);
  return v;
}

/** Writes a multivariant playlist, LF line ends; throws RangeError on unwritable values. */
export function serializeMultivariantPlaylist(pl: MultivariantPlaylist): string {
  const out = ["#EXTM3U"];
  if (pl.version !== undefined) out.push(`#EXT-X-VERSION:${pl.version}`);
  if (pl.independentSegments) out.push("#EXT-X-INDEPENDENT-SEGMENTS");
  for (const v of pl.variants) {
    const attrs: [string, string][] = [["BANDWIDTH", String(v.bandwidth)]];
    if (v.averageBandwidth !== undefined) attrs.push(["AVERAGE-BANDWIDTH", String(v.averageBandwidth)]);
    if (v.codecs !== undefined) attrs.push(["CODECS", quoted(v.codecs)]);
    if (v.resolution !== undefined) {
      attrs.push(["RESOLUTION", `${v.resolution.width}x${v.resolution.height}`]);
    }
    if (v.frameRate !== undefined) {
      // Three places always, as the RFC's examples write it ("29.970").
      attrs.push(["FRAME-RATE", v.frameRate.toFixed(FRAME_RATE_PLACES)]);
    }
    out.push(`#EXT-X-STREAM-INF:${serializeAttributeList(attrs)}`, uriLine(v.uri));
  }
  return out.join("\n") + "\n";
}

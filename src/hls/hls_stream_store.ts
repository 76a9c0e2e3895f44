/**
 * One stream's Low-Latency HLS live window in memory: the muxer pushes fMP4 parts (moof+mdat),
 * the store groups them into segments, numbers both, keeps the last `segmentCount` segments (and,
 * a while longer, the ones that left the playlist, as rfc8216bis §6.2.2 asks), and answers
 * blocking playlist reloads. A segment's body is its parts' bytes, never copied.
 *
 * Rules it keeps (docs/hls.md):
 * - a segment ends at an independent part once it has reached the segment target, or earlier, at
 *   any part, when the next part would make its EXTINF round above EXT-X-TARGETDURATION;
 * - EXT-X-TARGETDURATION never changes; PART-TARGET only grows, when a part is longer than it;
 * - a segment leaves the playlist only while the rest lasts three target durations, and its bytes
 *   stay fetchable for its duration plus the playlist's, counted in media time (no wall clock);
 * - the byte bound drops the oldest segments first, even listed ones.
 *
 * Past 400 lines on purpose: segmenting, retention and the playlists it writes read one state.
 *
 * @module
 */
import { HlsTooFarAheadError } from "./hls_errors.ts";
import {
  INIT_NAME,
  MEDIA_PLAYLIST_NAME,
  newStreamId,
  partName,
  segmentName,
  STREAM_ID,
} from "./hls_names.ts";
import { DEFAULT_HLS_SETTINGS } from "../hls_settings.ts";
import {
  type MediaPlaylist,
  type MultivariantPlaylist,
  type Part,
  serializeMediaPlaylist,
  type Variant,
} from "./playlist.ts";
import { type HlsClock, type HlsWaitResult, REAL_CLOCK, WaitList } from "./wait_list.ts";

export type { HlsClock, HlsWaitResult };

/** How a store is set up; the durations and bounds are the `hls:` settings' keys. */
export interface HlsStoreOptions {
  segmentDurationMs?: number;
  partDurationMs?: number;
  segmentCount?: number;
  maxBytesPerStream?: number;
  /** EXT-X-TARGETDURATION in whole seconds; default: segmentDurationMs rounded up. */
  targetDurationS?: number;
  /** The store's name in URIs ([a-z0-9]{1,16}); default: random. */
  id?: string;
  /** How long a blocking request waits; default three target durations (rfc8216bis §6.2.5.2). */
  blockTimeoutMs?: number;
  clock?: HlsClock;
}

/** What the multivariant playlist says of the stream; known when the init section is. */
export interface HlsInitInfo {
  /** RFC 6381 codecs of every track, comma-separated ("avc1.64001f,mp4a.40.2"). */
  codecs: string;
  width?: number;
  height?: number;
  frameRate?: number;
  /** Peak bits per second if known; else measured from the segments held. */
  bandwidth?: number;
}

/** One fMP4 fragment from the muxer. The store keeps `bytes` as given: do not change them after. */
export interface HlsPartInput {
  bytes: Uint8Array;
  /** Seconds. */
  duration: number;
  /** Decoding can start here: every video track's first sample is a key frame. */
  independent: boolean;
  /** Wall-clock time of the part's first sample (EXT-X-PROGRAM-DATE-TIME of a segment it starts). */
  programDateTime: Date;
}

/** What the store counts, for logs and metrics. */
export interface HlsStoreCounters {
  parts: number;
  segments: number;
  /** Segments ended at a non-independent part to keep EXTINF within EXT-X-TARGETDURATION. */
  forcedCuts: number;
  /** Parts before the stream's first independent one, which no player could start from. */
  leadingPartsDropped: number;
  /** Segments dropped early for maxBytesPerStream. */
  evictedForBytes: number;
  /** Parts longer than PART-TARGET, which raised it. */
  partTargetRaised: number;
}

/** A complete segment's body: its parts' bytes in order. */
export interface HlsSegmentBody {
  chunks: readonly Uint8Array[];
  byteLength: number;
}

interface StoredPart {
  readonly seq: number;
  readonly durationUs: number;
  readonly independent: boolean;
  readonly bytes: Uint8Array;
}

interface StoredSegment {
  readonly msn: number;
  readonly programDateTime: Date;
  readonly parts: StoredPart[];
  durationUs: number;
  byteLength: number;
  complete: boolean;
  /** Media time after which a segment that left the playlist is dropped. */
  expiresAtUs?: number;
}

const US = 1_000_000;
const encoder = new TextEncoder();

/** A part's or a segment's microseconds from seconds, as the playlist writes them. */
function toUs(seconds: number): number {
  return Math.round(seconds * US);
}

/** One stream's live window; see the module doc. */
export class HlsStreamStore {
  /** Name of this store in segment and part URIs. */
  readonly id: string;
  /** EXT-X-TARGETDURATION, seconds. */
  readonly targetDuration: number;
  readonly #segmentTargetUs: number;
  readonly #segmentCount: number;
  readonly #maxBytes: number;
  readonly #waits: WaitList;
  #partTargetUs: number;
  #init: { bytes: Uint8Array; info: HlsInitInfo } | undefined;
  /** Held segments, oldest first: those that left the playlist, the listed ones, the open one. */
  readonly #segments: StoredSegment[] = [];
  readonly #partsBySeq = new Map<number, StoredPart>();
  #mediaSequence = 0;
  #nextMsn = 0;
  #nextSeq = 0;
  #lastCompleteMsn = -1;
  /** Media time: the sum of every pushed part's duration. */
  #nowUs = 0;
  #bytes = 0;
  #ended = false;
  #playlist: MediaPlaylist | undefined;
  #playlistText: string | undefined;
  #playlistBytes: Uint8Array | undefined;
  readonly #counters: HlsStoreCounters = {
    parts: 0,
    segments: 0,
    forcedCuts: 0,
    leadingPartsDropped: 0,
    evictedForBytes: 0,
    partTargetRaised: 0,
  };

  constructor(options: HlsStoreOptions = {}) {
    const segmentMs = options.segmentDurationMs ?? DEFAULT_HLS_SETTINGS.segmentDurationMs;
    const partMs = options.partDurationMs ?? DEFAULT_HLS_SETTINGS.partDurationMs;
    this.targetDuration = options.targetDurationS ?? Math.max(1, Math.ceil(segmentMs / 1000));
    if (!(partMs > 0 && partMs <= segmentMs && segmentMs <= this.targetDuration * 1000)) {
      throw new RangeError(
        `HLS durations must satisfy 0 < part (${partMs} ms) <= segment (${segmentMs} ms) <= target duration (${this.targetDuration} s)`,
      );
    }
    if (!Number.isInteger(this.targetDuration)) {
      throw new RangeError(`EXT-X-TARGETDURATION must be whole seconds, got ${this.targetDuration}`);
    }
    this.#segmentTargetUs = Math.round(segmentMs * 1000);
    this.#partTargetUs = Math.round(partMs * 1000);
    this.#segmentCount = Math.max(1, options.segmentCount ?? DEFAULT_HLS_SETTINGS.segmentCount);
    this.#maxBytes = options.maxBytesPerStream ?? DEFAULT_HLS_SETTINGS.maxBytesPerStream;
    this.#waits = new WaitList(
      options.clock ?? REAL_CLOCK,
      options.blockTimeoutMs ?? this.targetDuration * 3000,
    );
    this.id = options.id ?? newStreamId();
    if (!STREAM_ID.test(this.id)) throw new RangeError(`HLS store id "${this.id}" is not [a-z0-9]{1,16}`);
  }

  /** PART-TARGET, seconds. */
  get partTarget(): number {
    return this.#partTargetUs / US;
  }

  /** True once close() was called: the playlist has EXT-X-ENDLIST. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes held: init, parts, segments. */
  get byteLength(): number {
    return this.#bytes;
  }

  /** The part number the preload hint names: the next part to come. */
  get nextPartSeq(): number {
    return this.#nextSeq;
  }

  get counters(): Readonly<HlsStoreCounters> {
    return this.#counters;
  }

  /** The init section (ftyp+moov) and what the multivariant playlist says; once, before the first part. */
  setInit(bytes: Uint8Array, info: HlsInitInfo): void {
    if (this.#ended) throw new Error("HLS store is closed");
    // A new init mid-stream would need EXT-X-DISCONTINUITY; the glue starts a new store instead.
    if (this.#init !== undefined && this.#nextSeq > 0) {
      throw new Error("HLS init section set after the first part");
    }
    if (this.#init !== undefined) this.#bytes -= this.#init.bytes.length;
    this.#init = { bytes, info: { ...info } };
    this.#bytes += bytes.length;
    this.#changed();
  }

  /** The init section and its info, once set. */
  get init(): { readonly bytes: Uint8Array; readonly info: Readonly<HlsInitInfo> } | undefined {
    return this.#init;
  }

  /** Adds the next part; throws Error when closed or before setInit, RangeError for a bad part. */
  pushPart(part: HlsPartInput): void {
    if (this.#ended) throw new Error("HLS store is closed");
    if (this.#init === undefined) throw new Error("HLS part pushed before the init section");
    const durationUs = toUs(part.duration);
    if (!(durationUs > 0 && durationUs <= this.targetDuration * US)) {
      throw new RangeError(`HLS part duration ${part.duration} s is not in (0, ${this.targetDuration}]`);
    }
    if (!(part.programDateTime instanceof Date) || Number.isNaN(part.programDateTime.getTime())) {
      throw new RangeError("HLS part without a valid programDateTime");
    }
    let open = this.#open();
    if (open === undefined && !part.independent && this.#nextSeq === 0) {
      this.#counters.leadingPartsDropped++;
      return;
    }
    if (open !== undefined) {
      if (part.independent && open.durationUs >= this.#segmentTargetUs) {
        this.#complete(open);
        open = undefined;
      } else if (Math.round((open.durationUs + durationUs) / US) > this.targetDuration) {
        if (!part.independent) this.#counters.forcedCuts++;
        this.#complete(open);
        open = undefined;
      }
    }
    if (open === undefined) {
      open = {
        msn: this.#nextMsn++,
        programDateTime: new Date(part.programDateTime.getTime()),
        parts: [],
        durationUs: 0,
        byteLength: 0,
        complete: false,
      };
      this.#segments.push(open);
    }
    const stored: StoredPart = {
      seq: this.#nextSeq++,
      durationUs,
      independent: part.independent,
      bytes: part.bytes,
    };
    open.parts.push(stored);
    open.durationUs += durationUs;
    open.byteLength += part.bytes.length;
    this.#partsBySeq.set(stored.seq, stored);
    this.#counters.parts++;
    if (durationUs > this.#partTargetUs) {
      // Every part must fit PART-TARGET (rfc8216bis §4.4.4.9); raising it beats lying about it.
      this.#partTargetUs = Math.ceil(durationUs / 1000) * 1000;
      this.#counters.partTargetRaised++;
    }
    this.#nowUs += durationUs;
    this.#bytes += part.bytes.length;
    this.#expire();
    this.#changed();
  }

  /** Ends the stream: the open segment becomes the last, the playlist gets EXT-X-ENDLIST, waits settle. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    const open = this.#open();
    if (open !== undefined) this.#complete(open);
    this.#changed();
  }

  /** The media playlist now (shared: do not change it). */
  mediaPlaylist(): MediaPlaylist {
    this.#playlist ??= this.#buildPlaylist();
    return this.#playlist;
  }

  /** The media playlist's text, serialized once per change. */
  mediaPlaylistText(): string {
    this.#playlistText ??= serializeMediaPlaylist(this.mediaPlaylist());
    return this.#playlistText;
  }

  /** mediaPlaylistText() as UTF-8, encoded once per change (shared: do not change it). */
  mediaPlaylistBytes(): Uint8Array {
    this.#playlistBytes ??= encoder.encode(this.mediaPlaylistText());
    return this.#playlistBytes;
  }

  /** The multivariant playlist, pointing at `uri`; undefined before setInit. */
  multivariantPlaylist(uri = MEDIA_PLAYLIST_NAME): MultivariantPlaylist | undefined {
    if (this.#init === undefined) return undefined;
    const info = this.#init.info;
    const measured = this.#measuredBandwidth();
    const v: Variant = { bandwidth: info.bandwidth ?? measured.peak, uri };
    if (info.bandwidth === undefined && measured.average > 0) v.averageBandwidth = measured.average;
    if (info.codecs !== "") v.codecs = info.codecs;
    if (info.width !== undefined && info.height !== undefined) {
      v.resolution = { width: info.width, height: info.height };
    }
    if (info.frameRate !== undefined) v.frameRate = Math.round(info.frameRate * 1000) / 1000;
    return { version: 6, independentSegments: false, variants: [v] };
  }

  /** A complete segment still held (listed or recently removed), by media sequence number. */
  segment(msn: number): HlsSegmentBody | undefined {
    const s = this.#segmentAt(msn);
    if (s === undefined || !s.complete) return undefined;
    return { chunks: s.parts.map((p) => p.bytes), byteLength: s.byteLength };
  }

  /** Whether segment `msn` is the one being written (a request for it may wait). */
  isOpenSegment(msn: number): boolean {
    return this.#open()?.msn === msn;
  }

  /** A part still held, by its number in the stream. */
  part(seq: number): Uint8Array | undefined {
    return this.#partsBySeq.get(seq)?.bytes;
  }

  /** Whether waitFor(msn, part) would resolve "ready" now, without waiting. */
  has(msn: number, part?: number): boolean {
    return this.#has(msn, part);
  }

  /**
   * Blocking playlist reload (rfc8216bis §6.2.5.2): resolves "ready" once the playlist holds part
   * `part` of segment `msn` (or later), or segment `msn` complete when `part` is omitted; a part
   * index past a complete segment's last means part 0 of the next. Resolves at once once ended
   * ("ready" or "ended"). Rejects HlsTooFarAheadError (400) for `msn` more than two past the last
   * segment or `part` past the Advance Part Limit, HlsBlockTimeoutError (503) after the block
   * timeout, and `signal.reason` when aborted.
   */
  waitFor(msn: number, part?: number, signal?: AbortSignal): Promise<HlsWaitResult> {
    if (
      !Number.isSafeInteger(msn) || msn < 0 ||
      (part !== undefined && (!Number.isSafeInteger(part) || part < 0))
    ) {
      return Promise.reject(new RangeError(`Bad HLS position msn=${msn} part=${part}`));
    }
    const ready = () => this.#has(msn, part);
    if (!ready() && !this.#ended) {
      const far = this.#tooFar(msn, part);
      if (far !== undefined) return Promise.reject(new HlsTooFarAheadError(far));
    }
    return this.#waits.wait(
      ready,
      this.#ended,
      `msn ${msn}${part === undefined ? "" : ` part ${part}`}`,
      signal,
    );
  }

  /**
   * Resolves "ready" once part `seq` exists (or was already dropped), "ended" if the stream ends
   * first: a request for the preload-hinted part blocks until the part is complete (§6.2.6).
   */
  waitForPart(seq: number, signal?: AbortSignal): Promise<HlsWaitResult> {
    return this.#waits.wait(() => seq < this.#nextSeq, this.#ended, `part ${seq}`, signal);
  }

  #open(): StoredSegment | undefined {
    const last = this.#segments[this.#segments.length - 1];
    return last !== undefined && !last.complete ? last : undefined;
  }

  #segmentAt(msn: number): StoredSegment | undefined {
    const first = this.#segments[0];
    return first === undefined ? undefined : this.#segments[msn - first.msn];
  }

  #has(msn: number, part: number | undefined): boolean {
    if (part === undefined) return this.#lastCompleteMsn >= msn;
    let m = msn;
    for (;;) {
      const s = this.#segmentAt(m);
      if (s === undefined) return m < (this.#segments[0]?.msn ?? 0);
      if (part < s.parts.length) return true;
      if (!s.complete) return false;
      // §6.2.5.2: a Part Index past the Parent Segment's last is Part Index 0 of the next segment.
      m++;
      part = 0;
    }
  }

  /** Why (msn, part) is further ahead than a client may ask for, or undefined when it is not. */
  #tooFar(msn: number, part: number | undefined): string | undefined {
    if (msn > this.#lastCompleteMsn + 2) {
      return `_HLS_msn=${msn} is more than two past the last segment (${this.#lastCompleteMsn})`;
    }
    if (part === undefined) return undefined;
    const open = this.#open();
    const lastIndex = open !== undefined && open.msn === msn ? open.parts.length - 1 : -1;
    const ahead = msn < this.#nextMsn - 1 ? 0 : part - lastIndex;
    // §6.2.5.2: three divided by PART-TARGET if it is under a second, three otherwise.
    const limit = this.#partTargetUs < US ? 3 * US / this.#partTargetUs : 3;
    return ahead > limit
      ? `_HLS_part=${part} of ${msn} is past the Advance Part Limit (${limit} parts)`
      : undefined;
  }

  #complete(s: StoredSegment): void {
    s.complete = true;
    this.#lastCompleteMsn = s.msn;
    this.#counters.segments++;
    // Leave the playlist oldest first, never below segmentCount segments nor below three target
    // durations of media (§6.2.2), and stay fetchable for the segment plus the playlist it was in.
    for (;;) {
      const listed = this.#segments.filter((x) => x.msn >= this.#mediaSequence);
      const complete = listed.filter((x) => x.complete);
      const oldest = complete[0];
      if (oldest === undefined || complete.length <= this.#segmentCount) break;
      const listedUs = listed.reduce((n, x) => n + x.durationUs, 0);
      if (listedUs - oldest.durationUs < 3 * this.targetDuration * US) break;
      oldest.expiresAtUs = this.#nowUs + oldest.durationUs + listedUs;
      this.#mediaSequence = oldest.msn + 1;
    }
  }

  /** Drops removed segments past their availability, then the oldest while over the byte bound. */
  #expire(): void {
    for (;;) {
      const s = this.#segments[0];
      if (s === undefined || s.msn >= this.#mediaSequence || s.expiresAtUs! > this.#nowUs) break;
      this.#drop();
    }
    while (this.#bytes > this.#maxBytes) {
      const s = this.#segments[0];
      if (s === undefined || !s.complete) break;
      if (s.msn >= this.#mediaSequence) {
        this.#mediaSequence = s.msn + 1;
        this.#counters.evictedForBytes++;
      }
      this.#drop();
    }
  }

  #drop(): void {
    const s = this.#segments.shift()!;
    for (const p of s.parts) this.#partsBySeq.delete(p.seq);
    this.#bytes -= s.byteLength;
  }

  #changed(): void {
    this.#playlist = undefined;
    this.#playlistText = undefined;
    this.#playlistBytes = undefined;
    this.#waits.settle(this.#ended);
  }

  #buildPlaylist(): MediaPlaylist {
    const listed = this.#segments.filter((s) => s.msn >= this.#mediaSequence);
    const endUs = listed.reduce((n, s) => n + s.durationUs, 0);
    const partsFromUs = endUs - 3 * this.targetDuration * US;
    const toPart = (p: StoredPart): Part => ({
      duration: p.durationUs / US,
      uri: partName(this.id, p.seq),
      independent: p.independent,
    });
    const pl: MediaPlaylist = {
      version: 6,
      targetDuration: this.targetDuration,
      serverControl: {
        canBlockReload: true,
        partHoldBack: 3 * this.#partTargetUs / US,
        holdBack: 3 * this.targetDuration,
      },
      partTarget: this.#partTargetUs / US,
      mediaSequence: this.#mediaSequence,
      map: INIT_NAME,
      segments: [],
      endList: this.#ended,
    };
    let segmentEndUs = 0;
    for (const s of listed) {
      segmentEndUs += s.durationUs;
      if (!s.complete) break;
      pl.segments.push({
        duration: s.durationUs / US,
        uri: segmentName(this.id, s.msn),
        programDateTime: s.programDateTime,
        // EXT-X-PART tags go once they are more than three target durations from the end (§6.2.2).
        parts: segmentEndUs >= partsFromUs ? s.parts.map(toPart) : [],
      });
    }
    const open = this.#open();
    if (open !== undefined) {
      pl.openSegment = { programDateTime: open.programDateTime, parts: open.parts.map(toPart) };
    }
    if (!this.#ended) pl.preloadHint = { type: "PART", uri: partName(this.id, this.#nextSeq) };
    return pl;
  }

  #measuredBandwidth(): { peak: number; average: number } {
    let peak = 0;
    let bytes = 0;
    let us = 0;
    for (const s of this.#segments) {
      if (!s.complete) continue;
      peak = Math.max(peak, Math.ceil(s.byteLength * 8 * US / s.durationUs));
      bytes += s.byteLength;
      us += s.durationUs;
    }
    return { peak, average: us > 0 ? Math.ceil(bytes * 8 * US / us) : 0 };
  }
}

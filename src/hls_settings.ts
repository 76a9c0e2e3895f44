/**
 * The `hls:` config section (browser playback by Low-Latency HLS over fMP4) and its defaults. It
 * imports nothing, so config.ts (rank 3) may import it; it lies outside src/hls/ (rank 4), whose
 * modules import the config.
 *
 * @module
 */

/** The `hls:` config section. */
export interface HlsSettings {
  /** Serve `http://address:port/<path>/index.m3u8`. */
  enabled: boolean;
  address: string;
  port: number;
  /**
   * A segment ends at the first independent part once it is this long; EXT-X-TARGETDURATION is
   * this rounded up to whole seconds, and no segment is longer than that (one is cut early at a
   * non-independent part if the GOP is longer: see docs/hls.md).
   */
  segmentDurationMs: number;
  /** PART-TARGET: the muxer cuts parts at most this long. */
  partDurationMs: number;
  /** Complete segments the media playlist lists (the live window). */
  segmentCount: number;
  /** Bytes one stream's store may hold (init, parts, segments kept after they left the playlist). */
  maxBytesPerStream: number;
  /** Muxing goes on this long after the stream's last HLS request. */
  idleCloseMs: number;
  /** Access-Control-Allow-Origin of every answer. */
  allowOrigin: string;
  /** Connections to the HLS port at once (limits.maxConnectionsPerAddress bounds each address's share); past it, 503. */
  maxConnections: number;
  /** HLS requests being answered at once (blocking reloads wait up to 3 target durations); past it, 503. */
  maxPendingRequests: number;
}

/** The defaults, as MediaMTX's LL-HLS defaults (1 s segments, 200 ms parts, 7 segments). */
export const DEFAULT_HLS_SETTINGS: Readonly<HlsSettings> = Object.freeze({
  enabled: true,
  address: "0.0.0.0",
  port: 8888,
  segmentDurationMs: 1000,
  partDurationMs: 200,
  segmentCount: 7,
  maxBytesPerStream: 64 * 1024 * 1024,
  idleCloseMs: 10_000,
  allowOrigin: "*",
  maxPendingRequests: 1000,
  maxConnections: 4096,
});

/** Smallest part: below it a part holds too few frames to be worth an HTTP request per part. */
export const MIN_PART_DURATION_MS = 20;
/** Largest segment target: EXT-X-TARGETDURATION, and so a blocking request's timeout, grows with it. */
export const MAX_SEGMENT_DURATION_MS = 60_000;

/**
 * What is wrong with a section across its keys, one message each naming the key ("hls.x"); empty
 * when nothing is. Ranges of single keys are the config schema's to check.
 */
export function hlsSettingsProblems(s: HlsSettings): string[] {
  const out: string[] = [];
  if (!(s.partDurationMs >= MIN_PART_DURATION_MS)) {
    out.push(`'hls.partDurationMs' must be at least ${MIN_PART_DURATION_MS}, got ${s.partDurationMs}`);
  }
  if (!(s.segmentDurationMs <= MAX_SEGMENT_DURATION_MS)) {
    out.push(
      `'hls.segmentDurationMs' must be at most ${MAX_SEGMENT_DURATION_MS}, got ${s.segmentDurationMs}`,
    );
  }
  if (!(s.partDurationMs <= s.segmentDurationMs)) {
    out.push(
      `'hls.partDurationMs' (${s.partDurationMs}) must be at most 'hls.segmentDurationMs' (${s.segmentDurationMs})`,
    );
  }
  // A live playlist may not be shorter than three target durations (rfc8216bis §6.2.2).
  if (!(Number.isInteger(s.segmentCount) && s.segmentCount >= 3)) {
    out.push(`'hls.segmentCount' must be an integer of at least 3, got ${s.segmentCount}`);
  }
  if (!(s.maxBytesPerStream >= 1024 * 1024)) {
    out.push(`'hls.maxBytesPerStream' must be at least 1 MiB, got ${s.maxBytesPerStream}`);
  }
  if (/[\r\n]/.test(s.allowOrigin) || s.allowOrigin.trim() === "") {
    out.push(`'hls.allowOrigin' must be "*" or one origin, got ${JSON.stringify(s.allowOrigin)}`);
  }
  return out;
}

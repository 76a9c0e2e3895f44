/**
 * The streams being muxed for HLS in this worker, one per path while someone watches: the first
 * request for a path starts a RingTap → StreamMuxer → HlsStreamStore chain on its stream (from the
 * newest keyframe the ring holds, so the first segment is ready within one GOP); `idleCloseMs`
 * after its last request it stops. A stream that ends closes its store (EXT-X-ENDLIST), which is
 * kept a playlist's length so players can finish; a new stream on the path gets a new store (new
 * URIs). A path without a stream may have an on-demand source: the request starts its pull.
 *
 * @module
 */
import type { HlsSettings } from "../hls_settings.ts";
import { HlsStreamStore } from "./hls_stream_store.ts";
import type { Logger } from "../log/logger.ts";
import type { LocalStream } from "../stream/local_stream.ts";
import type { ReaderCounters, ReaderPolicy } from "../ring/ring_reader.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { planMuxTracks } from "../mux/mux_tracks.ts";
import { StreamMuxer, type TrackClock } from "../mux/stream_muxer.ts";
import { RingTap } from "../mux/ring_tap.ts";

/** What HLS needs of the worker's streams. */
export interface HlsStreamSource {
  /** The stream published on a path now, if any. */
  get(path: string): LocalStream | undefined;
  /** Starts the path's on-demand source (if it has one) and waits for its stream; null: none comes. */
  demand(path: string): Promise<LocalStream | { status: 404 | 503; reason: string } | undefined>;
}

/** Counters for /metrics. */
export interface HlsCounters {
  /** Muxing sessions started, and those running now. */
  muxersStarted: number;
  muxers: number;
  /** Bytes the stores hold now. */
  bytes: number;
  parts: number;
  /** Streams whose tracks the muxer cannot write (no H.264/H.265/AAC/Opus). */
  unsupported: number;
  /**
   * Streams whose muxer could not make an init segment (no usable SPS/PPS...): their players get
   * 503 until it can. Each stream counts once, however often its muxing starts again.
   */
  initFailures: number;
}

interface Entry {
  readonly path: string;
  readonly streamId: number;
  store: HlsStreamStore;
  tap: RingTap | null;
  lastRequestMs: number;
  /** Addresses that asked for it, and when last: its players, for the page. */
  readonly clients: Map<string, number>;
  /** Set once the stream ended: the store stays until then, for players to finish. */
  dropAtMs: number | null;
}

export class HlsMuxers {
  readonly #entries = new Map<string, Entry>();
  readonly #streams: HlsStreamSource;
  readonly #settings: () => HlsSettings;
  readonly #policy: () => ReaderPolicy;
  readonly #readerCounters: ReaderCounters;
  readonly #log: Logger;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly counters: HlsCounters = {
    muxersStarted: 0,
    muxers: 0,
    bytes: 0,
    parts: 0,
    unsupported: 0,
    initFailures: 0,
  };
  /** Streams whose init failure was logged (once per stream); forgotten when the stream ends. */
  readonly #initFailed = new Set<number>();

  constructor(
    streams: HlsStreamSource,
    settings: () => HlsSettings,
    policy: () => ReaderPolicy,
    readerCounters: ReaderCounters,
    log: Logger,
  ) {
    this.#streams = streams;
    this.#settings = settings;
    this.#policy = policy;
    this.#readerCounters = readerCounters;
    this.#log = log;
    this.#timer = setInterval(() => this.#sweep(Date.now()), 1000);
  }

  /** Addresses that fetched `path` within the last PLAYER_WINDOW_MS: HLS's players of it. */
  players(path: string): number {
    const e = this.#entries.get(path);
    if (e === undefined) return 0;
    const since = Date.now() - PLAYER_WINDOW_MS;
    let n = 0;
    for (const t of e.clients.values()) if (t >= since) n++;
    return n;
  }

  /** The store for `path`, started if needed; or what to answer instead (404, 503, 415). */
  async store(path: string, peer = ""): Promise<HlsStreamStore | Response> {
    const got = await this.#store(path);
    const e = this.#entries.get(path);
    if (e !== undefined && e.store === got && e.clients.size < MAX_CLIENTS_TRACKED) {
      e.clients.set(peer, Date.now());
    }
    return got;
  }

  async #store(path: string): Promise<HlsStreamStore | Response> {
    let stream = this.#streams.get(path);
    const e = this.#entries.get(path);
    if (e !== undefined && (stream === undefined || stream.streamId === e.streamId)) {
      e.lastRequestMs = Date.now();
      return e.store;
    }
    if (stream === undefined) {
      const r = await this.#streams.demand(path);
      if (r === undefined) return text(404, `no stream is published on '${path}'`);
      if (!("streamId" in r)) return text(r.status, r.reason);
      stream = r;
    }
    // A request that waited may find another one started meanwhile.
    const again = this.#entries.get(path);
    if (again !== undefined && again.streamId === stream.streamId) {
      again.lastRequestMs = Date.now();
      return again.store;
    }
    return this.#start(stream) ?? text(415, `'${path}' has no track HLS can carry (H.264, H.265, AAC, Opus)`);
  }

  /** The directory removed a stream: its store ends. */
  streamRemoved(streamId: number): void {
    this.#initFailed.delete(streamId);
    for (const e of this.#entries.values()) {
      if (e.streamId === streamId && e.dropAtMs === null) this.#ended(e);
    }
  }

  /** Every store ends and is dropped (shutdown). */
  close(): void {
    clearInterval(this.#timer);
    for (const e of this.#entries.values()) {
      e.tap?.close();
      e.store.close();
    }
    this.#entries.clear();
    this.counters.muxers = 0;
  }

  #start(stream: LocalStream): HlsStreamStore | null {
    const s = this.#settings();
    const old = this.#entries.get(stream.path);
    if (old !== undefined) this.#drop(old);
    const plans = planMuxTracks(parseSdp(stream.viewerSdp), stream.info, { g711: false });
    if (plans.length === 0) {
      this.counters.unsupported++;
      return null;
    }
    const entry: Entry = {
      path: stream.path,
      streamId: stream.streamId,
      store: new HlsStreamStore(s),
      tap: null,
      lastRequestMs: Date.now(),
      clients: new Map(),
      dropAtMs: null,
    };
    let inits = 0;
    // The muxer places tracks by the ring's clock mapping, read through the tap made next.
    let clock: TrackClock = () => null;
    const muxer = new StreamMuxer(plans, s.partDurationMs / 1000, {
      init: (bytes, info) => {
        // Other parameter sets mid-stream: a store of their own (one init per store).
        if (inits++ > 0) {
          entry.store.close();
          entry.store = new HlsStreamStore(s);
        }
        entry.store.setInit(bytes, info);
      },
      initFailed: (reason) => {
        if (this.#initFailed.has(stream.streamId)) return;
        this.#initFailed.add(stream.streamId);
        this.counters.initFailures++;
        this.#log.warn(
          `[path ${stream.path}] HLS: stream ${stream.streamId} cannot be muxed: no init segment, ${reason}; ` +
            `players get 503 until a keyframe brings usable ones`,
        );
      },
      fragment: (f, unixMs) => {
        this.counters.parts++;
        entry.store.pushPart({
          bytes: f.bytes,
          duration: f.duration,
          independent: f.independent,
          programDateTime: new Date(unixMs),
        });
      },
    }, (track, ts) => clock(track, ts));
    const tap = new RingTap(stream, this.#policy(), this.#readerCounters, {
      packet: (track, buf, start, end) => muxer.packet(track, buf, start, end),
      reset: () => muxer.reset(),
      end: () => {
        muxer.end();
        this.#ended(entry);
      },
    });
    clock = tap.clock();
    entry.tap = tap;
    this.#entries.set(stream.path, entry);
    this.counters.muxersStarted++;
    this.counters.muxers++;
    this.#log.info(
      `[path ${stream.path}] HLS: muxing stream ${stream.streamId} (${plans.map((p) => p.codec).join(", ")})`,
    );
    return entry.store;
  }

  #ended(e: Entry): void {
    if (e.dropAtMs !== null) return;
    e.tap?.close();
    e.store.close();
    // Players may still fetch what the last playlist lists: keep it that long.
    const s = this.#settings();
    e.dropAtMs = Date.now() + s.segmentCount * Math.ceil(s.segmentDurationMs / 1000) * 1000;
  }

  #drop(e: Entry): void {
    e.tap?.close();
    e.store.close();
    if (this.#entries.get(e.path) === e) this.#entries.delete(e.path);
    this.counters.muxers--;
  }

  #sweep(now: number): void {
    const idle = this.#settings().idleCloseMs;
    let bytes = 0;
    for (const e of [...this.#entries.values()]) {
      if (e.dropAtMs !== null ? now >= e.dropAtMs : now - e.lastRequestMs > idle) {
        if (e.dropAtMs === null) {
          this.#log.info(`[path ${e.path}] HLS: no request for ${idle} ms; muxing stops`);
        }
        this.#drop(e);
        continue;
      }
      bytes += e.store.byteLength;
      for (const [peer, t] of e.clients) if (now - t > PLAYER_WINDOW_MS) e.clients.delete(peer);
    }
    this.counters.bytes = bytes;
  }
}

/** A player refreshes its playlist at least every target duration: 10 s without a request, it left. */
const PLAYER_WINDOW_MS = 10_000;
/** Addresses counted per stream at most (the count is for the page, not a bound on players). */
const MAX_CLIENTS_TRACKED = 10_000;

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

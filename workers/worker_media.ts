/**
 * The media worker's roles (media_runtime.ts, a worker of its own beside the RTSP workers): the
 * HLS port (the page, LL-HLS for every path, muxed only while watched) and the recordings of paths
 * with `record: true`. Both read the stream rings like any viewer, through a RingTap of the
 * worker's LocalStream; nothing they do runs on an RTSP worker's thread or touches what RTSP
 * viewers receive.
 *
 * @module
 */
import type { Config } from "../src/config.ts";
import type { WorkerContext } from "../src/session/worker_context.ts";
import type { WorkerDirectory } from "../src/cluster/worker_directory.ts";
import { PathAccess } from "../src/access/path_access.ts";
import { HlsMuxers } from "../src/hls/hls_muxers.ts";
import { type HlsServerHandle, startHlsServer, type StreamListing } from "../src/hls/hls_server.ts";
import { parseSdp } from "../src/sdp/session_description.ts";
import { planMuxTracks } from "../src/mux/mux_tracks.ts";
import { StreamMuxer, type TrackClock } from "../src/mux/stream_muxer.ts";
import { RingTap } from "../src/mux/ring_tap.ts";
import { Recorder, type RecorderCounters } from "../src/record/recorder.ts";
import { cleanRecordings } from "../src/record/record_cleaner.ts";
import { recordRoot } from "../src/record/record_path.ts";
import { PathRules } from "../src/paths/path_rules.ts";
import { parseH264Sps } from "../src/rtp/h264_sps.ts";
import { parseSpropParameterSets } from "../src/rtp/h264.ts";
import { fmtpFor, parseFmtpParameters } from "../src/sdp/media_description.ts";
import type { MediaReport } from "../src/stats/reports.ts";
import type { WorkerToMain } from "../src/cluster/messages.ts";

interface Recording {
  readonly streamId: number;
  readonly tap: RingTap;
  readonly recorder: Recorder;
}

const CLEAN_INTERVAL_MS = 60_000;
/** How the page names the codecs the relay knows; others by their rtpmap name. */
const CODEC_NAMES: Record<string, string> = { h264: "H.264", h265: "H.265", aac: "AAC" };
/** How long the page's list waits for main.ts's viewer counts. */
const VIEWERS_TIMEOUT_MS = 2000;

export class WorkerMedia {
  readonly #ctx: WorkerContext;
  readonly #directory: WorkerDirectory;
  readonly #muxers: HlsMuxers | null = null;
  #server: HlsServerHandle | null = null;
  readonly #recordings = new Map<string, Recording>();
  /** Counters of the recordings that ended, for /metrics (the live ones are added when asked). */
  readonly #recorded: RecorderCounters = { files: 0, fragments: 0, bytes: 0, fragmentsDropped: 0, errors: 0 };
  /** Recorded streams whose muxer could not make an init segment (each logged once). */
  #recordInitFailures = 0;
  readonly #cleanTimer: ReturnType<typeof setInterval>;
  #rules: { config: Config; rules: PathRules } | null = null;

  readonly #post: (m: WorkerToMain) => void;
  /** viewersRequest answers awaited, by request id. */
  readonly #viewerAsks = new Map<number, (v: Record<number, number> | null) => void>();
  #nextAsk = 1;

  /** post: to main.ts (the page's viewer counts are main's sums over the workers). */
  constructor(ctx: WorkerContext, directory: WorkerDirectory, post: (m: WorkerToMain) => void) {
    this.#ctx = ctx;
    this.#directory = directory;
    this.#post = post;
    if (ctx.config.hls.enabled) {
      this.#muxers = new HlsMuxers(
        {
          get: (path) => directory.get(path),
          demand: (path) => {
            const entry = this.#rulesFor().rules.match(path);
            const timeout = entry?.config.source?.onDemandStartTimeoutMs;
            return timeout === undefined ? Promise.resolve(undefined) : directory.demand(path, timeout);
          },
        },
        () => this.#ctx.config.hls,
        () => this.#ctx.config.viewer,
        ctx.stats,
        ctx.log,
      );
    }
    this.#cleanTimer = setInterval(() => this.#clean(), CLEAN_INTERVAL_MS);
  }

  /** The HLS port it listens on; 0 while HLS is off or its port could not be had. */
  get hlsPort(): number {
    return this.#server?.port ?? 0;
  }

  /** Opens the HLS port; its failure is logged and RTSP serves on. */
  start(): void {
    for (const s of this.#directory.streams()) this.streamAdded(s.path);
    if (this.#muxers === null) return;
    const ctx = this.#ctx;
    try {
      this.#server = startHlsServer({
        config: () => ctx.config,
        muxers: this.#muxers,
        access: new PathAccess(ctx.authShared, ctx.stats, ctx.hook, ctx.worker, ctx.log),
        listing: () => this.#listing(),
        log: ctx.log,
      });
    } catch (e) {
      ctx.log.error(
        `HLS off: ${ctx.config.hls.address}:${ctx.config.hls.port} not available (${(e as Error).message})`,
      );
    }
  }

  /** A stream is readable on every worker: record it if its entry says so. */
  streamAdded(path: string): void {
    const stream = this.#directory.get(path);
    if (stream === undefined || stream.ended) return;
    const record = this.#rulesFor().rules.match(path)?.config.record;
    if (record === undefined) return;
    const old = this.#recordings.get(path);
    if (old?.streamId === stream.streamId) return;
    if (old !== undefined) this.#stopRecording(path, old);
    const plans = planMuxTracks(parseSdp(stream.viewerSdp), stream.info, { g711: true });
    if (plans.length === 0) {
      this.#ctx.log.warn(`[path ${path}] recording: no track fMP4 can hold (H.264, H.265, AAC, Opus, G.711)`);
      return;
    }
    const recorder = new Recorder({ path, config: record, log: this.#ctx.log });
    let clock: TrackClock = () => null;
    const muxer = new StreamMuxer(plans, record.partDurationMs / 1000, {
      init: (bytes) => recorder.setInit(bytes),
      fragment: (f, unixMs) => recorder.fragment(f.bytes, f.start, f.independent, unixMs),
      // Once per recorded stream: a recording is one stream's muxer.
      initFailed: (reason) => {
        this.#recordInitFailures++;
        this.#ctx.log.warn(
          `[path ${path}] recording: stream ${stream.streamId} cannot be written: no init segment, ${reason}; ` +
            `nothing is recorded until a keyframe brings usable ones`,
        );
      },
    }, (track, ts) => clock(track, ts));
    const tap = new RingTap(stream, this.#ctx.config.viewer, this.#ctx.stats, {
      packet: (track, buf, start, end) => muxer.packet(track, buf, start, end),
      reset: () => muxer.reset(),
      end: () => {
        muxer.end();
        const r = this.#recordings.get(path);
        if (r?.tap === tap) this.#stopRecording(path, r);
      },
    });
    clock = tap.clock();
    this.#recordings.set(path, { streamId: stream.streamId, tap, recorder });
  }

  streamRemoved(streamId: number): void {
    this.#muxers?.streamRemoved(streamId);
    for (const [path, r] of this.#recordings) {
      if (r.streamId === streamId) this.#stopRecording(path, r);
    }
  }

  /** What /metrics shows of HLS and recording. */
  report(): MediaReport {
    const record = { ...this.#recorded };
    for (const r of this.#recordings.values()) {
      for (const k of Object.keys(record) as (keyof RecorderCounters)[]) record[k] += r.recorder.counters[k];
    }
    const h = this.#muxers?.counters;
    return {
      hlsMuxers: h?.muxers ?? 0,
      hlsMuxersStarted: h?.muxersStarted ?? 0,
      hlsParts: h?.parts ?? 0,
      hlsBytes: h?.bytes ?? 0,
      recordings: this.#recordings.size,
      recordFiles: record.files,
      recordBytes: record.bytes,
      recordFragmentsDropped: record.fragmentsDropped,
      recordErrors: record.errors,
      muxInitFailures: (h?.initFailures ?? 0) + this.#recordInitFailures,
    };
  }

  /** Shutdown: HLS stops, every recording's file is finished. */
  async close(): Promise<void> {
    clearInterval(this.#cleanTimer);
    this.#muxers?.close();
    const closing = [...this.#recordings].map(([path, r]) => this.#stopRecording(path, r));
    await Promise.allSettled([this.#server?.close(), ...closing]);
  }

  #stopRecording(path: string, r: Recording): Promise<void> {
    if (this.#recordings.get(path) === r) this.#recordings.delete(path);
    r.tap.close();
    return r.recorder.close().finally(() => {
      for (const k of Object.keys(this.#recorded) as (keyof RecorderCounters)[]) {
        this.#recorded[k] += r.recorder.counters[k];
      }
    });
  }

  #rulesFor(): { config: Config; rules: PathRules } {
    const config = this.#ctx.config;
    if (this.#rules?.config !== config) this.#rules = { config, rules: new PathRules(config.paths) };
    return this.#rules;
  }

  #clean(): void {
    const seen = new Set<string>();
    for (const p of Object.values(this.#ctx.config.paths)) {
      const r = p.record;
      if (r === undefined || r.deleteAfterMs === 0) continue;
      const root = recordRoot(r.path);
      if (seen.has(root)) continue;
      seen.add(root);
      cleanRecordings({ root, maxAgeMs: r.deleteAfterMs }, Date.now(), this.#ctx.log).catch(() => {});
    }
  }

  /** main.ts's answer to a viewersRequest. */
  viewersResult(id: number, viewers: Record<number, number>): void {
    this.#viewerAsks.get(id)?.(viewers);
  }

  /** RTSP viewers per stream over all workers; null when main.ts does not answer in time. */
  #viewers(): Promise<Record<number, number> | null> {
    const id = this.#nextAsk++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), VIEWERS_TIMEOUT_MS);
      const done = (v: Record<number, number> | null) => {
        clearTimeout(timer);
        this.#viewerAsks.delete(id);
        resolve(v);
      };
      this.#viewerAsks.set(id, done);
      this.#post({ type: "viewersRequest", id });
    });
  }

  async #listing(): Promise<StreamListing[]> {
    const rtsp = await this.#viewers();
    const out: StreamListing[] = [];
    for (const s of this.#directory.streams()) {
      if (s.ended) continue;
      const item: StreamListing = {
        path: s.path,
        codecs: s.info.tracks.map((t) => CODEC_NAMES[t.codec] ?? t.encoding),
        viewers: (rtsp?.[s.streamId] ?? 0) + (this.#muxers?.players(s.path) ?? 0),
      };
      const v = s.info.tracks.find((t) => t.codec === "h264");
      if (v !== undefined) {
        // The SDP's SPS, when it has one, gives the size.
        try {
          const m = parseSdp(s.viewerSdp).media[v.index];
          const fmtp = m === undefined ? undefined : fmtpFor(m, v.payloadType);
          const sps = parseSpropParameterSets(
            parseFmtpParameters(fmtp ?? "").get("sprop-parameter-sets") ?? "",
          )
            .find((n) => (n[0] & 0x1f) === 7);
          if (sps !== undefined) ({ width: item.width, height: item.height } = parseH264Sps(sps));
        } catch {
          // no size then
        }
      }
      out.push(item);
    }
    return out;
  }
}

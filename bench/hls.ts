/**
 * `deno task bench --hls N` and `deno task bench --record M` (bench/fanout.ts hands these over):
 * the cost of browser playback and of recording, measured as the fan-out bench measures RTSP (the
 * same server start, publishers, steady window and /proc samples: runScenario), alternating with
 * the runs they are compared with, in one session.
 *
 * --hls N: one stream, N low-latency HLS players in load processes (bench/hls_client.ts, each
 * player as hls.js in low-latency mode: blocking playlist reloads, every part) against N RTSP
 * viewers of the same stream: server CPU, part bytes delivered per server core, each part's
 * listed-to-received and dated-end-to-received latency and its newest frame's send-to-received
 * (from a probe process of 8 players, so they are not the crowd's own event-loop lag; the crowd's
 * are given too), HTTP errors; the RTSP rows are the fan-out bench's own.
 *
 * --record M: M streams with a few RTSP viewers each, not recorded / recorded (paths with
 * record: true, into a temporary directory) / recorded with HLS players too: server CPU, the
 * server's disk writes (/proc/PID/io write_bytes and wchar) and the recordings' growth, and the
 * RTSP figures (delay, joins, gaps), so "RTSP unchanged while both run" is a comparison of rows.
 */
import { parseArgs } from "node:util";
import type { AlongsideRun, FanoutResult, printResult, runScenario } from "./fanout.ts";
import type { HlsLoadPlan, HlsLoadReport } from "./hls_client.ts";
import { cores, percentile, sampleCpu, sampleProc } from "./measure.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;

const HELP = `deno task bench --hls N [options]     N LL-HLS players of one stream, then N RTSP viewers of it
deno task bench --record M [options]  M streams not recorded, recorded, recorded with HLS players
  --bitrate KBIT       stream bitrate, video + AAC (default 928)
  --publisher P        stamped (default) or ffmpeg, as deno task bench
  --ramp S             seconds to start the players / viewers (default 10)
  --duration S         steady phase seconds (default 20)
  --rounds R           times each run is repeated, the order reversed every other round (default 2)
  --hls-processes K    HLS load processes (default 2), besides a probe process of 8 players
  --joiners N          RTSP viewers joining in the steady phase, for the join figures (default 10)
  --workers N          dm-live workers (default 0 = one per core)
  --set KEY=VALUE      any other dm-live config key for every run (repeatable)
  --json FILE          where to write the JSON results (default bench/out/hls-<time>.json)
  --quiet PCT          before each run, wait (up to 10 min) until the machine is PCT % idle over 5 s
                       (a machine shared with other work; default 0: do not wait)
 --hls only:
  --no-rtsp            only the HLS runs
  --rtsp-alongside V   V RTSP viewers of the same stream play in the HLS runs too (default 0): the RTSP
                       delay while HLS runs, against the RTSP runs' without it
 --record only:
  --viewers-per-stream V  RTSP viewers of each stream (default 4)
  --hls-players H      HLS players in the recorded-with-HLS runs (default 100)
  --hls-streams K      ... spread over the first K streams (default 1)
  --record-part-ms MS  recordPartDurationMs (default: the server's, 1000)
  --record-segment-ms MS  recordSegmentDurationMs (default: the server's, one hour)`;

/** HEAD of the tree the server runs from, and whether its server code differs from it. */
async function treeState(): Promise<{ commit: string; dirty: boolean }> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", ROOT, ...args],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  };
  const commit = await git("rev-parse", "--short", "HEAD");
  const changes = await git("status", "--porcelain", "--", "main.ts", "src", "workers");
  return { commit: commit || "unknown", dirty: changes !== "" };
}

/** A TCP port free now on every address (the kernel's pick), for hls.port. */
function freePort(): number {
  const l = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until the machine was at least `pct` % idle over 5 s, at most `maxMs`; the idle % seen last. */
async function quiet(pct: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const a = sampleCpu();
    await new Promise((r) => setTimeout(r, 5000));
    const b = sampleCpu();
    const idle = (100 * (b.idle - a.idle)) / (b.total - a.total);
    if (idle >= pct || Date.now() > deadline) return idle;
  }
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/** p50 and p99 of some samples (NaN without). */
export interface P50P99 {
  p50: number;
  p99: number;
  samples: number;
}

function p5099(xs: number[]): P50P99 {
  return { p50: percentile(xs, 50), p99: percentile(xs, 99), samples: xs.length };
}

/** HLS players in the probe process, whose latencies are the ones reported. */
const PROBE_PLAYERS = 8;

/** Per part received in the steady window, ms. */
export interface HlsLatency {
  /** The playlist listing a part arrived -> the part's last byte. */
  listedToReceivedMs: P50P99;
  /** The part's end as its playlist dates it (EXT-X-PROGRAM-DATE-TIME) -> the playlist listing it arrived. */
  pdtEndToListedMs: P50P99;
  /** The part's dated end -> its last byte. */
  pdtEndToReceivedMs: P50P99;
  /** The part's newest video frame's send stamp -> the part's last byte (stamped publisher only). */
  stampToReceivedMs: P50P99;
}

function latency(reports: HlsLoadReport[]): HlsLatency {
  const all = (k: keyof HlsLoadReport) => reports.flatMap((r) => r[k] as number[]);
  return {
    listedToReceivedMs: p5099(all("listedToReceivedMs")),
    pdtEndToListedMs: p5099(all("pdtEndToListedMs")),
    pdtEndToReceivedMs: p5099(all("pdtEndToReceivedMs")),
    stampToReceivedMs: p5099(all("stampToReceivedMs")),
  };
}

/** What the HLS players of one run measured, summed over the load processes. */
export interface HlsFigures {
  players: number;
  /** Players that got their init section. */
  started: number;
  /** Part bytes received in the steady window, as Gbit/s. */
  gbps: number;
  /** Playlist bytes (bodies) received in the steady window, Mbit/s. */
  playlistMbps: number;
  partsPerS: number;
  playlistsPerS: number;
  /** Players of the probe process, and their latencies (the reported ones). */
  probePlayers: number;
  latency: HlsLatency;
  /** The same over the other players (the crowd's own event-loop lag included). */
  crowdLatency: HlsLatency;
  /** Over the players, the longest wait between two parts: median and worst, ms. */
  maxPartGapMs: { p50: number; max: number };
  /** Playlists that skipped parts the player had not been listed. */
  jumps: number;
  errors: Record<string, number>;
  errorSamples: string[];
  /** The HLS load processes' CPU. */
  loadCores: number;
}

/** Starts HLS players of `paths` on the server's HLS port for a scenario's times; their figures. */
async function hlsPlayers(
  run: AlongsideRun,
  o: { hlsPort: number; players: number; processes: number; paths: string[] },
): Promise<HlsFigures> {
  // Processes 0..K-1 hold the crowd, process K is the probe.
  const probe = Math.min(PROBE_PLAYERS, o.players);
  const crowd = o.players - probe;
  const procs = Array.from({ length: o.processes + 1 }, (_, k) => {
    const plan: HlsLoadPlan = {
      // Each process on its own loopback address, as the RTSP load processes.
      urls: o.paths.map((p) => `http://127.0.0.${k + 20}:${o.hlsPort}/${p}/index.m3u8`),
      clients: k === o.processes
        ? probe
        : Math.floor(crowd / o.processes) + (k < crowd % o.processes ? 1 : 0),
      rampStartAt: run.rampStartAt,
      rampEndAt: run.rampEndAt,
      steadyStartAt: run.steadyStartAt,
      steadyEndAt: run.steadyEndAt,
    };
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}bench/hls_client.ts`, JSON.stringify(plan)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  });
  try {
    await sleepUntil(run.steadyStartAt);
    const c0 = procs.map((p) => sampleProc(p.pid));
    await sleepUntil(run.steadyEndAt - 200);
    const c1 = procs.map((p) => sampleProc(p.pid));
    const reports: HlsLoadReport[] = [];
    for (const p of procs) {
      const out = await p.output();
      reports.push(JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!));
    }
    const steadyS = (run.steadyEndAt - run.steadyStartAt) / 1000;
    const all = (k: keyof HlsLoadReport) => reports.flatMap((r) => r[k] as number[]);
    const sum = (k: keyof HlsLoadReport) => reports.reduce((x, r) => x + (r[k] as number), 0);
    const errors: Record<string, number> = {};
    for (const r of reports) for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
    const gaps = all("maxPartGapMs");
    return {
      players: o.players,
      started: sum("started"),
      gbps: (sum("partBytes") * 8) / steadyS / 1e9,
      playlistMbps: (sum("playlistBytes") * 8) / steadyS / 1e6,
      partsPerS: sum("parts") / steadyS,
      playlistsPerS: sum("playlists") / steadyS,
      probePlayers: probe,
      latency: latency(reports.slice(o.processes)),
      crowdLatency: latency(reports.slice(0, o.processes)),
      maxPartGapMs: { p50: percentile(gaps, 50), max: gaps.reduce((m, x) => Math.max(m, x), 0) },
      jumps: sum("jumps"),
      errors,
      errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 10),
      loadCores: c0.reduce((x, s, i) => x + cores(s, c1[i]), 0),
    };
  } finally {
    for (const p of procs) {
      try {
        p.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  }
}

/** /proc/PID/io's write counters. */
function sampleIo(pid: number): { wchar: number; writeBytes: number; at: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/io`);
  const read = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  return { wchar: read("wchar"), writeBytes: read("write_bytes"), at: performance.now() };
}

/** Bytes of every file under `dir`. */
async function treeBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        files++;
        bytes += (await Deno.stat(p)).size;
      }
    }
  };
  await walk(dir).catch(() => {});
  return { bytes, files };
}

/** The server's disk writes in the steady window, MB/s (10^6 bytes). */
export interface DiskFigures {
  /** /proc/PID/io write_bytes: what the server sent to the storage layer (page cache dirtied). */
  writeBytesMBps: number;
  /** /proc/PID/io wchar: bytes passed to write(2) and friends, any file or socket. */
  wcharMBps: number;
  /** Growth of the recordings' files. */
  recordingsMBps: number;
  files: number;
  /** dm_live_record_fragments_dropped_total and dm_live_record_errors_total at the end. */
  fragmentsDropped: number;
  recordErrors: number;
}

async function diskWrites(run: AlongsideRun, dir: string | null): Promise<DiskFigures> {
  await sleepUntil(run.steadyStartAt);
  const i0 = sampleIo(run.serverPid);
  const t0 = dir === null ? { bytes: 0, files: 0 } : await treeBytes(dir);
  await sleepUntil(run.steadyEndAt - 200);
  const i1 = sampleIo(run.serverPid);
  const t1 = dir === null ? { bytes: 0, files: 0 } : await treeBytes(dir);
  const s = (i1.at - i0.at) / 1000;
  let fragmentsDropped = NaN;
  let recordErrors = NaN;
  try {
    const text = await (await fetch(`http://127.0.0.1:${run.apiPort}/metrics`)).text();
    const total = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "gm"))].reduce(
        (x, m) => x + Number(m[1]),
        0,
      );
    fragmentsDropped = total("dm_live_record_fragments_dropped_total");
    recordErrors = total("dm_live_record_errors_total");
  } catch {
    // no API: NaN
  }
  return {
    writeBytesMBps: (i1.writeBytes - i0.writeBytes) / s / 1e6,
    wcharMBps: (i1.wchar - i0.wchar) / s / 1e6,
    recordingsMBps: (t1.bytes - t0.bytes) / s / 1e6,
    files: t1.files,
    fragmentsDropped,
    recordErrors,
  };
}

/** One run of either mode, as the JSON holds it. */
export interface HlsBenchRow {
  /** hls: HLS players only; rtsp: the fan-out bench; plain / record / record+hls: --record's three. */
  kind: "hls" | "rtsp" | "plain" | "record" | "record+hls";
  round: number;
  /** The fan-out scenario it ran in (server CPU, RSS, steal, the RTSP viewers' figures). */
  fanout: FanoutResult;
  hls?: HlsFigures;
  disk?: DiskFigures;
  /**
   * Cores the machine was busy in the steady window minus the server's, the RTSP and HLS load
   * processes': the publisher and whatever else ran on the machine (other helpers' tests).
   */
  otherCores: number;
}

/** What else kept the machine busy in a run (see HlsBenchRow.otherCores). */
function otherCores(fo: FanoutResult, hls?: HlsFigures): number {
  const busy = (1 - fo.machineIdlePct / 100 - (fo.machineStealPct ?? 0) / 100) * fo.machine.cores;
  return busy - fo.serverCores - fo.loadCores - (hls?.loadCores ?? 0);
}

export interface HlsBenchResult {
  mode: "hls" | "record";
  date: string;
  command: string;
  /** The tree measured: HEAD, and whether main.ts, src/ or workers/ differ from it. */
  commit: string;
  dirty: boolean;
  machine: { cores: number; os: string; deno: string };
  rows: HlsBenchRow[];
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const ms = (p: P50P99) => `${f(p.p50, 1)} / ${f(p.p99, 1)}`;

function printHls(h: HlsFigures, serverCores: number, log = console.log): void {
  log(
    `  HLS players    ${h.started}/${h.players} started; ${f(h.gbps, 3)} Gbit/s of parts (${
      f(h.partsPerS, 0)
    } parts/s), playlists ${f(h.playlistsPerS, 0)}/s ${f(h.playlistMbps, 1)} Mbit/s`,
  );
  log(
    `  server CPU     ${f(serverCores)} cores  ->  ${
      f(h.gbps / serverCores)
    } Gbit/s of parts per server core`,
  );
  const l = h.latency, c = h.crowdLatency;
  log(`  latency p50/p99 ms, probe (${h.probePlayers} players) | crowd (${h.players - h.probePlayers})`);
  log(`    part listed -> received        ${ms(l.listedToReceivedMs)} | ${ms(c.listedToReceivedMs)}`);
  log(`    part dated end -> listed       ${ms(l.pdtEndToListedMs)} | ${ms(c.pdtEndToListedMs)}`);
  log(`    part dated end -> received     ${ms(l.pdtEndToReceivedMs)} | ${ms(c.pdtEndToReceivedMs)}`);
  if (l.stampToReceivedMs.samples > 0) {
    log(`    newest frame sent -> received  ${ms(l.stampToReceivedMs)} | ${ms(c.stampToReceivedMs)}`);
  }
  log(
    `  longest wait between parts, per player: median ${f(h.maxPartGapMs.p50, 0)} ms, worst ${
      f(h.maxPartGapMs.max, 0)
    } ms; playlist jumps ${h.jumps}; HLS load CPU ${f(h.loadCores)} cores`,
  );
  const errs = Object.entries(h.errors);
  log(`  HTTP errors    ${errs.length === 0 ? "none" : errs.map(([k, n]) => `${k}: ${n}`).join(", ")}`);
  for (const e of h.errorSamples.slice(0, 3)) log(`                 ${e}`);
}

/** The summary table of a mode's rows, in the README's style. */
export function summaryTable(result: HlsBenchResult): string[] {
  const out: string[] = [];
  if (result.mode === "hls") {
    out.push(
      "| run | viewers | Gbit/s | server cores | Gbit/s per server core | latency p50 / p99 ms | errors | steal % | other cores |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |");
    for (const r of result.rows) {
      const fo = r.fanout;
      if (r.kind === "hls" && r.hls) {
        const h = r.hls;
        const errs = Object.values(h.errors).reduce((a, b) => a + b, 0);
        out.push(
          `| HLS (parts) | ${h.players} | ${f(h.gbps, 3)} | ${f(fo.serverCores)} | ${
            f(h.gbps / fo.serverCores)
          } | ` +
            `listed->received ${ms(h.latency.listedToReceivedMs)}; sent->received ${
              ms(h.latency.stampToReceivedMs)
            } | ${errs} | ${f(fo.machineStealPct ?? NaN, 1)} | ${f(r.otherCores)} |`,
        );
        if (fo.params.viewers > 0) {
          // The same run's RTSP viewers; per server core: HLS and RTSP bytes together.
          out.push(
            `| RTSP beside HLS | ${fo.params.viewers} | ${f(fo.gbps, 3)} | ${f(fo.serverCores)} | ${
              f((h.gbps + fo.gbps) / fo.serverCores)
            } (HLS + RTSP) | sent->received ${f(fo.addedDelayMs.p50, 1)} / ${f(fo.addedDelayMs.p99, 1)} | ${
              fo.failed + fo.disconnects + fo.rtpGaps
            } | | |`,
          );
        }
      } else {
        out.push(
          `| RTSP | ${fo.params.viewers} | ${f(fo.gbps, 3)} | ${f(fo.serverCores)} | ${
            f(fo.gbpsPerServerCore)
          } | ` +
            `sent->received ${f(fo.addedDelayMs.p50, 1)} / ${f(fo.addedDelayMs.p99, 1)} | ${
              fo.failed + fo.disconnects + fo.rtpGaps
            } | ${f(fo.machineStealPct ?? NaN, 1)} | ${f(r.otherCores)} |`,
        );
      }
    }
  } else {
    out.push(
      "| run | server cores | write_bytes MB/s | recordings MB/s | RTSP Gbit/s per core | RTSP delay p50 / p99 ms | join key p99 ms | gaps | HLS sent->received p50 / p99 ms | steal % | other cores |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |");
    for (const r of result.rows) {
      const fo = r.fanout;
      out.push(
        `| ${r.kind} | ${f(fo.serverCores)} | ${f(r.disk?.writeBytesMBps ?? NaN)} | ${
          f(r.disk?.recordingsMBps ?? NaN)
        } | ${f(fo.gbpsPerServerCore)} | ${f(fo.addedDelayMs.p50, 1)} / ${f(fo.addedDelayMs.p99, 1)} | ${
          f(fo.joinFirstKeyframeMs.p99, 1)
        } | ${fo.rtpGaps} | ${r.hls ? ms(r.hls.latency.stampToReceivedMs) : ""} | ${
          f(fo.machineStealPct ?? NaN, 1)
        } | ${f(r.otherCores)} |`,
      );
    }
  }
  return out;
}

/** bench/fanout.ts's scenario runner and printer (passed in: fanout.ts is the main module). */
export interface FanoutRunner {
  runScenario: typeof runScenario;
  printResult: typeof printResult;
}

export async function hlsMain(args: string[], { runScenario, printResult }: FanoutRunner): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      hls: { type: "string" },
      record: { type: "string" },
      bitrate: { type: "string", default: "928" },
      publisher: { type: "string", default: "stamped" },
      ramp: { type: "string", default: "10" },
      duration: { type: "string", default: "20" },
      rounds: { type: "string", default: "2" },
      "hls-processes": { type: "string", default: "2" },
      joiners: { type: "string", default: "10" },
      workers: { type: "string", default: "0" },
      set: { type: "string", multiple: true },
      json: { type: "string" },
      "no-rtsp": { type: "boolean" },
      "rtsp-alongside": { type: "string", default: "0" },
      quiet: { type: "string", default: "0" },
      "viewers-per-stream": { type: "string", default: "4" },
      "hls-players": { type: "string", default: "100" },
      "hls-streams": { type: "string", default: "1" },
      "record-part-ms": { type: "string" },
      "record-segment-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (a.help) {
    console.log(HELP);
    return;
  }
  if ((a.hls === undefined) === (a.record === undefined)) throw new Error("one of --hls N or --record M");
  if (a.publisher !== "stamped" && a.publisher !== "ffmpeg") throw new Error("--publisher stamped or ffmpeg");
  const common = {
    bitrateKbit: Number(a.bitrate),
    publisher: a.publisher as "stamped" | "ffmpeg",
    rampS: Number(a.ramp),
    durationS: Number(a.duration),
    workers: Number(a.workers),
  };
  const processes = Math.max(1, Number(a["hls-processes"]));
  const rounds = Math.max(1, Number(a.rounds));
  await Deno.mkdir(OUT, { recursive: true });
  const result: HlsBenchResult = {
    mode: a.hls !== undefined ? "hls" : "record",
    date: new Date().toISOString(),
    command: `deno task bench ${args.join(" ")}`,
    ...(await treeState()),
    machine: { cores: navigator.hardwareConcurrency, os: Deno.build.os, deno: Deno.version.deno },
    rows: [],
  };
  const waitQuiet = async () => {
    const pct = Number(a.quiet);
    if (!(pct > 0)) return;
    const t0 = Date.now();
    const idle = await quiet(pct, 600_000);
    console.log(
      `\n(waited ${f((Date.now() - t0) / 1000, 0)} s for a quiet machine: ${f(idle, 0)} % idle over 5 s)`,
    );
  };
  const show = (r: Omit<HlsBenchRow, "otherCores">) => {
    const row: HlsBenchRow = { ...r, otherCores: otherCores(r.fanout, r.hls) };
    const fo = row.fanout;
    if (row.kind === "hls" && fo.params.viewers > 0) {
      // RTSP viewers beside the HLS players: the fan-out bench's lines for them.
      printResult(fo);
    } else if (row.kind === "hls") {
      // No RTSP viewers in this run: the server's lines only.
      console.log(
        `\n${fo.label}: 1 stream at ${fo.params.bitrateKbit} kbit/s, steady ${fo.params.steadyS} s`,
      );
      console.log(
        `  server RSS     ${f(fo.rssBeforeMiB, 1)} MiB before, ${
          f(fo.rssSteadyMiB, 1)
        } MiB steady; machine idle ${f(fo.machineIdlePct, 1)} %, steal ${f(fo.machineStealPct ?? NaN, 1)} %${
          fo.saturated ? " (SATURATED)" : ""
        }`,
      );
      const ww = fo.workerWindows ?? [];
      if (ww.length > 0) {
        console.log(
          `  workers        ${
            ww.map((w, i) => `w${i} ${f(w.busy * 100, 0)} % busy, window ${f(w.mergeWindowMs, 1)} ms`).join(
              "; ",
            )
          }`,
        );
      }
    } else {
      printResult(fo);
    }
    if (row.hls) printHls(row.hls, row.fanout.serverCores);
    if (row.disk) {
      const d = row.disk;
      console.log(
        `  disk           write_bytes ${f(d.writeBytesMBps)} MB/s, wchar ${
          f(d.wcharMBps)
        } MB/s, recordings grew ${
          f(d.recordingsMBps)
        } MB/s (${d.files} files); fragments dropped ${d.fragmentsDropped}, record errors ${d.recordErrors}`,
      );
    }
    console.log(
      `  other processes ${f(row.otherCores)} cores busy (the publisher, other tests on the machine)`,
    );
    result.rows.push(row);
  };

  if (a.hls !== undefined) {
    const n = Number(a.hls);
    if (!(n >= 1)) throw new Error("--hls N: N >= 1 players");
    const kinds: ("hls" | "rtsp")[] = a["no-rtsp"] ? ["hls"] : ["hls", "rtsp"];
    for (let round = 0; round < rounds; round++) {
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        await waitQuiet();
        const hlsPort = freePort();
        const serverSet = [...(a.set ?? []), `hls.port=${hlsPort}`];
        if (kind === "hls") {
          let hls: HlsFigures | undefined;
          const beside = Math.max(0, Number(a["rtsp-alongside"]));
          const fanout = await runScenario({
            ...common,
            label: `HLS ${n} players${beside > 0 ? ` and ${beside} RTSP viewers` : ""} (round ${round + 1})`,
            viewers: beside,
            joiners: beside > 0 ? Number(a.joiners) : 0,
            clients: beside > 0 ? undefined : 1,
            serverSet,
            alongside: async (run) => {
              hls = await hlsPlayers(run, { hlsPort, players: n, processes, paths: ["bench/s0"] });
            },
          });
          show({ kind, round, fanout, hls });
        } else {
          const fanout = await runScenario({
            ...common,
            label: `RTSP ${n} viewers (round ${round + 1})`,
            viewers: n,
            joiners: Number(a.joiners),
            serverSet,
          });
          show({ kind, round, fanout });
        }
      }
    }
  } else {
    const m = Number(a.record);
    if (!(m >= 1)) throw new Error("--record M: M >= 1 streams");
    const kinds: ("plain" | "record" | "record+hls")[] = ["plain", "record", "record+hls"];
    const hlsStreams = Math.min(m, Math.max(1, Number(a["hls-streams"])));
    for (let round = 0; round < rounds; round++) {
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        await waitQuiet();
        const hlsPort = freePort();
        const dir = await Deno.makeTempDir({ prefix: "dm-live-bench-rec-" });
        const entry: Record<string, unknown> = {
          record: kind !== "plain",
          recordPath: `${dir}/%path/%Y-%m-%d_%H-%M-%S-%f`,
        };
        if (a["record-part-ms"] !== undefined) entry.recordPartDurationMs = Number(a["record-part-ms"]);
        if (a["record-segment-ms"] !== undefined) {
          entry.recordSegmentDurationMs = Number(a["record-segment-ms"]);
        }
        let hls: HlsFigures | undefined;
        let disk: DiskFigures | undefined;
        try {
          const fanout = await runScenario({
            ...common,
            label: `${kind}: ${m} streams (round ${round + 1})`,
            streams: m,
            viewers: m * Number(a["viewers-per-stream"]),
            joiners: Number(a.joiners),
            serverSet: [...(a.set ?? []), `hls.port=${hlsPort}`],
            serverConfig: { paths: { "~^bench/": entry, "~^.*$": {} } },
            alongside: async (run) => {
              const players = kind === "record+hls"
                ? hlsPlayers(run, {
                  hlsPort,
                  players: Number(a["hls-players"]),
                  processes,
                  paths: Array.from({ length: hlsStreams }, (_, i) => `bench/s${i}`),
                })
                : undefined;
              players?.catch(() => {});
              disk = await diskWrites(run, dir);
              hls = await players;
            },
          });
          show({ kind, round, fanout, hls, disk });
        } finally {
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      }
    }
  }
  console.log(`\n${result.command} at ${result.commit}${result.dirty ? " (server code changed since)" : ""}`);
  for (const line of summaryTable(result)) console.log(line);
  const file = a.json ?? `${OUT}/hls-${result.date.replace(/[:.]/g, "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`  JSON: ${file}`);
}

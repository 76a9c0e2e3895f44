/**
 * `deno task bench`: the fan-out benchmark. Starts dm-live (or uses --url), publishes a synthetic
 * H.264 + AAC stream whose video packets carry their send time (bench/stamped_publisher.ts), or
 * with --publisher ffmpeg a generated H.264 Main + AAC clip (made once, cached), ramps in N viewers from load
 * processes (bench/load_client.ts), holds a steady phase and reports, measured from outside:
 * server CPU (all threads, /proc/PID/stat), Gbit/s delivered and per server core, RSS before
 * clients and in the steady phase, RSS per viewer, join latencies (p50/p95/p99/max) of viewers that
 * join during the steady phase and the delay added to live packets (both from a lightly loaded
 * probe process), RTP sequence gaps, and the load generator's own CPU.
 */
import { SERVER_V8_FLAGS } from "../src/v8_flags.ts";
import { parseArgs } from "node:util";
import type { LoadPlan, LoadReport } from "./load_client.ts";
import { cores, described, percentile, sampleCpu, sampleProc } from "./measure.ts";
import { makeTestCert, type TestCert } from "../src/net/testdata/tls_cert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Viewers of the probe process (bench/load_client.ts), which also runs every joiner. */
const PROBE_VIEWERS = 8;
const OUT = `${ROOT}bench/out`;

const HELP = `deno task bench [options]
  --viewers N          concurrent viewers (default 1000)
  --streams M          publishers; viewers are spread over them (default 1)
  --sources            pull the M streams from an upstream dm-live (paths with source:) instead of
                       having them pushed: the measured server's CPU is then that of M pulls
  --on-demand          with --sources: sourceOnDemand, so each stream's first viewer starts its pull;
                       the report gives DESCRIBE -> first keyframe of those first viewers
  --bitrate KBIT       total stream bitrate, video + AAC (default 928)
  --publisher P        stamped (default): synthetic packets carrying their send time, so the added
                       delay is measured without ffmpeg's pacing jitter; ffmpeg: a real H.264 clip
  --ramp S             seconds to connect the viewers (default 10)
  --duration S         steady phase seconds (default 20)
  --joiners N          viewers joining during the steady phase, for latency (default 40)
  --workers N          dm-live workers (default 0 = one per core)
  --merge-window MS    dm-live viewer.mergeWindowMs (default: the server's default)
  --set KEY=VALUE      any other dm-live config key for the run (repeatable)
  --clients N          load-generator processes (default 2)
  --transport T        tcp (interleaved, default) or udp (RTP to one UDP port per viewer)
  --tls                viewers play over RTSPS (rtsps://, interleaved RTP inside TLS) from dm-live's
                       rtsp.tls port, with a self-signed certificate made for the run (openssl); the
                       publisher stays on the plain port
  --url URL            run the load against another RTSP server's stream (no dm-live, no publisher)
  --label TEXT         name of this run in the report
  --json FILE          where to write the JSON result (default bench/out/fanout-<time>.json)
  --cluster N          instead: the cluster bench (bench/cluster.ts), N >= 2 nodes on one etcd, the
                       streams published to one node, the viewers spread over all; its own defaults and
                       options (deno task bench --cluster N --help)
  --hls N              instead: N LL-HLS players of one stream against N RTSP viewers of it, alternating
                       (bench/hls.ts; deno task bench --hls N --help)
  --record M           instead: M streams recorded against not recorded, and with HLS players too,
                       alternating: server CPU, disk writes, RTSP figures (bench/hls.ts)`;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
}

/** ffmpeg publishing a clip to `url` over TCP, looped, in real time. */
function ffmpegPublisher(clip: string, url: string): Deno.ChildProcess {
  return new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      "-stream_loop",
      "-1",
      "-i",
      clip,
      "-c",
      "copy",
      "-f",
      "rtsp",
      "-rtsp_transport",
      "tcp",
      url,
    ],
    stdout: "null",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
}

/** The cached clip for a bitrate: 854x480 30 fps H.264 Main, 2 s GOP, SPS/PPS in-band, AAC 44.1 kHz. */
async function ensureClip(kbit: number): Promise<string> {
  // v2: no B-frames, so RTP timestamps follow send order and arrival minus RTP time measures delay.
  const file = `${OUT}/cache/clip-${kbit}k-v2.mp4`;
  try {
    await Deno.stat(file);
    return file;
  } catch {
    // make it
  }
  await Deno.mkdir(`${OUT}/cache`, { recursive: true });
  const audio = kbit >= 400 ? 128 : 48;
  const video = kbit - audio;
  console.error(`making ${file} (${video} kbit/s video + ${audio} kbit/s AAC, 60 s) ...`);
  await run("ffmpeg", [
    "-y",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=854x480:rate=30",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    "-t",
    "60",
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-profile:v",
    "main",
    "-b:v",
    `${video}k`,
    "-maxrate",
    `${video}k`,
    "-bufsize",
    `${video * 2}k`,
    "-g",
    "60",
    "-keyint_min",
    "60",
    "-bf",
    "0",
    "-sc_threshold",
    "0",
    "-x264-params",
    "repeat-headers=1",
    "-c:a",
    "aac",
    "-b:a",
    `${audio}k`,
    "-ac",
    "2",
    file + ".tmp.mp4",
  ]);
  await Deno.rename(file + ".tmp.mp4", file);
  return file;
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Each worker's merge window and busy ratio from dm-live's /metrics (empty when it cannot be read). */
/**
 * The server's RSS once it has settled after start (KiB): its workers are still loading and
 * compiling when the port first accepts, and a sample then varied by 40 MiB between runs, which
 * is 200 KiB of "per stream" at 200 streams. Waits until two samples 500 ms apart differ by less
 * than 512 KiB, at most 6 s.
 */
async function settledRss(pid: number): Promise<number> {
  let last = sampleProc(pid)?.rssKiB ?? 0;
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = sampleProc(pid)?.rssKiB ?? 0;
    if (Math.abs(now - last) < 512) return now;
    last = now;
  }
  return last;
}

async function workerWindows(apiPort: number): Promise<{ mergeWindowMs: number; busy: number }[]> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    const read = (name: string) =>
      new Map(
        [...text.matchAll(new RegExp(`^${name}\\{worker="(\\d+)"\\} (\\S+)$`, "gm"))].map((
          m,
        ) => [m[1], Number(m[2])]),
      );
    const w = read("dm_live_merge_window_ms");
    const b = read("dm_live_worker_busy_ratio");
    return [...w.keys()].sort().map((k) => ({ mergeWindowMs: w.get(k)!, busy: b.get(k) ?? NaN }));
  } catch {
    return [];
  }
}

/** One scenario's parameters, as `deno task bench` takes them on its command line. */
export interface FanoutOptions {
  viewers: number;
  /** Publishers; viewers are spread over them (default 1). */
  streams?: number;
  /** The streams are pushed into an upstream dm-live and pulled from it (`source:`) by the measured one. */
  sources?: boolean;
  /** With sources: pulled on demand (sourceOnDemand), started by each stream's first viewer. */
  onDemand?: boolean;
  /** Total stream bitrate, video + AAC (default 928). */
  bitrateKbit?: number;
  /** Who publishes: the stamped synthetic publisher (default) or ffmpeg with a clip. */
  publisher?: "stamped" | "ffmpeg";
  /** Seconds to connect the viewers (default 10). */
  rampS?: number;
  /** Steady phase seconds (default 20). */
  durationS?: number;
  /** Viewers joining during the steady phase, for latency (default 40). */
  joiners?: number;
  /** dm-live workers (default 0 = one per core). */
  workers?: number;
  /** dm-live viewer.mergeWindowMs, as given on the command line (default: the server's default). */
  mergeWindow?: string;
  /** Further dm-live config overrides, KEY=VALUE. */
  serverSet?: string[];
  /** Load-generator processes (default 2). */
  clients?: number;
  /** How viewers receive RTP (default tcp). */
  transport?: "tcp" | "udp";
  /** Viewers play over RTSPS (TLS) from the server's rtsp.tls port (TCP transport only). */
  tls?: boolean;
  /** Run the load against another RTSP server's stream (no dm-live, no publisher). */
  url?: string;
  /** Name of this run in the report. */
  label?: string;
  /** More dm-live config, given as a --config file (not with `sources`, which writes its own). */
  serverConfig?: Record<string, unknown>;
  /** Started with the load processes and awaited before the server stops (bench/hls.ts's players). */
  alongside?: (run: AlongsideRun) => Promise<void>;
}

/** What `FanoutOptions.alongside` is told: the server and the scenario's times (epoch ms). */
export interface AlongsideRun {
  serverPid: number;
  /** dm-live's API port (/metrics); 0 with --url. */
  apiPort: number;
  /** The streams' RTSP URLs (bench/s0, bench/s1, ...). */
  urls: string[];
  rampStartAt: number;
  rampEndAt: number;
  steadyStartAt: number;
  steadyEndAt: number;
}

/** Join latency percentiles, ms (NaN, or -Infinity for max, when no viewer joined). */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** What one scenario measured; this is also the JSON `deno task bench` writes. */
export interface FanoutResult {
  label: string;
  /** ISO time the scenario ended. */
  date: string;
  machine: { cores: number; os: string; deno: string };
  params: {
    viewers: number;
    streams: number;
    /** Whether the measured server pulled its streams (sources) rather than having them pushed. */
    sources?: boolean;
    /** Sources pulled on demand (the first viewer of each starts it). */
    onDemand?: boolean;
    bitrateKbit: number;
    /** Absent in results from before the stamped publisher: ffmpeg. */
    publisher?: "stamped" | "ffmpeg";
    rampS: number;
    steadyS: number;
    /** Joiners actually measured. */
    joiners: number;
    workers: number;
    /** As given (a string), or "default". */
    mergeWindowMs: string;
    serverSet?: string[];
    clients: number;
    /** Viewers' RTP transport (absent in results from before UDP: tcp). */
    transport?: "tcp" | "udp";
    /** Viewers over RTSPS (absent in results from before RTSPS: plain). */
    tls?: boolean;
  };
  connected: number;
  failed: number;
  disconnects: number;
  rtpGaps: number;
  gbps: number;
  serverCores: number;
  gbpsPerServerCore: number;
  loadCores: number;
  machineIdlePct: number;
  /** CPU time the hypervisor gave to other guests in the steady phase (a VM's noise), percent. */
  machineStealPct?: number;
  /** Each dm-live worker's merge window (ms) and busy ratio at the end of the steady phase. */
  workerWindows?: { mergeWindowMs: number; busy: number }[];
  /** Machine idle below 5 % in the steady phase: the load generator competed with the server. */
  saturated: boolean;
  rssBeforeMiB: number;
  rssSteadyMiB: number;
  rssPerViewerKiB: number;
  /** RSS growth per stream from the server idle before any publisher (its viewers included), KiB. */
  rssPerStreamKiB?: number;
  /** DESCRIBE to first keyframe of each load process's first viewer of each stream. */
  startFirstKeyframeMs?: Percentiles & { samples: number };
  joinFirstPacketMs: Percentiles;
  joinFirstKeyframeMs: Percentiles;
  /** Delay the server added to live video packets; see LoadReport.addedDelayMs. */
  addedDelayMs: Percentiles & { samples: number; stamped?: boolean };
  errors: string[];
}

/** Runs one scenario: a fresh dm-live (unless `url`), its publisher(s) and the load processes, all stopped at the end. */
export async function runScenario(opts: FanoutOptions): Promise<FanoutResult> {
  const viewers = opts.viewers;
  const streams = opts.streams ?? 1;
  const kbit = opts.bitrateKbit ?? 928;
  const clients = Math.max(1, opts.clients ?? 2);
  const workers = opts.workers ?? 0;
  await Deno.mkdir(OUT, { recursive: true });

  const children: Deno.ChildProcess[] = [];
  let cert: TestCert | null = null;
  const cleanup = async () => {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone
      }
    }
    // Reap them, so the next scenario starts on a quiet machine with the port free.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(children.map((c) => c.status)),
      new Promise((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
    await cert?.remove();
  };
  try {
    let serverPid = 0;
    let apiPort = 0;
    /** Server RSS once it is up, before any publisher (KiB; 0 with --url). */
    let rssIdle = 0;
    let urls: string[];
    /** What viewers play: `urls`, or with --tls the same paths on the RTSPS port. */
    let viewerUrls: string[];
    const extraArgs: string[] = [];
    if (opts.url) {
      urls = viewerUrls = [opts.url];
      const pid = Number(Deno.env.get("BENCH_SERVER_PID") ?? 0);
      serverPid = pid;
    } else {
      const port = 18000 + Math.floor(Math.random() * 2000);
      apiPort = port - 8000;
      // --sources: the publishers push into an upstream dm-live, which the measured one pulls from.
      const upPort = port + 2000;
      let pushPort = port;
      if (opts.sources) {
        const up = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-P=server",
            SERVER_V8_FLAGS,
            `${ROOT}main.ts`,
            "--port",
            String(upPort),
            "--log-level",
            "warn",
            "--set",
            "udp.portBase=0",
            "--set",
            "api.enabled=false",
            // The publisher pushes every stream from one address, connecting faster than a client would.
            "--set",
            "limits.maxConnectionsPerAddress=0",
            "--set",
            "limits.maxConnectionsPerSecondPerAddress=0",
            "--set",
            "limits.maxStreamsPerAddress=0",
            "--set",
            "limits.maxStreams=0",
          ],
          stdout: "null",
          stderr: "inherit",
        }).spawn();
        children.push(up);
        pushPort = upPort;
        const paths: Record<string, unknown> = { "~^.*$": {} };
        for (let i = 0; i < streams; i++) {
          paths[`bench/s${i}`] = {
            source: `rtsp://127.0.0.1:${upPort}/bench/s${i}`,
            sourceTransport: "tcp",
            sourceOnDemand: opts.onDemand ?? false,
            // Always-on pulls start before the publisher pushes: retry soon, not after 30 s.
            sourceRetryMaxMs: 2000,
          };
        }
        const file = `${OUT}/sources-${port}.json`;
        await Deno.writeTextFile(file, JSON.stringify({ paths }));
        extraArgs.push("--config", file);
      }
      const args = [
        "run",
        "-P=server",
        SERVER_V8_FLAGS,
        `${ROOT}main.ts`,
        "--port",
        String(port),
        "--workers",
        String(workers),
        "--log-level",
        "warn",
        "--set",
        `udp.portBase=${20000 + 2 * Math.floor(Math.random() * 10000)}`,
        // The API, read at the end of the steady phase for each worker's merge window.
        "--set",
        `api.port=${port - 8000}`,
        // Each load process holds thousands of viewers from one address, the publisher every stream.
        "--set",
        "limits.maxConnectionsPerAddress=0",
        // ... and connects them faster than a client would (limits.maxConnectionsPerSecondPerAddress).
        "--set",
        "limits.maxConnectionsPerSecondPerAddress=0",
        "--set",
        "limits.maxStreamsPerAddress=0",
        "--set",
        "limits.maxStreams=0",
      ];
      if (opts.serverConfig !== undefined) {
        if (opts.sources) throw new Error("serverConfig is not for --sources runs");
        const file = `${OUT}/config-${port}.json`;
        await Deno.writeTextFile(file, JSON.stringify(opts.serverConfig));
        extraArgs.push("--config", file);
      }
      args.push(...extraArgs);
      const tlsPort = port + 4000;
      if (opts.tls) {
        // Every load process has its own 127.0.0.x: each is in the certificate.
        const ips = Array.from({ length: clients + 2 }, (_, k) => `127.0.0.${k + 1}`);
        cert = await makeTestCert({ ips });
        args.push("--set", `rtsp.tls.cert=${cert.certFile}`, "--set", `rtsp.tls.key=${cert.keyFile}`);
        args.push("--set", `rtsp.tls.port=${tlsPort}`);
      }
      if (opts.mergeWindow !== undefined) args.push("--set", `viewer.mergeWindowMs=${opts.mergeWindow}`);
      for (const kv of opts.serverSet ?? []) args.push("--set", kv);
      const server = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit" }).spawn();
      children.push(server);
      serverPid = server.pid;
      urls = Array.from({ length: streams }, (_, i) => `rtsp://127.0.0.1:${port}/bench/s${i}`);
      viewerUrls = opts.tls
        ? urls.map((u) => u.replace(`rtsp://127.0.0.1:${port}/`, `rtsps://127.0.0.1:${tlsPort}/`))
        : urls;
      for (const p of [port, ...(opts.sources ? [upPort] : []), ...(opts.tls ? [tlsPort] : [])]) {
        await waitFor(
          () => Deno.connect({ port: p }).then((c) => (c.close(), true), () => false),
          15000,
          "dm-live",
        );
      }
      rssIdle = await settledRss(server.pid);
      const pushUrls = urls.map((u) => u.replace(`:${port}/`, `:${pushPort}/`));
      if ((opts.publisher ?? "stamped") === "stamped") {
        children.push(
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              `${ROOT}bench/stamped_publisher.ts`,
              JSON.stringify({ urls: pushUrls, bitrateKbit: kbit }),
            ],
            stdout: "null",
            stderr: "inherit",
            stdin: "null",
          }).spawn(),
        );
      } else {
        const clip = await ensureClip(kbit);
        for (const url of pushUrls) children.push(ffmpegPublisher(clip, url));
      }
      // On demand, a DESCRIBE of the measured server would start the pull: ask the upstream.
      const ready = opts.onDemand ? urls.map((u) => u.replace(`:${port}/`, `:${pushPort}/`)) : urls;
      for (const url of ready) await waitFor(() => described(url), 20000, `publisher of ${url}`);
      await new Promise((r) => setTimeout(r, 2500)); // one GOP in the ring
    }

    const rssBefore = serverPid ? sampleProc(serverPid)?.rssKiB ?? 0 : 0;
    const now = Date.now();
    const rampS = opts.rampS ?? 10;
    // The load processes hold the crowd; a separate probe process with a few viewers measures the
    // joins and the added delay, so those figures are not the crowd's own event-loop lag.
    const probeViewers = Math.min(PROBE_VIEWERS, viewers);
    const crowd = viewers - probeViewers;
    const plan = (k: number): LoadPlan => ({
      // Each load process talks to its own 127.0.0.x so ~28k ephemeral ports are available per process.
      urls: viewerUrls.map((u) => u.replace("//127.0.0.1:", `//127.0.0.${k + 1}:`)),
      viewers: k === clients ? probeViewers : Math.floor(crowd / clients) + (k < crowd % clients ? 1 : 0),
      rampStartAt: now + 1500,
      rampEndAt: now + 1500 + rampS * 1000,
      steadyStartAt: now + 1500 + rampS * 1000 + 3000,
      steadyEndAt: now + 1500 + rampS * 1000 + 3000 + (opts.durationS ?? 20) * 1000,
      joiners: k === clients ? (opts.joiners ?? 40) : 0,
      transport: opts.transport ?? "tcp",
      keepAliveMs: 20000,
      ...(cert !== null ? { caCerts: [cert.cert] } : {}),
    });
    const loads = Array.from({ length: clients + 1 }, (_, k) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}bench/load_client.ts`, JSON.stringify(plan(k))],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      children.push(child);
      return child;
    });
    const p0 = plan(0);
    const alongside = opts.alongside?.({
      serverPid,
      apiPort,
      urls,
      rampStartAt: p0.rampStartAt,
      rampEndAt: p0.rampEndAt,
      steadyStartAt: p0.steadyStartAt,
      steadyEndAt: p0.steadyEndAt,
    });
    alongside?.catch(() => {}); // rethrown where it is awaited, not unhandled meanwhile
    await new Promise((r) => setTimeout(r, p0.steadyStartAt - Date.now()));
    const s0 = serverPid ? sampleProc(serverPid) : undefined;
    const l0 = loads.map((l) => sampleProc(l.pid));
    const i0 = sampleCpu();
    await new Promise((r) => setTimeout(r, p0.steadyEndAt - Date.now() - 200));
    const s1 = serverPid ? sampleProc(serverPid) : undefined;
    const l1 = loads.map((l) => sampleProc(l.pid));
    const i1 = sampleCpu();
    const windows = opts.url ? undefined : await workerWindows(apiPort);
    const reports: LoadReport[] = [];
    for (const l of loads) {
      const out = await l.output();
      reports.push(JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!));
    }
    await alongside;

    const steadyS = (p0.steadyEndAt - p0.steadyStartAt) / 1000;
    const bytes = reports.reduce((x, r) => x + r.steadyBytes, 0);
    const gbps = (bytes * 8) / steadyS / 1e9;
    const serverCores = cores(s0, s1);
    const loadCores = l0.reduce((x, s, i) => x + cores(s, l1[i]), 0);
    const idlePct = (100 * (i1.idle - i0.idle)) / (i1.total - i0.total);
    const stealPct = (100 * (i1.steal - i0.steal)) / (i1.total - i0.total);
    const joinPacket = reports.flatMap((r) => r.joinFirstPacketMs);
    const joinKey = reports.flatMap((r) => r.joinFirstKeyframeMs);
    const startKey = reports.flatMap((r) => r.startFirstKeyframeMs ?? []);
    const delay = reports[clients].addedDelayMs;
    const result: FanoutResult = {
      label: opts.label ?? (opts.url ? `external ${opts.url}` : "dm-live"),
      date: new Date().toISOString(),
      machine: { cores: navigator.hardwareConcurrency, os: Deno.build.os, deno: Deno.version.deno },
      params: {
        viewers,
        streams,
        sources: opts.sources ?? false,
        onDemand: opts.onDemand ?? false,
        bitrateKbit: kbit,
        publisher: opts.url ? undefined : opts.publisher ?? "stamped",
        rampS,
        steadyS,
        joiners: joinPacket.length,
        workers,
        mergeWindowMs: opts.mergeWindow ?? "default",
        serverSet: opts.serverSet ?? [],
        clients,
        transport: opts.transport ?? "tcp",
        tls: opts.tls ?? false,
      },
      connected: reports.reduce((x, r) => x + r.connected, 0),
      failed: reports.reduce((x, r) => x + r.failed, 0),
      disconnects: reports.reduce((x, r) => x + r.disconnects, 0),
      rtpGaps: reports.reduce((x, r) => x + r.gaps, 0),
      gbps,
      serverCores,
      gbpsPerServerCore: gbps / serverCores,
      loadCores,
      machineIdlePct: idlePct,
      machineStealPct: stealPct,
      workerWindows: windows,
      saturated: idlePct < 5,
      rssBeforeMiB: rssBefore / 1024,
      rssSteadyMiB: s1 ? s1.rssKiB / 1024 : NaN,
      rssPerViewerKiB: s1 ? (s1.rssKiB - rssBefore) / Math.max(1, viewers) : NaN,
      rssPerStreamKiB: s1 && rssIdle > 0 ? (s1.rssKiB - rssIdle) / Math.max(1, streams) : NaN,
      startFirstKeyframeMs: {
        p50: percentile(startKey, 50),
        p95: percentile(startKey, 95),
        p99: percentile(startKey, 99),
        max: Math.max(...startKey),
        samples: startKey.length,
      },
      joinFirstPacketMs: {
        p50: percentile(joinPacket, 50),
        p95: percentile(joinPacket, 95),
        p99: percentile(joinPacket, 99),
        max: Math.max(...joinPacket),
      },
      joinFirstKeyframeMs: {
        p50: percentile(joinKey, 50),
        p95: percentile(joinKey, 95),
        p99: percentile(joinKey, 99),
        max: Math.max(...joinKey),
      },
      addedDelayMs: {
        samples: delay.length,
        stamped: reports[clients].stampedDelay,
        p50: percentile(delay, 50),
        p95: percentile(delay, 95),
        p99: percentile(delay, 99),
        max: delay.reduce((m, x) => Math.max(m, x), -Infinity),
      },
      errors: reports.flatMap((r) => r.errors).slice(0, 10),
    };
    return result;
  } finally {
    await cleanup();
  }
}

/** Prints a scenario's report, as `deno task bench` does (`log` defaults to console.log). */
export function printResult(result: FanoutResult, log: (line: string) => void = console.log): void {
  const { viewers, streams, bitrateKbit: kbit, steadyS } = result.params;
  const { gbps, serverCores, loadCores, machineIdlePct: idlePct } = result;
  const joined = result.params.joiners;
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  log(
    `\n${result.label}: ${viewers} ${result.params.transport ?? "tcp"}${
      result.params.tls ? " RTSPS" : ""
    } viewers x ${streams} stream(s) at ${kbit} kbit/s, steady ${steadyS} s`,
  );
  log(
    `  connected ${result.connected}/${viewers}, failed ${result.failed}, disconnects ${result.disconnects}, RTP gaps ${result.rtpGaps}`,
  );
  log(`  delivered      ${f(gbps)} Gbit/s`);
  const ingestGbps = (streams * kbit) / 1e6;
  log(
    `  ingest         ${streams} ${result.params.sources ? "pulled" : "pushed"} stream(s), ${
      f(ingestGbps * 1000, 1)
    } Mbit/s in  ->  ${f(serverCores / ingestGbps)} server cores per ingested Gbit/s (viewers included)`,
  );
  log(
    `  server CPU     ${f(serverCores)} cores  ->  ${f(result.gbpsPerServerCore)} Gbit/s per server core`,
  );
  log(
    `  load gen CPU   ${f(loadCores)} cores; machine idle ${f(idlePct, 1)} %, steal ${
      f(result.machineStealPct ?? NaN, 1)
    } %${result.saturated ? "  (SATURATED: figures describe the load generator as much as the server)" : ""}`,
  );
  log(
    `  server RSS     ${f(result.rssBeforeMiB, 1)} MiB before, ${f(result.rssSteadyMiB, 1)} MiB steady, ${
      f(result.rssPerViewerKiB, 1)
    } KiB per viewer${streams > 1 ? `, ${f(result.rssPerStreamKiB ?? NaN, 1)} KiB per stream` : ""}`,
  );
  log(
    `  join (n=${joined})  first packet p50/p95/p99/max ${f(result.joinFirstPacketMs.p50, 1)}/${
      f(result.joinFirstPacketMs.p95, 1)
    }/${f(result.joinFirstPacketMs.p99, 1)}/${f(result.joinFirstPacketMs.max, 1)} ms`,
  );
  log(
    `                 first keyframe p50/p95/p99/max ${f(result.joinFirstKeyframeMs.p50, 1)}/${
      f(result.joinFirstKeyframeMs.p95, 1)
    }/${f(result.joinFirstKeyframeMs.p99, 1)}/${f(result.joinFirstKeyframeMs.max, 1)} ms`,
  );
  const sk = result.startFirstKeyframeMs;
  if (result.params.onDemand && sk !== undefined) {
    log(
      `  on-demand start (n=${sk.samples}) DESCRIBE -> first keyframe p50/p95/p99/max ${f(sk.p50, 1)}/${
        f(sk.p95, 1)
      }/${f(sk.p99, 1)}/${f(sk.max, 1)} ms`,
    );
  }
  const ww = result.workerWindows;
  if (ww !== undefined && ww.length > 0) {
    log(
      `  merge window   ${
        ww.map((w, i) => `w${i} ${f(w.mergeWindowMs, 1)} ms at ${f(w.busy * 100, 0)} % busy`).join(", ")
      } (end of the steady phase)`,
    );
  }
  const d = result.addedDelayMs;
  log(
    `  added delay (n=${d.samples}) live packets p50/p95/p99/max ${f(d.p50, 1)}/${f(d.p95, 1)}/${
      f(d.p99, 1)
    }/${f(d.max, 1)} ms (${
      d.stamped ? "arrival - send stamp" : "arrival - RTP time, ffmpeg's jitter included"
    })`,
  );
  if (result.errors.length) log(`  errors: ${result.errors.join("; ")}`);
}

async function main(): Promise<void> {
  if (Deno.args.some((a) => a === "--cluster" || a.startsWith("--cluster="))) {
    const { clusterMain } = await import("./cluster.ts");
    return await clusterMain(Deno.args);
  }
  if (Deno.args.some((a) => /^--(hls|record)(=|$)/.test(a))) {
    // hls.ts runs its scenarios with these: importing this module from there would wait for main().
    const { hlsMain } = await import("./hls.ts");
    return await hlsMain(Deno.args, { runScenario, printResult });
  }
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      viewers: { type: "string", default: "1000" },
      streams: { type: "string", default: "1" },
      sources: { type: "boolean" },
      "on-demand": { type: "boolean" },
      bitrate: { type: "string", default: "928" },
      publisher: { type: "string", default: "stamped" },
      ramp: { type: "string", default: "10" },
      duration: { type: "string", default: "20" },
      joiners: { type: "string", default: "40" },
      workers: { type: "string", default: "0" },
      "merge-window": { type: "string" },
      set: { type: "string", multiple: true },
      clients: { type: "string", default: "2" },
      transport: { type: "string", default: "tcp" },
      tls: { type: "boolean" },
      url: { type: "string" },
      label: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (a.help) {
    console.log(HELP);
    return;
  }
  if (a.transport !== "tcp" && a.transport !== "udp") throw new Error(`--transport must be tcp or udp`);
  if (a.tls && (a.transport !== "tcp" || a.url)) {
    throw new Error(`--tls plays dm-live's RTSPS port over TCP: not with --transport udp or --url`);
  }
  if (a["on-demand"] && !a.sources) throw new Error(`--on-demand needs --sources`);
  if (a.publisher !== "stamped" && a.publisher !== "ffmpeg") {
    throw new Error(`--publisher must be stamped or ffmpeg`);
  }
  const result = await runScenario({
    transport: a.transport,
    tls: a.tls,
    viewers: Number(a.viewers),
    streams: Number(a.streams),
    sources: a.sources,
    onDemand: a["on-demand"],
    bitrateKbit: Number(a.bitrate),
    publisher: a.publisher,
    rampS: Number(a.ramp),
    durationS: Number(a.duration),
    joiners: Number(a.joiners),
    workers: Number(a.workers),
    mergeWindow: a["merge-window"],
    serverSet: a.set,
    clients: Number(a.clients),
    url: a.url,
    label: a.label,
  });
  printResult(result);
  const file = a.json ?? `${OUT}/fanout-${result.date.replace(/[:.]/g, "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`  JSON: ${file}`);
}

if (import.meta.main) {
  await main();
  Deno.exit(0);
}

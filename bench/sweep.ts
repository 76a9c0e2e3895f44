/**
 * `deno task bench:sweep`: runs the fan-out benchmark (bench/fanout.ts) once per viewer count, one
 * after the other, each with a fresh server, then prints one table, writes the results as a JSON
 * array and draws them as an SVG chart (bench/chart.ts), also copied to bench/out/latest-sweep.svg.
 */
import { parseArgs } from "node:util";
import { type FanoutResult, printResult, runScenario } from "./fanout.ts";
import { sweepChartSvg } from "./chart.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
/** Quiet time between scenarios, so sockets and CPU of one run don't leak into the next. */
const PAUSE_MS = 3000;

const HELP = `deno task bench:sweep [options]
  --viewers LIST       viewer counts, comma separated (default 500,2000,5000,10000,19000)
  --bitrate KBIT       total stream bitrate, video + AAC (default 928)
  --ramp S             seconds to connect the viewers (default 10)
  --duration S         steady phase seconds (default 20)
  --joiners N          viewers joining during each steady phase, for latency (default 40)
  --workers N          dm-live workers (default 0 = one per core)
  --merge-window MS    dm-live viewer.mergeWindowMs (default: the server's default)
  --set KEY=VALUE      any other dm-live config key (repeatable)
  --clients N          load-generator processes (default 2)
  --transport T        tcp (default) or udp
  --label TEXT         name of this sweep (default dm-live)
Writes bench/out/sweep-<label>-<time>.json and .svg, and bench/out/latest-sweep.svg.`;

/** One table row per result; numbers right-aligned. */
export function sweepTable(results: FanoutResult[]): string {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const head = [
    "viewers",
    "connected",
    "Gbit/s",
    "srv cores",
    "Gbit/s/core",
    "load cores",
    "idle %",
    "RSS MiB",
    "KiB/viewer",
    "key p50 ms",
    "key p99 ms",
    "delay p99 ms",
    "gaps",
    "disc",
    "saturated",
  ];
  const rows = results.map((r) => [
    String(r.params.viewers),
    String(r.connected),
    f(r.gbps, 3),
    f(r.serverCores, 2),
    f(r.gbpsPerServerCore, 2),
    f(r.loadCores, 2),
    f(r.machineIdlePct, 1),
    f(r.rssSteadyMiB, 1),
    f(r.rssPerViewerKiB, 1),
    f(r.joinFirstKeyframeMs.p50, 1),
    f(r.joinFirstKeyframeMs.p99, 1),
    f(r.addedDelayMs.p99, 1),
    String(r.rtpGaps),
    String(r.disconnects),
    r.saturated ? "yes" : "no",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      viewers: { type: "string", default: "500,2000,5000,10000,19000" },
      bitrate: { type: "string" },
      ramp: { type: "string" },
      duration: { type: "string" },
      joiners: { type: "string" },
      workers: { type: "string" },
      "merge-window": { type: "string" },
      set: { type: "string", multiple: true },
      clients: { type: "string" },
      transport: { type: "string", default: "tcp" },
      label: { type: "string", default: "dm-live" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const counts = a.viewers.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (counts.length === 0 || counts.some((v) => !Number.isInteger(v) || v <= 0)) {
    console.error(`--viewers wants a comma-separated list of positive integers, got "${a.viewers}"`);
    return 2;
  }
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const label = a.label;
  const started = new Date().toISOString();
  await Deno.mkdir(OUT, { recursive: true });

  const results: FanoutResult[] = [];
  const failures: string[] = [];
  for (const [i, viewers] of counts.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
    console.error(`\n[sweep ${i + 1}/${counts.length}] ${viewers} viewers ...`);
    try {
      const r = await runScenario({
        viewers,
        bitrateKbit: num(a.bitrate),
        rampS: num(a.ramp),
        durationS: num(a.duration),
        joiners: num(a.joiners),
        workers: num(a.workers),
        mergeWindow: a["merge-window"],
        serverSet: a.set,
        clients: num(a.clients),
        transport: a.transport === "udp" ? "udp" : "tcp",
        label,
      });
      printResult(r, console.error);
      results.push(r);
    } catch (e) {
      const msg = `${viewers} viewers: ${e instanceof Error ? e.message : String(e)}`;
      console.error(`[sweep] scenario failed: ${msg}`);
      failures.push(msg);
    }
  }

  const first = results[0];
  console.log(
    `\n${label} sweep: ${a.transport} viewers, ${
      first ? `${first.params.bitrateKbit} kbit/s, ` : ""
    }merge window ${a["merge-window"] ?? "default"}, steady ${first ? first.params.steadyS : "?"} s per run`,
  );
  console.log(sweepTable(results));
  for (const f of failures) console.log(`FAILED ${f}`);
  if (results.length === 0) return 1;

  const base = `${OUT}/sweep-${label.replace(/[^A-Za-z0-9._-]+/g, "_")}-${started.replace(/[:.]/g, "-")}`;
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(results, null, 2) + "\n");
  const svg = sweepChartSvg(results, `${label} fan-out sweep`);
  await Deno.writeTextFile(`${base}.svg`, svg);
  await Deno.copyFile(`${base}.svg`, `${OUT}/latest-sweep.svg`);
  console.log(`JSON: ${base}.json`);
  console.log(`SVG:  ${base}.svg (also ${OUT}/latest-sweep.svg)`);
  return failures.length ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}

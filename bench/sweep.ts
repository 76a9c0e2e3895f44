/**
 * `deno task bench:sweep`: runs the fan-out benchmark (bench/fanout.ts) once per viewer count, one
 * after the other, each with a fresh server, then prints one table, writes the results as a JSON
 * array and draws them as an SVG chart (bench/chart.ts), also copied to bench/out/latest-sweep.svg.
 */
import { parseArgs } from "node:util";
import { type FanoutResult, printResult, runScenario } from "./fanout.ts";
import { compareChartSvg, sweepChartSvg } from "./chart.ts";

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
  --publisher P        stamped (default) or ffmpeg (see deno task bench --help)
  --label TEXT         name of this sweep (default dm-live)
  --compare KEY=VALUE  also run every viewer count with this dm-live setting (repeatable), right
                       after the run without it, and chart the two sweeps together
  --compare-label TEXT name of the compared sweep (default: its settings)
Writes bench/out/sweep-<label>-<time>.json and .svg, and bench/out/latest-sweep.svg; with
--compare, bench/out/compare-<time>.json and .svg, and bench/out/latest-compare.svg.`;

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
      publisher: { type: "string", default: "stamped" },
      compare: { type: "string", multiple: true },
      "compare-label": { type: "string" },
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
  const compared: FanoutResult[] = [];
  const failures: string[] = [];
  const compareSet = a.compare ?? [];
  const compareLabel = a["compare-label"] ?? compareSet.join(" ");
  const runs = compareSet.length > 0 ? 2 : 1;
  for (const [i, viewers] of counts.entries()) {
    for (let k = 0; k < runs; k++) {
      if (i > 0 || k > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
      const name = k === 0 ? label : compareLabel;
      console.error(
        `\n[sweep ${i + 1}/${counts.length}${runs > 1 ? ` ${name}` : ""}] ${viewers} viewers ...`,
      );
      try {
        const r = await runScenario({
          viewers,
          bitrateKbit: num(a.bitrate),
          publisher: a.publisher === "ffmpeg" ? "ffmpeg" : "stamped",
          rampS: num(a.ramp),
          durationS: num(a.duration),
          joiners: num(a.joiners),
          workers: num(a.workers),
          mergeWindow: a["merge-window"],
          serverSet: k === 0 ? a.set : [...(a.set ?? []), ...compareSet],
          clients: num(a.clients),
          transport: a.transport === "udp" ? "udp" : "tcp",
          label: name,
        });
        printResult(r, console.error);
        (k === 0 ? results : compared).push(r);
      } catch (e) {
        const msg = `${name}, ${viewers} viewers: ${e instanceof Error ? e.message : String(e)}`;
        console.error(`[sweep] scenario failed: ${msg}`);
        failures.push(msg);
      }
    }
  }

  const first = results[0];
  console.log(
    `\n${label} sweep: ${a.transport} viewers, ${
      first ? `${first.params.bitrateKbit} kbit/s, ` : ""
    }merge window ${a["merge-window"] ?? "default"}, steady ${first ? first.params.steadyS : "?"} s per run`,
  );
  console.log(sweepTable(results));
  if (runs > 1) {
    console.log(`\n${compareLabel}:`);
    console.log(sweepTable(compared));
  }
  for (const f of failures) console.log(`FAILED ${f}`);
  if (results.length === 0) return 1;

  const base = `${OUT}/sweep-${label.replace(/[^A-Za-z0-9._-]+/g, "_")}-${started.replace(/[:.]/g, "-")}`;
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(results, null, 2) + "\n");
  const svg = sweepChartSvg(results, `${label} fan-out sweep`);
  await Deno.writeTextFile(`${base}.svg`, svg);
  await Deno.copyFile(`${base}.svg`, `${OUT}/latest-sweep.svg`);
  console.log(`JSON: ${base}.json`);
  console.log(`SVG:  ${base}.svg (also ${OUT}/latest-sweep.svg)`);
  if (runs > 1) {
    const cmp = `${OUT}/compare-${started.replace(/[:.]/g, "-")}`;
    const sweeps = [{ label, results }, { label: compareLabel, results: compared }];
    await Deno.writeTextFile(`${cmp}.json`, JSON.stringify(sweeps, null, 2) + "\n");
    await Deno.writeTextFile(`${cmp}.svg`, compareChartSvg(sweeps, `${label} vs ${compareLabel}`));
    await Deno.copyFile(`${cmp}.svg`, `${OUT}/latest-compare.svg`);
    console.log(`Compared: ${cmp}.json, ${cmp}.svg (also ${OUT}/latest-compare.svg)`);
  }
  return failures.length ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}

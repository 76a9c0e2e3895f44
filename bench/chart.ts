/**
 * The SVG chart of a fan-out sweep (bench/sweep.ts): three panels side by side, each a line chart
 * against viewer count: delivered Gbit/s, server CPU cores and server RSS MiB. Points of runs where
 * the machine was saturated are drawn hollow. Pure and dependency-free.
 */
import type { FanoutResult } from "./fanout.ts";

const W = 900;
const H = 400;
const PANEL_W = W / 3;
const TOP = 116; // plot area top
const BOTTOM = H - 54; // plot area bottom (x axis)
const LEFT = 62; // plot area left, from the panel's left edge
const RIGHT = 22; // plot area right margin
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

interface Panel {
  title: string;
  axis: string;
  color: string;
  value: (r: FanoutResult) => number;
  /** A dashed reference level (mean over the results), with its label. */
  ref?: { label: string; value: (r: FanoutResult) => number };
}

const PANELS: Panel[] = [
  { title: "Delivered throughput", axis: "Gbit/s", color: "#2563eb", value: (r) => r.gbps },
  { title: "Server CPU", axis: "cores", color: "#ea580c", value: (r) => r.serverCores },
  {
    title: "Server memory (RSS, steady)",
    axis: "MiB",
    color: "#16a34a",
    value: (r) => r.rssSteadyMiB,
    ref: { label: "before clients", value: (r) => r.rssBeforeMiB },
  },
];

/** Escapes text for SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about `target` steps over `range`. */
function niceStep(range: number, target: number): number {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** Ticks from 0 to a nice maximum at or above `max` (1 when there is nothing to show). */
function ticks(max: number, target = 4): { max: number; step: number; values: number[] } {
  if (!Number.isFinite(max) || max <= 0) max = 1;
  const step = niceStep(max, target);
  const top = Math.ceil(max / step - 1e-9) * step;
  const values: number[] = [];
  for (let i = 0; i * step <= top + step * 1e-9; i++) values.push(i * step);
  return { max: top, step, values };
}

function group(s: string): string {
  const [int, frac] = s.split(".");
  const g = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? g : `${g}.${frac}`;
}

function decimals(step: number): number {
  const s = String(Number(step.toPrecision(6)));
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

function tickLabel(v: number, step: number): string {
  return group(v.toFixed(Math.min(4, decimals(step))));
}

/** A point's value label: about three significant digits. */
function valueLabel(v: number): string {
  const a = Math.abs(v);
  if (a > 0 && a < 1) return String(Number(v.toPrecision(2)));
  return group(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2));
}

/** Rough text width at `size` px in a sans-serif font. */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.58;
}

const n = (x: number) => Number(x.toFixed(1)); // coordinates: one decimal is enough

function subtitle(results: FanoutResult[]): string {
  const uniq = <T>(f: (r: FanoutResult) => T) => [...new Set(results.map(f))].map(String).join("/");
  if (results.length === 0) return "no results";
  const mw = uniq((r) => r.params.mergeWindowMs);
  const workers = uniq((r) => (r.params.workers === 0 ? "auto" : r.params.workers));
  const dates = results.map((r) => r.date).filter((d) => typeof d === "string").sort();
  const date = dates.length ? `${dates[0].slice(0, 16).replace("T", " ")} UTC` : "";
  return [
    `${uniq((r) => r.params.bitrateKbit)} kbit/s stream`,
    `${uniq((r) => r.params.streams)} stream(s)`,
    `merge window ${mw}${/^\d+(\.\d+)?$/.test(mw) ? " ms" : ""}`,
    `workers ${workers}`,
    `steady ${uniq((r) => r.params.steadyS)} s`,
    `${uniq((r) => r.machine?.cores)} cores`,
    date,
  ].filter(Boolean).join(" · ");
}

/** One line of a panel: results (sorted by viewers) in a color. */
interface Series {
  results: FanoutResult[];
  color: string;
}

function panelSvg(
  p: Panel,
  index: number,
  series: Series[],
  xt: ReturnType<typeof ticks>,
): string {
  const x0 = index * PANEL_W;
  const left = x0 + LEFT;
  const right = x0 + PANEL_W - RIGHT;
  const results = series.flatMap((s) => s.results);
  const lines = series.map((s) => ({
    color: s.color,
    pts: s.results
      .map((r) => ({ x: r.params.viewers, y: p.value(r), saturated: r.saturated === true }))
      .filter((q) => Number.isFinite(q.x)),
  }));
  const finite = lines.flatMap((l) => l.pts.filter((q) => Number.isFinite(q.y)));
  // Headroom above the highest point for its label.
  const refs = p.ref ? results.map(p.ref.value).filter(Number.isFinite) : [];
  const ref = refs.length ? refs.reduce((x, y) => x + y, 0) / refs.length : NaN;
  const yt = ticks(Math.max(0, ...finite.map((q) => q.y), Number.isFinite(ref) ? ref : 0) * 1.12);
  const sx = (x: number) => left + (x / xt.max) * (right - left);
  const sy = (y: number) => BOTTOM - (Math.max(0, y) / yt.max) * (BOTTOM - TOP);
  const out: string[] = [];

  out.push(`<g class="panel">`);
  out.push(
    `<text x="${n(left)}" y="${TOP - 22}" font-size="14" font-weight="600" fill="#111827">${
      esc(p.title)
    }</text>`,
  );
  // Grid and y ticks.
  for (const v of yt.values) {
    const y = n(sy(v));
    out.push(
      `<line x1="${n(left)}" y1="${y}" x2="${n(right)}" y2="${y}" stroke="${
        v === 0 ? "#6b7280" : "#e5e7eb"
      }" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${n(left - 6)}" y="${y + 4}" font-size="11" text-anchor="end" fill="#4b5563">${
        tickLabel(v, yt.step)
      }</text>`,
    );
  }
  // x axis ticks.
  for (const v of xt.values) {
    const x = n(sx(v));
    out.push(`<line x1="${x}" y1="${BOTTOM}" x2="${x}" y2="${BOTTOM + 4}" stroke="#6b7280"/>`);
    out.push(
      `<text x="${x}" y="${BOTTOM + 17}" font-size="11" text-anchor="middle" fill="#4b5563">${
        tickLabel(v, xt.step)
      }</text>`,
    );
  }
  out.push(`<line x1="${n(left)}" y1="${TOP - 6}" x2="${n(left)}" y2="${BOTTOM}" stroke="#6b7280"/>`);
  // Axis labels.
  out.push(
    `<text x="${n((left + right) / 2)}" y="${
      BOTTOM + 36
    }" font-size="12" text-anchor="middle" fill="#374151">viewers</text>`,
  );
  const ly = n((TOP + BOTTOM) / 2);
  const lx = x0 + 14;
  out.push(
    `<text x="${lx}" y="${ly}" font-size="12" text-anchor="middle" fill="#374151" transform="rotate(-90 ${lx} ${ly})">${
      esc(p.axis)
    }</text>`,
  );

  if (p.ref && Number.isFinite(ref)) {
    const y = n(sy(ref));
    out.push(
      `<line x1="${n(left)}" y1="${y}" x2="${
        n(right)
      }" y2="${y}" stroke="#9ca3af" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${n(right)}" y="${y + 13}" font-size="10" text-anchor="end" fill="#6b7280">${
        esc(`${p.ref.label}: ${valueLabel(ref)} ${p.axis}`)
      }</text>`,
    );
  }
  // Each line: one path, broken where a value is missing.
  for (const l of lines) {
    let d = "";
    let pen = false;
    for (const q of l.pts) {
      if (!Number.isFinite(q.y)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${n(sx(q.x))} ${n(sy(q.y))}`;
      pen = true;
    }
    out.push(
      `<path d="${d}" fill="none" stroke="${l.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }

  // Points first, then their labels on top. A label takes the first place around its point that
  // keeps clear of the points, the lines and earlier labels, and stays inside the plot.
  const xys = lines.map((l) =>
    l.pts.filter((q) => Number.isFinite(q.y)).map((q) => ({
      ...q,
      color: l.color,
      cx: n(sx(q.x)),
      cy: n(sy(q.y)),
    }))
  );
  const xy = xys.flat();
  for (const q of xy) {
    out.push(
      q.saturated
        ? `<circle cx="${q.cx}" cy="${q.cy}" r="4" fill="#ffffff" stroke="${q.color}" stroke-width="2"/>`
        : `<circle cx="${q.cx}" cy="${q.cy}" r="4" fill="${q.color}" stroke="#ffffff" stroke-width="1"/>`,
    );
  }
  type Box = { x1: number; x2: number; y1: number; y2: number };
  const boxes: Box[] = xy.map((q) => ({ x1: q.cx - 5, x2: q.cx + 5, y1: q.cy - 5, y2: q.cy + 5 }));
  // The lines, as chains of small boxes every few pixels.
  for (const line of xys) {
    for (let i = 1; i < line.length; i++) {
      const [a, b] = [line[i - 1], line[i]];
      const steps = Math.ceil(Math.hypot(b.cx - a.cx, b.cy - a.cy) / 3);
      for (let k = 1; k < steps; k++) {
        const x = a.cx + ((b.cx - a.cx) * k) / steps;
        const y = a.cy + ((b.cy - a.cy) * k) / steps;
        boxes.push({ x1: x - 1, x2: x + 1, y1: y - 1, y2: y + 1 });
      }
    }
  }
  const hits = (box: Box) =>
    boxes.filter((b) => !(box.x2 < b.x1 || box.x1 > b.x2 || box.y2 < b.y1 || box.y1 > b.y2)).length;
  for (const q of xy) {
    const label = valueLabel(q.y);
    const w = textWidth(label, 11);
    // Centre x and baseline y of the candidate places, best first.
    const places = [
      [q.cx, q.cy - 9],
      [q.cx - w / 2 - 6, q.cy - 6],
      [q.cx + w / 2 + 6, q.cy + 13],
      [q.cx, q.cy + 18],
      [q.cx + w / 2 + 6, q.cy - 6],
      [q.cx - w / 2 - 6, q.cy + 13],
      [q.cx, q.cy - 22],
      [q.cx, q.cy + 31],
    ];
    let best: { box: Box; x: number; y: number; cost: number } | undefined;
    for (const [x, y] of places) {
      const box = { x1: x - w / 2 - 1, x2: x + w / 2 + 1, y1: y - 9, y2: y + 2 };
      if (box.x1 < left + 2 || box.x2 > x0 + PANEL_W - 2 || box.y1 < TOP - 12 || box.y2 > BOTTOM - 2) {
        continue;
      }
      const cost = hits(box);
      if (!best || cost < best.cost) best = { box, x, y, cost };
      if (cost === 0) break;
    }
    best ??= { box: { x1: 0, x2: 0, y1: 0, y2: 0 }, x: q.cx, y: q.cy - 9, cost: 0 };
    boxes.push(best.box);
    out.push(
      `<text x="${n(best.x)}" y="${
        n(best.y)
      }" font-size="11" text-anchor="middle" fill="#111827" stroke="#ffffff" stroke-width="3" paint-order="stroke">${label}</text>`,
    );
  }
  if (finite.length === 0) {
    out.push(
      `<text x="${n((left + right) / 2)}" y="${
        n((TOP + BOTTOM) / 2)
      }" font-size="12" text-anchor="middle" fill="#9ca3af">no data</text>`,
    );
  }
  out.push(`</g>`);
  return out.join("\n");
}

/**
 * The chart of a sweep as a self-contained SVG document (900 x 400): Gbit/s, server cores and
 * server RSS against viewer count, one point per result (sorted by viewers); hollow points are
 * runs where the machine was saturated.
 */
export function sweepChartSvg(results: FanoutResult[], title: string): string {
  const rs = [...results].sort((a, b) => a.params.viewers - b.params.viewers);
  const xs = rs.map((r) => r.params.viewers).filter(Number.isFinite);
  const xt = ticks(Math.max(0, ...xs), 4);
  const legendX = 20;
  return svgDocument(title, subtitle(rs), [
    `<circle cx="${legendX}" cy="67" r="4" fill="#6b7280" stroke="#ffffff" stroke-width="1"/>`,
    `<text x="${legendX + 10}" y="71">measured</text>`,
    `<circle cx="${legendX + 90}" cy="67" r="4" fill="#ffffff" stroke="#6b7280" stroke-width="2"/>`,
    `<text x="${legendX + 100}" y="71">machine saturated</text>`,
  ], PANELS.map((p, i) => panelSvg(p, i, [{ results: rs, color: p.color }], xt)));
}

/** The chart's SVG document (W x H): title, subtitle, a legend row and the panels. */
function svgDocument(title: string, sub: string, legend: string[], panels: string[]): string {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${
      esc(FONT)
    }">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="16" y="28" font-size="18" font-weight="700" fill="#111827">${esc(title)}</text>`,
    `<text x="16" y="50" font-size="12" fill="#4b5563">${esc(sub)}</text>`,
    `<g class="legend" font-size="12" fill="#374151">`,
    ...legend,
    `</g>`,
    ...panels,
    `</svg>`,
  ];
  return parts.join("\n") + "\n";
}

/** The panels of a comparison: what the merge window trades, efficiency against delay. */
const COMPARE_PANELS: Panel[] = [
  { title: "Efficiency", axis: "Gbit/s per server core", color: "", value: (r) => r.gbpsPerServerCore },
  { title: "Added delay p99", axis: "ms", color: "", value: (r) => r.addedDelayMs.p99 },
  { title: "Added delay p50", axis: "ms", color: "", value: (r) => r.addedDelayMs.p50 },
];
const SERIES_COLORS = ["#2563eb", "#ea580c", "#16a34a", "#9333ea"];

/**
 * Two or more sweeps of the same viewer counts (`deno task bench:sweep --compare`) as one SVG
 * (900 x 400): Gbit/s per server core, added delay p99 and p50 against viewers, a line per sweep.
 */
export function compareChartSvg(sweeps: { label: string; results: FanoutResult[] }[], title: string): string {
  const series = sweeps.map((s, i) => ({
    label: s.label,
    color: SERIES_COLORS[i % SERIES_COLORS.length],
    results: [...s.results].sort((a, b) => a.params.viewers - b.params.viewers),
  }));
  const all = series.flatMap((s) => s.results);
  const xt = ticks(Math.max(0, ...all.map((r) => r.params.viewers).filter(Number.isFinite)), 4);
  const legend: string[] = [];
  let x = 20;
  for (const s of series) {
    legend.push(`<circle cx="${x}" cy="67" r="4" fill="${s.color}" stroke="#ffffff" stroke-width="1"/>`);
    legend.push(`<text x="${x + 10}" y="71">${esc(s.label)}</text>`);
    x += 30 + textWidth(s.label, 12);
  }
  legend.push(`<circle cx="${x}" cy="67" r="4" fill="#ffffff" stroke="#6b7280" stroke-width="2"/>`);
  legend.push(`<text x="${x + 10}" y="71">machine saturated</text>`);
  return svgDocument(title, subtitle(all), legend, COMPARE_PANELS.map((p, i) => panelSvg(p, i, series, xt)));
}

import assert from "node:assert/strict";
import { compareChartSvg, sweepChartSvg } from "./chart.ts";
import type { FanoutResult } from "./fanout.ts";

function result(viewers: number, over: Partial<FanoutResult> = {}): FanoutResult {
  const p = { p50: 8, p95: 12, p99: 15, max: 16 };
  return {
    label: "dm-live",
    date: "2026-11-24T16:31:03.489Z",
    machine: { cores: 2, os: "linux", deno: "2.9.6" },
    params: {
      viewers,
      streams: 1,
      bitrateKbit: 928,
      rampS: 10,
      steadyS: 20,
      joiners: 40,
      workers: 0,
      mergeWindowMs: "default",
      clients: 2,
    },
    connected: viewers,
    failed: 0,
    disconnects: 0,
    rtpGaps: 0,
    gbps: (viewers * 928) / 1e6,
    serverCores: viewers / 10000,
    gbpsPerServerCore: 9.28,
    loadCores: 0.5,
    machineIdlePct: 40,
    saturated: false,
    rssBeforeMiB: 70,
    rssSteadyMiB: 70 + viewers * 0.03,
    rssPerViewerKiB: 30,
    addedDelayMs: { samples: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN },
    joinFirstPacketMs: p,
    joinFirstKeyframeMs: p,
    errors: [],
    ...over,
  };
}

/** Checks that every element is closed in order and that no raw `<` or `&` is left in text. */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith("<svg"), "starts with <svg");
  assert.ok(svg.trimEnd().endsWith("</svg>"), "ends with </svg>");
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const between = svg.slice(last, m.index);
    assert.ok(!between.includes("<"), `stray < before ${m[0]}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(between), `raw & in text: ${between}`);
    last = re.lastIndex;
    if (m[1]) assert.equal(stack.pop(), m[2], `closing ${m[2]}`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.equal(svg.slice(last).trim(), "");
  assert.deepEqual(stack, []);
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

Deno.test("sweepChartSvg: well-formed, one path per panel, points marked and labelled", () => {
  const rs = [500, 2000, 5000, 10000, 19000].map((v) => result(v, { saturated: v >= 10000 }));
  const svg = sweepChartSvg(rs, "dm-live fan-out sweep");
  assertWellFormed(svg);
  assert.equal(count(svg, "<path"), 3);
  // 5 points x 3 panels, plus the two legend markers.
  assert.equal(count(svg, "<circle"), 17);
  // Saturated points are hollow: 2 x 3 panels, plus the legend's.
  assert.equal(count(svg, `fill="#ffffff" stroke=`), 7);
  assert.ok(svg.includes("machine saturated"));
  assert.ok(svg.includes("928 kbit/s"));
  assert.ok(svg.includes("merge window default"));
  assert.ok(svg.includes("2026-11-24 16:31 UTC"));
  assert.ok(svg.includes(">20,000<"), "x ticks group thousands");
  assert.ok(svg.includes(">viewers<"));
});

Deno.test("sweepChartSvg: escapes the title", () => {
  const svg = sweepChartSvg([result(100)], `a <b> & "c"`);
  assertWellFormed(svg);
  assert.ok(svg.includes("a &lt;b&gt; &amp; &quot;c&quot;"));
  assert.ok(!svg.includes("<b>"));
});

Deno.test("sweepChartSvg: a single result, NaN values and no results do not throw", () => {
  const one = sweepChartSvg([result(300)], "one");
  assertWellFormed(one);
  assert.equal(count(one, "<path"), 3);

  const nan = sweepChartSvg([
    result(100, { serverCores: NaN, rssSteadyMiB: NaN }),
    result(200, { gbps: NaN }),
    result(300),
  ], "nan");
  assertWellFormed(nan);
  assert.equal(count(nan, "<path"), 3);
  assert.ok(!nan.includes("NaN"), "no NaN coordinates");

  const none = sweepChartSvg([], "none");
  assertWellFormed(none);
  assert.equal(count(none, "<path"), 3);
  assert.ok(none.includes("no data"));
});

Deno.test("compareChartSvg: a line per sweep in each of the three panels, each sweep in the legend", () => {
  const counts = [500, 1000, 2000, 4000];
  const adaptive = counts.map((v) =>
    result(v, {
      gbpsPerServerCore: v / 500,
      addedDelayMs: { samples: 100, p50: v < 2000 ? 2 : 36, p95: 40, p99: v < 2000 ? 8 : 60, max: 70 },
    })
  );
  const fixed = counts.map((v) =>
    result(v, {
      gbpsPerServerCore: v / 450,
      addedDelayMs: { samples: 100, p50: 36, p95: 50, p99: 60, max: 80 },
      saturated: v === 4000,
    })
  );
  const svg = compareChartSvg([{ label: "adaptive", results: adaptive }, {
    label: "fixed <33> ms",
    results: fixed,
  }], "cmp");
  assertWellFormed(svg);
  assert.equal(count(svg, "<path"), 6, "2 lines x 3 panels");
  // 4 points x 2 sweeps x 3 panels, plus 3 legend markers.
  assert.equal(count(svg, "<circle"), 27);
  assert.ok(svg.includes(">adaptive<") && svg.includes("fixed &lt;33&gt; ms"));
  for (const t of ["Efficiency", "Added delay p99", "Added delay p50"]) assert.ok(svg.includes(`>${t}<`), t);
  // The two sweeps are drawn in different colors.
  assert.ok(svg.includes('stroke="#2563eb"') && svg.includes('stroke="#ea580c"'));
});

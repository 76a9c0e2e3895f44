/**
 * The stream flood (issue 13, hole 5): rounds of short-lived publishers from one address, and the
 * server's resident memory after each round and a while after the last. Before rings were pooled,
 * three rounds of 100 streams with 2 MiB rings pushed RSS up round after round (each ended ring was
 * freed only at some later GC, in every worker), and it stayed up minutes after they ended.
 *
 *   deno run -A bench/stream_flood.ts [--root DIR] [--rounds 3] [--streams 100] [--life 3]
 *     [--bitrate 1000] [--after 30,120] [--workers 0] [--set KEY=VALUE ...] [--label TEXT] [--json FILE]
 *
 * --root runs another checkout's server (git worktree add /tmp/ring-base <commit>) with this
 * script's publisher, so before and after differ in the server alone. The server runs with
 * limits.maxStreams and maxStreamsPerAddress at 0 (no bound: every stream comes from 127.0.0.1) and
 * ring.bytes 2 MiB unless --set says otherwise; each round's publishers (bench/stamped_publisher.ts,
 * one process) push for --life seconds and are killed; the round ends when the server lists no
 * stream any more (ingest.reconnectGraceMs later), and its RSS is taken then. /v1/rings, where the
 * server has it, says what the ring pool holds.
 */
import { parseArgs } from "node:util";
import { described, sampleCpu, sampleProc } from "./measure.ts";

const HERE = new URL("../", import.meta.url).pathname;
const OUT = `${HERE}bench/out`;

interface Sample {
  /** What was just done: "idle", "round 1", ..., "+30 s". */
  at: string;
  rssMiB: number;
  /** The server's own view of its rings (GET /v1/rings), when it has one. */
  rings?: { liveBytes: number; retiredBytes: number; poolBytes: number; reused: number; dropped: number };
}

async function apiJson(port: number, path: string): Promise<unknown> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    if (!r.ok) {
      await r.body?.cancel();
      return null;
    }
    return await r.json();
  } catch {
    // Expected while the server starts.
    return null;
  }
}

async function waitFor(what: string, ms: number, pred: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    args: Deno.args,
    options: {
      root: { type: "string" },
      rounds: { type: "string" },
      streams: { type: "string" },
      life: { type: "string" },
      bitrate: { type: "string" },
      after: { type: "string" },
      workers: { type: "string" },
      set: { type: "string", multiple: true },
      label: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help) {
    console.log(
      "deno run -A bench/stream_flood.ts [--root DIR] [--rounds 3] [--streams 100] [--life 3] [--bitrate 1000]\n" +
        "  [--after 30,120] [--workers 0] [--set KEY=VALUE ...] [--label TEXT] [--json FILE]",
    );
    return;
  }
  const root = (o.root ?? HERE).replace(/\/?$/, "/");
  const rounds = Number(o.rounds ?? 3);
  const streams = Number(o.streams ?? 100);
  const lifeS = Number(o.life ?? 3);
  const kbit = Number(o.bitrate ?? 1000);
  const after = (o.after ?? "30,120").split(",").map(Number);
  const port = 24000 + Math.floor(Math.random() * 4000);
  const apiPort = port - 12000;
  const args = [
    "run",
    "-P=server",
    "--v8-flags=--max-semi-space-size=2",
    `${root}main.ts`,
    "--port",
    String(port),
    "--workers",
    o.workers ?? "0",
    "--log-level",
    "warn",
    "--set",
    `api.port=${apiPort}`,
    "--set",
    "udp.portBase=0",
    "--set",
    "limits.maxStreams=0",
    "--set",
    "limits.maxStreamsPerAddress=0",
    "--set",
    "ring.bytes=2097152",
    ...(o.set ?? []).flatMap((kv) => ["--set", kv]),
  ];
  // Keys of later checkouts (hls.*) are refused by an older one: only what it knows.
  const server = new Deno.Command(Deno.execPath(), { args, cwd: root, stdout: "null", stderr: "inherit" })
    .spawn();
  const samples: Sample[] = [];
  const cpu0 = sampleCpu();
  const sample = async (at: string) => {
    const rss = sampleProc(server.pid)?.rssKiB ?? NaN;
    const r = await apiJson(apiPort, "/v1/rings") as NonNullable<Sample["rings"]> | null;
    const s: Sample = { at, rssMiB: rss / 1024 };
    if (r !== null) {
      s.rings = {
        liveBytes: r.liveBytes,
        retiredBytes: r.retiredBytes,
        poolBytes: r.poolBytes,
        reused: r.reused,
        dropped: r.dropped,
      };
    }
    samples.push(s);
    const ring = s.rings === undefined
      ? ""
      : `  rings live ${(s.rings.liveBytes / 1048576).toFixed(1)} MiB, pool ${
        (s.rings.poolBytes / 1048576).toFixed(1)
      } MiB (${s.rings.reused} reused, ${s.rings.dropped} dropped)`;
    console.log(`  ${at.padEnd(10)} RSS ${s.rssMiB.toFixed(1).padStart(7)} MiB${ring}`);
  };
  const streamCount = async () => {
    const s = await apiJson(apiPort, "/v1/streams") as { streams: unknown[] } | null;
    return s === null ? -1 : s.streams.length;
  };
  try {
    await waitFor("the server's API", 20_000, async () => (await streamCount()) === 0);
    console.log(
      `stream flood: ${rounds} rounds of ${streams} publishers from one address, ${lifeS} s each at ${kbit} kbit/s; server ${root}`,
    );
    await sample("idle");
    for (let round = 1; round <= rounds; round++) {
      const urls = Array.from(
        { length: streams },
        (_, i) => `rtsp://127.0.0.1:${port}/flood/r${round}/s${i}`,
      );
      const pub = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${HERE}bench/stamped_publisher.ts`, JSON.stringify({ urls, bitrateKbit: kbit })],
        stdout: "null",
        stderr: "null",
        stdin: "null",
      }).spawn();
      try {
        await waitFor(`round ${round}'s streams`, 30_000, async () => (await streamCount()) >= streams);
        if (!(await described(urls[0]))) throw new Error(`round ${round}: ${urls[0]} not published`);
        await new Promise((r) => setTimeout(r, lifeS * 1000));
      } finally {
        pub.kill("SIGKILL");
        await pub.status;
      }
      // Gone once their grace period (ingest.reconnectGraceMs) is over.
      await waitFor(`round ${round}'s streams to end`, 60_000, async () => (await streamCount()) === 0);
      await sample(`round ${round}`);
    }
    let waited = 0;
    for (const s of after) {
      await new Promise((r) => setTimeout(r, (s - waited) * 1000));
      waited = s;
      await sample(`+${s} s`);
    }
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
  const cpu1 = sampleCpu();
  const steal = (cpu1.steal - cpu0.steal) / Math.max(1, cpu1.total - cpu0.total) * 100;
  const result = {
    label: o.label ?? root,
    date: new Date().toISOString(),
    root,
    rounds,
    streams,
    lifeS,
    kbit,
    set: o.set ?? [],
    stealPct: steal,
    samples,
  };
  await Deno.mkdir(OUT, { recursive: true });
  const file = o.json ?? `${OUT}/stream-flood-${result.date.replace(/[:.]/g, "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2));
  console.log(`  steal ${steal.toFixed(1)} %; JSON: ${file}`);
}

if (import.meta.main) await main();

/**
 * `deno run -A bench/churn.ts [options]`: connection churn against dm-live. Starts the dm-live in
 * --dir (default: this checkout), a synthetic publisher and two viewers, then for --duration seconds
 * --processes churner processes each keep --concurrency loops that connect from --addresses loopback
 * addresses (127.0.0.2 on; the legitimate clients are 127.0.0.1), do one of three things in turn and
 * close, as fast as the server lets them: close at once; send OPTIONS and wait for its answer; send
 * part of a request (half a request line, or an ANNOUNCE head announcing a 131,072-byte body and a
 * few bytes of it). Reports the cycles per second sustained, the server's CPU and RSS before, during
 * and after (does it come back?), the most connections it held from the churners, its log volume, a
 * legitimate client's OPTIONS + DESCRIBE every 250 ms (before, during, after), the viewers' packets,
 * gaps and longest wait, and, after the churn, whether each churning address is still served (its
 * connection count and its pending-body bytes returned). Pass another checkout's --dir to compare.
 */
import net from "node:net";
import { parseArgs } from "node:util";
import { cores, sampleCpu, sampleProc } from "./measure.ts";
import {
  attackerAddresses,
  heldFrom,
  logSize,
  probeLoop,
  type ProbeResult,
  probeSummary,
  sleep,
  startPublisher,
  startServer,
  startViewers,
  today,
  viewerSummary,
} from "./attack_rig.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface ChurnPlan {
  port: number;
  addresses: string[];
  concurrency: number;
  durationMs: number;
  /** Which loops this process runs: loop i uses addresses[(offset + i) % addresses.length]. */
  offset: number;
}

type CycleKind = "close" | "options" | "partial";
const KINDS: CycleKind[] = ["close", "options", "partial"];

interface ChurnReport {
  cycles: Record<CycleKind, number>;
  errors: Record<string, number>;
  /** Answers to OPTIONS by status, and anything the server said to the others. */
  statuses: Record<string, number>;
  ms: number;
}

/** One connect-act-close cycle; resolves with its error code, or null. */
function cycle(plan: ChurnPlan, kind: CycleKind, localAddress: string, n: number, r: ChurnReport) {
  return new Promise<void>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: plan.port, localAddress });
    let done = false;
    const finish = (err: string | null) => {
      if (done) return;
      done = true;
      if (err === null) r.cycles[kind]++;
      else r.errors[`${kind}:${err}`] = (r.errors[`${kind}:${err}`] ?? 0) + 1;
      s.destroy();
      resolve();
    };
    s.on("error", (e: Error & { code?: string }) => finish(e.code ?? e.message));
    s.on("close", () => finish(kind === "options" ? "closed before the answer" : null));
    s.on("data", (d: Uint8Array) => {
      const status = new TextDecoder().decode(d.subarray(0, 12)).split(" ")[1] ?? "?";
      r.statuses[`${kind}:${status}`] = (r.statuses[`${kind}:${status}`] ?? 0) + 1;
      if (kind === "options") finish(null);
    });
    s.on("connect", () => {
      if (kind === "close") {
        s.end(() => finish(null));
      } else if (kind === "options") {
        s.write(`OPTIONS rtsp://127.0.0.1:${plan.port}/churn RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
      } else {
        const part = n % 2 === 0
          ? `DESCRIBE rtsp://127.0.0.1:${plan.port}/bench/s0 RTS`
          : `ANNOUNCE rtsp://127.0.0.1:${plan.port}/churn/${n} RTSP/1.0\r\nCSeq: 1\r\n` +
            `Content-Type: application/sdp\r\nContent-Length: 131072\r\n\r\nv=0\r\n`;
        s.write(part, () => s.end(() => finish(null)));
      }
    });
  });
}

/** The churner process: runs the plan and prints its report as one JSON line. */
async function churn(plan: ChurnPlan): Promise<void> {
  const r: ChurnReport = { cycles: { close: 0, options: 0, partial: 0 }, errors: {}, statuses: {}, ms: 0 };
  const t0 = performance.now();
  const end = t0 + plan.durationMs;
  let n = 0;
  const loop = async (i: number) => {
    const addr = plan.addresses[(plan.offset + i) % plan.addresses.length];
    while (performance.now() < end) {
      const k = n++;
      await cycle(plan, KINDS[k % 3], addr, k, r);
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, (_, i) => loop(i)));
  r.ms = performance.now() - t0;
  console.log(JSON.stringify(r));
  Deno.exit(0);
}

/**
 * After the churn, from `addr`: an OPTIONS (answered 200 when the address's connection count came
 * back) and an ANNOUNCE whose 131,072-byte body is sent in full (not 503 when its pending-body bytes
 * came back; the body is no SDP, so 400 is the expected answer).
 */
async function checkAddress(port: number, addr: string): Promise<string> {
  const ask = (req: Uint8Array) =>
    new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port, localAddress: addr });
      const t = setTimeout(() => (s.destroy(), resolve("no answer in 5 s")), 5000);
      s.on("error", (e: Error & { code?: string }) => (clearTimeout(t), resolve(e.code ?? e.message)));
      s.on("close", () => (clearTimeout(t), resolve("closed without an answer")));
      s.on("data", (d: Uint8Array) => {
        clearTimeout(t);
        resolve(new TextDecoder().decode(d.subarray(0, 12)).split(" ")[1] ?? "?");
        s.destroy();
      });
      s.on("connect", () => s.write(req));
    });
  const options = await ask(
    new TextEncoder().encode(`OPTIONS rtsp://127.0.0.1:${port}/x RTSP/1.0\r\nCSeq: 1\r\n\r\n`),
  );
  const head = new TextEncoder().encode(
    `ANNOUNCE rtsp://127.0.0.1:${port}/check/${addr} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n` +
      `Content-Length: 131072\r\n\r\n`,
  );
  const req = new Uint8Array(head.length + 131072).fill(0x61);
  req.set(head);
  const announce = await ask(req);
  return `OPTIONS ${options}, ANNOUNCE of a full body ${announce}`;
}

const HELP = `deno run -A bench/churn.ts [options]
  --dir DIR          the dm-live checkout to run (default: this one)
  --addresses K      churning addresses, 127.0.0.2 on (default 1)
  --concurrency N    connect-act-close loops per churner process (default 64)
  --processes P      churner processes (default 1)
  --duration S       seconds of churn (default 30)
  --after S          seconds to watch after it (default 30)
  --set KEY=VALUE    a dm-live config key for the run (repeatable)
  --label TEXT       names the run in the output`;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string", default: ROOT },
      addresses: { type: "string", default: "1" },
      concurrency: { type: "string", default: "64" },
      processes: { type: "string", default: "1" },
      duration: { type: "string", default: "30" },
      after: { type: "string", default: "30" },
      set: { type: "string", multiple: true, default: [] },
      label: { type: "string", default: "" },
      churn: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (a.help) return console.log(HELP);
  if (a.churn) return await churn(JSON.parse(a.churn));
  const dir = a.dir.endsWith("/") ? a.dir : `${a.dir}/`;
  const addresses = attackerAddresses(Number(a.addresses));
  const durationMs = Number(a.duration) * 1000;
  const afterMs = Number(a.after) * 1000;
  const processes = Number(a.processes);
  const concurrency = Number(a.concurrency);
  const commit = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["-C", dir, "rev-parse", "--short", "HEAD"], stdout: "piped" })
      .output())
      .stdout,
  ).trim();

  const server = await startServer(dir, a.set);
  const children: Deno.ChildProcess[] = [];
  try {
    const url = `rtsp://127.0.0.1:${server.port}/bench/s0`;
    children.push(await startPublisher(url));
    await sleep(1500);
    const BEFORE_MS = 5000;
    const tStart = Date.now();
    const tChurn = tStart + BEFORE_MS;
    const tEnd = tChurn + durationMs;
    const tDone = tEnd + afterMs;
    const viewers = startViewers(url, 2, 4, tStart + 1000, tDone);
    const probes = probeLoop(url, 250, tDone);
    const rssBefore = sampleProc(server.pid)!;
    await sleep(tChurn - Date.now());
    const p0 = sampleProc(server.pid)!;
    const cpu0 = sampleCpu();
    const log0 = logSize(server.logFile);
    const churners = Array.from({ length: processes }, (_, i) => {
      const plan: ChurnPlan = {
        port: server.port,
        addresses,
        concurrency,
        durationMs,
        offset: i * concurrency,
      };
      const c = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, "--churn", JSON.stringify(plan)],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      children.push(c);
      return c.output().then((o) =>
        JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!) as ChurnReport
      );
    });
    let maxHeld = 0;
    let maxRss = 0;
    while (Date.now() < tEnd) {
      await sleep(1000);
      maxHeld = Math.max(maxHeld, heldFrom(server.port, addresses));
      maxRss = Math.max(maxRss, sampleProc(server.pid)?.rssKiB ?? 0);
    }
    const reports = await Promise.all(churners);
    const p1 = sampleProc(server.pid)!;
    const cpu1 = sampleCpu();
    const log1 = logSize(server.logFile);
    const heldAtEnd = heldFrom(server.port, addresses);
    await sleep(Math.min(afterMs, 10_000) - (Date.now() - tEnd));
    const rss10 = sampleProc(server.pid)!;
    const checks = [];
    for (const addr of addresses) checks.push(`${addr}: ${await checkAddress(server.port, addr)}`);
    await sleep(tDone - Date.now());
    const rssAfter = sampleProc(server.pid)!;
    const probeResults = await probes;
    const viewerReport = await viewers;

    const sum = (f: (r: ChurnReport) => number) => reports.reduce((s, r) => s + f(r), 0);
    const cycles = sum((r) => r.cycles.close + r.cycles.options + r.cycles.partial);
    const seconds = Math.max(...reports.map((r) => r.ms)) / 1000;
    const errors: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    for (const r of reports) {
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    }
    const stealPct = (100 * (cpu1.steal - cpu0.steal)) / Math.max(1, cpu1.total - cpu0.total);
    const idlePct = (100 * (cpu1.idle - cpu0.idle)) / Math.max(1, cpu1.total - cpu0.total);
    const during = (r: ProbeResult) => r.at >= tChurn && r.at < tEnd;
    const mib = (k: number) => (k / 1024).toFixed(1);
    const out: string[] = [];
    out.push(
      `churn ${
        a.label || dir
      } (${commit}), ${today()}: ${processes}x${concurrency} loops from ${addresses.length} address(es) for ${
        seconds.toFixed(0)
      } s (connect, then close / OPTIONS / part of a request, close)`,
    );
    out.push(
      `  ${(cycles / seconds).toFixed(0)} cycles/s (close ${sum((r) => r.cycles.close)}, options ${
        sum((r) => r.cycles.options)
      }, partial ${sum((r) => r.cycles.partial)}); errors ${JSON.stringify(errors)}; answers ${
        JSON.stringify(statuses)
      }`,
    );
    out.push(
      `  server CPU ${cores(p0, p1).toFixed(2)} cores, ${
        (cores(p0, p1) * 1e6 / (cycles / seconds)).toFixed(0)
      } us per cycle (machine idle ${idlePct.toFixed(0)} %, steal ${
        stealPct.toFixed(1)
      } %); held from churners: max ${maxHeld}, at the end ${heldAtEnd}; log ${
        log1.lines - log0.lines
      } lines (${((log1.bytes - log0.bytes) / 1024 / 1024).toFixed(1)} MiB, ${
        ((log1.bytes - log0.bytes) / Math.max(1, cycles)).toFixed(0)
      } B per cycle)`,
    );
    out.push(
      `  RSS before ${mib(rssBefore.rssKiB)} MiB, max during ${mib(maxRss)} MiB, at the end ${
        mib(p1.rssKiB)
      }, 10 s after ${mib(rss10.rssKiB)}, ${(afterMs / 1000).toFixed(0)} s after ${mib(rssAfter.rssKiB)} MiB`,
    );
    out.push(`  legitimate client before: ${probeSummary(probeResults.filter((r) => r.at < tChurn))}`);
    out.push(`  legitimate client during: ${probeSummary(probeResults.filter(during))}`);
    out.push(`  legitimate client after: ${probeSummary(probeResults.filter((r) => r.at >= tEnd))}`);
    out.push(`  ${viewerSummary(viewerReport)}`);
    out.push(`  churning addresses after: ${checks.join("; ")}`);
    console.log(out.join("\n"));
    await Deno.mkdir(`${ROOT}bench/out`, { recursive: true });
    await Deno.writeTextFile(
      `${ROOT}bench/out/churn-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
      JSON.stringify(
        { commit, dir, addresses, reports, probeResults, viewerReport, stealPct, checks },
        null,
        1,
      ),
    );
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // Expected: already exited.
      }
    }
    await server.stop();
    await Deno.remove(server.logFile).catch(() => {});
  }
}

if (import.meta.main) await main();

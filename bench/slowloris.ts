/**
 * `deno run -A bench/slowloris.ts [options]`: slowloris against dm-live. Starts the dm-live in --dir
 * (default: this checkout), a synthetic publisher and two viewers, then opens --connections attacker
 * connections from --addresses loopback addresses (127.0.0.2 on; the legitimate clients are
 * 127.0.0.1): half trickle a request one byte every --trickle-ms, half never send anything. At each
 * of --at seconds it counts the attacker connections the server still holds (/proc/net/tcp: accepted
 * sockets a process owns) and those each kind of attacker still has open, and the server's RSS;
 * meanwhile a legitimate client connects, sends OPTIONS and DESCRIBE every 250 ms (p50/p99), the
 * viewers count packets and gaps and two more join. --tls attacks the RTSPS port instead (a TLS
 * ClientHello trickled). Pass another checkout's --dir to compare.
 */
import net from "node:net";
import { parseArgs } from "node:util";
import { cores, percentile, sampleCpu, sampleProc } from "./measure.ts";
import { makeTestCert } from "../src/net/testdata/tls_cert.ts";
import {
  attackerAddresses,
  heldFrom,
  logSize,
  probeLoop,
  probeSummary,
  sleep,
  startPublisher,
  startServer,
  startViewers,
  today,
  viewerSummary,
} from "./attack_rig.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface AttackPlan {
  port: number;
  addresses: string[];
  connections: number;
  trickleMs: number;
  /** Seconds from start at which to report what is still open. */
  at: number[];
  /** Open a new connection for each one the server closes. */
  reconnect: boolean;
  /** Attack the RTSPS port instead: trickle a TLS ClientHello, byte by byte. */
  tlsPort: number;
}

/** A TLS ClientHello as Deno sends it (captured from a connectTls to a plain listener). */
async function clientHello(): Promise<Uint8Array> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tls = Deno.connectTls({ hostname: "127.0.0.1", port: l.addr.port }).catch(() => null);
  const c = await l.accept();
  const buf = new Uint8Array(16384);
  const n = (await c.read(buf)) ?? 0;
  c.close();
  l.close();
  (await tls)?.close();
  return buf.slice(0, n);
}

interface Kind {
  opened: number;
  failed: number;
  open: number;
  closedByServer: number;
  /** Closed within 100 ms of connecting with no answer: refused at accept. */
  refusedAtOnce: number;
  statuses: Record<string, number>;
  lifetimesMs: number[];
}

/** The attacker process: runs the plan and prints one JSON line per --at sample. */
async function attack(plan: AttackPlan): Promise<void> {
  const t0 = performance.now();
  const kinds: Record<"trickle" | "silent", Kind> = {
    trickle: {
      opened: 0,
      failed: 0,
      open: 0,
      closedByServer: 0,
      refusedAtOnce: 0,
      statuses: {},
      lifetimesMs: [],
    },
    silent: {
      opened: 0,
      failed: 0,
      open: 0,
      closedByServer: 0,
      refusedAtOnce: 0,
      statuses: {},
      lifetimesMs: [],
    },
  };
  const request: Uint8Array = plan.tlsPort > 0 ? await clientHello() : new TextEncoder().encode(
    `OPTIONS rtsp://127.0.0.1:${plan.port}/live/slow RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ${"a".repeat(4000)}`,
  );
  const port = plan.tlsPort > 0 ? plan.tlsPort : plan.port;
  const sockets = new Set<net.Socket>();
  let stopping = false;
  const open = (i: number): Promise<void> => {
    const kind = i % 2 === 0 ? "trickle" : "silent";
    const k = kinds[kind];
    k.opened++;
    return new Promise((resolve) => {
      const s = net.connect({
        host: "127.0.0.1",
        port,
        localAddress: plan.addresses[i % plan.addresses.length],
      });
      sockets.add(s);
      let connectedAt = 0;
      let answered = false;
      let sent = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      s.on("connect", () => {
        connectedAt = performance.now();
        k.open++;
        resolve();
        if (kind === "trickle") {
          const tick = () => {
            if (sent < request.length && !s.destroyed) s.write(request.subarray(sent, ++sent));
          };
          tick();
          setTimeout(
            () => (timer = setInterval(tick, plan.trickleMs), tick()),
            Math.random() * plan.trickleMs,
          );
        }
      });
      s.on("data", (d: Uint8Array) => {
        if (answered) return;
        answered = true;
        const status = new TextDecoder().decode(d.subarray(0, 12)).split(" ")[1] ?? "?";
        k.statuses[status] = (k.statuses[status] ?? 0) + 1;
      });
      s.on("error", () => {
        // Reported through close.
      });
      s.on("close", () => {
        clearInterval(timer);
        sockets.delete(s);
        if (connectedAt === 0) {
          k.failed++;
          resolve();
          return;
        }
        k.open--;
        if (stopping) return;
        k.closedByServer++;
        const life = performance.now() - connectedAt;
        k.lifetimesMs.push(life);
        if (life < 100 && !answered) k.refusedAtOnce++;
        if (plan.reconnect) setTimeout(() => open(i), 100);
      });
    });
  };
  // Opened 50 at a time, as fast as the server accepts.
  for (let i = 0; i < plan.connections; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(plan.connections, i + 50); j++) batch.push(open(j));
    await Promise.all(batch);
  }
  const openedInMs = performance.now() - t0;
  for (const at of plan.at) {
    await sleep(t0 + at * 1000 - performance.now());
    const summary = Object.fromEntries(
      Object.entries(kinds).map(([name, k]) => [name, {
        opened: k.opened,
        failed: k.failed,
        open: k.open,
        closedByServer: k.closedByServer,
        refusedAtOnce: k.refusedAtOnce,
        statuses: k.statuses,
        lifetimeP50Ms: Math.round(percentile(k.lifetimesMs, 50)),
        lifetimeMaxMs: Math.round(k.lifetimesMs.length ? Math.max(...k.lifetimesMs) : NaN),
      }]),
    );
    console.log(JSON.stringify({ at, openedInMs: Math.round(openedInMs), ...summary }));
  }
  stopping = true;
  for (const s of sockets) s.destroy();
  await sleep(200);
  Deno.exit(0);
}

const HELP = `deno run -A bench/slowloris.ts [options]
  --dir DIR          the dm-live checkout to run (default: this one)
  --connections N    attacker connections (default 2000): half trickle, half silent
  --addresses K      attacker addresses, 127.0.0.2 on (default 1)
  --trickle-ms MS    one byte per connection this often (default 3000)
  --at S,S,...       seconds at which to count what the server holds (default 15,60,75)
  --reconnect        attackers open a new connection for each one closed
  --tls              attack the RTSPS port (a self-signed certificate made for the run): trickle a
                     TLS ClientHello instead of a request
  --set KEY=VALUE    a dm-live config key for the run (repeatable)
  --label TEXT       names the run in the output`;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string", default: ROOT },
      connections: { type: "string", default: "2000" },
      addresses: { type: "string", default: "1" },
      "trickle-ms": { type: "string", default: "3000" },
      at: { type: "string", default: "15,60,75" },
      reconnect: { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      set: { type: "string", multiple: true, default: [] },
      label: { type: "string", default: "" },
      attack: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (a.help) return console.log(HELP);
  if (a.attack) return await attack(JSON.parse(a.attack));
  const dir = a.dir.endsWith("/") ? a.dir : `${a.dir}/`;
  const at = a.at.split(",").map(Number);
  const end = Math.max(...at);
  const addresses = attackerAddresses(Number(a.addresses));
  const connections = Number(a.connections);
  const commit = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["-C", dir, "rev-parse", "--short", "HEAD"], stdout: "piped" })
      .output())
      .stdout,
  ).trim();

  const cert = a.tls ? await makeTestCert() : null;
  const tlsPort = cert ? 35000 + Math.floor(Math.random() * 4000) : 0;
  const tlsSets = cert
    ? [`rtsp.tls.cert=${cert.certFile}`, `rtsp.tls.key=${cert.keyFile}`, `rtsp.tls.port=${tlsPort}`]
    : [];
  const server = await startServer(dir, [...tlsSets, ...a.set]);
  const children: Deno.ChildProcess[] = [];
  try {
    const url = `rtsp://127.0.0.1:${server.port}/bench/s0`;
    children.push(await startPublisher(url));
    await sleep(1500);
    const idle = sampleProc(server.pid)!;
    const cpu0 = sampleCpu();
    const log0 = logSize(server.logFile);
    const t0 = Date.now();
    const viewers = startViewers(url, 2, 2, t0 + 1000, t0 + end * 1000);
    const probes = probeLoop(url, 250, t0 + end * 1000);
    const plan: AttackPlan = {
      port: server.port,
      addresses,
      connections,
      trickleMs: Number(a["trickle-ms"]),
      at,
      reconnect: a.reconnect,
      tlsPort,
    };
    const attacker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--attack", JSON.stringify(plan)],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    children.push(attacker);
    const reports = attacker.output().then((o) =>
      new TextDecoder().decode(o.stdout).trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      )
    );
    const samples: { at: number; held: number; rssMiB: number }[] = [];
    for (const s of at) {
      await sleep(t0 + s * 1000 - Date.now());
      const p = sampleProc(server.pid);
      samples.push({
        at: s,
        held: heldFrom(tlsPort || server.port, addresses),
        rssMiB: (p?.rssKiB ?? NaN) / 1024,
      });
    }
    const busy = sampleProc(server.pid)!;
    const cpu1 = sampleCpu();
    const log1 = logSize(server.logFile);
    const attackReports = await reports;
    const probeResults = await probes;
    const viewerReport = await viewers;
    await sleep(5000);
    const after = sampleProc(server.pid)!;
    const stealPct = (100 * (cpu1.steal - cpu0.steal)) / Math.max(1, cpu1.total - cpu0.total);

    const mib = (k: number) => (k / 1024).toFixed(1);
    const out: string[] = [];
    out.push(
      `slowloris ${
        a.label || dir
      } (${commit}), ${today()}: ${connections} connections from ${addresses.length} address(es)` +
        `, half trickling 1 byte/${plan.trickleMs} ms, half silent${plan.reconnect ? ", reconnecting" : ""}${
          tlsPort ? ", to the RTSPS port (a ClientHello trickled)" : ""
        }`,
    );
    for (const s of samples) {
      const r = attackReports.find((x) => x.at === s.at);
      const kinds = r
        ? ` (attacker's view: trickle ${r.trickle.open} open, silent ${r.silent.open} open; refused at accept ${
          r.trickle.refusedAtOnce + r.silent.refusedAtOnce
        }; answers ${JSON.stringify({ ...r.trickle.statuses })} / ${
          JSON.stringify({ ...r.silent.statuses })
        })`
        : "";
      out.push(
        `  at ${s.at} s: server holds ${s.held} attacker connections, RSS ${s.rssMiB.toFixed(1)} MiB${kinds}`,
      );
    }
    const last = attackReports.at(-1);
    if (last) {
      out.push(
        `  attacker lifetimes p50 trickle ${last.trickle.lifetimeP50Ms} ms, silent ${last.silent.lifetimeP50Ms} ms; opened in ${last.openedInMs} ms`,
      );
    }
    out.push(
      `  RSS idle ${mib(idle.rssKiB)} MiB, 5 s after the attack ${mib(after.rssKiB)} MiB; server CPU ${
        cores(idle, busy).toFixed(2)
      } cores; steal ${stealPct.toFixed(1)} %; log ${log1.lines - log0.lines} lines (${
        ((log1.bytes - log0.bytes) / 1024).toFixed(0)
      } KiB)`,
    );
    out.push(`  legitimate client: ${probeSummary(probeResults)}`);
    out.push(`  ${viewerSummary(viewerReport)}`);
    console.log(out.join("\n"));
    await Deno.mkdir(`${ROOT}bench/out`, { recursive: true });
    await Deno.writeTextFile(
      `${ROOT}bench/out/slowloris-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
      JSON.stringify(
        { commit, dir, plan, samples, attackReports, probeResults, viewerReport, stealPct, idle, after },
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
    await cert?.remove();
    await Deno.remove(server.logFile).catch(() => {});
  }
}

if (import.meta.main) await main();

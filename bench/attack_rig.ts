/**
 * What the attack benches (bench/slowloris.ts, bench/churn.ts) share: a dm-live from any checkout
 * with its log (stdout and stderr) in a file, the synthetic publisher, a playing viewer (bench/load_client.ts), a
 * legitimate client's probe (OPTIONS then DESCRIBE on one connection, timed) and a count of the
 * connections the server holds from given addresses (/proc/net/tcp). The attack itself runs in a
 * child process of its own, so the probe's latency is the server's and not the attacker's event loop.
 */
import { SERVER_V8_FLAGS } from "../src/v8_flags.ts";
import type { LoadPlan, LoadReport } from "./load_client.ts";
import { percentile } from "./measure.ts";

const ROOT = new URL("../", import.meta.url).pathname;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Server {
  pid: number;
  port: number;
  logFile: string;
  proc: Deno.ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `dir`'s main.ts as `deno task start` does (the server permission set, the V8 flags), on a
 * random port with UDP and the API off, log level info (the default), stdout and stderr to a file.
 */
export async function startServer(dir: string, sets: string[] = []): Promise<Server> {
  const port = 31000 + Math.floor(Math.random() * 4000);
  const logFile = await Deno.makeTempFile({ prefix: "dm-live-attack-", suffix: ".log" });
  const file = await Deno.open(logFile, { write: true });
  const args = ["run", "-P=server", SERVER_V8_FLAGS, `${dir}/main.ts`, "--port", String(port)];
  for (const s of ["udp.portBase=0", "api.enabled=false", ...sets]) args.push("--set", s);
  const proc = new Deno.Command(Deno.execPath(), {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  for (const from of [proc.stdout, proc.stderr]) {
    (async () => {
      for await (const chunk of from) {
        for (let o = 0; o < chunk.length;) o += file.writeSync(chunk.subarray(o));
      }
    })().catch(() => {
      // Expected: the server was killed.
    });
  }
  for (let i = 0; i < 200; i++) {
    const up = await Deno.connect({ port }).then((c) => (c.close(), true), () => false);
    if (up) break;
    await sleep(100);
  }
  await sleep(500);
  return {
    pid: proc.pid,
    port,
    logFile,
    proc,
    async stop() {
      try {
        proc.kill("SIGKILL");
      } catch {
        // Expected: already gone.
      }
      await proc.status;
      file.close();
    },
  };
}

/** The synthetic publisher (bench/stamped_publisher.ts) at 928 kbit/s; resolves once DESCRIBE answers 200. */
export async function startPublisher(url: string): Promise<Deno.ChildProcess> {
  const p = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}bench/stamped_publisher.ts`,
      JSON.stringify({ urls: [url], bitrateKbit: 928 }),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    if ((await probe(url)).describeStatus === 200) return p;
    await sleep(100);
  }
  throw new Error(`publisher never published ${url}`);
}

/**
 * `viewers` viewers playing `url` from now until `untilMs` (epoch), and `joiners` that join during
 * the window (bench/load_client.ts). The report comes when the window ends.
 */
export function startViewers(url: string, viewers: number, joiners: number, fromMs: number, untilMs: number) {
  const plan: LoadPlan = {
    urls: [url],
    viewers,
    rampStartAt: Date.now(),
    rampEndAt: Date.now() + 200,
    steadyStartAt: fromMs,
    steadyEndAt: untilMs,
    joiners,
    keepAliveMs: 20_000,
    stallFrom: fromMs,
    holdUntil: untilMs + 1,
  };
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}bench/load_client.ts`, JSON.stringify(plan)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return p.output().then((o) => {
    const line = new TextDecoder().decode(o.stdout).trim().split("\n").pop() ?? "";
    return JSON.parse(line) as LoadReport;
  });
}

export interface ProbeResult {
  at: number;
  /** ms to connect, to OPTIONS' answer, to DESCRIBE's answer (NaN where it never came). */
  connectMs: number;
  optionsMs: number;
  describeMs: number;
  describeStatus: number;
  error: string | null;
}

/** One legitimate client: connect, OPTIONS, DESCRIBE `url` on that connection, close; 5 s at most. */
export async function probe(url: string, timeoutMs = 5000): Promise<ProbeResult> {
  const r: ProbeResult = {
    at: Date.now(),
    connectMs: NaN,
    optionsMs: NaN,
    describeMs: NaN,
    describeStatus: 0,
    error: null,
  };
  const u = new URL(url.replace(/^rtsp:/, "http:"));
  let c: Deno.TcpConn | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const work = async () => {
    const t0 = performance.now();
    c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    r.connectMs = performance.now() - t0;
    const reader = new ResponseReader(c);
    let t = performance.now();
    await c.write(new TextEncoder().encode(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\n`));
    const o = await reader.next();
    if (!o.startsWith("RTSP/1.0 200")) throw new Error(`OPTIONS: ${o.split("\r\n")[0]}`);
    r.optionsMs = performance.now() - t;
    t = performance.now();
    await c.write(
      new TextEncoder().encode(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n`),
    );
    const d = await reader.next();
    r.describeMs = performance.now() - t;
    r.describeStatus = Number(d.split(" ")[1]);
  };
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), timeoutMs))),
    ]);
  } catch (e) {
    r.error = (e as Error).message.split("\n")[0];
  } finally {
    clearTimeout(timer);
    try {
      (c as Deno.TcpConn | null)?.close();
    } catch {
      // Expected: closed by the server.
    }
  }
  return r;
}

/** Whole RTSP responses (head and Content-Length body) from a connection. */
class ResponseReader {
  #buf = "";
  readonly #conn: Deno.TcpConn;
  readonly #chunk = new Uint8Array(65536);
  readonly #dec = new TextDecoder();
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }
  async next(): Promise<string> {
    for (;;) {
      const end = this.#buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const len = Number(/\r\nContent-Length:\s*(\d+)/i.exec(this.#buf.slice(0, end))?.[1] ?? 0);
        if (this.#buf.length >= end + 4 + len) {
          const msg = this.#buf.slice(0, end + 4 + len);
          this.#buf = this.#buf.slice(end + 4 + len);
          return msg;
        }
      }
      const n = await this.#conn.read(this.#chunk);
      if (n === null) throw new Error("closed by the server");
      this.#buf += this.#dec.decode(this.#chunk.subarray(0, n));
    }
  }
}

/** Probes `url` every `everyMs` until `untilMs` (epoch). */
export async function probeLoop(url: string, everyMs: number, untilMs: number): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  while (Date.now() < untilMs) {
    const t = Date.now();
    out.push(await probe(url));
    await sleep(Math.max(0, everyMs - (Date.now() - t)));
  }
  return out;
}

/** p50/p99/max of the probes' DESCRIBE times and how many probes failed (not a 200), as text. */
export function probeSummary(rs: ProbeResult[]): string {
  const ok = rs.filter((r) => r.describeStatus === 200);
  const d = ok.map((r) => r.describeMs);
  const c = ok.map((r) => r.connectMs + r.optionsMs + r.describeMs);
  const errors = [
    ...new Set(rs.filter((r) => r.describeStatus !== 200).map((r) => r.error ?? `${r.describeStatus}`)),
  ];
  const f = (x: number) => x.toFixed(1);
  return `${ok.length}/${rs.length} served; DESCRIBE p50 ${f(percentile(d, 50))} p99 ${
    f(percentile(d, 99))
  } max ${f(Math.max(...d))} ms; connect+OPTIONS+DESCRIBE p99 ${f(percentile(c, 99))} ms` +
    (errors.length ? `; failed: ${errors.join(", ")}` : "");
}

/** The viewers' report as text: packets, sequence gaps, disconnects, the longest wait between packets, joiners. */
export function viewerSummary(v: LoadReport): string {
  const stalls = v.hold?.stalls.map((s) => s.maxMs) ?? [];
  const joined = v.joinFirstKeyframeMs;
  return `viewers ${v.connected}/${v.viewers} playing, ${v.steadyPackets} packets, ${v.gaps} gaps, ${v.disconnects} disconnects, ` +
    `longest wait between packets ${stalls.length ? Math.max(...stalls).toFixed(0) : "?"} ms; ` +
    `joiners ${joined.length} got a keyframe (max ${
      joined.length ? Math.max(...joined).toFixed(0) : "-"
    } ms)` +
    (v.errors.length ? `; errors: ${v.errors.join(", ")}` : "");
}

/** The IPv4 address of /proc/net/tcp's little-endian hex form. */
function hexToV4(h: string): string {
  const n = parseInt(h, 16);
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${n >>> 24}`;
}

/**
 * Connections to `port` the server has accepted and still holds (a socket with an inode: a process
 * owns it; refused or closed ones have none), per remote address, from /proc/net/tcp and tcp6
 * (IPv4-mapped addresses).
 */
export function heldByAddress(port: number): Map<string, number> {
  const out = new Map<string, number>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [local, remote, inode] = [f[1], f[2], f[9]];
      if (!local.endsWith(`:${hexPort}`) || inode === "0") continue;
      // Listening sockets have remote 0: skip them.
      if (f[3] === "0A") continue;
      const rh = remote.split(":")[0];
      const addr = rh.length === 8
        ? hexToV4(rh)
        : rh.startsWith("0000000000000000FFFF0000")
        ? hexToV4(rh.slice(24))
        : rh;
      out.set(addr, (out.get(addr) ?? 0) + 1);
    }
  }
  return out;
}

/** Sum of heldByAddress over `addrs`. */
export function heldFrom(port: number, addrs: readonly string[]): number {
  const m = heldByAddress(port);
  return addrs.reduce((s, a) => s + (m.get(a) ?? 0), 0);
}

/** Lines and bytes the server has logged so far. */
export function logSize(file: string): { lines: number; bytes: number } {
  const t = Deno.readTextFileSync(file);
  return { lines: t.split("\n").length - 1, bytes: t.length };
}

/** Attacker addresses: `n` loopback addresses from 127.0.0.2 on (the legitimate client is 127.0.0.1). */
export function attackerAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`);
}

/** The Unix time as an ISO date (the figures' date). */
export const today = () => new Date().toISOString().slice(0, 10);

/** Runs `main.ts` as a real process (same flags as `deno task start`) and reads its log. */
import { Proc } from "./proc.ts";
import { SERVER_V8_FLAGS } from "../../src/v8_flags.ts";
import { type PortReservation, reservePorts, udpPortsHeld } from "./ports.ts";
import { isChildGone } from "./expected_errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Server starts tried, each on a fresh port slot, before a test fails for want of its ports. */
const START_TRIES = 4;

/** How to start a ServerProcess beyond its CLI args. */
export interface StartOptions {
  /** Leave the RTSP port to a --config file (else --port 0). */
  portFromConfig?: boolean;
  /** TCP ports to reserve for the server (s.tcpPorts), e.g. for rtsp.tunnelPort. */
  tcpPorts?: number;
  /** More CLI args made from those TCP ports. */
  argsWith?: (tcpPorts: readonly number[]) => string[];
  /** Run it with this open-file limit (util-linux prlimit --nofile). */
  openFiles?: number;
}

/** The value a CLI sets for a config key (the last of `--set key=v`, or `--flag v`), if any. */
function cliValue(args: string[], key: string, flag?: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === "--set" && args[i + 1].startsWith(`${key}=`)) v = args[i + 1].slice(key.length + 1);
    if (flag !== undefined && args[i] === flag) v = args[i + 1];
  }
  return v;
}

/** A dm-live process on free ports. */
export class ServerProcess {
  readonly proc: Proc;
  /** The RTSP port, and the UDP port base it was given. */
  port = 0;
  readonly udpPortBase: number;
  /** The TCP ports reserved for it (StartOptions.tcpPorts). */
  readonly tcpPorts: readonly number[];

  private constructor(proc: Proc, udpPortBase: number, tcpPorts: readonly number[]) {
    this.proc = proc;
    this.udpPortBase = udpPortBase;
    this.tcpPorts = tcpPorts;
  }

  /**
   * Starts main.ts with extra CLI args and waits for its "listening on" line, then checks that it
   * got its UDP ports (and its tunnel port, when one is set); if not, starts it again on a fresh
   * port slot. The ports are released when the process exits.
   */
  static async start(args: string[] = [], opts: StartOptions = {}): Promise<ServerProcess> {
    const failures: string[] = [];
    for (let attempt = 1; attempt <= START_TRIES; attempt++) {
      const workersArg = Number(cliValue(args, "workers", "--workers") ?? 0);
      const workers = workersArg > 0 ? workersArg : navigator.hardwareConcurrency || 1;
      const ownUdp = cliValue(args, "udp.portBase") === undefined;
      const ports = reservePorts({ workers: ownUdp ? workers : 0, tcp: opts.tcpPorts });
      const all = [...args, ...(opts.argsWith?.(ports.tcp) ?? [])];
      const s = ServerProcess.#spawn(all, opts, ownUdp ? ports : null);
      s.proc.done.finally(() => ports.release());
      const why = await s.#ready(all, ownUdp ? workers : 0);
      if (why === null) return s;
      failures.push(`attempt ${attempt}: ${why}`);
      s.proc.kill();
      await s.proc.done;
    }
    throw new Error(`dm-live never got its ports:\n${failures.join("\n")}`);
  }

  static #spawn(args: string[], opts: StartOptions, ports: PortReservation | null): ServerProcess {
    const backend = Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto";
    const limit = opts.openFiles === undefined
      ? []
      : [`--nofile=${opts.openFiles}:${opts.openFiles}`, Deno.execPath()];
    const proc = new Proc(limit.length > 0 ? "prlimit" : Deno.execPath(), [
      ...limit,
      "run",
      "-P=server",
      SERVER_V8_FLAGS,
      `${ROOT}main.ts`,
      ...(opts.portFromConfig ? [] : ["--port", "0"]),
      "--set",
      `net.backend=${backend}`,
      ...(ports !== null ? ["--set", `udp.portBase=${ports.udpBase}`] : []),
      "--set",
      "api.port=0",
      "--set",
      "hls.port=0",
      ...args,
    ]);
    return new ServerProcess(
      proc,
      ports?.udpBase ?? Number(cliValue(args, "udp.portBase")),
      ports?.tcp ?? [],
    );
  }

  /** Waits until it listens; null when it holds its ports, else what is wrong (or throws: no start). */
  async #ready(args: string[], udpWorkers: number): Promise<string | null> {
    const deadline = Date.now() + 15000;
    let exited = false;
    this.proc.done.then(() => exited = true);
    for (;;) {
      const m = /listening on rtsp:\/\/[^ ]+:(\d+) with/.exec(this.proc.stdout);
      if (m) {
        this.port = Number(m[1]);
        break;
      }
      // A reserved port another program took between the proof and the bind: a fresh slot.
      const taken = /failed to start: RTSPS on port \d+: .*(AddrInUse|[Aa]ddress already in use)/.exec(
        this.log,
      );
      if (taken) return taken[0];
      if (exited) {
        await this.proc.done;
        throw new Error(`dm-live did not start:\n${this.proc.stdout}\n${this.proc.stderr}`);
      }
      if (Date.now() > deadline) {
        this.proc.kill();
        throw new Error(`dm-live did not start:\n${this.proc.stdout}\n${this.proc.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const tunnel = cliValue(args, "rtsp.tunnelPort");
    if (tunnel !== undefined && tunnel !== "0") {
      const t = await this.waitLog(/RTSP over HTTP tunnelling (on port \d+|off: .*)/);
      if (t[1].startsWith("off")) return `tunnelling ${t[1]}`;
    }
    if (udpWorkers > 0 && cliValue(args, "api.enabled") !== "false") {
      const api = await this.apiUrl();
      return await udpPortsHeld(this.udpPortBase, udpWorkers, async () => {
        const text = await (await fetch(`${api}/metrics`)).text();
        const counts = new Map<number, number>();
        for (const m of text.matchAll(/^dm_live_udp_ignored_total\{worker="(\d+)"\} (\d+)$/gm)) {
          counts.set(Number(m[1]), Number(m[2]));
        }
        return counts;
      });
    }
    return null;
  }

  /** Everything the server logged so far (stdout and stderr). */
  get log(): string {
    return this.proc.stdout + this.proc.stderr;
  }

  /** Waits until the log matches `re`; its match. */
  async waitLog(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.log);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`log never matched ${re}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The HTTP API's base URL, from its "API on" line. */
  async apiUrl(): Promise<string> {
    return (await this.waitLog(/API on (http:\/\/[^ ]+)/))[1];
  }

  url(path: string): string {
    return `rtsp://127.0.0.1:${this.port}/${path}`;
  }

  /** SIGTERM, then the exit status (killed after timeoutMs). */
  async stop(timeoutMs = 8000): Promise<Deno.CommandStatus> {
    try {
      this.proc.child.kill("SIGTERM");
    } catch (e) {
      // Expected: the server already exited (its status then tells how).
      if (!isChildGone(e)) throw e;
    }
    return await this.proc.wait(timeoutMs);
  }
}

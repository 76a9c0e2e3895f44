/** Runs `main.ts` as a real process (same flags as `deno task start`) and reads its log. */
import { Proc } from "./proc.ts";
import { SERVER_V8_FLAGS } from "../../src/v8_flags.ts";
import { testUdpPortBase } from "./udp_ports.ts";
import { isChildGone } from "./expected_errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A dm-live process on a free port. */
export class ServerProcess {
  readonly proc: Proc;
  /** The RTSP port, and the UDP port base it was given. */
  port = 0;
  readonly udpPortBase: number;

  private constructor(proc: Proc, udpPortBase: number) {
    this.proc = proc;
    this.udpPortBase = udpPortBase;
  }

  /**
   * Starts main.ts with extra CLI args and waits for its "listening on" line. On a free port
   * (--port 0) unless `portFromConfig` leaves the port to a --config file.
   */
  static async start(args: string[] = [], opts: { portFromConfig?: boolean } = {}): Promise<ServerProcess> {
    const backend = Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto";
    const udpPortBase = testUdpPortBase();
    const proc = new Proc(Deno.execPath(), [
      "run",
      "-P=server",
      SERVER_V8_FLAGS,
      `${ROOT}main.ts`,
      ...(opts.portFromConfig ? [] : ["--port", "0"]),
      "--set",
      `net.backend=${backend}`,
      "--set",
      `udp.portBase=${udpPortBase}`,
      "--set",
      "api.port=0",
      ...args,
    ]);
    const s = new ServerProcess(proc, udpPortBase);
    const deadline = Date.now() + 15000;
    for (;;) {
      const m = /listening on rtsp:\/\/[^ ]+:(\d+) with/.exec(proc.stdout);
      if (m) {
        s.port = Number(m[1]);
        return s;
      }
      if (Date.now() > deadline) {
        proc.kill();
        throw new Error(`dm-live did not start:\n${proc.stdout}\n${proc.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
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

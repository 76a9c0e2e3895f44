/** Runs `main.ts` as a real process (same flags as `deno task start`) and reads its log. */
import { Proc } from "./proc.ts";
import { testUdpPortBase } from "./udp_ports.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A dm-live process on a free port. */
export class ServerProcess {
  readonly proc: Proc;
  port = 0;

  private constructor(proc: Proc) {
    this.proc = proc;
  }

  /** Starts main.ts with extra CLI args and waits for its "listening on" line. */
  static async start(args: string[] = []): Promise<ServerProcess> {
    const backend = Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto";
    const proc = new Proc(Deno.execPath(), [
      "run",
      "-P=server",
      `${ROOT}main.ts`,
      "--port",
      "0",
      "--set",
      `net.backend=${backend}`,
      "--set",
      `udp.portBase=${testUdpPortBase()}`,
      "--set",
      "api.port=0",
      ...args,
    ]);
    const s = new ServerProcess(proc);
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

  url(path: string): string {
    return `rtsp://127.0.0.1:${this.port}/${path}`;
  }

  /** SIGTERM, then the exit status (killed after timeoutMs). */
  async stop(timeoutMs = 8000): Promise<Deno.CommandStatus> {
    try {
      this.proc.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    return await this.proc.wait(timeoutMs);
  }
}

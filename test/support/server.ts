/** Runs a dm-live server in this process for a test, on free ports. */
import { type Config, DEFAULT_CONFIG, withOverrides } from "../../src/config.ts";
import { Logger, type LogLevel } from "../../src/log/logger.ts";
import { type ServerHandle, startServer } from "../../src/cluster/cluster.ts";
import { type PortReservation, reservePorts, udpPortsHeld } from "./ports.ts";

/** Server starts tried, each on a fresh port slot, before a test fails for want of UDP ports. */
const START_TRIES = 4;

/** What the server's main thread logged (every level, whatever the test log level prints). */
export class MainLog {
  readonly lines: string[] = [];

  /** Waits until a line matches `re`; its match. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (Date.now() > deadline) throw new Error(`the server never logged ${re}:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * Starts a server with config overrides (dotted keys), runs fn, always stops it. RTSP on port 0;
 * the UDP ports (unless the overrides name udp.portBase) and `tcpPorts` more TCP ports (handed to
 * fn, for rtsp.tunnelPort) come from a reserved slot, and the server is started again on another
 * one when it did not get its UDP ports.
 */
export async function withServer(
  overrides: Record<string, unknown>,
  fn: (server: ServerHandle, config: Config, log: MainLog, tcpPorts: readonly number[]) => Promise<void>,
  opts: { tcpPorts?: number; configure?: (tcpPorts: readonly number[]) => Record<string, unknown> } = {},
): Promise<void> {
  const level = (Deno.env.get("TEST_LOG_LEVEL") ?? "error") as LogLevel;
  const ownUdp = !("udp.portBase" in overrides);
  const failures: string[] = [];
  for (let attempt = 1; attempt <= START_TRIES; attempt++) {
    let workers = Number(overrides.workers ?? 2);
    if (!(workers > 0)) workers = navigator.hardwareConcurrency || 1;
    const ports: PortReservation = reservePorts({ workers: ownUdp ? workers : 0, tcp: opts.tcpPorts });
    let server: ServerHandle | null = null;
    try {
      const config = withOverrides(DEFAULT_CONFIG, {
        "rtsp.address": "127.0.0.1",
        "rtsp.port": 0,
        workers: 2,
        "log.level": level,
        "net.backend": Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto",
        // HLS on a port of its own for each server (tests that use it read the port from the log).
        "hls.port": 0,
        "hls.address": "127.0.0.1",
        ...(ownUdp ? { "udp.portBase": ports.udpBase } : {}),
        ...overrides,
        ...opts.configure?.(ports.tcp),
      });
      const log = new MainLog();
      // Main's lines all kept for the test; printed as the workers' are, from the test log level.
      const printed = new Logger(level);
      const sink = (l: LogLevel, line: string) => {
        log.lines.push(line);
        if (printed.enabled(l)) {
          // deno-lint-ignore no-console
          (l === "warn" || l === "error" ? console.error : console.log)(line);
        }
      };
      server = await startServer(config, new Logger("debug", "", sink));
      const s = server;
      if (ownUdp && config.udp.portBase > 0) {
        const why = await udpPortsHeld(
          config.udp.portBase,
          s.workers,
          async () => new Map((await s.stats()).map((r) => [r.worker, r.udpIgnored])),
        );
        if (why !== null) {
          failures.push(`attempt ${attempt}: ${why}`);
          continue;
        }
      }
      await fn(s, config, log, ports.tcp);
      return;
    } finally {
      await server?.stop();
      ports.release();
    }
  }
  throw new Error(`the test server never got its UDP ports:\n${failures.join("\n")}`);
}

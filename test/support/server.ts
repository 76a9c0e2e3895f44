/** Runs a dm-live server in this process for a test, on a free port. */
import { type Config, DEFAULT_CONFIG, withOverrides } from "../../src/config.ts";
import { Logger } from "../../src/log/logger.ts";
import { type ServerHandle, startServer } from "../../src/cluster/cluster.ts";
import { testUdpPortBase } from "./udp_ports.ts";

/** Starts a server with config overrides (dotted keys), runs fn, always stops it. */
export async function withServer(
  overrides: Record<string, unknown>,
  fn: (server: ServerHandle, config: Config) => Promise<void>,
): Promise<void> {
  const level = Deno.env.get("TEST_LOG_LEVEL") ?? "error";
  const config = withOverrides(DEFAULT_CONFIG, {
    "rtsp.address": "127.0.0.1",
    "rtsp.port": 0,
    workers: 2,
    "log.level": level,
    "net.backend": Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto",
    "udp.portBase": testUdpPortBase(),
    ...overrides,
  });
  const server = await startServer(config, new Logger(config.log.level));
  try {
    await fn(server, config);
  } finally {
    await server.stop();
  }
}

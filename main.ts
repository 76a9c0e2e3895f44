/**
 * dm-live: a low-latency RTSP relay. Reads the config, starts one RTSP worker per core and owns the
 * stream directory; the workers do everything else.
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, DEFAULT_CONFIG_YAML } from "./src/config.ts";
import { type ConfigSource, loadConfig, parseSetValue } from "./src/config_load.ts";
import { Logger } from "./src/log/logger.ts";
import { type ApiHandle, startApi } from "./src/api/http_api.ts";
import { startServer } from "./src/cluster/cluster.ts";
import { VERSION } from "./src/version.ts";

const HELP = `dm-live ${VERSION}: RTSP relay server

Usage: dm-live [options]

  --config FILE            YAML config (default: the embedded default config)
  --check-config           validate the config and exit
  --print-default-config   print the default config (every key commented) and exit
  --port N                 RTSP port (rtsp.port; 0 picks a free one)
  --address ADDR           RTSP listen address (rtsp.address)
  --workers N              worker threads (workers; 0 = one per core)
  --log-level LEVEL        debug, info, warn or error (log.level)
  --set KEY=VALUE          any config key, dotted (e.g. --set viewer.mergeWindowMs=20); repeatable
  --version                print the version and exit
  -h, --help               this text
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        "check-config": { type: "boolean" },
        "print-default-config": { type: "boolean" },
        port: { type: "string" },
        address: { type: "string" },
        workers: { type: "string" },
        "log-level": { type: "string" },
        set: { type: "string", multiple: true },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`dm-live: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  if (args.version) {
    console.log(VERSION);
    return 0;
  }
  if (args["print-default-config"]) {
    console.log(DEFAULT_CONFIG_YAML);
    return 0;
  }

  const source: ConfigSource = { file: args.config, overrides: {} };
  let config: Config;
  try {
    const o = source.overrides;
    if (args.port !== undefined) o["rtsp.port"] = Number(args.port);
    if (args.address !== undefined) o["rtsp.address"] = args.address;
    if (args.workers !== undefined) o["workers"] = Number(args.workers);
    if (args["log-level"] !== undefined) o["log.level"] = args["log-level"];
    for (const kv of args.set ?? []) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new ConfigError(`--set takes KEY=VALUE, got '${kv}'`);
      o[kv.slice(0, eq)] = parseSetValue(kv.slice(eq + 1));
    }
    config = await loadConfig(source);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`dm-live: bad config: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (args["check-config"]) {
    console.log(`config ok${args.config ? `: ${args.config}` : ""}`);
    return 0;
  }

  const log = new Logger(config.log.level, "", undefined, config.log.format === "json");
  log.info(`dm-live ${VERSION} starting`);
  const server = await startServer(config, log);
  let api: ApiHandle | null = null;
  if (config.api.enabled) {
    try {
      api = await startApi(config.api.address, config.api.port, server, log);
    } catch (e) {
      // RTSP keeps serving; the API's absence is loud in the log.
      log.error(`API off: ${config.api.address}:${config.api.port} not available (${(e as Error).message})`);
    }
  }
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const onSignal = (sig: string) => () => {
    log.info(`${sig}: shutting down`);
    Promise.all([server.stop(), api?.close()]).then(() => resolve());
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  await stopped;
  log.info("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());

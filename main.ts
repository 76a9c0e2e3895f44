/**
 * dm-live: a low-latency RTSP relay. Reads the config, starts one RTSP worker per core and owns the
 * stream directory; the workers do everything else.
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, DEFAULT_CONFIG_YAML, tlsOn } from "./src/config.ts";
import { type ConfigSource, loadConfig, parseValueFor } from "./src/config_load.ts";
import { Logger } from "./src/log/logger.ts";
import { type ApiHandle, startApi } from "./src/api/http_api.ts";
import { SHUTDOWN_BOUND_MS, startServer } from "./src/cluster/cluster.ts";
import { planReload } from "./src/cluster/config_reload.ts";
import { VERSION } from "./src/version.ts";
import { checkPem, readPem } from "./src/net/tls_listener.ts";

const HELP = `dm-live ${VERSION}: RTSP relay server

Usage: dm-live [options]

  --config FILE            YAML config (default: the embedded default config)
  --check-config           validate the config (and RTSPS's certificate files) and exit
  --print-default-config   print the default config (every key commented) and exit
  --port N                 RTSP port (rtsp.port; 0 picks a free one)
  --address ADDR           RTSP listen address (rtsp.address)
  --workers N              worker threads (workers; 0 = one per core)
  --log-level LEVEL        debug, info, warn or error (log.level)
  --set KEY=VALUE          any config key, dotted (e.g. --set viewer.mergeWindowMs=20); repeatable;
                           lists comma-separated (--set auth.methods=digest)
  --version                print the version and exit
  -h, --help               this text

Precedence: the file (or the embedded default), then DM_LIVE_* environment variables (the dotted
key upper-cased, '.' as '_': DM_LIVE_RTSP_PORT=9000, DM_LIVE_UDP_PORTBASE=0), then these options.
Signals: SIGTERM/SIGINT stop (exit 0), SIGHUP reloads the config file.
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

  const source: ConfigSource = { file: args.config, overrides: {}, env: Deno.env.toObject() };
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
      o[kv.slice(0, eq)] = parseValueFor(kv.slice(0, eq), kv.slice(eq + 1));
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
    if (tlsOn(config)) {
      const { cert, key } = config.rtsp.tls;
      try {
        checkPem(readPem(cert, key));
      } catch (e) {
        console.error(`dm-live: bad config: rtsp.tls: ${(e as Error).message}`);
        return 2;
      }
    }
    console.log(`config ok${args.config ? `: ${args.config}` : ""}`);
    return 0;
  }

  const log = new Logger(config.log.level, "", undefined, config.log.format === "json");
  log.info(`dm-live ${VERSION} starting`);
  const server = await startServer(config, log);
  let api: ApiHandle | null = null;
  if (config.api.enabled) {
    try {
      api = await startApi(config.api.address, config.api.port, server, log, { debug: config.api.debug });
    } catch (e) {
      // RTSP keeps serving; the API's absence is loud in the log.
      log.error(`API off: ${config.api.address}:${config.api.port} not available (${(e as Error).message})`);
    }
  }
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  let stopping = false;
  const onStop = (sig: string) => () => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: shutting down`);
    // The bound: whatever hangs (a stuck worker, an HTTP client), the process exits by then.
    const deadline = setTimeout(() => {
      log.warn(`shutdown not finished after ${SHUTDOWN_BOUND_MS} ms; exiting anyway`);
      resolve();
    }, SHUTDOWN_BOUND_MS);
    Promise.allSettled([server.stop(), api?.close()]).then(() => {
      clearTimeout(deadline);
      resolve();
    });
  };
  Deno.addSignalListener("SIGINT", onStop("SIGINT"));
  Deno.addSignalListener("SIGTERM", onStop("SIGTERM"));

  // SIGHUP: read the config again; a bad one is refused and the running one kept.
  let running = config;
  const reload = async () => {
    if (stopping) return;
    let loaded: Config;
    try {
      loaded = await loadConfig(source);
    } catch (e) {
      const why = e instanceof ConfigError ? e.message : (e as Error)?.stack ?? String(e);
      log.error(`SIGHUP: config refused, keeping the running one: ${why}`);
      return;
    }
    const plan = planReload(running, loaded);
    running = plan.config;
    server.reload(plan.config);
    const applied = plan.applied.length > 0 ? `applied ${plan.applied.join(", ")}` : "nothing to apply";
    log.info(`SIGHUP: config reloaded, ${applied}; running sessions continue`);
    if (plan.needRestart.length > 0) {
      log.warn(
        `SIGHUP: ${plan.needRestart.join(", ")} changed but need a restart; keeping the running values`,
      );
    }
    // After the lines above, so that a reload to a quieter level still says it happened.
    log.setLevel(plan.config.log.level);
  };
  let reloads = Promise.resolve();
  Deno.addSignalListener("SIGHUP", () => {
    // One reload at a time, in signal order; a failure never blocks the next one.
    reloads = reloads.then(reload).catch((e) =>
      log.error(`SIGHUP: reload failed: ${(e as Error)?.stack ?? e}`)
    );
  });

  await stopped;
  log.info("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());

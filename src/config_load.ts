/**
 * Where the running config comes from: the file named by --config (or the embedded default), then
 * the command line's overrides. main.ts calls it at start and again on SIGHUP.
 */
import {
  CLUSTER_DEFAULTS,
  type Config,
  ConfigError,
  DEFAULT_CONFIG,
  parseConfig,
  withOverrides,
} from "./config.ts";

/** What the command line says about the config. */
export interface ConfigSource {
  /** --config FILE, or undefined for the embedded default. */
  file?: string;
  /** Dotted-key overrides from --port, --set and friends, applied last. */
  overrides: Record<string, unknown>;
  /** The environment whose DM_LIVE_* variables apply between the file and the command line. */
  env?: Record<string, string>;
}

/** Environment variables that override config keys start with this, e.g. DM_LIVE_RTSP_PORT. */
export const ENV_PREFIX = "DM_LIVE_";

/** The dotted names of every settable scalar or list key (not `paths`, which is a mapping). */
export function settableKeys(node: unknown = DEFAULT_CONFIG, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v0] of Object.entries(node as Record<string, unknown>)) {
    if (k === "paths" && prefix === "") continue;
    // The cluster section is off (null) by default; its keys are still settable.
    const v = k === "cluster" && prefix === "" ? CLUSTER_DEFAULTS : v0;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      out.push(...settableKeys(v, `${prefix}${k}.`));
    } else out.push(prefix + k);
  }
  return out;
}

function defaultOf(key: string): unknown {
  let node: unknown = { ...DEFAULT_CONFIG, cluster: CLUSTER_DEFAULTS };
  for (const p of key.split(".")) node = (node as Record<string, unknown> | undefined)?.[p];
  return node;
}

/**
 * Turns text from the command line or the environment into the key's type: numbers, true/false,
 * comma-separated lists. Anything unparsable is passed on as text for validation to name.
 */
export function parseValueFor(key: string, raw: string): unknown {
  const d = defaultOf(key);
  if (typeof d === "number" && /^-?\d+$/.test(raw.trim())) return Number(raw);
  if (typeof d === "boolean" && (raw === "true" || raw === "false")) return raw === "true";
  if (Array.isArray(d)) return raw.split(",").map((x) => x.trim()).filter((x) => x !== "");
  return raw;
}

/**
 * Overrides from DM_LIVE_* variables: the dotted key upper-cased with `_` for `.`, e.g.
 * DM_LIVE_UDP_PORTBASE=9000 for udp.portBase. An unknown DM_LIVE_ name is an error, not ignored.
 */
export function envOverrides(env: Record<string, string>): Record<string, unknown> {
  const byName = new Map(settableKeys().map((k) => [ENV_PREFIX + k.replaceAll(".", "_").toUpperCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const key = byName.get(name);
    if (key === undefined) throw new ConfigError(`unknown environment variable ${name}`);
    out[key] = parseValueFor(key, raw);
  }
  return out;
}

/** Reads and validates the config; throws ConfigError whose message names the file. */
export async function loadConfig(src: ConfigSource): Promise<Config> {
  let base: Config;
  if (src.file === undefined) {
    base = structuredClone(DEFAULT_CONFIG) as Config;
  } else {
    let text: string;
    try {
      text = await Deno.readTextFile(src.file);
    } catch (e) {
      throw new ConfigError(`${src.file}: cannot read (${(e as Error).message})`);
    }
    try {
      base = parseConfig(text);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${src.file}: ${e.message}`);
      throw e;
    }
  }
  const env = envOverrides(src.env ?? {});
  try {
    base = withOverrides(base, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`environment: ${e.message}`);
    throw e;
  }
  return withOverrides(base, src.overrides);
}

/**
 * Where the running config comes from: the file named by --config (or the embedded default), then
 * the command line's overrides. main.ts calls it at start and again on SIGHUP.
 */
import { type Config, ConfigError, DEFAULT_CONFIG, parseConfig, withOverrides } from "./config.ts";

/** What the command line says about the config. */
export interface ConfigSource {
  /** --config FILE, or undefined for the embedded default. */
  file?: string;
  /** Dotted-key overrides from --port, --set and friends, applied last. */
  overrides: Record<string, unknown>;
}

/** Parses a --set value: integers and booleans as such, anything else as a string. */
export function parseSetValue(raw: string): unknown {
  if (/^-?\d+$/.test(raw)) return Number(raw);
  if (raw === "true" || raw === "false") return raw === "true";
  return raw;
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
  return withOverrides(base, src.overrides);
}

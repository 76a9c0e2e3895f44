import { parse as parseYaml } from "yaml";
import { isPowerOfTwo } from "./ring/ring_layout.ts";
import { LOG_LEVELS, type LogLevel } from "./log/logger.ts";
import defaultYaml from "../dm-live.yaml" with { type: "text" };

/** The server's settings; dm-live.yaml documents every key. */
export interface Config {
  rtsp: { address: string; port: number };
  udp: { portBase: number; reorderPackets: number; reorderMs: number; batchSends: boolean };
  api: { enabled: boolean; address: string; port: number; debug: boolean };
  net: { backend: "auto" | "deno" | "ffi" };
  workers: number;
  sessionTimeoutMs: number;
  ring: { bytes: number; slots: number };
  ingest: { maxFrameHoldMs: number; maxAudioHoldMs: number };
  viewer: {
    maxWriteBytes: number;
    mergeWindowMs: number;
    skipLagPercent: number;
    dropLagPercent: number;
    audioStartWindowMs: number;
  };
  limits: {
    maxHeaderBlockBytes: number;
    maxBodyBytes: number;
    maxGarbageBytes: number;
    maxConnectionsPerWorker: number;
  };
  log: { level: LogLevel; format: "text" | "json" };
}

/** The defaults; `dm-live.yaml` must say the same (a test checks). */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze<Config>({
  rtsp: { address: "0.0.0.0", port: 8554 },
  udp: { portBase: 8000, reorderPackets: 64, reorderMs: 100, batchSends: true },
  api: { enabled: true, address: "127.0.0.1", port: 9997, debug: false },
  net: { backend: "auto" },
  workers: 0,
  sessionTimeoutMs: 60_000,
  ring: { bytes: 8 * 1024 * 1024, slots: 32768 },
  ingest: { maxFrameHoldMs: 20, maxAudioHoldMs: 40 },
  viewer: {
    maxWriteBytes: 256 * 1024,
    mergeWindowMs: 33,
    skipLagPercent: 50,
    dropLagPercent: 75,
    audioStartWindowMs: 1000,
  },
  limits: {
    maxHeaderBlockBytes: 16384,
    maxBodyBytes: 131072,
    maxGarbageBytes: 65536,
    maxConnectionsPerWorker: 0,
  },
  log: { level: "info", format: "text" },
});

/** The default config file's text, embedded in the executable. */
export const DEFAULT_CONFIG_YAML: string = defaultYaml;

/** A config that cannot be used; the message names the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Check = (v: unknown, key: string) => unknown;

const int = (min: number, max: number): Check => (v, key) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`'${key}' must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const pow2 = (min: number, max: number): Check => (v, key) => {
  if (typeof v !== "number" || !isPowerOfTwo(v, min, max)) {
    throw new ConfigError(`'${key}' must be a power of two from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const bool: Check = (v, key) => {
  if (typeof v !== "boolean") {
    throw new ConfigError(`'${key}' must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
};
const str: Check = (v, key) => {
  if (typeof v !== "string" || v === "") throw new ConfigError(`'${key}' must be a non-empty string`);
  return v;
};
const oneOf = (values: readonly string[]): Check => (v, key) => {
  if (typeof v !== "string" || !values.includes(v)) {
    throw new ConfigError(`'${key}' must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v;
};

type Schema = { [k: string]: Check | Schema };

const SCHEMA: Schema = {
  rtsp: { address: str, port: int(0, 65535) },
  udp: {
    portBase: int(0, 65534),
    reorderPackets: int(1, 1024),
    reorderMs: int(0, 10_000),
    batchSends: bool,
  },
  api: { enabled: bool, address: str, port: int(0, 65535), debug: bool },
  net: { backend: oneOf(["auto", "deno", "ffi"]) },
  workers: int(0, 256),
  sessionTimeoutMs: int(1_000, 3_600_000),
  ring: { bytes: pow2(1 << 17, 1 << 30), slots: pow2(16, 1 << 22) },
  ingest: { maxFrameHoldMs: int(0, 1000), maxAudioHoldMs: int(0, 1000) },
  viewer: {
    maxWriteBytes: int(1500, 16 * 1024 * 1024),
    mergeWindowMs: int(0, 1000),
    skipLagPercent: int(1, 98),
    dropLagPercent: int(2, 99),
    audioStartWindowMs: int(0, 60_000),
  },
  limits: {
    maxHeaderBlockBytes: int(1024, 1 << 20),
    maxBodyBytes: int(1024, 16 << 20),
    maxGarbageBytes: int(0, 16 << 20),
    maxConnectionsPerWorker: int(0, 1_000_000),
  },
  log: { level: oneOf(LOG_LEVELS), format: oneOf(["text", "json"]) },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function merge(schema: Schema, defaults: Record<string, unknown>, raw: unknown, prefix: string) {
  if (raw === undefined || raw === null) raw = {};
  if (!isRecord(raw)) throw new ConfigError(`'${prefix || "(root)"}' must be a mapping`);
  for (const k of Object.keys(raw)) {
    if (!(k in schema)) throw new ConfigError(`unknown key '${prefix}${k}'`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, check] of Object.entries(schema)) {
    const key = prefix + k;
    const v = raw[k];
    if (typeof check === "function") out[k] = v === undefined ? defaults[k] : check(v, key);
    else out[k] = merge(check, defaults[k] as Record<string, unknown>, v, key + ".");
  }
  return out;
}

/** Validates a parsed config object, filling in defaults; throws ConfigError naming the bad key. */
export function validateConfig(raw: unknown): Config {
  const c = merge(SCHEMA, DEFAULT_CONFIG as unknown as Record<string, unknown>, raw, "") as unknown as Config;
  if (c.udp.portBase % 2 !== 0) {
    throw new ConfigError(
      `'udp.portBase' must be even (RTP on even ports, RTCP on the next), got ${c.udp.portBase}`,
    );
  }
  if (c.viewer.dropLagPercent <= c.viewer.skipLagPercent) {
    throw new ConfigError("'viewer.dropLagPercent' must be greater than 'viewer.skipLagPercent'");
  }
  return c;
}

/** Parses and validates YAML config text. */
export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`invalid YAML: ${(e as Error).message}`);
  }
  return validateConfig(raw);
}

/** Returns a copy of `base` with dotted-key overrides applied (e.g. `{"rtsp.port": 9000}`), validated. */
export function withOverrides(base: Readonly<Config>, overrides: Record<string, unknown>): Config {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [dotted, value] of Object.entries(overrides)) {
    const parts = dotted.split(".");
    let node = copy;
    for (const p of parts.slice(0, -1)) {
      if (!isRecord(node[p])) throw new ConfigError(`unknown key '${dotted}'`);
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return validateConfig(copy);
}

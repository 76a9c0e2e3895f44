/**
 * The config: its type, its defaults (dm-live.yaml says the same) and its validation, errors naming
 * the key and the line. Over 300 lines on purpose: the whole schema in one place, as the file it
 * checks is one file.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { LOG_LEVELS, type LogLevel } from "./log/logger.ts";
import defaultYaml from "../dm-live.yaml" with { type: "text" };
import {
  type AuthSettings,
  DEFAULT_AUTH_SETTINGS,
  type Permission,
  type UserEntry,
  validatePermission,
} from "./auth/permission.ts";
import {
  type PathConfig,
  pathNameError,
  RECORD_DEFAULTS,
  RECORD_KEYS,
  type RecordConfig,
  RUN_ON_READY_DEFAULTS,
  RUN_ON_READY_KEYS,
  type RunOnReadyConfig,
  SOURCE_DEFAULTS,
  SOURCE_KEYS,
  type SourceConfig,
  usesGroups,
} from "./paths/path_config.ts";
import { parseRtspUrl } from "./rtsp/url.ts";
import type { HookSettings } from "./hooks/hook_queue.ts";
import { DEFAULT_HLS_SETTINGS, type HlsSettings, hlsSettingsProblems } from "./hls_settings.ts";

/** The server's settings; dm-live.yaml documents every key. */
export interface Config {
  rtsp: {
    address: string;
    port: number;
    tunnelPort: number;
    /** RTSPS (README "RTSPS"): on while cert and key name PEM files, off while both are "". */
    tls: { cert: string; key: string; port: number };
  };
  udp: { portBase: number; reorderPackets: number; reorderMs: number; batchSends: boolean };
  api: {
    enabled: boolean;
    address: string;
    port: number;
    debug: boolean;
    /** HTTP Basic credentials every endpoint needs (path users' forms, `pass` only); empty: none. */
    users: UserEntry[];
    /** Addresses or CIDRs that may use the API (others get 403); empty: any. */
    ips: string[];
  };
  net: { backend: "auto" | "deno" | "ffi"; readTickMs: number; unwatchedReadTickMs: number };
  workers: number;
  sessionTimeoutMs: number;
  ring: { bytes: number; slots: number; minBytes: number; poolBytes: number };
  ingest: { maxFrameHoldMs: number; maxAudioHoldMs: number; reconnectGraceMs: number };
  viewer: {
    maxWriteBytes: number;
    mergeWindowMs: number;
    mergeBusyPercent: number;
    skipLagPercent: number;
    dropLagPercent: number;
    audioStartWindowMs: number;
  };
  limits: {
    maxHeaderBlockBytes: number;
    maxBodyBytes: number;
    maxGarbageBytes: number;
    maxConnectionsPerWorker: number;
    maxConnectionsPerAddress: number;
    /** New connections one address may open per second, over all workers (0: no bound); beyond it, closed unanswered. */
    maxConnectionsPerSecondPerAddress: number;
    /** Streams published or pulled at once (0: no bound); a publisher beyond it gets 453. */
    maxStreams: number;
    /** Streams one address may publish at once (0: no bound); beyond it, 453. */
    maxStreamsPerAddress: number;
    /** Announced, unfinished request bodies of one address, over all workers (0: no bound); beyond it, 503. */
    maxPendingBodyBytesPerAddress: number;
    /** A publisher's bitrate over 5 s, in kbit/s (0: no bound); past it, its connection is closed. */
    maxPublishKbps: number;
    requestTimeoutMs: number;
    handshakeTimeoutMs: number;
  };
  log: { level: LogLevel; format: "text" | "json" };
  auth: AuthSettings;
  /** Where events (publish, read, source state, auth failures) are POSTed; url "": off. */
  hooks: HookSettings;
  /** Browser playback: Low-Latency HLS over fMP4 on its own HTTP port, and the page that plays it. */
  hls: HlsSettings;
  /** Path name or `~regex` -> who may publish and read; file order kept (see path_rules.ts). */
  paths: Record<string, PathConfig>;
  /** Several nodes on etcd (docs/cluster.md); null: a single node. */
  cluster: ClusterConfig | null;
}

/** The `cluster:` section; dm-live.yaml documents each key. */
export interface ClusterConfig {
  /** http(s)://host:port of each etcd member. */
  etcd: string[];
  /** Every key of the cluster under it; starts and ends with '/'. */
  prefix: string;
  /** This node's unique name ("": the host name). */
  node: string;
  /** How the other nodes reach this one, rtsp://host:port ("": this host's name and the RTSP port). */
  advertise: string;
  leaseTtlMs: number;
  /** How often this node's entry (viewers, publishers, load) is rewritten when it changed. */
  reportIntervalMs: number;
  /** Deadline of each etcd request. */
  etcdTimeoutMs: number;
  /** A viewer's DESCRIBE of a path owned by another node waits this long for the edge pull. */
  edgeStartTimeoutMs: number;
  /** An edge pull stops once no local viewer has been there this long. */
  edgeCloseAfterMs: number;
  /** A failed edge pull is retried after this, doubling up to edgeRetryMaxMs. */
  edgeRetryMinMs: number;
  edgeRetryMaxMs: number;
}

/** The `cluster:` keys' defaults (etcd has none: a cluster needs it). */
export const CLUSTER_DEFAULTS: Readonly<ClusterConfig> = Object.freeze({
  etcd: [],
  prefix: "/dm-live/",
  node: "",
  advertise: "",
  leaseTtlMs: 5000,
  reportIntervalMs: 5000,
  etcdTimeoutMs: 3000,
  edgeStartTimeoutMs: 10_000,
  edgeCloseAfterMs: 10_000,
  edgeRetryMinMs: 250,
  edgeRetryMaxMs: 2000,
});

/** Whether RTSPS is on: rtsp.tls names a certificate (and so a key: validateConfig sees to it). */
export function tlsOn(config: Config): boolean {
  return config.rtsp.tls.cert !== "";
}

/** The workers the server runs: `workers`, or one per core when it is 0. */
export function workerCount(config: Config): number {
  return config.workers > 0 ? config.workers : Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * One worker's share of a bound that `limits` counts over all workers (rounded up, so the sum is
 * at least the bound); 0, no bound, stays 0.
 */
export function workerShare(config: Config, total: number): number {
  return total > 0 ? Math.ceil(total / workerCount(config)) : 0;
}

/** The defaults; `dm-live.yaml` must say the same (a test checks). */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze<Config>({
  rtsp: { address: "0.0.0.0", port: 8554, tunnelPort: 0, tls: { cert: "", key: "", port: 8322 } },
  udp: { portBase: 8000, reorderPackets: 64, reorderMs: 100, batchSends: true },
  api: { enabled: true, address: "127.0.0.1", port: 9997, debug: false, users: [], ips: [] },
  net: { backend: "auto", readTickMs: 1, unwatchedReadTickMs: 20 },
  workers: 0,
  sessionTimeoutMs: 60_000,
  // slots: one per 512 data bytes, twice what ~1 KB media packets need (a class must index twice a
  // GOP's packets as well as hold twice its bytes); 256 per byte made the 1 MiB class's index 64 KiB.
  ring: { bytes: 8 * 1024 * 1024, slots: 16384, minBytes: 256 * 1024, poolBytes: 64 * 1024 * 1024 },
  ingest: { maxFrameHoldMs: 20, maxAudioHoldMs: 40, reconnectGraceMs: 10_000 },
  viewer: {
    maxWriteBytes: 256 * 1024,
    mergeWindowMs: 33,
    mergeBusyPercent: 15,
    skipLagPercent: 50,
    dropLagPercent: 75,
    audioStartWindowMs: 1000,
  },
  limits: {
    maxHeaderBlockBytes: 16384,
    maxBodyBytes: 131072,
    maxGarbageBytes: 65536,
    maxConnectionsPerWorker: 16384,
    maxConnectionsPerAddress: 1000,
    maxConnectionsPerSecondPerAddress: 300,
    maxStreams: 1000,
    maxStreamsPerAddress: 100,
    maxPendingBodyBytesPerAddress: 1024 * 1024,
    maxPublishKbps: 200_000,
    requestTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
  },
  log: { level: "info", format: "text" },
  // The auth library owns its defaults (permission.ts lists them beside AuthSettings).
  auth: structuredClone(DEFAULT_AUTH_SETTINGS) as AuthSettings,
  hooks: { url: "", timeoutMs: 5000, maxQueue: 1000, retryMinMs: 500, retryMaxMs: 30_000, maxRetries: 5 },
  hls: { ...DEFAULT_HLS_SETTINGS },
  paths: { "~^.*$": { publish: { users: [], ips: [] }, read: { users: [], ips: [] } } },
  cluster: null,
});

/** The default config file's text, embedded in the executable. */
export const DEFAULT_CONFIG_YAML: string = defaultYaml;

/** A config that cannot be used; the message names the key, and the line when it came from a file. */
export class ConfigError extends Error {
  /** Where in the parsed document the bad value sits (keys and list indexes), when known. */
  path?: (string | number)[];
  /** Whether `path` names the key itself (unknown keys) rather than its value. */
  atKey = false;
  constructor(message: string, path?: (string | number)[], atKey = false) {
    super(message);
    this.name = "ConfigError";
    this.path = path;
    this.atKey = atKey;
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
  // A power of two has one bit set (sizes up to 2^30 stay within bitwise range).
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max || (v & (v - 1)) !== 0) {
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
/** Any string, "" included. */
const anyStr: Check = (v, key) => {
  if (typeof v !== "string") throw new ConfigError(`'${key}' must be a string, got ${JSON.stringify(v)}`);
  return v;
};
/** A file name, or "" for none. */
const fileOrNone: Check = (v, key) => {
  if (typeof v !== "string" || v.includes("\0")) {
    throw new ConfigError(`'${key}' must be a file name, or "" for none, got ${JSON.stringify(v)}`);
  }
  return v;
};
const oneOf = (values: readonly string[]): Check => (v, key) => {
  if (typeof v !== "string" || !values.includes(v)) {
    throw new ConfigError(`'${key}' must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v;
};

/** A non-empty list of distinct values from `values`. */
const listOf = (values: readonly string[]): Check => (v, key) => {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string" || !values.includes(x))) {
    throw new ConfigError(
      `'${key}' must be a non-empty list of ${values.join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  if (new Set(v).size !== v.length) throw new ConfigError(`'${key}' lists a value twice`);
  return v;
};

const NO_ONE_NEEDED: Permission = { users: [], ips: [] };

/** A ConfigError at a key of the `api` section (its line found from the key). */
const apiFail = (key: string) => (msg: string): never => {
  throw new ConfigError(msg, key.split("."));
};

/**
 * `api.users`: the forms of a path's users, but `pass` only: the API takes HTTP Basic, which cannot
 * check Digest (`ha1`) secrets.
 */
const apiUsersCheck: Check = (v, key) => {
  const pass = `'pass' (the password, or "sha256:" + base64 of its SHA-256)`;
  for (const [i, u] of (Array.isArray(v) ? v : []).entries()) {
    // Anything else wrong with an entry (not a mapping, an unknown key) validatePermission names.
    if (!isRecord(u) || Object.keys(u).some((k) => k !== "user" && k !== "pass" && k !== "ha1")) continue;
    if (u.ha1 !== undefined) {
      throw new ConfigError(
        `'${key}[${i}].ha1': the API takes HTTP Basic only, which cannot check Digest secrets; give ${pass}`,
        [...key.split("."), i, "ha1"],
        true,
      );
    }
    if (u.pass === undefined) {
      throw new ConfigError(`'${key}[${i}]' needs ${pass}`, [...key.split("."), i]);
    }
  }
  return validatePermission({ users: v }, "api", apiFail(key)).users;
};

/** `api.ips`: addresses or CIDRs, as a path's ips. */
const apiIpsCheck: Check = (v, key) => validatePermission({ ips: v }, "api", apiFail(key)).ips;

/** `paths:` a mapping of path name (or `~regex`) to `{publish, read}` permissions. */
const pathsCheck: Check = (v, key) => {
  if (!isRecord(v) || Object.keys(v).length === 0) {
    throw new ConfigError(`'${key}' must be a mapping of path names or ~patterns to permissions`);
  }
  const out: Record<string, PathConfig> = {};
  for (const [name, entry] of Object.entries(v)) {
    const at = (...rest: (string | number)[]) => [key, name, ...rest];
    const fail = (path: (string | number)[]) => (msg: string): never => {
      throw new ConfigError(msg, path);
    };
    const nameError = pathNameError(name);
    if (nameError !== null) throw new ConfigError(`'${key}.${name}': ${nameError}`, at(), true);
    const e = entry ?? {};
    if (!isRecord(e)) throw new ConfigError(`'${key}.${name}' must be a mapping with publish and read`, at());
    for (const k of Object.keys(e)) {
      if (
        k !== "publish" && k !== "read" && !ENTRY_SOURCE_KEYS.has(k) && !ENTRY_RUN_KEYS.has(k) &&
        !ENTRY_RECORD_KEYS.has(k)
      ) {
        const known = ["publish", "read", ...ENTRY_SOURCE_KEYS, ...ENTRY_RUN_KEYS, ...ENTRY_RECORD_KEYS];
        throw new ConfigError(
          `unknown key '${key}.${name}.${k}' (${known.join(", ")})`,
          at(k),
          true,
        );
      }
    }
    const source = sourceCheck(e, `${key}.${name}`, name.startsWith("~"), at);
    const runOnReady = runOnReadyCheck(e, `${key}.${name}`, at);
    const record = recordCheck(e, `${key}.${name}`, at);
    out[name] = {
      publish: e.publish === undefined || e.publish === null
        ? structuredClone(NO_ONE_NEEDED)
        : validatePermission(e.publish, `${key}.${name}.publish`, fail(at("publish"))),
      read: e.read === undefined || e.read === null
        ? structuredClone(NO_ONE_NEEDED)
        : validatePermission(e.read, `${key}.${name}.read`, fail(at("read"))),
    };
    if (source !== undefined) out[name].source = source;
    if (runOnReady !== undefined) out[name].runOnReady = runOnReady;
    if (record !== undefined) out[name].record = record;
  }
  return out;
};

const ENTRY_SOURCE_KEYS: ReadonlySet<string> = new Set(Object.values(SOURCE_KEYS));
const ENTRY_RUN_KEYS: ReadonlySet<string> = new Set(Object.values(RUN_ON_READY_KEYS));
const ENTRY_RECORD_KEYS: ReadonlySet<string> = new Set(["record", ...Object.values(RECORD_KEYS)]);

/**
 * The `record*` keys of a paths entry: undefined unless `record: true`. The other keys may be set
 * without it (a pattern's defaults for entries that turn recording on are not a thing: each entry
 * says its own), so they are checked either way.
 */
function recordCheck(
  entry: Record<string, unknown>,
  key: string,
  at: (...rest: (string | number)[]) => (string | number)[],
): RecordConfig | undefined {
  let e = entry;
  // A validated entry (a reload, overrides) holds the RecordConfig under `record`.
  const prior = e.record;
  if (isRecord(prior)) {
    e = { ...e, record: true };
    for (const [f, k] of Object.entries(RECORD_KEYS)) e[k] = prior[f];
  }
  const field = <T>(f: keyof RecordConfig, check: Check): T => {
    const k = RECORD_KEYS[f];
    const v = e[k];
    if (v === undefined || v === null) return (RECORD_DEFAULTS as Record<string, unknown>)[f] as T;
    try {
      return check(v, `${key}.${k}`) as T;
    } catch (err) {
      if (err instanceof ConfigError && err.path === undefined) err.path = at(k);
      throw err;
    }
  };
  let on = false;
  if (e.record !== undefined && e.record !== null) {
    try {
      on = bool(e.record, `${key}.record`) as boolean;
    } catch (err) {
      if (err instanceof ConfigError) err.path = at("record");
      throw err;
    }
  }
  const out: RecordConfig = {
    path: field("path", recordPathCheck),
    partDurationMs: field("partDurationMs", int(100, 60_000)),
    segmentDurationMs: field("segmentDurationMs", int(1000, 86_400_000)),
    deleteAfterMs: field("deleteAfterMs", int(0, 2 ** 40)),
  };
  if (out.segmentDurationMs < out.partDurationMs) {
    throw new ConfigError(
      `'${key}.${RECORD_KEYS.segmentDurationMs}' must be at least '${key}.${RECORD_KEYS.partDurationMs}'`,
      at(RECORD_KEYS.segmentDurationMs),
    );
  }
  return on ? out : undefined;
}

/** `recordPath`: a file name template with %path (record_path.ts expands it; the extension is added). */
const recordPathCheck: Check = (v, key) => {
  if (typeof v !== "string" || v.trim() === "" || v.includes("\0") || !v.includes("%path")) {
    throw new ConfigError(
      `'${key}' must be a file name template containing %path (and %Y %m %d %H %M %S %f for the time), got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v;
};

/**
 * The `runOnReady*` keys of a paths entry: undefined without a command (`runOnReady` left out or
 * ""); `runOnReadyRestart` needs the `runOnReady` key.
 */
function runOnReadyCheck(
  entry: Record<string, unknown>,
  key: string,
  at: (...rest: (string | number)[]) => (string | number)[],
): RunOnReadyConfig | undefined {
  let e = entry;
  // A validated entry (a reload, overrides) holds the RunOnReadyConfig: read it as its keys.
  const prior = e[RUN_ON_READY_KEYS.command];
  if (isRecord(prior)) {
    e = { ...e };
    for (const [f, k] of Object.entries(RUN_ON_READY_KEYS)) e[k] = prior[f];
  }
  const cmdKey = RUN_ON_READY_KEYS.command;
  const restartKey = RUN_ON_READY_KEYS.restart;
  const raw = e[cmdKey];
  const rawRestart = e[restartKey];
  if (raw === undefined || raw === null) {
    if (rawRestart !== undefined && rawRestart !== null) {
      throw new ConfigError(`'${key}.${restartKey}' needs '${key}.${cmdKey}'`, at(restartKey), true);
    }
    return undefined;
  }
  // A NUL cannot reach `sh -c`; anything else (newlines of a multi-line script included) is the shell's.
  if (typeof raw !== "string" || raw.includes("\0")) {
    throw new ConfigError(
      `'${key}.${cmdKey}' must be a shell command (a string; "" for none), got ${JSON.stringify(raw)}`,
      at(cmdKey),
    );
  }
  let restart = RUN_ON_READY_DEFAULTS.restart;
  if (rawRestart !== undefined && rawRestart !== null) {
    try {
      restart = bool(rawRestart, `${key}.${restartKey}`) as boolean;
    } catch (err) {
      if (err instanceof ConfigError) err.path = at(restartKey);
      throw err;
    }
  }
  return raw.trim() === "" ? undefined : { command: raw, restart };
}

/** `hooks.url`, `auth.http.url`, `auth.jwt.jwksUrl`: "" (off) or an http(s):// URL. */
const hookUrlCheck: Check = (v, key) => {
  if (v === "") return v;
  let ok = false;
  try {
    ok = typeof v === "string" && /^https?:$/.test(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new ConfigError(
      `'${key}' must be an http:// or https:// URL, or "" (off), got ${JSON.stringify(v)}`,
    );
  }
  return v;
};

/** The `source*` keys of a paths entry: undefined without `source`, which the other keys need. */
function sourceCheck(
  entry: Record<string, unknown>,
  key: string,
  pattern: boolean,
  at: (...rest: (string | number)[]) => (string | number)[],
): SourceConfig | undefined {
  let e = entry;
  // An entry validated before (a reload, overrides applied to a running config) holds the
  // SourceConfig object: read it as the keys it came from.
  const prior = e[SOURCE_KEYS.url];
  if (isRecord(prior)) {
    e = { ...e };
    for (const [f, k] of Object.entries(SOURCE_KEYS)) e[k] = prior[f];
  }
  const raw = e[SOURCE_KEYS.url];
  if (raw === undefined || raw === null) {
    const stray = Object.keys(e).find((k) => ENTRY_SOURCE_KEYS.has(k));
    if (stray !== undefined) {
      throw new ConfigError(`'${key}.${stray}' needs '${key}.source'`, at(stray), true);
    }
    return undefined;
  }
  const sk = (f: keyof SourceConfig) => `${key}.${SOURCE_KEYS[f]}`;
  const fieldAt = (f: keyof SourceConfig) => at(SOURCE_KEYS[f]);
  if (typeof raw !== "string" || !/^rtsph?:\/\//i.test(raw)) {
    throw new ConfigError(
      `'${sk("url")}' must be an rtsp:// (or rtsph://, tunnelled through HTTP) URL, got ${
        JSON.stringify(raw)
      }`,
      fieldAt("url"),
    );
  }
  try {
    parseRtspUrl(raw.replace(/\$[1-9$]/g, "x").replace(/^rtsph:/i, "rtsp:"));
  } catch (err) {
    throw new ConfigError(`'${sk("url")}' is not a valid URL: ${(err as Error).message}`, fieldAt("url"));
  }
  if (!pattern && usesGroups(raw)) {
    throw new ConfigError(`'${sk("url")}' uses $1..$9, which only a ~pattern entry has`, fieldAt("url"));
  }
  const field = <T>(f: keyof SourceConfig, check: Check): T => {
    const v = e[SOURCE_KEYS[f]];
    if (v === undefined || v === null) return (SOURCE_DEFAULTS as Record<string, unknown>)[f] as T;
    try {
      return check(v, sk(f)) as T;
    } catch (err) {
      if (err instanceof ConfigError && err.path === undefined) err.path = fieldAt(f);
      throw err;
    }
  };
  const out: SourceConfig = {
    url: raw,
    transport: field("transport", oneOf(["auto", "tcp", "udp"])),
    // A pattern names no path until a viewer asks for one: its sources are pulled on demand.
    onDemand: e[SOURCE_KEYS.onDemand] === undefined && pattern ? true : field("onDemand", bool),
    onDemandStartTimeoutMs: field("onDemandStartTimeoutMs", int(100, 600_000)),
    onDemandCloseAfterMs: field("onDemandCloseAfterMs", int(0, 86_400_000)),
    readTimeoutMs: field("readTimeoutMs", int(500, 600_000)),
    retryMinMs: field("retryMinMs", int(10, 3_600_000)),
    retryMaxMs: field("retryMaxMs", int(10, 3_600_000)),
  };
  if (out.retryMaxMs < out.retryMinMs) {
    throw new ConfigError(
      `'${sk("retryMaxMs")}' must be at least '${sk("retryMinMs")}'`,
      fieldAt("retryMaxMs"),
    );
  }
  if (pattern && !out.onDemand) {
    throw new ConfigError(
      `'${sk("onDemand")}' cannot be false in a ~pattern entry (its paths exist only when asked for)`,
      fieldAt("onDemand"),
    );
  }
  return out;
}

/** A node name: a key component in etcd and a name in logs. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const CLUSTER_SCHEMA: Record<keyof ClusterConfig, Check> = {
  etcd: (v, key) => {
    if (!Array.isArray(v) || v.length === 0) {
      throw new ConfigError(`'${key}' must be a non-empty list of etcd URLs (http://host:2379)`);
    }
    for (const u of v) {
      if (typeof u !== "string" || !/^https?:\/\/[^/\s]+\/?$/.test(u)) {
        throw new ConfigError(`'${key}' lists ${JSON.stringify(u)}, not an http://host:port URL`);
      }
    }
    return v;
  },
  prefix: (v, key) => {
    if (typeof v !== "string" || !/^\/([^\s]*\/)?$/.test(v)) {
      throw new ConfigError(`'${key}' must start and end with '/', got ${JSON.stringify(v)}`);
    }
    return v;
  },
  node: (v, key) => {
    if (v !== "" && (typeof v !== "string" || !NODE_NAME.test(v))) {
      throw new ConfigError(
        `'${key}' must be letters, digits, '.', '_' or '-' (at most 63), got ${JSON.stringify(v)}`,
      );
    }
    return v;
  },
  advertise: (v, key) => {
    if (v === "") return v;
    if (typeof v !== "string" || !/^rtsp:\/\/[^/\s@]+(:\d+)?\/?$/.test(v)) {
      throw new ConfigError(
        `'${key}' must be rtsp://host:port (how other nodes reach this one), got ${JSON.stringify(v)}`,
      );
    }
    return v.replace(/\/$/, "");
  },
  leaseTtlMs: int(2000, 600_000),
  reportIntervalMs: int(500, 600_000),
  etcdTimeoutMs: int(100, 60_000),
  edgeStartTimeoutMs: int(100, 600_000),
  edgeCloseAfterMs: int(0, 86_400_000),
  edgeRetryMinMs: int(10, 3_600_000),
  edgeRetryMaxMs: int(10, 3_600_000),
};

/** `cluster:` absent or null: a single node. */
const clusterCheck: Check = (v, key) => {
  if (v === null) return null;
  if (!isRecord(v)) throw new ConfigError(`'${key}' must be a mapping with at least 'etcd'`);
  if (v.etcd === undefined) throw new ConfigError(`'${key}.etcd' is needed: the etcd members' URLs`);
  return merge(CLUSTER_SCHEMA, CLUSTER_DEFAULTS as unknown as Record<string, unknown>, v, `${key}.`, [key]);
};

type Schema = { [k: string]: Check | Schema };

const SCHEMA: Schema = {
  rtsp: {
    address: str,
    port: int(0, 65535),
    tunnelPort: int(0, 65535),
    tls: { cert: fileOrNone, key: fileOrNone, port: int(1, 65535) },
  },
  udp: {
    portBase: int(0, 65534),
    reorderPackets: int(1, 1024),
    reorderMs: int(0, 10_000),
    batchSends: bool,
  },
  api: {
    enabled: bool,
    address: str,
    port: int(0, 65535),
    debug: bool,
    users: apiUsersCheck,
    ips: apiIpsCheck,
  },
  net: { backend: oneOf(["auto", "deno", "ffi"]), readTickMs: int(0, 20), unwatchedReadTickMs: int(0, 100) },
  workers: int(0, 256),
  sessionTimeoutMs: int(1_000, 3_600_000),
  ring: {
    bytes: pow2(1 << 17, 1 << 30),
    slots: pow2(16, 1 << 22),
    minBytes: pow2(1 << 17, 1 << 30),
    poolBytes: int(0, 2 ** 40),
  },
  ingest: { maxFrameHoldMs: int(0, 1000), maxAudioHoldMs: int(0, 1000), reconnectGraceMs: int(0, 600_000) },
  viewer: {
    maxWriteBytes: int(1500, 16 * 1024 * 1024),
    mergeWindowMs: int(0, 1000),
    mergeBusyPercent: int(0, 100),
    skipLagPercent: int(1, 98),
    dropLagPercent: int(2, 99),
    audioStartWindowMs: int(0, 60_000),
  },
  limits: {
    maxHeaderBlockBytes: int(1024, 1 << 20),
    maxBodyBytes: int(1024, 16 << 20),
    maxGarbageBytes: int(0, 16 << 20),
    maxConnectionsPerWorker: int(0, 1_000_000),
    maxConnectionsPerAddress: int(0, 1_000_000),
    maxConnectionsPerSecondPerAddress: int(0, 1_000_000),
    maxStreams: int(0, 1_000_000),
    maxStreamsPerAddress: int(0, 1_000_000),
    maxPendingBodyBytesPerAddress: int(0, 1 << 30),
    maxPublishKbps: int(0, 100_000_000),
    requestTimeoutMs: int(100, 600_000),
    handshakeTimeoutMs: int(100, 600_000),
  },
  log: { level: oneOf(LOG_LEVELS), format: oneOf(["text", "json"]) },
  auth: {
    realm: str,
    methods: listOf(["basic", "digest"]),
    digestAlgorithms: listOf(["MD5", "SHA-256"]),
    nonceTtlMs: int(1_000, 86_400_000),
    allowRfc2069: bool,
    maxFailures: int(1, 1_000_000),
    failureWindowMs: int(1_000, 86_400_000),
    http: {
      url: hookUrlCheck,
      timeoutMs: int(100, 60_000),
      cacheMs: int(0, 86_400_000),
      denyCacheMs: int(0, 86_400_000),
      cacheMaxEntries: int(1, 10_000_000),
      maxPending: int(1, 100_000),
    },
    jwt: {
      jwksUrl: hookUrlCheck,
      claimKey: str,
      timeoutMs: int(100, 60_000),
      cacheMs: int(1000, 86_400_000),
      cooldownMs: int(0, 86_400_000),
      issuer: anyStr,
      audience: anyStr,
    },
  },
  hooks: {
    url: hookUrlCheck,
    timeoutMs: int(100, 600_000),
    maxQueue: int(1, 1_000_000),
    retryMinMs: int(10, 3_600_000),
    retryMaxMs: int(10, 3_600_000),
    maxRetries: int(0, 1000),
  },
  hls: {
    enabled: bool,
    address: str,
    port: int(0, 65535),
    segmentDurationMs: int(100, 60_000),
    partDurationMs: int(20, 60_000),
    segmentCount: int(3, 1000),
    maxBytesPerStream: int(1 << 20, 2 ** 40),
    idleCloseMs: int(0, 86_400_000),
    allowOrigin: str,
    maxPendingRequests: int(1, 1_000_000),
    maxConnections: int(0, 1_000_000),
  },
  paths: pathsCheck,
  cluster: clusterCheck,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function merge(
  schema: Schema,
  defaults: Record<string, unknown>,
  raw: unknown,
  prefix: string,
  path: string[],
) {
  if (raw === undefined || raw === null) raw = {};
  if (!isRecord(raw)) {
    throw new ConfigError(`'${prefix.slice(0, -1) || "(root)"}' must be a mapping`, path);
  }
  for (const k of Object.keys(raw)) {
    if (!(k in schema)) throw new ConfigError(`unknown key '${prefix}${k}'`, [...path, k], true);
  }
  const out: Record<string, unknown> = {};
  for (const [k, check] of Object.entries(schema)) {
    const key = prefix + k;
    const v = raw[k];
    if (typeof check === "function") {
      try {
        out[k] = v === undefined ? structuredClone(defaults[k]) : check(v, key);
      } catch (e) {
        if (e instanceof ConfigError && e.path === undefined) e.path = [...path, k];
        throw e;
      }
    } else out[k] = merge(check, defaults[k] as Record<string, unknown>, v, key + ".", [...path, k]);
  }
  return out;
}

/** Validates a parsed config object, filling in defaults; throws ConfigError naming the bad key. */
export function validateConfig(raw: unknown): Config {
  const c = merge(
    SCHEMA,
    DEFAULT_CONFIG as unknown as Record<string, unknown>,
    raw,
    "",
    [],
  ) as unknown as Config;
  if (c.udp.portBase % 2 !== 0) {
    throw new ConfigError(
      `'udp.portBase' must be even (RTP on even ports, RTCP on the next), got ${c.udp.portBase}`,
      ["udp", "portBase"],
    );
  }
  const tls = c.rtsp.tls;
  if ((tls.cert === "") !== (tls.key === "")) {
    const given = tls.cert === "" ? "key" : "cert";
    throw new ConfigError(
      `'rtsp.tls.cert' and 'rtsp.tls.key' go together: both (RTSPS on) or neither (off), got only 'rtsp.tls.${given}'`,
      ["rtsp", "tls", given],
    );
  }
  if (tlsOn(c) && (tls.port === c.rtsp.port || tls.port === c.rtsp.tunnelPort)) {
    // Both listeners have SO_REUSEPORT: on one port the kernel would split connections between them.
    throw new ConfigError(
      `'rtsp.tls.port' ${tls.port} is also 'rtsp.${
        tls.port === c.rtsp.port ? "port" : "tunnelPort"
      }': RTSPS needs a port of its own`,
      ["rtsp", "tls", "port"],
    );
  }
  if (c.cluster !== null && c.cluster.edgeRetryMaxMs < c.cluster.edgeRetryMinMs) {
    throw new ConfigError("'cluster.edgeRetryMaxMs' must be at least 'cluster.edgeRetryMinMs'", [
      "cluster",
      "edgeRetryMaxMs",
    ]);
  }
  if ((c.auth.http.url !== "" || c.auth.jwt.jwksUrl !== "") && !c.auth.methods.includes("basic")) {
    throw new ConfigError(
      `'auth.methods' must include basic when ${
        c.auth.http.url !== "" ? "auth.http.url" : "auth.jwt.jwksUrl"
      } is set: external auth needs the password (or token) itself, which Digest never sends`,
      ["auth", "methods"],
    );
  }
  if (c.hooks.retryMaxMs < c.hooks.retryMinMs) {
    throw new ConfigError("'hooks.retryMaxMs' must be at least 'hooks.retryMinMs'", ["hooks", "retryMaxMs"]);
  }
  const hls = hlsSettingsProblems(c.hls)[0];
  if (hls !== undefined) {
    const k = /'hls\.([A-Za-z]+)'/.exec(hls)?.[1];
    throw new ConfigError(hls, k === undefined ? ["hls"] : ["hls", k]);
  }
  if (c.viewer.dropLagPercent <= c.viewer.skipLagPercent) {
    throw new ConfigError("'viewer.dropLagPercent' must be greater than 'viewer.skipLagPercent'", [
      "viewer",
      "dropLagPercent",
    ]);
  }
  return c;
}

/** Parses and validates YAML config text; errors start with `line N:` where the bad key or value is. */
export function parseConfig(text: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const line = lines.linePos(yamlError.pos[0]).line;
    throw new ConfigError(`line ${line}: invalid YAML: ${yamlError.message.split("\n")[0]}`);
  }
  try {
    return validateConfig(doc.toJS());
  } catch (e) {
    if (e instanceof ConfigError && e.path !== undefined) {
      const offset = sourceOffset(doc, e.path, e.atKey);
      if (offset !== undefined) e.message = `line ${lines.linePos(offset).line}: ${e.message}`;
    }
    throw e;
  }
}

/** Where a key (or its value) starts in the source, walking up to the nearest node that exists. */
function sourceOffset(doc: Document, path: (string | number)[], atKey: boolean): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const k = path[n - 1];
    let node: { range?: [number, number, number] | null } | null | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === k);
      if (pair !== undefined) {
        node = (atKey && n === path.length ? pair.key : pair.value ?? pair.key) as typeof node;
      }
    } else if (isSeq(parent) && typeof k === "number") {
      node = parent.items[k] as typeof node;
    }
    if (node?.range) return node.range[0];
  }
  return undefined;
}

/** Returns a copy of `base` with dotted-key overrides applied (e.g. `{"rtsp.port": 9000}`), validated. */
export function withOverrides(base: Readonly<Config>, overrides: Record<string, unknown>): Config {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [dotted, value] of Object.entries(overrides)) {
    const parts = dotted.split(".");
    let node = copy;
    // A cluster key set from the environment or the command line makes the section.
    if (parts[0] === "cluster" && parts.length > 1 && copy.cluster === null) copy.cluster = {};
    for (const p of parts.slice(0, -1)) {
      if (!isRecord(node[p])) throw new ConfigError(`unknown key '${dotted}'`);
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return validateConfig(copy);
}

/**
 * What a `paths:` entry of the config says (who may publish, who may read, where its stream is
 * pulled from, what runs while it is published), and which names an entry may have. The config module validates entries with these;
 * path_rules.ts looks them up.
 */
import type { Permission } from "../auth/permission.ts";

/** Who may publish and who may read the paths an entry matches, and the source they are pulled from. */
export interface PathConfig {
  publish: Permission;
  read: Permission;
  /** Pull the stream from another RTSP server (a camera) instead of waiting for a publisher. */
  source?: SourceConfig;
  /** A command main.ts runs while the path's stream is published (absent: `runOnReady` empty). */
  runOnReady?: RunOnReadyConfig;
  /** Write each stream of the path to fMP4 files (absent: `record` false). */
  record?: RecordConfig;
}

/** The `record*` keys (dm-live.yaml documents each). */
export interface RecordConfig {
  /** File name template: %path, %Y %m %d %H %M %S (local time), %f (microseconds); ".mp4" is added. */
  path: string;
  /** A fragment (moof + mdat) is written this often: what a file in progress is readable up to. */
  partDurationMs: number;
  /** A new file starts at the first keyframe past this. */
  segmentDurationMs: number;
  /** Files older than this are deleted (0: never). */
  deleteAfterMs: number;
}

/** The `record*` keys' defaults (MediaMTX's, but 1 h files). */
export const RECORD_DEFAULTS: Readonly<RecordConfig> = Object.freeze({
  path: "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f",
  partDurationMs: 1000,
  segmentDurationMs: 3_600_000,
  deleteAfterMs: 86_400_000,
});

/** YAML key of each RecordConfig field (`record: true` turns it on). */
export const RECORD_KEYS: Readonly<Record<keyof RecordConfig, string>> = {
  path: "recordPath",
  partDurationMs: "recordPartDurationMs",
  segmentDurationMs: "recordSegmentDurationMs",
  deleteAfterMs: "recordDeleteAfterMs",
};

/** `runOnReady` and `runOnReadyRestart` (dm-live.yaml documents both). */
export interface RunOnReadyConfig {
  /** Run with `sh -c`; RTSP_PATH, RTSP_URL and RTSP_PORT in its environment. */
  command: string;
  /** Start it again (after a backoff) when it exits while the stream lives. */
  restart: boolean;
}

/** The `runOnReady*` keys' defaults, but the command's ("": none). */
export const RUN_ON_READY_DEFAULTS: Readonly<Omit<RunOnReadyConfig, "command">> = Object.freeze({
  restart: true,
});

/** YAML key of each RunOnReadyConfig field. */
export const RUN_ON_READY_KEYS: Readonly<Record<keyof RunOnReadyConfig, string>> = {
  command: "runOnReady",
  restart: "runOnReadyRestart",
};

/** How lower transports for a pull are tried: UDP then TCP (auto), or one only. */
export type SourceTransport = "auto" | "tcp" | "udp";

/** A `source:` and its `source*` keys (dm-live.yaml documents each). */
export interface SourceConfig {
  /** rtsp://[user:pass@]host[:port]/path; in a `~pattern` entry `$1`..`$9` are the pattern's groups. */
  url: string;
  transport: SourceTransport;
  onDemand: boolean;
  onDemandStartTimeoutMs: number;
  onDemandCloseAfterMs: number;
  /** No media for this long is a failure (retried). */
  readTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/** The `source*` keys of an entry and their defaults (all but `source` itself). */
export const SOURCE_DEFAULTS: Readonly<Omit<SourceConfig, "url">> = Object.freeze({
  transport: "auto",
  onDemand: false,
  onDemandStartTimeoutMs: 10_000,
  onDemandCloseAfterMs: 10_000,
  readTimeoutMs: 10_000,
  retryMinMs: 1000,
  retryMaxMs: 30_000,
});

/** YAML key of each SourceConfig field. */
export const SOURCE_KEYS: Readonly<Record<keyof SourceConfig, string>> = {
  url: "source",
  transport: "sourceTransport",
  onDemand: "sourceOnDemand",
  onDemandStartTimeoutMs: "sourceOnDemandStartTimeoutMs",
  onDemandCloseAfterMs: "sourceOnDemandCloseAfterMs",
  readTimeoutMs: "sourceReadTimeoutMs",
  retryMinMs: "sourceRetryMinMs",
  retryMaxMs: "sourceRetryMaxMs",
};

/** The source URL of a path: `$1`..`$9` replaced by the groups its pattern matched (`$$` is `$`). */
export function sourceUrlFor(url: string, groups: readonly string[]): string {
  return url.replace(/\$(\$|[1-9])/g, (_, g: string) => g === "$" ? "$" : groups[Number(g) - 1] ?? "");
}

/** Whether a source URL uses pattern groups. */
export function usesGroups(url: string): boolean {
  return /\$[1-9]/.test(url.replaceAll("$$", ""));
}

/** Why a `paths:` key cannot be used, or null. */
export function pathNameError(name: string): string | null {
  if (name.startsWith("~")) {
    try {
      new RegExp(name.slice(1));
    } catch (e) {
      return `invalid regular expression: ${(e as Error).message}`;
    }
    return name.length === 1 ? "a pattern needs an expression after ~" : null;
  }
  if (name === "") return "a path name cannot be empty";
  if (name.startsWith("/") || name.endsWith("/")) {
    return "a path name has no leading or trailing '/' (rtsp://host:port/live/cam1 is 'live/cam1')";
  }
  for (const ch of name) {
    if (ch.charCodeAt(0) <= 0x20 || ch === "\x7f" || ch === "?" || ch === "#") {
      return "a path name cannot hold spaces, control characters, '?' or '#'";
    }
  }
  return null;
}

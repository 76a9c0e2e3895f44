/** What a config reload (SIGHUP) may change while the server runs. */
import { type Config, tlsOn } from "../config.ts";

/**
 * Sections a running server cannot change: its sockets (rtsp, udp, net, api), its cluster membership, its threads
 * (workers) and the rings' sizes. A reload keeps their running values (but for LIVE_IN_RESTART_ONLY);
 * the rest (paths, auth, log.level, sessionTimeoutMs, viewer, limits, ingest...) applies to what
 * starts afterwards.
 */
export const RESTART_ONLY: readonly (keyof Config)[] = [
  "rtsp",
  "udp",
  "net",
  "workers",
  "ring",
  "api",
  "cluster",
];

/**
 * Keys of restart-only sections that a reload does change: the API reads api.users and api.ips on
 * each request; the workers read RTSPS's certificate and key files again on each reload, named by
 * rtsp.tls.cert and rtsp.tls.key, while RTSPS stays on (turning it on or off opens or closes a
 * port: a restart).
 */
export const LIVE_IN_RESTART_ONLY: readonly string[] = [
  "api.users",
  "api.ips",
  "rtsp.tls.cert",
  "rtsp.tls.key",
];

/** A reloaded config and what it changes. */
export interface ReloadPlan {
  /** The loaded config with the restart-only sections at their running values. */
  config: Config;
  /** Dotted keys whose new values take effect, sorted. */
  applied: string[];
  /** Dotted keys that changed in restart-only sections (kept at their running values), sorted. */
  needRestart: string[];
}

/** Compares the running config with a freshly loaded one. */
export function planReload(running: Config, loaded: Config): ReloadPlan {
  const changed = diffKeys(running as unknown, loaded as unknown, "").sort();
  const under = (k: string, s: string) => k === s || k.startsWith(`${s}.`);
  const tlsStays = tlsOn(running) && tlsOn(loaded);
  const live = (k: string) =>
    LIVE_IN_RESTART_ONLY.some((l) => under(k, l)) && (tlsStays || !under(k, "rtsp.tls"));
  const restartOnly = (k: string) => RESTART_ONLY.some((s) => under(k, s)) && !live(k);
  const config = { ...loaded } as Record<string, unknown>;
  for (const s of RESTART_ONLY) config[s] = running[s];
  config.api = { ...running.api, users: loaded.api.users, ips: loaded.api.ips };
  if (tlsStays) {
    const { cert, key } = loaded.rtsp.tls;
    config.rtsp = { ...running.rtsp, tls: { ...running.rtsp.tls, cert, key } };
  }
  return {
    config: config as unknown as Config,
    applied: changed.filter((k) => !restartOnly(k)),
    needRestart: changed.filter(restartOnly),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Dotted keys whose values differ; mappings are compared key by key, anything else as a whole. */
function diffKeys(a: unknown, b: unknown, prefix: string): string[] {
  if (isRecord(a) && isRecord(b)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      out.push(...diffKeys(a[k], b[k], prefix === "" ? k : `${prefix}.${k}`));
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

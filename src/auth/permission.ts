/**
 * The auth part of the config: who may publish or read a path, and the server-wide settings, with the
 * validation the config loader calls (messages name the key, e.g. 'paths.cam.read.users[1].pass').
 */
import { formatNetwork, networkBase, networkHasHostBits, parseNetwork } from "./ip_address.ts";
import { hashedPassBytes, isHashedPass, parseHa1Secret } from "./user_secret.ts";

/**
 * A user allowed by a permission. `pass` is the plain password, or "sha256:<base64 of SHA-256(password)>"
 * (Basic only: a digest cannot be checked against it). `ha1` lists precomputed Digest secrets
 * "MD5:<hex of MD5(user:realm:password)>" / "SHA-256:<hex of SHA-256(user:realm:password)>" (valid for
 * the configured realm only). A user has `pass`, `ha1`, or both.
 */
export interface UserEntry {
  user: string;
  pass?: string;
  ha1?: string[];
}
/**
 * Who may publish or read a path. Empty `users` = no credentials needed; empty `ips` = any address.
 * `ips` entries are IPv4/IPv6 addresses or CIDRs ("10.0.0.0/8", "::1", "fd00::/8").
 */
export interface Permission {
  users: UserEntry[];
  ips: string[];
}
/** The server-wide auth settings. */
export interface AuthSettings {
  realm: string; // default "dm-live"
  methods: ("basic" | "digest")[]; // offered challenges; default ["basic", "digest"]
  digestAlgorithms: ("MD5" | "SHA-256")[]; // default ["MD5"]
  nonceTtlMs: number; // default 300000: older nonces get 401 with stale=true
  allowRfc2069: boolean; // default false: Digest answers without qop (GStreamer, VLC) cannot be checked for replay
  maxFailures: number; // default 5 failures per address per window, then refused
  failureWindowMs: number; // default 60000
  /** An HTTP server asked about credentials no internal user has (external_auth.ts); url "": off. */
  http: HttpAuthSettings;
  /** JWTs verified against a JWKS (external_auth.ts); jwksUrl "": off. */
  jwt: JwtAuthSettings;
}

/** `auth.http`: each question POSTed as JSON to `url`; a 2xx answer allows. */
export interface HttpAuthSettings {
  url: string; // "" off; else http(s)://
  timeoutMs: number; // default 5000: no answer within it is a failure of the auth server (503)
  cacheMs: number; // default 60000: how long an allow is reused (0: never)
  denyCacheMs: number; // default 5000: how long a denial is reused (0: never)
  cacheMaxEntries: number; // default 10000 answers per worker; past it the least recently used go
  maxPending: number; // default 100 questions in flight per worker; past it 503
}

/** `auth.jwt`: tokens signed by a key of the JWKS at `jwksUrl`, permissions in one claim. */
export interface JwtAuthSettings {
  jwksUrl: string; // "" off; else http(s)://
  claimKey: string; // default "mediamtx_permissions": [{action, path}, ...]
  timeoutMs: number; // default 5000: each JWKS fetch
  cacheMs: number; // default 600000: the JWKS is fetched again when older
  cooldownMs: number; // default 30000: a token with an unknown key refetches at most this often
  issuer: string; // "" not checked; else the `iss` a token must carry
  audience: string; // "" not checked; else an `aud` a token must carry
}

/** Whether an external check (auth.http or auth.jwt) is configured. */
export function externalAuthOn(s: Pick<AuthSettings, "http" | "jwt">): boolean {
  return s.http.url !== "" || s.jwt.jwksUrl !== "";
}

/** The defaults listed on AuthSettings. */
export const DEFAULT_AUTH_SETTINGS: Readonly<AuthSettings> = Object.freeze<AuthSettings>({
  realm: "dm-live",
  methods: ["basic", "digest"],
  digestAlgorithms: ["MD5"],
  nonceTtlMs: 300_000,
  allowRfc2069: false,
  maxFailures: 5,
  failureWindowMs: 60_000,
  http: {
    url: "",
    timeoutMs: 5000,
    cacheMs: 60_000,
    denyCacheMs: 5000,
    cacheMaxEntries: 10_000,
    maxPending: 100,
  },
  jwt: {
    jwksUrl: "",
    claimKey: "mediamtx_permissions",
    timeoutMs: 5000,
    cacheMs: 600_000,
    cooldownMs: 30_000,
    issuer: "",
    audience: "",
  },
});

/** Reports a config error naming the key; the caller throws its own error type. */
export type Fail = (msg: string) => never;

const USER_KEYS = ["user", "pass", "ha1"];
const PERMISSION_KEYS = ["users", "ips"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refuseUnknownKeys(raw: Record<string, unknown>, known: string[], key: string, fail: Fail): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) fail(`unknown key '${key}.${k}' (expected ${known.join(", ")})`);
  }
}

/** Validates one `users` entry; returns a clean copy with `ha1` normalised ("MD5:" + lower-case hex). */
export function validateUserEntry(raw: unknown, key: string, fail: Fail): UserEntry {
  if (!isRecord(raw)) return fail(`'${key}' must be a mapping with 'user' and 'pass' or 'ha1'`);
  refuseUnknownKeys(raw, USER_KEYS, key, fail);
  const { user, pass, ha1 } = raw;
  // A colon would make the Basic "user:pass" split ambiguous (RFC 7617 §2).
  if (typeof user !== "string" || user === "" || user.includes(":")) {
    return fail(`'${key}.user' must be a non-empty string without ':'`);
  }
  const out: UserEntry = { user };
  if (pass !== undefined) {
    if (typeof pass !== "string") return fail(`'${key}.pass' must be a string`);
    if (isHashedPass(pass) && hashedPassBytes(pass) === null) {
      return fail(`'${key}.pass' must be "sha256:" then the base64 of a 32-byte SHA-256 hash`);
    }
    out.pass = pass;
  }
  if (ha1 !== undefined) {
    if (!Array.isArray(ha1)) return fail(`'${key}.ha1' must be a list`);
    const seen = new Set<string>();
    out.ha1 = ha1.map((e, i) => {
      const s = typeof e === "string" ? parseHa1Secret(e) : null;
      if (s === null) {
        return fail(`'${key}.ha1[${i}]' must be "MD5:" then 32 hex digits or "SHA-256:" then 64 hex digits`);
      }
      if (seen.has(s.algorithm)) fail(`'${key}.ha1[${i}]' repeats algorithm ${s.algorithm}`);
      seen.add(s.algorithm);
      return `${s.algorithm}:${s.hex}`;
    });
  }
  if (out.pass === undefined && (out.ha1 === undefined || out.ha1.length === 0)) {
    return fail(`'${key}' needs 'pass' or 'ha1'`);
  }
  return out;
}

/**
 * Validates a permission (`{users, ips}`, either may be left out); returns a clean copy. Refuses
 * unknown keys, a user listed twice, and CIDRs with host bits set (naming the network meant).
 */
export function validatePermission(raw: unknown, key: string, fail: Fail): Permission {
  if (!isRecord(raw)) return fail(`'${key}' must be a mapping with 'users' and/or 'ips'`);
  refuseUnknownKeys(raw, PERMISSION_KEYS, key, fail);
  const out: Permission = { users: [], ips: [] };
  const { users, ips } = raw;
  if (users !== undefined && users !== null) {
    if (!Array.isArray(users)) return fail(`'${key}.users' must be a list`);
    const names = new Set<string>();
    for (const [i, u] of users.entries()) {
      const entry = validateUserEntry(u, `${key}.users[${i}]`, fail);
      if (names.has(entry.user)) fail(`'${key}.users[${i}].user' repeats user '${entry.user}'`);
      names.add(entry.user);
      out.users.push(entry);
    }
  }
  if (ips !== undefined && ips !== null) {
    if (!Array.isArray(ips)) return fail(`'${key}.ips' must be a list`);
    for (const [i, ip] of ips.entries()) {
      const net = typeof ip === "string" ? parseNetwork(ip) : null;
      if (net === null) {
        return fail(`'${key}.ips[${i}]' must be an IPv4 or IPv6 address or CIDR, got ${JSON.stringify(ip)}`);
      }
      if (networkHasHostBits(net)) {
        fail(`'${key}.ips[${i}]' has bits set after the prefix: write ${formatNetwork(networkBase(net))}`);
      }
      out.ips.push(ip as string);
    }
  }
  return out;
}

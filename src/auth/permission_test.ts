import assert from "node:assert/strict";
import {
  DEFAULT_AUTH_SETTINGS,
  externalAuthOn,
  type Permission,
  validatePermission,
  validateUserEntry,
} from "./permission.ts";

class TestConfigError extends Error {}
const fail = (msg: string): never => {
  throw new TestConfigError(msg);
};
const MD5 = "8d9f630bf1d2b69da06e4255be254973";
const SHA = "6fa70771736fa00d4a74d2d143fb3feeaa91cabb51cd48908b697784b7170ae0";

Deno.test("validatePermission() accepts the documented forms and returns a clean copy", () => {
  const raw = {
    users: [
      { user: "viewer", pass: "watch" },
      { user: "camera", pass: "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" },
      { user: "bob", ha1: [`md5:${MD5.toUpperCase()}`, `sha-256:${SHA}`] },
      { user: "both", pass: "", ha1: [`MD5:${MD5}`] },
    ],
    ips: ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "::ffff:192.168.0.0/112"],
  };
  const want: Permission = {
    users: [
      { user: "viewer", pass: "watch" },
      { user: "camera", pass: "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" },
      { user: "bob", ha1: [`MD5:${MD5}`, `SHA-256:${SHA}`] },
      { user: "both", pass: "", ha1: [`MD5:${MD5}`] },
    ],
    ips: raw.ips,
  };
  assert.deepEqual(validatePermission(raw, "p", fail), want);
  assert.deepEqual(validatePermission({}, "p", fail), { users: [], ips: [] });
  assert.deepEqual(validatePermission({ users: null, ips: [] }, "p", fail), { users: [], ips: [] });
});

Deno.test("validatePermission() names the key of each error", async (t) => {
  const cases: [string, unknown, string][] = [
    ["not a mapping", ["x"], "'p' must be a mapping with 'users' and/or 'ips'"],
    ["unknown key", { users: [], allow: [] }, "unknown key 'p.allow' (expected users, ips)"],
    ["users not a list", { users: "bob" }, "'p.users' must be a list"],
    [
      "user entry not a mapping",
      { users: ["bob"] },
      "'p.users[0]' must be a mapping with 'user' and 'pass' or 'ha1'",
    ],
    [
      "unknown key in a user",
      { users: [{ user: "a", pass: "b", password: "c" }] },
      "unknown key 'p.users[0].password' (expected user, pass, ha1)",
    ],
    [
      "empty user",
      { users: [{ user: "", pass: "x" }] },
      "'p.users[0].user' must be a non-empty string without ':'",
    ],
    [
      "user with colon",
      { users: [{ user: "a:b", pass: "x" }] },
      "'p.users[0].user' must be a non-empty string without ':'",
    ],
    [
      "user not a string",
      { users: [{ user: 7, pass: "x" }] },
      "'p.users[0].user' must be a non-empty string without ':'",
    ],
    ["pass not a string", { users: [{ user: "a", pass: 1234 }] }, "'p.users[0].pass' must be a string"],
    [
      "sha256 pass of the wrong length",
      { users: [{ user: "a", pass: "sha256:AAAA" }] },
      "'p.users[0].pass' must be \"sha256:\" then the base64 of a 32-byte SHA-256 hash",
    ],
    ["neither pass nor ha1", { users: [{ user: "a" }] }, "'p.users[0]' needs 'pass' or 'ha1'"],
    ["empty ha1 and no pass", { users: [{ user: "a", ha1: [] }] }, "'p.users[0]' needs 'pass' or 'ha1'"],
    ["ha1 not a list", { users: [{ user: "a", ha1: `MD5:${MD5}` }] }, "'p.users[0].ha1' must be a list"],
    [
      "ha1 with the wrong hex length",
      { users: [{ user: "a", ha1: [`SHA-256:${MD5}`] }] },
      '\'p.users[0].ha1[0]\' must be "MD5:" then 32 hex digits or "SHA-256:" then 64 hex digits',
    ],
    [
      "ha1 with an unknown algorithm",
      { users: [{ user: "a", pass: "x", ha1: [`MD5:${MD5}`, `SHA-512:${SHA}`] }] },
      '\'p.users[0].ha1[1]\' must be "MD5:" then 32 hex digits or "SHA-256:" then 64 hex digits',
    ],
    [
      "ha1 repeating an algorithm",
      { users: [{ user: "a", ha1: [`MD5:${MD5}`, `md5:${MD5}`] }] },
      "'p.users[0].ha1[1]' repeats algorithm MD5",
    ],
    [
      "a user listed twice",
      { users: [{ user: "a", pass: "x" }, { user: "b", pass: "y" }, { user: "a", pass: "z" }] },
      "'p.users[2].user' repeats user 'a'",
    ],
    ["ips not a list", { ips: "10.0.0.0/8" }, "'p.ips' must be a list"],
    [
      "ip not an address",
      { ips: ["host.example"] },
      "'p.ips[0]' must be an IPv4 or IPv6 address or CIDR, got \"host.example\"",
    ],
    ["ip not a string", { ips: ["::1", 10] }, "'p.ips[1]' must be an IPv4 or IPv6 address or CIDR, got 10"],
    [
      "IPv4 prefix too long",
      { ips: ["10.0.0.0/33"] },
      "'p.ips[0]' must be an IPv4 or IPv6 address or CIDR, got \"10.0.0.0/33\"",
    ],
    [
      "IPv6 prefix too long",
      { ips: ["fd00::/129"] },
      "'p.ips[0]' must be an IPv4 or IPv6 address or CIDR, got \"fd00::/129\"",
    ],
    ["host bits set", { ips: ["10.1.2.3/8"] }, "'p.ips[0]' has bits set after the prefix: write 10.0.0.0/8"],
    [
      "IPv6 host bits set",
      { ips: ["fd00::1/8"] },
      "'p.ips[0]' has bits set after the prefix: write fd00::/8",
    ],
  ];
  for (const [name, raw, message] of cases) {
    await t.step(
      name,
      () => assert.throws(() => validatePermission(raw, "p", fail), new TestConfigError(message)),
    );
  }
});

Deno.test("validateUserEntry() can be used alone", () => {
  assert.deepEqual(validateUserEntry({ user: "a", pass: "b" }, "u", fail), { user: "a", pass: "b" });
  assert.throws(
    () => validateUserEntry(null, "u", fail),
    new TestConfigError("'u' must be a mapping with 'user' and 'pass' or 'ha1'"),
  );
});

Deno.test("DEFAULT_AUTH_SETTINGS holds the documented defaults", () => {
  assert.deepEqual(DEFAULT_AUTH_SETTINGS, {
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
  assert.equal(externalAuthOn(DEFAULT_AUTH_SETTINGS), false);
  assert.equal(
    externalAuthOn({ ...DEFAULT_AUTH_SETTINGS, jwt: { ...DEFAULT_AUTH_SETTINGS.jwt, jwksUrl: "x" } }),
    true,
  );
});

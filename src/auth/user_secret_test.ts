import assert from "node:assert/strict";
import {
  hashedPassBytes,
  isHashedPass,
  parseHa1Secret,
  passwordMatches,
  secretsEqual,
  userHa1,
} from "./user_secret.ts";

// `printf %s secret | openssl dgst -binary -sha256 | openssl base64`
const SECRET_SHA256 = "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=";
// `printf %s 'bob:dm-live:secret' | md5sum` and `| sha256sum`
const BOB_MD5 = "8d9f630bf1d2b69da06e4255be254973";
const BOB_SHA256 = "6fa70771736fa00d4a74d2d143fb3feeaa91cabb51cd48908b697784b7170ae0";

Deno.test("secretsEqual() compares strings of any lengths", () => {
  assert.equal(secretsEqual("abc", "abc"), true);
  assert.equal(secretsEqual("abc", "abd"), false);
  assert.equal(secretsEqual("abc", "abcd"), false);
  assert.equal(secretsEqual("", ""), true);
  assert.equal(secretsEqual("", "x"), false);
});

Deno.test("passwordMatches() checks plain and sha256: passwords", () => {
  assert.equal(passwordMatches("secret", "secret"), true);
  assert.equal(passwordMatches("secret", "Secret"), false);
  assert.equal(passwordMatches("secret", ""), false);
  assert.equal(passwordMatches(SECRET_SHA256, "secret"), true);
  assert.equal(passwordMatches(SECRET_SHA256, "secreT"), false);
  // The hash text itself is not the password.
  assert.equal(passwordMatches(SECRET_SHA256, SECRET_SHA256), false);
  assert.equal(passwordMatches("sha256:bad", "secret"), false);
});

Deno.test("hashedPassBytes() accepts base64 of exactly 32 bytes, padded or not", () => {
  assert.equal(isHashedPass(SECRET_SHA256), true);
  assert.equal(isHashedPass("secret"), false);
  assert.equal(hashedPassBytes(SECRET_SHA256)?.length, 32);
  assert.equal(hashedPassBytes(SECRET_SHA256.slice(0, -1))?.length, 32);
  assert.equal(hashedPassBytes("secret"), null);
  assert.equal(hashedPassBytes("sha256:"), null);
  assert.equal(hashedPassBytes("sha256:AAAA"), null); // 3 bytes
  assert.equal(hashedPassBytes(`sha256:${"A".repeat(42)}==`), null); // 31 bytes
  assert.equal(hashedPassBytes(`sha256:${"A".repeat(43)}-`), null); // base64url, not base64
});

Deno.test("parseHa1Secret() needs a known algorithm and its hex length", () => {
  assert.deepEqual(parseHa1Secret(`MD5:${BOB_MD5}`), { algorithm: "MD5", hex: BOB_MD5 });
  assert.deepEqual(parseHa1Secret(`md5:${BOB_MD5.toUpperCase()}`), { algorithm: "MD5", hex: BOB_MD5 });
  assert.deepEqual(parseHa1Secret(`SHA-256:${BOB_SHA256}`), { algorithm: "SHA-256", hex: BOB_SHA256 });
  assert.equal(parseHa1Secret(`MD5:${BOB_SHA256}`), null);
  assert.equal(parseHa1Secret(`SHA-256:${BOB_MD5}`), null);
  assert.equal(parseHa1Secret(`SHA256:${BOB_SHA256}`), null);
  assert.equal(parseHa1Secret(`MD5:${BOB_MD5.slice(1)}g`), null);
  assert.equal(parseHa1Secret(BOB_MD5), null);
  assert.equal(parseHa1Secret(`MD5-sess:${BOB_MD5}`), null);
});

Deno.test("userHa1() derives from the password, else uses the matching ha1 entry", () => {
  assert.equal(userHa1({ user: "bob", pass: "secret" }, "MD5", "dm-live"), BOB_MD5);
  assert.equal(userHa1({ user: "bob", pass: "secret" }, "SHA-256", "dm-live"), BOB_SHA256);
  const hashed = { user: "bob", ha1: [`SHA-256:${BOB_SHA256}`, `MD5:${BOB_MD5}`] };
  assert.equal(userHa1(hashed, "MD5", "dm-live"), BOB_MD5);
  assert.equal(userHa1(hashed, "SHA-256", "dm-live"), BOB_SHA256);
  assert.equal(userHa1({ user: "bob", ha1: [`MD5:${BOB_MD5}`] }, "SHA-256", "dm-live"), null);
  assert.equal(userHa1({ user: "bob", pass: SECRET_SHA256 }, "MD5", "dm-live"), null);
  assert.equal(
    userHa1({ user: "bob", pass: SECRET_SHA256, ha1: [`MD5:${BOB_MD5}`] }, "MD5", "dm-live"),
    BOB_MD5,
  );
});

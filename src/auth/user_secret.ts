/**
 * How a configured user's secrets are read and checked: a plain `pass`, a "sha256:<base64>" pass
 * (Basic only), and precomputed Digest HA1 values ("MD5:<hex>", "SHA-256:<hex>"). Every comparison of
 * a secret is constant-time.
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import { DIGEST_HEX_LENGTH, type DigestAlgorithm, digestHa1, parseDigestAlgorithm } from "./digest.ts";

/** Prefix of a `pass` that holds the base64 SHA-256 of the password instead of the password. */
export const SHA256_PASS_PREFIX = "sha256:";

const BASE64_32_RE = /^[A-Za-z0-9+/]{43}=?$/;
const HEX_RE = /^[0-9A-Fa-f]+$/;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether two secrets are equal, in time independent of where they differ and of their lengths:
 * both are hashed to 32 bytes first, so timingSafeEqual always sees equal lengths.
 */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** Whether `pass` is a hashed password ("sha256:…"), which only Basic can check. */
export function isHashedPass(pass: string): boolean {
  return pass.startsWith(SHA256_PASS_PREFIX);
}

/** The 32 bytes of a "sha256:<base64>" pass; null when it is not of that form. */
export function hashedPassBytes(pass: string): Uint8Array | null {
  if (!isHashedPass(pass)) return null;
  const b64 = pass.slice(SHA256_PASS_PREFIX.length);
  if (!BASE64_32_RE.test(b64)) return null;
  const bytes = Buffer.from(b64, "base64");
  return bytes.length === 32 ? bytes : null;
}

/** Whether a Basic password matches a configured `pass`, plain or "sha256:". */
export function passwordMatches(pass: string, given: string): boolean {
  if (!isHashedPass(pass)) return secretsEqual(pass, given);
  const want = hashedPassBytes(pass);
  // Hash even when the config value is unusable, so the answer takes the same time.
  const got = sha256(given);
  return want !== null && timingSafeEqual(want, got);
}

/** A parsed `ha1` entry. */
export interface Ha1Secret {
  algorithm: DigestAlgorithm;
  /** Lower-case hex of H(user:realm:password). */
  hex: string;
}

/** Parses "MD5:<32 hex>" or "SHA-256:<64 hex>" (algorithm case-insensitive); null when malformed. */
export function parseHa1Secret(entry: string): Ha1Secret | null {
  const colon = entry.indexOf(":");
  if (colon < 0) return null;
  const algorithm = parseDigestAlgorithm(entry.slice(0, colon));
  const hex = entry.slice(colon + 1);
  if (algorithm === null || hex.length !== DIGEST_HEX_LENGTH[algorithm] || !HEX_RE.test(hex)) return null;
  return { algorithm, hex: hex.toLowerCase() };
}

/** A user's secrets as the Digest check needs them. */
export interface DigestSecretSource {
  user: string;
  pass?: string;
  ha1?: readonly string[];
}

/**
 * HA1 of a user for an algorithm: from the plain password when there is one, else from a matching
 * `ha1` entry (bound to the realm it was made with). Null when the user has neither, e.g. only a
 * "sha256:" pass.
 */
export function userHa1(entry: DigestSecretSource, algorithm: DigestAlgorithm, realm: string): string | null {
  if (entry.pass !== undefined && !isHashedPass(entry.pass)) {
    return digestHa1(algorithm, entry.user, realm, entry.pass);
  }
  for (const e of entry.ha1 ?? []) {
    const s = parseHa1Secret(e);
    if (s !== null && s.algorithm === algorithm) return s.hex;
  }
  return null;
}

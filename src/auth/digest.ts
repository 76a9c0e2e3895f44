/**
 * The Digest access authentication arithmetic (RFC 7616 §3.4.1-§3.4.3, RFC 2617 §3.2.2): HA1, HA2 and
 * the response, for MD5 and SHA-256, with qop=auth and in the RFC 2069 form without qop.
 */
import { createHash } from "node:crypto";

/** The Digest algorithms dm-live implements; the `-sess` variants are not (no RTSP client uses them). */
export type DigestAlgorithm = "MD5" | "SHA-256";

/** Hex digits of each algorithm's hash, e.g. the length of a valid `response`. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { "MD5": 32, "SHA-256": 64 };

/** Algorithm named by a Digest `algorithm` parameter, case-insensitive; absent means MD5 (RFC 7616 §3.3). */
export function parseDigestAlgorithm(name: string | undefined): DigestAlgorithm | null {
  if (name === undefined) return "MD5";
  const upper = name.toUpperCase();
  if (upper === "MD5") return "MD5";
  if (upper === "SHA-256") return "SHA-256";
  return null;
}

/** Lower-case hex of the algorithm's hash of `text` in UTF-8 (RFC 7616 §3.4: H(data)). */
export function digestHex(algorithm: DigestAlgorithm, text: string): string {
  // WebCrypto has no MD5, and node:crypto is synchronous, which keeps a check off the event loop's queue.
  return createHash(algorithm === "MD5" ? "md5" : "sha256").update(text, "utf8").digest("hex");
}

/** HA1 = H(user:realm:password) (RFC 7616 §3.4.2); what an `ha1` config entry stores. */
export function digestHa1(algorithm: DigestAlgorithm, user: string, realm: string, pass: string): string {
  return digestHex(algorithm, `${user}:${realm}:${pass}`);
}

/** HA2 = H(method:uri) for qop=auth or no qop (RFC 7616 §3.4.3); `uri` is the Digest `uri` as sent. */
export function digestHa2(algorithm: DigestAlgorithm, method: string, uri: string): string {
  return digestHex(algorithm, `${method}:${uri}`);
}

/** The client's qop=auth values that enter the response (RFC 7616 §3.4.1). */
export interface DigestQop {
  qop: string;
  /** Nonce count as sent: 8 hex digits. */
  nc: string;
  cnonce: string;
}

/**
 * The expected `response`: H(HA1:nonce:nc:cnonce:qop:HA2) with qop (RFC 7616 §3.4.1), or the RFC 2069
 * form H(HA1:nonce:HA2) without, which GStreamer and live555 (VLC) send since they ignore qop.
 */
export function digestResponse(
  algorithm: DigestAlgorithm,
  ha1: string,
  nonce: string,
  ha2: string,
  qop?: DigestQop,
): string {
  if (qop === undefined) return digestHex(algorithm, `${ha1}:${nonce}:${ha2}`);
  return digestHex(algorithm, `${ha1}:${nonce}:${qop.nc}:${qop.cnonce}:${qop.qop}:${ha2}`);
}

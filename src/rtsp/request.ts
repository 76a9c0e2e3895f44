import { RtspParseError, VersionNotSupportedError } from "./errors.ts";
import type { HeaderMap } from "./header_map.ts";
import { extractBody, parseMessageHead, serializeMessage, utf8ByteLength } from "./_message_head.ts";

/** Longest accepted method name in bytes (gortsplib's bound; RFC 2326 §6.1 sets none). */
export const MAX_METHOD_BYTES = 64;
/** Longest accepted Request-URI in bytes (gortsplib's bound; RFC 2326 §6.1 sets none). */
export const MAX_URL_BYTES = 2048;
/** The only protocol version dm-live speaks (RFC 2326 §3.1). */
export const RTSP_VERSION = "RTSP/1.0";

/** A parsed RTSP request (RFC 2326 §6); `body` is an owned copy, empty when there is none. */
export interface RtspRequest {
  method: string;
  url: string;
  version: string;
  headers: HeaderMap;
  body: Uint8Array;
}

const METHOD_RE = /^[A-Za-z0-9_-]+$/;
// Anything shaped like a protocol version is answered 505, everything else is plain junk (400).
const VERSION_SHAPE_RE = /^[A-Za-z]+\/\d+\.\d+$/;
const URL_BAD_RE = /[\0-\x20\x7f]/;

function badRequest(message: string): RtspParseError {
  return new RtspParseError(message);
}

/**
 * Parses one complete request as delimited by MessageSplitter (RFC 2326 §6); throws RtspParseError (400)
 * or VersionNotSupportedError (505).
 */
export function parseRequest(message: Uint8Array): RtspRequest {
  const head = parseMessageHead(message);
  const line = head.startLine.trimEnd();
  const parts = line.split(" ");
  if (parts.length !== 3) throw badRequest(`Malformed request line ${JSON.stringify(line.slice(0, 128))}`);
  const [method, url, version] = parts as [string, string, string];
  if (method.length > MAX_METHOD_BYTES) throw badRequest(`Method exceeds ${MAX_METHOD_BYTES} bytes`);
  if (!METHOD_RE.test(method)) throw badRequest(`Invalid method ${JSON.stringify(method)}`);
  if (url === "") throw badRequest("Empty request URL");
  if (utf8ByteLength(url) > MAX_URL_BYTES) throw badRequest(`Request URL exceeds ${MAX_URL_BYTES} bytes`);
  if (URL_BAD_RE.test(url)) throw badRequest("Request URL contains control characters");
  if (version !== RTSP_VERSION) {
    if (VERSION_SHAPE_RE.test(version)) throw new VersionNotSupportedError(version);
    throw badRequest(`Invalid version ${JSON.stringify(version.slice(0, 32))}`);
  }
  return { method, url, version, headers: head.headers, body: extractBody(message, head) };
}

/** Encodes a request with CRLF line ends, adding Content-Length for a non-empty body (RFC 2326 §6). */
export function serializeRequest(
  req: { method: string; url: string; headers: HeaderMap; body?: Uint8Array },
): Uint8Array {
  if (!METHOD_RE.test(req.method)) throw new TypeError(`Invalid method ${JSON.stringify(req.method)}`);
  if (req.url === "" || URL_BAD_RE.test(req.url)) {
    throw new TypeError(`Invalid URL ${JSON.stringify(req.url)}`);
  }
  const body = req.body !== undefined && req.body.length > 0 ? req.body : undefined;
  return serializeMessage(`${req.method} ${req.url} ${RTSP_VERSION}`, req.headers, body, true);
}

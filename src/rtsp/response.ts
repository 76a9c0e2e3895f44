import { RtspParseError, VersionNotSupportedError } from "./errors.ts";
import type { HeaderMap } from "./header_map.ts";
import { extractBody, parseMessageHead, serializeMessage } from "./_message_head.ts";
import { type StatusCode, statusText } from "./status.ts";
import { RTSP_VERSION } from "./request.ts";

/** A parsed RTSP response (RFC 2326 §7); `body` is an owned copy, empty when there is none. */
export interface RtspResponse {
  status: number;
  reason: string;
  version: string;
  headers: HeaderMap;
  body: Uint8Array;
}

const STATUS_LINE_RE = /^(\S+) (\d{3})(?: (.*))?$/;
const VERSION_SHAPE_RE = /^RTSP\/\d+\.\d+$/;

/**
 * Parses one complete response as delimited by MessageSplitter (RFC 2326 §7); throws RtspParseError (400)
 * or VersionNotSupportedError (505).
 */
export function parseResponse(message: Uint8Array): RtspResponse {
  const head = parseMessageHead(message);
  const line = head.startLine.trimEnd();
  const m = STATUS_LINE_RE.exec(line);
  if (m === null) {
    throw new RtspParseError(`Malformed status line ${JSON.stringify(line.slice(0, 128))}`);
  }
  const version = m[1] as string;
  if (version !== RTSP_VERSION) {
    if (VERSION_SHAPE_RE.test(version)) throw new VersionNotSupportedError(version);
    throw new RtspParseError(`Invalid version ${JSON.stringify(version.slice(0, 32))}`);
  }
  const status = Number(m[2]);
  if (status < 100) throw new RtspParseError(`Invalid status code ${m[2]}`);
  return {
    status,
    reason: (m[3] ?? "").trim(),
    version,
    headers: head.headers,
    body: extractBody(message, head),
  };
}

/** Encodes `RTSP/1.0 <code> <reason>`, headers in order and the body, CRLF everywhere (RFC 2326 §7). */
export function serializeResponse(
  status: StatusCode | number,
  headers: HeaderMap,
  body?: Uint8Array,
  reason?: string,
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Invalid status code ${status}`);
  }
  const phrase = reason ?? statusText(status);
  if (/[\r\n]/.test(phrase)) throw new TypeError("Reason phrase contains CR or LF");
  return serializeMessage(`${RTSP_VERSION} ${status} ${phrase}`, headers, body, true);
}

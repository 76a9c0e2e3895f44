// Private to src/rtsp: the start line + header block shared by requests and responses (RFC 2326 §4).
import { RtspParseError } from "./errors.ts";
import { HeaderMap, MAX_HEADER_COUNT, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES } from "./header_map.ts";

const LF = 0x0a;
const CR = 0x0d;

/**
 * Index just after the first blank line found at or after `from` in buf[from..end), or -1 (RFC 2326 §4).
 * Accepts CRLF and bare LF in any mix, since some clients end lines with `\n` only.
 */
export function findBlankLine(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (buf[i] !== LF) continue;
    const next = buf[i + 1];
    if (i + 1 < end && next === LF) return i + 2;
    if (i + 2 < end && next === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** UTF-8 length of a string without encoding it. */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The decoded start line, headers and where the body begins. */
export interface MessageHead {
  startLine: string;
  headers: HeaderMap;
  bodyStart: number;
}

const decoder = new TextDecoder();
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function badRequest(message: string): RtspParseError {
  return new RtspParseError(message);
}

/** Splits one message into start line and headers, enforcing the header limits (RFC 2326 §4, §6, §7). */
export function parseMessageHead(message: Uint8Array): MessageHead {
  let bodyStart = findBlankLine(message, 0, message.length);
  // Tolerate a head that lacks its final blank line: the splitter never produces one, callers might.
  if (bodyStart < 0) bodyStart = message.length;
  const lines = decoder.decode(message.subarray(0, bodyStart)).split("\n");
  const startLine = (lines[0] ?? "").replace(/\r$/, "");
  if (startLine === "") throw badRequest("Message starts with an empty line");

  const headers = new HeaderMap();
  let name = "";
  let value = "";
  let count = 0;
  const flush = () => {
    if (name === "") return;
    if (utf8ByteLength(value) > MAX_HEADER_VALUE_BYTES) {
      throw badRequest(`Header ${name} value exceeds ${MAX_HEADER_VALUE_BYTES} bytes`);
    }
    // A lone CR or a NUL inside a value would corrupt the message when it is written again.
    if (/[\r\0]/.test(value)) throw badRequest(`Header ${name} value contains CR or NUL`);
    headers.append(name, value);
  };
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, "");
    if (line === "") break;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // Folded continuation (RFC 2326 §4.2 via RFC 2616 §2.2): join with one space.
      if (name === "") throw badRequest("Continuation line before any header");
      // A whitespace-only continuation adds nothing: a trailing space would not survive reparsing.
      const more = line.trim();
      if (more !== "") value = value === "" ? more : `${value} ${more}`;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    if (colon < 0) throw badRequest(`Header line without colon: ${JSON.stringify(line.slice(0, 64))}`);
    name = line.slice(0, colon).trimEnd();
    if (utf8ByteLength(name) > MAX_HEADER_NAME_BYTES) {
      throw badRequest(`Header name exceeds ${MAX_HEADER_NAME_BYTES} bytes`);
    }
    if (!TOKEN_RE.test(name)) throw badRequest(`Invalid header name ${JSON.stringify(name.slice(0, 64))}`);
    if (++count > MAX_HEADER_COUNT) throw badRequest(`More than ${MAX_HEADER_COUNT} headers`);
    value = line.slice(colon + 1).trim();
    // Checked per line too so a single huge line is refused before any folding work.
    if (value.length > MAX_HEADER_VALUE_BYTES) {
      throw badRequest(`Header ${name} value exceeds ${MAX_HEADER_VALUE_BYTES} bytes`);
    }
  }
  flush();
  return { startLine, headers, bodyStart };
}

/**
 * The body bytes as a copy, Content-Length of them; none without the header, which means zero
 * (RFC 2326 §12.14), as MessageSplitter delimits it. Bytes past the body are not part of it.
 */
export function extractBody(message: Uint8Array, head: MessageHead): Uint8Array {
  const cl = head.headers.get("content-length");
  const available = message.length - head.bodyStart;
  // Taking the rest as the body would not survive serialization, which adds the header.
  if (cl === undefined) return new Uint8Array(0);
  if (!/^\d{1,10}$/.test(cl)) throw badRequest(`Invalid Content-Length ${JSON.stringify(cl)}`);
  const length = Number(cl);
  if (length > available) {
    throw badRequest(`Body has ${available} bytes, Content-Length says ${length}`);
  }
  // A copy: the message usually lives in a connection's reused read buffer.
  return message.slice(head.bodyStart, head.bodyStart + length);
}

const encoder = new TextEncoder();

/** Start line, headers and body as one CRLF-delimited message (RFC 2326 §4). */
export function serializeMessage(
  startLine: string,
  headers: HeaderMap,
  body: Uint8Array | undefined,
  addLength: boolean,
): Uint8Array {
  let head = `${startLine}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  if (addLength && body !== undefined && !headers.has("content-length")) {
    head += `Content-Length: ${body.length}\r\n`;
  }
  head += "\r\n";
  const headBytes = encoder.encode(head);
  if (body === undefined || body.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

/** Whether `s` is an RFC 2616 token (RTSP methods and header names, RFC 2326 §15). */
export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

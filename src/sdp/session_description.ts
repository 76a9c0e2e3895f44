import {
  findAttribute,
  type MediaDescription,
  parseMediaLine,
  type SdpLine,
  serializeMediaLine,
} from "./media_description.ts";
import { SdpError } from "./sdp_error.ts";

export type { MediaDescription, SdpLine } from "./media_description.ts";
export { SdpError } from "./sdp_error.ts";

/** A parsed SDP (RFC 4566 §5): session-level lines in order, then the media sections. */
export interface SessionDescription {
  sessionLines: SdpLine[];
  media: MediaDescription[];
}

const LINE_RE = /^([A-Za-z])=(.*)$/s;

/**
 * Parses SDP text (RFC 4566 §5) keeping every line and its order; tolerates `\n`, blank lines and
 * trailing whitespace. Throws SdpError; a description without media is accepted (the caller decides).
 */
export function parseSdp(text: string): SessionDescription {
  const sd: SessionDescription = { sessionLines: [], media: [] };
  let current: MediaDescription | undefined;
  let lineNo = 0;
  let first = true;
  for (const raw of text.split(/\r\n|\n|\r/)) {
    lineNo++;
    const line = raw.trim();
    if (line === "") continue;
    const m = LINE_RE.exec(line);
    if (m === null) {
      throw new SdpError(`SDP line ${lineNo} is not <type>=<value>: ${JSON.stringify(line.slice(0, 64))}`);
    }
    const type = m[1] as string;
    const value = m[2] as string;
    if (first) {
      if (type !== "v" || value !== "0") {
        throw new SdpError(`SDP must start with v=0, got ${JSON.stringify(line.slice(0, 64))}`);
      }
      first = false;
    }
    if (type === "m") {
      current = parseMediaLine(value);
      sd.media.push(current);
    } else if (current === undefined) sd.sessionLines.push({ type, value });
    else current.lines.push({ type, value });
  }
  if (first) throw new SdpError("SDP is empty; it must start with v=0");
  return sd;
}

/** SDP text with CRLF after every line, including the last (RFC 4566 §5). */
export function serializeSdp(sd: SessionDescription): string {
  let out = "";
  for (const l of sd.sessionLines) out += `${l.type}=${l.value}\r\n`;
  for (const m of sd.media) {
    out += `m=${serializeMediaLine(m)}\r\n`;
    for (const l of m.lines) out += `${l.type}=${l.value}\r\n`;
  }
  return out;
}

/** First session-level `a=name` value; "" for a flag attribute (RFC 4566 §5.13). */
export function sessionAttribute(sd: SessionDescription, name: string): string | undefined {
  return findAttribute(sd.sessionLines, name);
}

/** Session-level `a=control`, the base for media controls when present (RFC 2326 §C.1.1). */
export function sessionControl(sd: SessionDescription): string | undefined {
  return sessionAttribute(sd, "control");
}

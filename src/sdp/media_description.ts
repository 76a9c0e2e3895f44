import { SdpError } from "./sdp_error.ts";

/** One `<type>=<value>` line of an SDP description (RFC 4566 §5). */
export interface SdpLine {
  type: string;
  value: string;
}

/** One `m=` section with its following lines in order, unknown ones kept (RFC 4566 §5.14). */
export interface MediaDescription {
  media: string;
  port: number;
  /** The `/<number of ports>` suffix of the port, when present (RFC 4566 §5.14). */
  portCount?: number;
  protocol: string;
  formats: string[];
  lines: SdpLine[];
}

/** Parses the value of an `m=` line into a description with no lines yet (RFC 4566 §5.14). */
export function parseMediaLine(value: string): MediaDescription {
  const fields = value.trim().split(/[ \t]+/);
  const [media, portText, protocol, ...formats] = fields;
  if (media === undefined || media === "" || portText === undefined || protocol === undefined) {
    throw new SdpError(
      `Invalid m= line ${JSON.stringify(value.slice(0, 128))}: needs media, port and protocol`,
    );
  }
  const pm = /^(\d{1,5})(?:\/(\d{1,5}))?$/.exec(portText);
  if (pm === null || Number(pm[1]) > 65535) {
    throw new SdpError(
      `Invalid m= line ${JSON.stringify(value.slice(0, 128))}: bad port ${JSON.stringify(portText)}`,
    );
  }
  const m: MediaDescription = { media, port: Number(pm[1]), protocol, formats, lines: [] };
  if (pm[2] !== undefined) m.portCount = Number(pm[2]);
  return m;
}

/** The value of the `m=` line for a description (RFC 4566 §5.14). */
export function serializeMediaLine(m: MediaDescription): string {
  const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
  return [m.media, port, m.protocol, ...m.formats].join(" ");
}

// Attribute names compare case-insensitively: real SDPs spell `a=rtpmap` and `a=RTPMAP` alike.
function attributeValue(line: SdpLine, lowerName: string): string | undefined {
  if (line.type !== "a") return undefined;
  const colon = line.value.indexOf(":");
  const name = colon < 0 ? line.value : line.value.slice(0, colon);
  if (name.toLowerCase() !== lowerName) return undefined;
  return colon < 0 ? "" : line.value.slice(colon + 1);
}

/** First `a=name:value` value in `lines`; "" for a flag attribute (RFC 4566 §5.13). */
export function findAttribute(lines: readonly SdpLine[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const line of lines) {
    const v = attributeValue(line, lower);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Every `a=name` value in `lines`, in order (RFC 4566 §5.13). */
export function findAttributes(lines: readonly SdpLine[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const line of lines) {
    const v = attributeValue(line, lower);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** First media-level `a=name` value; "" for a flag attribute (RFC 4566 §5.13). */
export function mediaAttribute(m: MediaDescription, name: string): string | undefined {
  return findAttribute(m.lines, name);
}

/** Every media-level `a=name` value in order (RFC 4566 §5.13). */
export function mediaAttributes(m: MediaDescription, name: string): string[] {
  return findAttributes(m.lines, name);
}

/** Replaces the first `a=name` line or appends one; an empty value writes a flag `a=name` (RFC 4566 §5.13). */
export function setMediaAttribute(m: MediaDescription, name: string, value: string): void {
  const line: SdpLine = { type: "a", value: value === "" ? name : `${name}:${value}` };
  const lower = name.toLowerCase();
  const idx = m.lines.findIndex((l) => attributeValue(l, lower) !== undefined);
  if (idx < 0) m.lines.push(line);
  else m.lines[idx] = line;
}

/** Removes every `a=name` line of the media (RFC 4566 §5.13). */
export function removeMediaAttribute(m: MediaDescription, name: string): void {
  const lower = name.toLowerCase();
  m.lines = m.lines.filter((l) => attributeValue(l, lower) === undefined);
}

/** The media's `a=control` URL, relative or absolute (RFC 2326 §C.1.1). */
export function mediaControl(m: MediaDescription): string | undefined {
  return mediaAttribute(m, "control");
}

/** Encoding, clock rate and channels from `a=rtpmap:<pt>` (RFC 4566 §6); encoding as written. */
export function rtpmapFor(
  m: MediaDescription,
  payloadType: number | string,
): { encoding: string; clockRate: number; channels?: number } | undefined {
  const pt = Number(payloadType);
  for (const value of mediaAttributes(m, "rtpmap")) {
    const r = /^\s*(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(value);
    if (r === null || Number(r[1]) !== pt) continue;
    const out: { encoding: string; clockRate: number; channels?: number } = {
      encoding: r[2] as string,
      clockRate: Number(r[3]),
    };
    if (r[4] !== undefined) out.channels = Number(r[4]);
    return out;
  }
  return undefined;
}

/** The parameter string after `a=fmtp:<pt> `, byte-for-byte (RFC 4566 §6; RFC 6184, RFC 3640 rely on it). */
export function fmtpFor(m: MediaDescription, payloadType: number | string): string | undefined {
  const pt = Number(payloadType);
  for (const value of mediaAttributes(m, "fmtp")) {
    const r = /^\s*(\d+)(?:[ \t]+([\s\S]*))?$/.exec(value);
    if (r !== null && Number(r[1]) === pt) return r[2] ?? "";
  }
  return undefined;
}

/** `key=value;...` fmtp parameters; keys lower-cased, values trimmed, `=` inside values kept (RFC 4566 §6). */
export function parseFmtpParameters(fmtp: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of fmtp.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    // base64 parameter sets end in `=`, so only the first `=` separates key from value.
    const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (key !== "" && !out.has(key)) out.set(key, eq < 0 ? "" : p.slice(eq + 1).trim());
  }
  return out;
}

/** One transport a client offers or the server chooses (RFC 2326 §12.39). */
export interface TransportSpec {
  protocol: "RTP/AVP" | "RTP/SAVP";
  lower: "UDP" | "TCP";
  delivery?: "unicast" | "multicast";
  interleaved?: [number, number];
  clientPort?: [number, number];
  serverPort?: [number, number];
  mode?: "play" | "record";
  ssrc?: number;
  destination?: string;
  source?: string;
  ttl?: number;
}

const PROTOCOLS = { "RTP/AVP": "RTP/AVP", "RTP/SAVP": "RTP/SAVP" } as const;
const LOWERS = { "UDP": "UDP", "TCP": "TCP" } as const;
const MODES = {
  play: "play",
  record: "record",
  // ffmpeg -listen and Darwin Streaming Server send the pre-RFC spelling.
  receive: "record",
} as const;

// Thrown inside one spec so the caller can skip it and keep looking at the next candidate.
class SkipSpec extends Error {}

function pair(value: string, max: number): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  if (m === null) throw new SkipSpec();
  const a = Number(m[1]);
  // A single value stands for the pair n, n+1 (RFC 2326 §12.39, client_port and interleaved).
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  if (a > max || b > max) throw new SkipSpec();
  return [a, b];
}

function unquote(value: string): string {
  // Whitespace inside the quotes is trimmed like outside: it could not be written back unquoted.
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1).trim()
    : value;
}

// An address is a host (RFC 2326 §12.39); a quote or comma in one (`destination="a,b"`) could not
// be written back without splitting the header, so it makes the spec invalid.
function address(value: string): string {
  if (/[",]/.test(value)) throw new SkipSpec();
  return value;
}

function parseSpec(text: string): TransportSpec | undefined {
  const parts = text.split(";").map((p) => p.trim());
  const [profile, ...params] = parts;
  const names = (profile ?? "").toUpperCase().split("/");
  const protocol = PROTOCOLS[`${names[0]}/${names[1]}` as keyof typeof PROTOCOLS];
  // RTP/AVP alone means UDP (RFC 2326 §12.39).
  const lower = names.length === 2 ? "UDP" : LOWERS[names[2] as keyof typeof LOWERS];
  if (protocol === undefined || lower === undefined || names.length > 3) return undefined;
  const spec: TransportSpec = { protocol, lower };
  try {
    for (const param of params) {
      if (param === "") continue;
      const eq = param.indexOf("=");
      const key = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? "" : unquote(param.slice(eq + 1).trim());
      switch (key) {
        case "unicast":
        case "multicast":
          spec.delivery = key;
          break;
        case "interleaved":
          spec.interleaved = pair(value, 255);
          break;
        case "client_port":
          spec.clientPort = pair(value, 65535);
          break;
        case "server_port":
          spec.serverPort = pair(value, 65535);
          break;
        case "mode": {
          const mode = MODES[value.toLowerCase() as keyof typeof MODES];
          if (mode === undefined) throw new SkipSpec();
          spec.mode = mode;
          break;
        }
        case "ssrc":
          // Up to 8 hex digits; odd lengths (`ssrc=ABC`) are sent by some cameras.
          if (!/^[0-9A-Fa-f]{1,8}$/.test(value)) throw new SkipSpec();
          spec.ssrc = parseInt(value, 16);
          break;
        case "destination":
          if (value !== "") spec.destination = address(value);
          break;
        case "source":
          if (value !== "") spec.source = address(value);
          break;
        case "ttl":
          if (!/^\d{1,3}$/.test(value) || Number(value) > 255) throw new SkipSpec();
          spec.ttl = Number(value);
          break;
        default:
          // Unknown parameters must be ignored (RFC 2326 §12.39); e.g. `layers`, `append`, `port`.
          break;
      }
    }
  } catch (e) {
    if (e instanceof SkipSpec) return undefined;
    throw e;
  }
  return spec;
}

// Commas inside quotes (e.g. a quoted mode list) do not separate transports.
function splitOutsideQuotes(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      out.push(value.slice(from, i));
      from = i + 1;
    }
  }
  out.push(value.slice(from));
  return out;
}

/**
 * Parses a Transport header into usable specs in the client's preference order (RFC 2326 §12.39).
 * Specs with another protocol or an invalid known parameter are skipped; [] means answer 461.
 */
export function parseTransportHeader(value: string): TransportSpec[] {
  const out: TransportSpec[] = [];
  for (const text of splitOutsideQuotes(value)) {
    const spec = parseSpec(text.trim());
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

/** Canonical Transport value for one spec, e.g. `RTP/AVP/TCP;unicast;interleaved=0-1` (RFC 2326 §12.39). */
export function serializeTransport(spec: TransportSpec): string {
  const parts: string[] = [spec.lower === "TCP" ? `${spec.protocol}/TCP` : spec.protocol];
  if (spec.delivery !== undefined) parts.push(spec.delivery);
  if (spec.destination !== undefined) parts.push(`destination=${spec.destination}`);
  if (spec.source !== undefined) parts.push(`source=${spec.source}`);
  if (spec.interleaved !== undefined) parts.push(`interleaved=${spec.interleaved[0]}-${spec.interleaved[1]}`);
  if (spec.ttl !== undefined) parts.push(`ttl=${spec.ttl}`);
  if (spec.clientPort !== undefined) parts.push(`client_port=${spec.clientPort[0]}-${spec.clientPort[1]}`);
  if (spec.serverPort !== undefined) parts.push(`server_port=${spec.serverPort[0]}-${spec.serverPort[1]}`);
  if (spec.ssrc !== undefined) {
    parts.push(`ssrc=${(spec.ssrc >>> 0).toString(16).toUpperCase().padStart(8, "0")}`);
  }
  if (spec.mode !== undefined) parts.push(`mode=${spec.mode}`);
  return parts.join(";");
}

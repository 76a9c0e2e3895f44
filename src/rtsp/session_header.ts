import { RtspParseError } from "./errors.ts";

/** Parses `Session: id[;timeout=N]`, ignoring unknown parameters (RFC 2326 §12.37); 400 on an empty id. */
export function parseSessionHeader(value: string): { id: string; timeoutSec?: number } {
  const [idPart, ...params] = value.split(";");
  const id = (idPart ?? "").trim();
  if (id === "") throw new RtspParseError("Session header has an empty id");
  if (/\s/.test(id)) throw new RtspParseError("Session id contains whitespace");
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "timeout") continue;
    const n = param.slice(eq + 1).trim();
    // A malformed timeout from a client changes nothing the server does, so it is ignored, not fatal.
    if (/^\d{1,9}$/.test(n)) return { id, timeoutSec: Number(n) };
  }
  return { id };
}

/** Writes `id` or `id;timeout=N` (RFC 2326 §12.37). */
export function serializeSessionHeader(id: string, timeoutSec?: number): string {
  return timeoutSec === undefined ? id : `${id};timeout=${Math.trunc(timeoutSec)}`;
}

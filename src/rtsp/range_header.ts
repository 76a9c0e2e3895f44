import { RtspParseError } from "./errors.ts";
import { STATUS_CODE } from "./status.ts";

/** A normal-play-time range in seconds (RFC 2326 §3.6, §12.29); no `end` means open-ended. */
export interface NptRange {
  start: number | "now";
  end?: number;
}

// npt-sec `12.5` or npt-hhmmss `1:02:03.5` (RFC 2326 §3.6).
const NPT_TIME_RE = /^(?:(\d+)|(\d+):([0-5]?\d):([0-5]?\d))(?:\.(\d*))?$/;

/**
 * Latest accepted npt time (285,000 years): the canonical form counts milliseconds, which stay
 * exact integers up to 2^53; beyond, `toFixed` writes a time the parser cannot read back (1e+21).
 */
export const MAX_NPT_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

function nptSeconds(text: string): number | undefined {
  const m = NPT_TIME_RE.exec(text);
  if (m === null) return undefined;
  const fraction = m[5] === undefined || m[5] === "" ? 0 : Number(`0.${m[5]}`);
  const seconds = m[1] !== undefined
    ? Number(m[1]) + fraction
    : Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]) + fraction;
  return seconds <= MAX_NPT_SECONDS ? seconds : undefined;
}

function invalid(value: string): RtspParseError {
  return new RtspParseError(
    `Invalid npt Range ${JSON.stringify(value.slice(0, 64))}`,
    STATUS_CODE.InvalidRange,
  );
}

/**
 * Parses an npt Range (RFC 2326 §12.29, §3.6); undefined for other units (smpte, clock),
 * RtspParseError 457 for a malformed npt value.
 */
export function parseRangeHeader(value: string): NptRange | undefined {
  // `;time=` (when to start) does not change what a live relay sends.
  const spec = (value.split(";")[0] ?? "").trim();
  const eq = spec.indexOf("=");
  if (eq < 0 || spec.slice(0, eq).trim().toLowerCase() !== "npt") return undefined;
  const range = spec.slice(eq + 1).trim();
  const dash = range.indexOf("-");
  if (dash < 0) throw invalid(value);
  const from = range.slice(0, dash).trim();
  const to = range.slice(dash + 1).trim();
  const end = to === "" ? undefined : nptSeconds(to);
  if (to !== "" && end === undefined) throw invalid(value);
  if (from.toLowerCase() === "now") return end === undefined ? { start: "now" } : { start: "now", end };
  // `-10` (RFC 2326 §3.6: no start) plays from the beginning.
  const start = from === "" ? (end === undefined ? undefined : 0) : nptSeconds(from);
  if (start === undefined) throw invalid(value);
  if (end !== undefined && end < start) throw invalid(value);
  return end === undefined ? { start } : { start, end };
}

/** Writes `npt=now-` or `npt=<start>-[<end>]` with millisecond precision (RFC 2326 §3.6). */
export function serializeRangeHeader(r: NptRange): string {
  const start = r.start === "now" ? "now" : r.start.toFixed(3);
  return `npt=${start}-${r.end === undefined ? "" : r.end.toFixed(3)}`;
}

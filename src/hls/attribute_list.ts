/**
 * The value syntax playlists share (RFC 8216 §4.2, draft-pantos-hls-rfc8216bis §4.2): attribute
 * lists (`NAME=value,NAME="quoted"`), decimal-floating-point and decimal-integer values, and the
 * ISO 8601 date of EXT-X-PROGRAM-DATE-TIME. Parse tolerantly, write canonically: decimals are kept
 * at a fixed number of places, so a parsed value serializes and reparses to itself.
 *
 * @module
 */

/** Unparsable playlist text (a SyntaxError, as std names unparsable input). */
export class PlaylistParseError extends SyntaxError {
  override name = "PlaylistParseError";
}

/** One attribute's value as written: quoted-string or not (RFC 8216 §4.2). */
export interface AttributeValue {
  readonly quoted: boolean;
  readonly text: string;
}

const NAME = /^[A-Z0-9-]+$/;
/** decimal-integer is 0 to 2^64-1 (§4.2); values past 2^53 would not survive a JS number. */
const INTEGER = /^\d{1,16}$/;
const DECIMAL = /^(?:\d+\.?\d*|\.\d+)$/;
/** Largest decimal-floating-point accepted: its microseconds stay a safe integer. */
export const MAX_DECIMAL = 1e9;

/** Reads `NAME=value,...`; throws PlaylistParseError on bad syntax or a repeated name (§4.2: MUST NOT). */
export function parseAttributeList(text: string, tag: string): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new PlaylistParseError(`${tag}: attribute without '=' in "${text}"`);
    // Some servers write ", " between attributes; the name itself has no spaces.
    const name = text.slice(i, eq).trim();
    if (!NAME.test(name)) throw new PlaylistParseError(`${tag}: bad attribute name "${name}"`);
    let value: AttributeValue;
    let end: number;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      if (close < 0) throw new PlaylistParseError(`${tag}: unterminated quoted-string for ${name}`);
      value = { quoted: true, text: text.slice(eq + 2, close) };
      end = close + 1;
      if (end < text.length && text[end] !== ",") {
        throw new PlaylistParseError(`${tag}: text after the quoted-string of ${name}`);
      }
    } else {
      const comma = text.indexOf(",", eq + 1);
      end = comma < 0 ? text.length : comma;
      value = { quoted: false, text: text.slice(eq + 1, end).trim() };
      if (value.text === "" || value.text.includes('"')) {
        throw new PlaylistParseError(`${tag}: bad value for ${name}`);
      }
    }
    if (out.has(name)) throw new PlaylistParseError(`${tag}: attribute ${name} appears twice`);
    out.set(name, value);
    i = end + 1;
    if (end + 1 === text.length) throw new PlaylistParseError(`${tag}: trailing ',' in "${text}"`);
  }
  return out;
}

/** Writes an attribute list from already formatted values, in the order given. */
export function serializeAttributeList(attrs: readonly (readonly [string, string])[]): string {
  return attrs.map(([k, v]) => `${k}=${v}`).join(",");
}

/** A quoted-string (§4.2): no double quote, CR or LF inside; throws RangeError otherwise. */
export function quoted(text: string): string {
  if (/["\r\n]/.test(text)) throw new RangeError(`Cannot quote ${JSON.stringify(text)} in a playlist`);
  return `"${text}"`;
}

/** The text of a quoted attribute, or undefined when absent; throws when written unquoted. */
export function quotedAttr(
  attrs: Map<string, AttributeValue>,
  name: string,
  tag: string,
): string | undefined {
  const v = attrs.get(name);
  if (v === undefined) return undefined;
  if (!v.quoted) throw new PlaylistParseError(`${tag}: ${name} must be a quoted-string`);
  return v.text;
}

/** The text of an unquoted attribute (enumerated-string, number), or undefined when absent. */
export function plainAttr(attrs: Map<string, AttributeValue>, name: string, tag: string): string | undefined {
  const v = attrs.get(name);
  if (v === undefined) return undefined;
  if (v.quoted) throw new PlaylistParseError(`${tag}: ${name} must not be quoted`);
  return v.text;
}

/** An enumerated-string YES/NO (§4.2); absent is NO. */
export function yesNoAttr(attrs: Map<string, AttributeValue>, name: string, tag: string): boolean {
  const v = plainAttr(attrs, name, tag);
  if (v === undefined || v === "NO") return false;
  if (v === "YES") return true;
  throw new PlaylistParseError(`${tag}: ${name} must be YES or NO, got "${v}"`);
}

/** A decimal-integer (§4.2) as a safe JS integer; throws PlaylistParseError. */
export function parseInteger(text: string, what: string): number {
  const t = text.trim();
  const n = INTEGER.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) throw new PlaylistParseError(`${what}: "${text}" is not a decimal-integer`);
  return n;
}

/**
 * A decimal-floating-point (§4.2, no sign) rounded to `places` decimals, the precision its writer
 * keeps, so parse and serialize agree; throws PlaylistParseError.
 */
export function parseDecimal(text: string, places: number, what: string): number {
  const t = text.trim();
  const n = DECIMAL.test(t) ? Number(t) : NaN;
  if (!(n <= MAX_DECIMAL)) throw new PlaylistParseError(`${what}: "${text}" is not a decimal-floating-point`);
  const scale = 10 ** places;
  return Math.round(n * scale) / scale;
}

/** A decimal-floating-point with at most `places` decimals, trailing zeros dropped ("1", "0.2"). */
export function formatDecimal(value: number, places: number): string {
  if (!(value >= 0 && value <= MAX_DECIMAL)) throw new RangeError(`Cannot write ${value} as a decimal`);
  const text = value.toFixed(places);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;
const MIN_DATE = Date.parse("0000-01-01T00:00:00Z");
const MAX_DATE = Date.parse("9999-12-31T23:59:59.999Z");

/**
 * EXT-X-PROGRAM-DATE-TIME's ISO 8601 date-time with a time zone (RFC 8216 §4.3.2.6), kept to the
 * millisecond; years 0000-9999 in UTC so the canonical form (toISOString) reads back.
 */
export function parseDateTime(text: string): Date {
  const t = text.trim();
  const ms = DATE.test(t) ? Date.parse(t) : NaN;
  if (!(ms >= MIN_DATE && ms <= MAX_DATE)) {
    throw new PlaylistParseError(`EXT-X-PROGRAM-DATE-TIME: "${text}" is not an ISO 8601 date-time`);
  }
  return new Date(ms);
}

/** The canonical EXT-X-PROGRAM-DATE-TIME value: UTC with milliseconds ("2026-12-03T14:44:55.123Z"). */
export function formatDateTime(date: Date): string {
  return date.toISOString();
}

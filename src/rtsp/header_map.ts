/** At most this many header lines per message (RFC 2326 §4 sets none; gortsplib's bound). */
export const MAX_HEADER_COUNT = 255;
/** Longest accepted header name in bytes (RFC 2326 §4.2 sets none; gortsplib's bound). */
export const MAX_HEADER_NAME_BYTES = 512;
/** Longest accepted header value in bytes, after unfolding (RFC 2326 §4.2 sets none; gortsplib's bound). */
export const MAX_HEADER_VALUE_BYTES = 2048;

// Spellings from RFC 2326 §12 where naive capitalisation would be wrong or clients compare exactly.
const CANONICAL_NAMES: Readonly<Record<string, string>> = {
  "accept": "Accept",
  "allow": "Allow",
  "authorization": "Authorization",
  "blocksize": "Blocksize",
  "cache-control": "Cache-Control",
  "connection": "Connection",
  "content-base": "Content-Base",
  "content-length": "Content-Length",
  "content-type": "Content-Type",
  "cseq": "CSeq",
  "date": "Date",
  "location": "Location",
  "proxy-require": "Proxy-Require",
  "public": "Public",
  "range": "Range",
  "require": "Require",
  "rtp-info": "RTP-Info",
  "scale": "Scale",
  "server": "Server",
  "session": "Session",
  "speed": "Speed",
  "transport": "Transport",
  "unsupported": "Unsupported",
  "user-agent": "User-Agent",
  "www-authenticate": "WWW-Authenticate",
} as const;

/** RTSP canonical spelling of a header name, e.g. `cseq` -> `CSeq` (RFC 2326 §12). */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  const known = CANONICAL_NAMES[lower];
  if (known !== undefined) return known;
  return lower.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("-");
}

// Names are tokens and values must not smuggle a line break into the serialised message.
const NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE_BAD_RE = /[\r\n\0]/;

function checkEntry(name: string, value: string): void {
  if (!NAME_RE.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  if (VALUE_BAD_RE.test(value)) throw new TypeError(`Header ${name} value contains CR, LF or NUL`);
}

interface Entry {
  name: string;
  lower: string;
  value: string;
}

/** Ordered, case-insensitive RTSP header list; names kept as given, duplicates allowed (RFC 2326 §4.2). */
export class HeaderMap {
  #entries: Entry[] = [];

  /** Builds a map from `[name, value]` pairs in order. */
  constructor(init?: Iterable<readonly [string, string]>) {
    if (init !== undefined) { for (const [name, value] of init) this.append(name, value); }
  }

  /** First value for `name`, case-insensitive. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const e of this.#entries) if (e.lower === lower) return e.value;
    return undefined;
  }

  /** Every value for `name` in message order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (const e of this.#entries) if (e.lower === lower) out.push(e.value);
    return out;
  }

  /** Whether any header called `name` exists. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every `name` header by one, at the position of the first (keeps order stable). */
  set(name: string, value: string): this {
    checkEntry(name, value);
    const lower = name.toLowerCase();
    const idx = this.#entries.findIndex((e) => e.lower === lower);
    if (idx < 0) {
      this.#entries.push({ name, lower, value });
      return this;
    }
    this.#entries[idx] = { name, lower, value };
    this.#entries = this.#entries.filter((e, i) => i <= idx || e.lower !== lower);
    return this;
  }

  /** Adds a header after the existing ones, even if the name is already present. */
  append(name: string, value: string): this {
    checkEntry(name, value);
    this.#entries.push({ name, lower: name.toLowerCase(), value });
    return this;
  }

  /** Removes every `name` header; true when something was removed. */
  delete(name: string): boolean {
    const lower = name.toLowerCase();
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.lower !== lower);
    return this.#entries.length !== before;
  }

  /** Number of header lines (duplicates counted). */
  get size(): number {
    return this.#entries.length;
  }

  /** `[name, value]` pairs in order, names as given. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const e of this.#entries) yield [e.name, e.value];
  }
}

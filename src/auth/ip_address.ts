/**
 * IPv4 and IPv6 addresses and networks as 16 bytes. IPv4 is held IPv4-mapped (::ffff:a.b.c.d,
 * RFC 4291 §2.5.5.2), so a dual-stack listener's "::ffff:10.0.0.1" and a plain "10.0.0.1" are the same
 * address and one IPv4 rule covers both.
 */

/** An address and a prefix length in the 128-bit space (an IPv4 /8 is 96 + 8 = 104). */
export interface IpNetwork {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const DOT = 0x2e;
const COLON = 0x3a;
const PERCENT = 0x25;
// Scratch for the 8 groups of an IPv6 address: parsing is synchronous, so one per thread is enough.
const groups = new Uint16Array(8);

function digit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Dotted quad in s[start, end) into out[at..at+4); no leading zeros (010 would be octal to inet_aton). */
function parseV4(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || part === 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = digit(c);
    if (d < 0 || (digits > 0 && value === 0)) return false;
    value = value * 10 + d;
    digits++;
    if (value > 255) return false;
  }
  if (digits === 0 || part !== 3) return false;
  out[at + 3] = value;
  return true;
}

/** IPv6 text in s[0, end) (RFC 4291 §2.2: `::` once, optional dotted IPv4 tail) into 16 bytes. */
function parseV6(s: string, end: number, out: Uint8Array): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && s.charCodeAt(0) === COLON && s.charCodeAt(1) === COLON) {
    gap = 0;
    i = 2;
  } else if (end === 0 || s.charCodeAt(0) === COLON) return false;
  while (i < end) {
    if (n === 8) return false;
    let value = 0;
    let j = i;
    while (j < end) {
      const h = hexDigit(s.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === DOT) {
      // The last 32 bits written as IPv4 (::ffff:1.2.3.4, RFC 4291 §2.2 form 3).
      if (n > 6 || !parseV4(s, i, end, out, 12)) return false;
      groups[n++] = (out[12]! << 8) | out[13]!;
      groups[n++] = (out[14]! << 8) | out[15]!;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups[n++] = value;
    if (j === end) break;
    if (s.charCodeAt(j) !== COLON) return false;
    j++;
    if (j < end && s.charCodeAt(j) === COLON) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === end) return false;
    i = j;
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const shift = 8 - n;
    for (let k = n - 1; k >= gap; k--) groups[k + shift] = groups[k]!;
    for (let k = gap; k < gap + shift; k++) groups[k] = 0;
  }
  for (let k = 0; k < 8; k++) {
    out[2 * k] = groups[k]! >> 8;
    out[2 * k + 1] = groups[k]! & 0xff;
  }
  return true;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone, `%eth0`, is dropped) into `out`, IPv4 as IPv4-mapped.
 * Returns `out`, or null when the text is not an address.
 */
export function parseIp(text: string, out: Uint8Array = new Uint8Array(16)): Uint8Array | null {
  let end = text.length;
  let v6 = false;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) v6 = true;
    else if (c === PERCENT && v6) {
      end = i;
      break;
    }
  }
  if (v6) return parseV6(text, end, out) ? out : null;
  out.fill(0, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  return parseV4(text, 0, end, out, 12) ? out : null;
}

/** Whether 16 address bytes are IPv4-mapped, i.e. an IPv4 address. */
export function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Canonical text: dotted quad for IPv4, RFC 5952 for IPv6 (lower case, longest zero run as `::`). */
export function formatIp(bytes: Uint8Array): string {
  if (isV4Mapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const g: number[] = [];
  for (let k = 0; k < 8; k++) g.push((bytes[2 * k]! << 8) | bytes[2 * k + 1]!);
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestAt = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((v) => v.toString(16)).join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

const groupScratch = new Uint8Array(16);

/**
 * What a per-address limit counts a peer as (limits.maxConnectionsPerAddress,
 * maxPendingBodyBytesPerAddress; the failure limit keys the same way): an IPv4 address itself, an
 * IPv6 address's /64 (`2001:db8:1:2::/64`: one host or subscriber holds a whole /64, so counting
 * each of its addresses would bound nothing), other text unchanged.
 */
export function addressGroup(host: string): string {
  const a = parseIp(host, groupScratch);
  if (a === null) return host;
  if (isV4Mapped(a)) return formatIp(a);
  a.fill(0, 8);
  return `${formatIp(a)}/64`;
}

/**
 * Parses an address or CIDR ("10.0.0.0/8", "fd00::/8", "::1"); an address alone is a full-length
 * network. An IPv4 prefix counts from 0 to 32 and is stored as 96 + prefix. Null when invalid.
 */
export function parseNetwork(text: string): IpNetwork | null {
  const slash = text.indexOf("/");
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (bytes === null) return null;
  const v4 = isV4Mapped(bytes) && !text.includes(":");
  if (slash < 0) return { bytes, prefix: 128 };
  const p = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
  const prefix = Number(p);
  if (prefix > (v4 ? 32 : 128)) return null;
  return { bytes, prefix: v4 ? 96 + prefix : prefix };
}

/** Whether an address lies in a network: the first `prefix` bits are equal. */
export function networkContains(net: IpNetwork, addr: Uint8Array): boolean {
  const full = net.prefix >> 3;
  for (let i = 0; i < full; i++) if (net.bytes[i] !== addr[i]) return false;
  const rest = net.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((net.bytes[full]! ^ addr[full]!) & mask) === 0;
}

/** Whether a network has bits set after its prefix ("10.0.0.1/8"), usually a typo for the network. */
export function networkHasHostBits(net: IpNetwork): boolean {
  for (let bit = net.prefix; bit < 128; bit++) {
    if ((net.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  }
  return false;
}

/** The network written back as text: "10.0.0.0/8", "fd00::/8", or the bare address at full length. */
export function formatNetwork(net: IpNetwork): string {
  if (net.prefix === 128) return formatIp(net.bytes);
  const v4 = isV4Mapped(net.bytes) && net.prefix >= 96;
  return `${formatIp(net.bytes)}/${v4 ? net.prefix - 96 : net.prefix}`;
}

/** The same network with its host bits cleared ("10.0.0.1/8" -> "10.0.0.0/8"), for error messages. */
export function networkBase(net: IpNetwork): IpNetwork {
  const bytes = net.bytes.slice();
  for (let bit = net.prefix; bit < 128; bit++) bytes[bit >> 3] = bytes[bit >> 3]! & ~(0x80 >> (bit & 7));
  return { bytes, prefix: net.prefix };
}

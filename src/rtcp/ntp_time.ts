/**
 * 64-bit NTP timestamps (RFC 3550 §4, RFC 5905 §6): seconds since 1900-01-01 in the high word, the
 * fraction of a second in 2^-32 units in the low one, both uint32; and the "middle 32 bits" that
 * reception reports echo (LSR) with delays in 1/65536 s (DLSR).
 *
 * @module
 */

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

const TWO_32 = 2 ** 32;

/** The NTP seconds word of a Unix time in ms (uint32: era 0 ends in 2036, then it wraps). */
export function ntpSeconds(unixMs: number): number {
  return (Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_SECONDS) >>> 0;
}

/** The NTP fraction word of a Unix time in ms. */
export function ntpFraction(unixMs: number): number {
  const s = Math.floor(unixMs / 1000);
  return Math.floor(((unixMs - s * 1000) / 1000) * TWO_32) >>> 0;
}

/**
 * The Unix time in ms of an NTP timestamp. Seconds with the top bit clear are read as era 1
 * (2036-2104), as RFC 4330 §3 suggests, so the conversion keeps working across the wrap.
 */
export function unixMsFromNtp(seconds: number, fraction: number): number {
  const s = seconds >= 0x80000000 ? seconds : seconds + TWO_32;
  return (s - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction / TWO_32) * 1000;
}

/** The middle 32 bits of an NTP timestamp: what a report block's LSR field echoes. */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/**
 * Round-trip time in ms from a report block received at `nowUnixMs` (RFC 3550 §6.4.1: arrival,
 * less LSR, less DLSR, in 1/65536 s), or null when the receiver has had no SR yet (LSR 0).
 */
export function roundTripMs(nowUnixMs: number, lastSr: number, delaySinceLastSr: number): number | null {
  if (lastSr === 0) return null;
  const now = ntpMiddle32(ntpSeconds(nowUnixMs), ntpFraction(nowUnixMs));
  const units = (now - lastSr - delaySinceLastSr) >>> 0;
  // A negative round trip (clock steps, bad echoes) wraps to a huge value: not a measurement.
  return units >= 0x80000000 ? null : (units * 1000) / 65536;
}

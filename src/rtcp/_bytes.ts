/** Big-endian 32-bit fields and UTF-8 text, as RTCP packets carry them (private to src/rtcp). */

export function readU32(buf: Uint8Array, i: number): number {
  return ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0;
}

export function writeU32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = v >>> 24;
  buf[i + 1] = (v >>> 16) & 0xff;
  buf[i + 2] = (v >>> 8) & 0xff;
  buf[i + 3] = v & 0xff;
}

// Fatal: text that is not UTF-8 (RFC 3550 §6.5) would decode to U+FFFD, up to three bytes per
// byte, and could then not be written back in the 255 bytes an SDES item or BYE reason has.
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The UTF-8 text of the bytes, or null when they are not UTF-8. */
export function readUtf8(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

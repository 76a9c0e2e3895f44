/** Big-endian 32-bit fields, as every RTCP packet has them (private to src/rtcp). */

export function readU32(buf: Uint8Array, i: number): number {
  return ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0;
}

export function writeU32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = v >>> 24;
  buf[i + 1] = (v >>> 16) & 0xff;
  buf[i + 2] = (v >>> 8) & 0xff;
  buf[i + 3] = v & 0xff;
}

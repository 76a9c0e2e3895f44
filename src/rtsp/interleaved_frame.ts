// RFC 2326 §10.12 interleaved binary data, 4-byte header then payload:
//   0                   1                   2                   3
//  +---------------+---------------+-------------------------------+
//  | '$' (0x24)    | channel       | payload length (big endian)   |
//  +---------------+---------------+-------------------------------+

/** Size of the `$` header before each interleaved payload (RFC 2326 §10.12). */
export const INTERLEAVED_HEADER_BYTES = 4;
/** First byte of an interleaved frame, `$` (RFC 2326 §10.12). */
export const INTERLEAVED_MAGIC = 0x24;
/** Largest payload the 16-bit length field can carry (RFC 2326 §10.12). */
export const MAX_INTERLEAVED_PAYLOAD_BYTES = 0xffff;

/** Writes `$`, channel and length at `offset` (RFC 2326 §10.12). Hot path: no allocation. */
export function writeInterleavedHeader(
  buf: Uint8Array,
  offset: number,
  channel: number,
  payloadLength: number,
): void {
  // Silent truncation here would desynchronise the viewer's stream for good, so refuse instead.
  if (!(channel >= 0 && channel <= 255 && Number.isInteger(channel))) {
    throw new RangeError(`Interleaved channel ${channel} is outside 0-255`);
  }
  if (
    !(payloadLength >= 0 && payloadLength <= MAX_INTERLEAVED_PAYLOAD_BYTES && Number.isInteger(payloadLength))
  ) {
    throw new RangeError(`Interleaved payload length ${payloadLength} is outside 0-65535`);
  }
  if (offset < 0 || offset + INTERLEAVED_HEADER_BYTES > buf.length) {
    throw new RangeError(`No room for an interleaved header at offset ${offset}`);
  }
  buf[offset] = INTERLEAVED_MAGIC;
  buf[offset + 1] = channel;
  buf[offset + 2] = payloadLength >>> 8;
  buf[offset + 3] = payloadLength & 0xff;
}

/** Channel byte of the frame header at `offset` (RFC 2326 §10.12); caller checked the `$`. */
export function readInterleavedChannel(buf: Uint8Array, offset: number): number {
  return buf[offset + 1] ?? 0;
}

/** Payload length of the frame header at `offset` (RFC 2326 §10.12); caller checked 4 bytes exist. */
export function readInterleavedLength(buf: Uint8Array, offset: number): number {
  return ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0);
}

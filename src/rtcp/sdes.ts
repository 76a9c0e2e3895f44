/**
 * Source Description, RTCP packet type 202 (RFC 3550 §6.5): per source a list of text items, of
 * which CNAME (the canonical name that binds a participant's streams together) is the one every
 * compound packet must carry.
 *
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|    SC   |  PT=SDES=202  |             length            |  byte 0
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                          SSRC/CSRC_1                          |  chunk 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     type      |    length     |  text (length bytes) ...      |  items; type 0 ends the list,
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  null bytes pad to 32 bits
 * ```
 *
 * @module
 */
import { readU32, readUtf8, writeU32 } from "./_bytes.ts";
import {
  RTCP_HEADER_BYTES,
  RTCP_MAX_COUNT,
  RTCP_TYPE,
  rtcpContentEnd,
  rtcpCount,
  rtcpType,
  writeRtcpHeader,
} from "./rtcp_header.ts";

/** Item types (RFC 3550 §6.5.1-6.5.8). */
export const SDES_ITEM = {
  END: 0,
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

export interface SdesItem {
  type: number;
  /** The item's UTF-8 text (PRIV: prefix length, prefix and value as they come). */
  text: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

const encoder = new TextEncoder();

/**
 * Reads the SDES packet at buf[start..end) (`end`: the packet's end, from rtcpPacketBytes), or null
 * when it is not SDES, a chunk runs past the packet or lacks its terminating null byte, or an
 * item's text is not UTF-8.
 */
export function parseSdes(buf: Uint8Array, start: number, end: number): SdesChunk[] | null {
  if (end - start < RTCP_HEADER_BYTES || rtcpType(buf, start) !== RTCP_TYPE.SDES) return null;
  const content = rtcpContentEnd(buf, start, end);
  if (content < 0) return null;
  const chunks: SdesChunk[] = [];
  let off = start + RTCP_HEADER_BYTES;
  for (let c = rtcpCount(buf, start); c > 0; c--) {
    if (off + 4 > content) return null;
    const chunk: SdesChunk = { ssrc: readU32(buf, off), items: [] };
    off += 4;
    for (;;) {
      if (off >= content) return null;
      const type = buf[off];
      if (type === SDES_ITEM.END) {
        // The null byte, then more up to the next 32-bit boundary (counted from the packet start).
        off = start + Math.ceil((off + 1 - start) / 4) * 4;
        break;
      }
      if (off + 2 > content) return null;
      const len = buf[off + 1];
      if (off + 2 + len > content) return null;
      const text = readUtf8(buf.subarray(off + 2, off + 2 + len));
      if (text === null) return null;
      chunk.items.push({ type, text });
      off += 2 + len;
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Bytes writeSdes() writes for chunks. */
export function sdesBytes(chunks: readonly SdesChunk[]): number {
  let n = RTCP_HEADER_BYTES;
  for (const c of chunks) {
    let m = 4 + 1;
    for (const it of c.items) m += 2 + encoder.encode(it.text).length;
    n += Math.ceil(m / 4) * 4;
  }
  return n;
}

/**
 * Writes an SDES packet with these chunks at buf[offset..]; returns the bytes written. Each item's
 * text must fit in 255 UTF-8 bytes and buf must have sdesBytes(chunks) bytes from offset.
 */
export function writeSdes(chunks: readonly SdesChunk[], buf: Uint8Array, offset: number): number {
  if (chunks.length > RTCP_MAX_COUNT) throw new RangeError(`${chunks.length} SDES chunks, at most 31`);
  let off = offset + RTCP_HEADER_BYTES;
  for (const c of chunks) {
    writeU32(buf, off, c.ssrc);
    off += 4;
    for (const it of c.items) {
      const { read, written } = encoder.encodeInto(it.text, buf.subarray(off + 2, off + 2 + 255));
      if (read !== it.text.length) throw new RangeError(`SDES item longer than 255 bytes: ${it.text}`);
      buf[off] = it.type;
      buf[off + 1] = written;
      off += 2 + written;
    }
    // At least one null byte ends the item list, more pad the chunk to 32 bits.
    const padded = offset + Math.ceil((off + 1 - offset) / 4) * 4;
    buf.fill(0, off, padded);
    off = padded;
  }
  writeRtcpHeader(buf, offset, chunks.length, RTCP_TYPE.SDES, off - offset);
  return off - offset;
}

/**
 * Real encoded media for the muxer's interop tests: ffmpeg encodes elementary streams (Annex B
 * H.264/H.265, ADTS AAC, Ogg Opus, raw G.711), these helpers (and `src/rtp/testdata/annex_b.ts`,
 * `adts.ts`) split them into frames, and ffprobe reads back what the muxer wrote. Test-only;
 * allocating. ffmpeg is run by `src/rtp/testdata/run_tool.ts`: missing, the test fails saying so.
 *
 * @module
 */
import { runTool } from "../../rtp/testdata/run_tool.ts";

/** One packet as ffmpeg's framecrc muxer lists it: in the encoder's time base, decode order. */
export interface CrcPacket {
  dts: number;
  pts: number;
  duration: number;
  size: number;
  key: boolean;
}

/** The packets of stream 0 of a framecrc file (`#tb 0: 1/30` then `0, dts, pts, duration, size, crc[, F=..]`). */
export function parseFrameCrc(text: string): { timeBase: [number, number]; packets: CrcPacket[] } {
  const tb = /^#tb 0: (\d+)\/(\d+)$/m.exec(text);
  if (tb === null) throw new Error("framecrc without '#tb 0:'");
  const packets: CrcPacket[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const f = line.split(",").map((s) => s.trim());
    if (f[0] !== "0") continue;
    const flags = f.find((x) => x.startsWith("F="));
    // framecrc prints F= only when the flags are not "key" alone.
    packets.push({
      dts: Number(f[1]),
      pts: Number(f[2]),
      duration: Number(f[3]),
      size: Number(f[4]),
      key: flags === undefined || (parseInt(flags.slice(2), 16) & 1) === 1,
    });
  }
  return { timeBase: [Number(tb[1]), Number(tb[2])], packets };
}

/** The avcC record built from one SPS and one PPS (ISO/IEC 14496-15 §5.3.3.1), 4-byte lengths. */
export function avcC(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  return Uint8Array.of(
    1,
    sps[1],
    sps[2],
    sps[3],
    0xff,
    0xe1,
    sps.length >> 8,
    sps.length & 0xff,
    ...sps,
    1,
    pps.length >> 8,
    pps.length & 0xff,
    ...pps,
  );
}

/** The packets of an Ogg stream with one logical bitstream (RFC 3533): pages' segments joined by lacing. */
export function oggPackets(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pending: number[] = [];
  let at = 0;
  while (at + 27 <= bytes.length) {
    if (String.fromCharCode(...bytes.subarray(at, at + 4)) !== "OggS") {
      throw new Error(`No Ogg page at ${at}`);
    }
    const segments = bytes[at + 26];
    const table = bytes.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const lacing of table) {
      pending.push(...bytes.subarray(body, body + lacing));
      body += lacing;
      // A lacing value below 255 ends a packet; 255 continues it (in this page or the next).
      if (lacing < 255) {
        out.push(Uint8Array.from(pending));
        pending = [];
      }
    }
    at = body;
  }
  return out;
}

/** OpusHead fields (RFC 7845 §5.1, little-endian), for the dOps the muxer writes. */
export function opusHead(
  packet: Uint8Array,
): { channels: number; preSkip: number; inputRate: number; gain: number } {
  if (String.fromCharCode(...packet.subarray(0, 8)) !== "OpusHead") throw new Error("Not an OpusHead");
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    channels: packet[9],
    preSkip: v.getUint16(10, true),
    inputRate: v.getUint32(12, true),
    gain: v.getInt16(16, true),
  };
}

/** What ffprobe says of a file: its streams and packets (JSON output). */
export interface Probe {
  streams: {
    index: number;
    codec_name: string;
    codec_tag_string: string;
    width?: number;
    height?: number;
    sample_rate?: string;
    channels?: number;
    time_base: string;
  }[];
  packets: {
    stream_index: number;
    pts: number;
    dts: number;
    duration: number;
    size: string;
    flags: string;
  }[];
}

/** `ffprobe -show_streams -show_packets` of a file. */
export async function probe(file: string): Promise<Probe> {
  const { stdout } = await runTool("ffprobe", [
    "-v",
    "error",
    "-show_streams",
    "-show_packets",
    "-of",
    "json",
    file,
  ]);
  const p = JSON.parse(new TextDecoder().decode(stdout)) as Probe;
  p.packets ??= [];
  return p;
}

/** What `ffmpeg -v error -i FILE -f null -` prints: empty when every packet decodes cleanly. */
export async function decodeErrors(input: string, inputArgs: string[] = []): Promise<string> {
  const { stderr } = await runTool("ffmpeg", ["-v", "error", ...inputArgs, "-i", input, "-f", "null", "-"]);
  return stderr;
}

/** Concatenation of byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

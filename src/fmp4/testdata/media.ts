/**
 * Real encoded media for the muxer's interop tests: ffmpeg encodes elementary streams (Annex B
 * H.264/H.265, ADTS AAC, Ogg Opus, raw G.711), these helpers split them into frames, and ffprobe
 * reads back what the muxer wrote. Test-only; allocating.
 *
 * ffmpeg must be installed (CI installs it): a missing ffmpeg fails the test with what to
 * install, it never skips.
 *
 * @module
 */

const decoder = new TextDecoder();

/** Runs ffmpeg or ffprobe; returns stdout and stderr; throws with stderr when it fails. */
export async function run(
  bin: "ffmpeg" | "ffprobe",
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${bin} is not installed: the fMP4 interop tests need it (apt-get install ffmpeg)`);
    }
    throw e;
  }
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed (${out.code}):\n${stderr}`);
  return { stdout, stderr };
}

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

/** One NAL unit of an Annex B stream (a view) and where its start code begins. */
interface AnnexBNal {
  nal: Uint8Array;
  startCode: number;
}

/** NAL units of an Annex B byte stream, start codes (3 or 4 bytes) removed. */
export function splitAnnexB(bytes: Uint8Array): AnnexBNal[] {
  const out: AnnexBNal[] = [];
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      out.push({ nal: bytes.subarray(i + 3), startCode: i > 0 && bytes[i - 1] === 0 ? i - 1 : i });
      i += 2;
    }
  }
  for (let k = 0; k + 1 < out.length; k++) {
    const n = out[k];
    n.nal = n.nal.subarray(0, out[k + 1].startCode - (n.startCode + (bytes[n.startCode + 2] === 1 ? 3 : 4)));
  }
  return out;
}

/** One access unit of an Annex B stream: its NAL units and the bytes it spans in the stream. */
export interface AccessUnitNals {
  nals: Uint8Array[];
  annexBSize: number;
}

/**
 * Groups the NAL units of an Annex B stream into access units: a new one starts at the first
 * slice of a picture (first_mb_in_slice 0 / first_slice_segment_in_pic_flag, the first bit after
 * the NAL header) or at a parameter set, SEI or AUD after the previous picture's slices.
 * annexBSize (start codes included) is the size of the encoder's packet for the frame.
 */
export function accessUnits(bytes: Uint8Array, codec: "h264" | "h265"): AccessUnitNals[] {
  const out: { nals: Uint8Array[]; start: number }[] = [];
  let current: { nals: Uint8Array[]; start: number } | undefined;
  let seenVcl = false;
  for (const { nal, startCode } of splitAnnexB(bytes)) {
    const type = codec === "h264" ? nal[0] & 0x1f : (nal[0] >> 1) & 0x3f;
    const vcl = codec === "h264" ? type >= 1 && type <= 5 : type <= 31;
    const header = codec === "h264" ? 1 : 2;
    const starts = current === undefined || (seenVcl && (!vcl || (nal[header] & 0x80) !== 0));
    if (starts) {
      current = { nals: [], start: startCode };
      out.push(current);
      seenVcl = false;
    }
    if (vcl) seenVcl = true;
    current!.nals.push(nal);
  }
  return out.map((au, k) => ({ nals: au.nals, annexBSize: (out[k + 1]?.start ?? bytes.length) - au.start }));
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

/** One ADTS frame: the raw AAC frame and the fields the AudioSpecificConfig needs. */
export interface AdtsFrame {
  data: Uint8Array;
  objectType: number;
  frequencyIndex: number;
  channelConfig: number;
}

/** Splits an ADTS stream (ISO/IEC 14496-3 §1.A.2) into raw frames, headers (7 or 9 bytes) removed. */
export function splitAdts(bytes: Uint8Array): AdtsFrame[] {
  const out: AdtsFrame[] = [];
  let at = 0;
  while (at + 7 <= bytes.length) {
    if (bytes[at] !== 0xff || (bytes[at + 1] & 0xf0) !== 0xf0) throw new Error(`No ADTS sync word at ${at}`);
    const protectionAbsent = bytes[at + 1] & 1;
    const objectType = (bytes[at + 2] >> 6) + 1;
    const frequencyIndex = (bytes[at + 2] >> 2) & 0x0f;
    const channelConfig = ((bytes[at + 2] & 1) << 2) | (bytes[at + 3] >> 6);
    const length = ((bytes[at + 3] & 3) << 11) | (bytes[at + 4] << 3) | (bytes[at + 5] >> 5);
    const header = protectionAbsent ? 7 : 9;
    out.push({ data: bytes.subarray(at + header, at + length), objectType, frequencyIndex, channelConfig });
    at += length;
  }
  return out;
}

/** The 2-byte AudioSpecificConfig of an ADTS frame's fields (ISO/IEC 14496-3 §1.6.2.1). */
export function audioSpecificConfig(f: AdtsFrame): Uint8Array {
  return Uint8Array.of(
    (f.objectType << 3) | (f.frequencyIndex >> 1),
    ((f.frequencyIndex & 1) << 7) | (f.channelConfig << 3),
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
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-show_streams",
    "-show_packets",
    "-of",
    "json",
    file,
  ]);
  const p = JSON.parse(stdout) as Probe;
  p.packets ??= [];
  return p;
}

/** What `ffmpeg -v error -i FILE -f null -` prints: empty when every packet decodes cleanly. */
export async function decodeErrors(input: string, inputArgs: string[] = []): Promise<string> {
  const { stderr } = await run("ffmpeg", ["-v", "error", ...inputArgs, "-i", input, "-f", "null", "-"]);
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

/**
 * Real encoder output for the codec-parameter and DTS tests (test-only): a clip encoded by ffmpeg
 * (libx264 / libx265) to an Annex B file and, stream-copied, to an MP4; what ffprobe and ffmpeg's
 * trace_headers bitstream filter say about them; the boxes ffmpeg wrote. ffmpeg is always installed
 * in CI: when it is missing these helpers throw saying so, they never skip. `annex_b.ts` splits the
 * raw stream.
 */
import assert from "node:assert/strict";
import { accessUnits, splitAnnexB } from "./annex_b.ts";
import { type Mp4Sample, writeMp4 } from "./mp4_writer.ts";
import { runTool } from "./run_tool.ts";

/** One encoded clip on disk; `remove()` deletes its directory. */
export interface Clip {
  codec: "h264" | "h265";
  /** The same stream as Annex B, copied out of the MP4. */
  raw: string;
  /** The encoder's MP4 (sample entry avc1 / hvc1), whose packets carry the encoder's pts and dts. */
  mp4: string;
  bytes: Uint8Array;
  dir: string;
  remove(): Promise<void>;
}

/** Encodes `frames` frames of testsrc at `size` and `rate` with the encoder arguments given. */
export async function encodeClip(
  codec: "h264" | "h265",
  size: string,
  encoderArgs: string[],
  options: { frames?: number; rate?: number; pixFmt?: string } = {},
): Promise<Clip> {
  const dir = await Deno.makeTempDir({ prefix: "dm-live-codec-" });
  const raw = `${dir}/clip.${codec}`;
  const mp4 = `${dir}/clip.mp4`;
  const remove = () => Deno.remove(dir, { recursive: true });
  try {
    // Encoding straight into the MP4 keeps the encoder's pts and dts (ffmpeg 5.1 stream-copying a
    // raw .h264 into MP4 writes pts = dts); the elementary stream is then copied out of it.
    await runTool("ffmpeg", [
      "-hide_banner",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${size}:rate=${options.rate ?? 25}`,
      "-frames:v",
      String(options.frames ?? 30),
      "-pix_fmt",
      options.pixFmt ?? "yuv420p",
      ...encoderArgs,
      ...(codec === "h265" ? ["-tag:v", "hvc1"] : []),
      mp4,
    ]);
    await runTool("ffmpeg", [
      "-hide_banner",
      "-v",
      "error",
      "-i",
      mp4,
      "-c",
      "copy",
      "-f",
      codec === "h264" ? "h264" : "hevc",
      raw,
    ]);
    return { codec, raw, mp4, bytes: await Deno.readFile(raw), dir, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** The first video stream as ffprobe -show_streams reports it. */
export async function probeStream(path: string): Promise<Record<string, unknown>> {
  const { stdout } = await runTool("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_streams",
    "-of",
    "json",
    path,
  ]);
  const streams = JSON.parse(new TextDecoder().decode(stdout)).streams as Record<string, unknown>[];
  if (streams.length === 0) throw new Error(`ffprobe found no video stream in ${path}`);
  return streams[0];
}

/** Packets in file order (decoding order for MP4) with pts and dts in 90 kHz ticks. */
export async function probePackets(path: string): Promise<{ pts: number; dts: number; key: boolean }[]> {
  const { stdout } = await runTool("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=time_base:packet=pts,dts,flags",
    "-of",
    "json",
    path,
  ]);
  const json = JSON.parse(new TextDecoder().decode(stdout));
  const [num, den] = (json.streams[0].time_base as string).split("/").map(Number);
  const ticks = (v: number) => Math.round((v * 90000 * num) / den);
  return (json.packets as { pts: number; dts: number; flags: string }[]).map((p) => ({
    pts: ticks(p.pts),
    dts: ticks(p.dts),
    key: p.flags.startsWith("K"),
  }));
}

/** The clip's access units with the times and key flags of ffmpeg's MP4 packets. */
export async function clipSamples(clip: Clip): Promise<Mp4Sample[]> {
  const packets = await probePackets(clip.mp4);
  return accessUnits(clip.codec, splitAnnexB(clip.bytes)).map((units, i) => ({
    units,
    dts: packets[i].dts,
    pts: packets[i].pts,
    sync: packets[i].key,
  }));
}

/**
 * Writes `samples` into an MP4 of the clip's directory behind our own codec record (`config` in
 * sample entry `entry`), and asserts ffmpeg decodes it without an error to the frames of the clip.
 */
export async function assertDecodesLikeClip(
  clip: Clip,
  entry: "avc1" | "hvc1",
  config: Uint8Array,
  size: { width: number; height: number },
  samples: readonly Mp4Sample[],
): Promise<void> {
  const file = `${clip.dir}/ours.mp4`;
  await Deno.writeFile(file, writeMp4(entry, config, size.width, size.height, samples));
  const [ours, reference] = [await decodeFrames(file), await decodeFrames(clip.raw)];
  assert.equal(ours.errors, "");
  assert.deepEqual(ours.md5s, reference.md5s);
}

/** One header trace_headers printed: its title and the syntax elements in order, `name = value`. */
export interface TracedHeader {
  title: string;
  fields: [string, number][];
}

/** What ffmpeg's trace_headers bitstream filter (libavcodec cbs) reads from a file's headers, in order. */
export async function traceHeaders(path: string): Promise<TracedHeader[]> {
  const { stderr } = await runTool("ffmpeg", [
    "-hide_banner",
    "-i",
    path,
    "-c",
    "copy",
    "-bsf:v",
    "trace_headers",
    "-f",
    "null",
    "-",
  ]);
  const out: TracedHeader[] = [];
  for (const line of stderr.split("\n")) {
    const m = /^\[trace_headers @ [0-9a-fx]+\] (.*)$/.exec(line);
    if (m === null) continue;
    const body = m[1];
    const field = /^\d+\s+(\S+)\s+[01]+ = (-?\d+)$/.exec(body);
    if (field !== null) out[out.length - 1]?.fields.push([field[1], Number(field[2])]);
    else if (!body.startsWith("Packet:")) out.push({ title: body.trim(), fields: [] });
  }
  return out;
}

/** Every `type` box's payload in a file, found by walking the box tree through the containers named. */
export function findBoxes(bytes: Uint8Array, type: string): Uint8Array[] {
  const containers = new Set([
    "moov",
    "trak",
    "mdia",
    "minf",
    "stbl",
    "stsd",
    "avc1",
    "hvc1",
    "hev1",
    "avc3",
  ]);
  // Sample entries hold fields before their child boxes (ISO/IEC 14496-12 §12.1.3), stsd an entry count.
  const skip: Record<string, number> = { stsd: 8, avc1: 78, avc3: 78, hvc1: 78, hev1: 78 };
  const found: Uint8Array[] = [];
  const walk = (start: number, end: number) => {
    let at = start;
    while (at + 8 <= end) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
      const name = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      if (size < 8 || at + size > end) return;
      if (name === type) found.push(bytes.slice(at + 8, at + size));
      if (containers.has(name)) walk(at + 8 + (skip[name] ?? 0), at + size);
      at += size;
    }
  };
  walk(0, bytes.length);
  return found;
}

/** ffmpeg decoding a file: its error output (empty when clean) and the frame MD5s in output order. */
export async function decodeFrames(path: string): Promise<{ errors: string; md5s: string[] }> {
  const { stdout, stderr } = await runTool("ffmpeg", [
    "-hide_banner",
    "-v",
    "error",
    "-i",
    path,
    "-f",
    "framemd5",
    "-",
  ]);
  const md5s = new TextDecoder().decode(stdout).split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(",").at(-1)!.trim());
  return { errors: stderr.trim(), md5s };
}

/** spec_name for a camelCase field name. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Where a parsed field's name differs from the one libavcodec's cbs prints (H.264 spells them so). */
const CBS_NAMES: Record<string, string> = {
  gaps_in_frame_num_value_allowed_flag: "gaps_in_frame_num_allowed_flag",
  direct8x8_inference_flag: "direct_8x8_inference_flag",
};

/** The syntax elements a parsed header holds, by the names trace_headers prints; derived fields left out. */
export function syntaxElements(parsed: unknown, out = new Map<string, number>()): Map<string, number> {
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const name = CBS_NAMES[snake(key)] ?? snake(key);
    if (key === "width" || key === "height") continue;
    if (key === "constraintFlags" && typeof value === "number") {
      for (let i = 0; i < 6; i++) out.set(`constraint_set${i}_flag`, (value >> (7 - i)) & 1);
      out.set("reserved_zero_2bits", value & 3);
    } else if (key === "generalProfileCompatibilityFlags" && typeof value === "number") {
      for (let j = 0; j < 32; j++) {
        out.set(`general_profile_compatibility_flag[${j}]`, (value >>> (31 - j)) & 1);
      }
    } else if (key === "generalConstraintIndicatorFlags" && typeof value === "number") {
      const top = Math.floor(value / 2 ** 44);
      const flags = [
        "progressive_source",
        "interlaced_source",
        "non_packed_constraint",
        "frame_only_constraint",
      ];
      flags.forEach((f, i) => out.set(`general_${f}_flag`, (top >> (3 - i)) & 1));
    } else if (typeof value === "number" || typeof value === "boolean") {
      out.set(name, Number(value));
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (typeof v === "number" || typeof v === "boolean") out.set(`${name}[${i}]`, Number(v));
      });
    } else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
      syntaxElements(value, out);
    }
  }
  return out;
}

/**
 * Compares a parsed header with what trace_headers printed for it: every syntax element the parser
 * returns that cbs printed once must hold the same value. Returns the names compared and mismatches.
 */
export function compareWithTrace(
  parsed: unknown,
  traced: TracedHeader,
): { compared: string[]; mismatches: string[] } {
  const counts = new Map<string, number>();
  for (const [name] of traced.fields) counts.set(name, (counts.get(name) ?? 0) + 1);
  const trace = new Map(traced.fields.filter(([name]) => counts.get(name) === 1));
  const compared: string[] = [];
  const mismatches: string[] = [];
  for (const [name, value] of syntaxElements(parsed)) {
    if (!trace.has(name)) continue;
    compared.push(name);
    if (trace.get(name) !== value) mismatches.push(`${name}: parsed ${value}, ffmpeg ${trace.get(name)}`);
  }
  return { compared, mismatches };
}

/** Asserts a parsed header agrees with what trace_headers printed for it, in at least `least` fields. */
export function assertMatchesTrace(parsed: unknown, trace: TracedHeader | undefined, least: number): void {
  assert.ok(trace !== undefined, "ffmpeg printed no such header");
  const { compared, mismatches } = compareWithTrace(parsed, trace);
  assert.deepEqual(mismatches, []);
  assert.ok(compared.length >= least, `only ${compared.length} fields compared: ${compared.join(" ")}`);
}

/** What trace_headers reads from NAL units (no start codes) written as an Annex B file. */
export async function traceNalUnits(
  codec: "h264" | "h265",
  units: readonly Uint8Array[],
): Promise<TracedHeader[]> {
  const dir = await Deno.makeTempDir({ prefix: "dm-live-trace-" });
  try {
    const file = `${dir}/units.${codec}`;
    await Deno.writeFile(file, Uint8Array.from(units.flatMap((u) => [0, 0, 0, 1, ...u])));
    return await traceHeaders(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

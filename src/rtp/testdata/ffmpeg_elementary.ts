/**
 * Real media from ffmpeg for the depacketizer tests (test-only): a few frames of testsrc encoded to
 * an Annex B elementary stream, split into NAL units and grouped into access units the way a decoder
 * does (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4); a second of a sine tone in AAC, its ADTS headers
 * removed. ffmpeg is always installed in CI; when it is missing the test fails saying so.
 */

/** Encoder arguments: several slices per picture, AUDs, a keyframe every 10 frames. */
const ENCODERS = {
  h264: [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-g",
    "10",
    "-x264-params",
    "slices=3:aud=1",
    "-f",
    "h264",
  ],
  h265: [
    "-c:v",
    "libx265",
    "-preset",
    "veryfast",
    "-x265-params",
    "log-level=error:keyint=10:slices=2:aud=1:repeat-headers=1",
    "-f",
    "hevc",
  ],
} as const;

/** An Annex B elementary stream of `frames` frames of 640x480 testsrc. */
export function ffmpegElementaryStream(codec: "h264" | "h265", frames: number): Promise<Uint8Array> {
  return ffmpeg([
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=640x480:rate=25",
    "-frames:v",
    String(frames),
    ...ENCODERS[codec],
  ]);
}

/** Raw AAC frames (ADTS headers removed) of a 1 s 440 Hz tone, AAC LC 48 kHz mono (config 1188). */
export async function ffmpegAacFrames(): Promise<Uint8Array[]> {
  const adts = await ffmpeg([
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000:duration=1",
    "-c:a",
    "aac",
    "-b:a",
    "256k",
    "-f",
    "adts",
  ]);
  // ADTS (ISO/IEC 13818-7 §6.2): 12-bit sync, protection_absent, 13-bit frame_length at bit 30.
  const frames: Uint8Array[] = [];
  for (let at = 0; at + 7 <= adts.length;) {
    if (adts[at] !== 0xff || (adts[at + 1] & 0xf0) !== 0xf0) throw new Error(`no ADTS sync word at ${at}`);
    const header = (adts[at + 1] & 1) === 1 ? 7 : 9;
    const length = ((adts[at + 3] & 0x03) << 11) | (adts[at + 4] << 3) | (adts[at + 5] >> 5);
    frames.push(adts.slice(at + header, at + length));
    at += length;
  }
  return frames;
}

async function ffmpeg(input: string[]): Promise<Uint8Array> {
  const args = ["-hide_banner", "-loglevel", "error", ...input, "pipe:1"];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "ffmpeg is needed to encode the test stream and is not installed (apt-get install ffmpeg)",
      );
    }
    throw e;
  }
  if (!out.success) {
    throw new Error(`ffmpeg ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).slice(-1000)}`);
  }
  return out.stdout;
}

/** NAL units of an Annex B byte stream, start codes and trailing zeros removed. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let start = -1;
  const push = (end: number) => {
    while (end > start && stream[end - 1] === 0) end--;
    if (end > start) nals.push(stream.slice(start, end));
  };
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      if (start >= 0) push(i);
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) push(stream.length);
  return nals;
}

/**
 * NAL units grouped into access units: a new one starts at a NAL unit that may only lead an access
 * unit (AUD, parameter sets, prefix SEI) or at a picture's first slice, once the current one has a slice.
 */
export function annexBAccessUnits(stream: Uint8Array, codec: "h264" | "h265"): Uint8Array[][] {
  const aus: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let hasSlice = false;
  for (const nal of splitAnnexB(stream)) {
    let slice: boolean;
    let first: boolean;
    let leads: boolean;
    if (codec === "h264") {
      const type = nal[0] & 0x1f;
      slice = type >= 1 && type <= 5;
      first = slice && (nal[1] & 0x80) !== 0;
      leads = type === 6 || type === 7 || type === 8 || type === 9;
    } else {
      const type = (nal[0] >> 1) & 0x3f;
      slice = type <= 31;
      first = slice && (nal[2] & 0x80) !== 0;
      leads = type >= 32 && type <= 35 || type === 39;
    }
    if (hasSlice && (leads || first)) {
      aus.push(current);
      current = [];
      hasSlice = false;
    }
    current.push(nal);
    if (slice) hasSlice = true;
  }
  if (current.length > 0) aus.push(current);
  return aus;
}

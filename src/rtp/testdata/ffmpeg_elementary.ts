/**
 * Real media from ffmpeg for the depacketizer tests (test-only): a few frames of testsrc encoded to
 * an Annex B elementary stream (`annex_b.ts` splits it into access units); a second of a sine tone
 * in AAC, its ADTS headers removed.
 */
import { splitAdts } from "./adts.ts";
import { runTool } from "./run_tool.ts";

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
  return splitAdts(adts).map((f) => f.data);
}

async function ffmpeg(input: string[]): Promise<Uint8Array> {
  return (await runTool("ffmpeg", ["-hide_banner", "-loglevel", "error", ...input, "pipe:1"])).stdout;
}

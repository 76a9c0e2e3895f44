/** Real RTSP clients for interop tests: find them and run them. */
import { Proc } from "../support/proc.ts";

export { Proc, until } from "../support/proc.ts";

/** The clients interop tests use, and the Debian package that ships each. */
export const CLIENTS = {
  ffmpeg: "ffmpeg",
  ffprobe: "ffmpeg",
  "gst-launch-1.0": "gstreamer1.0-tools",
  chromium: "chromium",
} as const;
export type ClientName = keyof typeof CLIENTS;

const found = new Map<string, boolean>();

async function has(bin: string): Promise<boolean> {
  if (!found.has(bin)) {
    try {
      const out = await new Deno.Command("sh", {
        args: ["-c", `command -v ${bin}`],
        stdout: "null",
        stderr: "null",
      })
        .output();
      found.set(bin, out.success);
    } catch (e) {
      // Expected: no shell to ask (NotFound), so no client either.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      found.set(bin, false);
    }
  }
  return found.get(bin)!;
}

/**
 * Registers an interop test that needs real clients. In CI (CI=true) a missing client fails the
 * test with the package to install; a local run skips it with the reason printed.
 */
export function interopTest(name: string, needs: ClientName[], fn: () => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async (t) => {
      const missing: string[] = [];
      for (const c of needs) if (!(await has(c))) missing.push(`${c} (apt-get install ${CLIENTS[c]})`);
      if (missing.length > 0) {
        const msg = `interop client missing: ${missing.join(", ")}`;
        if (Deno.env.get("CI")) throw new Error(msg);
        console.log(`SKIPPED ${name}: ${msg}`);
        await t.step({ name: `skipped: ${msg}`, ignore: true, fn: () => {} });
        return;
      }
      await fn();
    },
  });
}

/**
 * ffmpeg pushing a generated H.264 Main + AAC stream (1 s GOP, 30 fps, SPS/PPS in-band on every
 * keyframe as x264 does with repeat-headers) to an RTSP URL. `veryfast` keeps CABAC on: with
 * `ultrafast` x264 signals Constrained Baseline whatever -profile says.
 */
export function ffmpegPublisher(url: string, transport: "tcp" | "udp" = "tcp", extra: string[] = []): Proc {
  const x264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main"];
  return ffmpegAvPublisher(url, transport, [...x264, "-g", "30", "-x264-params", "repeat-headers=1"], extra);
}

/** ffmpeg pushing testsrc2 (640x360, 30 fps) encoded with `video`, and a 440 Hz tone as AAC. */
function ffmpegAvPublisher(
  url: string,
  transport: "tcp" | "udp",
  video: string[],
  extra: string[] = [],
): Proc {
  return new Proc("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=30",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    ...video,
    "-b:v",
    "800k",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    ...extra,
    "-f",
    "rtsp",
    "-rtsp_transport",
    transport,
    url,
  ]);
}

/** What a gst-launch run printed: its output, and the lines that report errors or warnings. */
interface GstOutput {
  output: string;
  problems: string[];
}

/**
 * Runs gst-launch-1.0 (which runs until killed) until `enough` holds of what it printed so far,
 * it exits, or `maxSeconds` pass; then stops it and returns what `read` makes of all it printed.
 */
async function runGst<R extends GstOutput>(
  args: string[],
  read: (out: string) => R,
  enough: (r: R) => boolean,
  maxSeconds: number,
): Promise<R> {
  const gst = new Proc("gst-launch-1.0", args);
  const output = () => gst.stdout + gst.stderr;
  let exited = false;
  gst.done.then(() => exited = true);
  const deadline = Date.now() + maxSeconds * 1000;
  while (!exited && Date.now() < deadline && !enough(read(output()))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  gst.kill();
  await gst.wait(5000);
  return read(output());
}

/**
 * gst-launch's ERROR and WARNING lines, less two that are not about the stream:
 * - with a "src." request per track, a request may try the other track's pad first and warn
 *   "Delayed linking failed" before its own pad comes: the pipeline description's linking; the
 *   callers' per-branch frame counts show whether every branch got its track;
 * - GLib's "instance ... has no handler with id" from gsignal.c: rtspsrc disconnecting a signal
 *   handler twice while the test stops the pipeline (seen once in CI under load, on shutdown).
 */
export const problemLines = (out: string) =>
  out.split("\n").filter((l) =>
    /ERROR|WARNING/.test(l) && !/Delayed linking failed/.test(l) &&
    !/GLib-GObject-WARNING .*gsignal\.c:\d+: instance '0x[0-9a-f]+' has no handler with id/.test(l)
  );

/** Decoded frames (buffers that reached the named fakesink) and problems in a gst-launch output. */
export interface GstDecoded extends GstOutput {
  video: number;
  audio: number;
}

/**
 * Runs GStreamer's rtspsrc on url with H.264 and AAC decoders into fakesinks until `enough` holds
 * of the decoded frame counts so far (or it exits, or `maxSeconds` pass), then stops it: the
 * counts and the lines that report errors or warnings. `props`: more rtspsrc properties
 * (`tls-validation-flags=0` for a self-signed rtsps:// server).
 */
export function gstDecode(
  url: string,
  protocols: "tcp" | "udp" | "udp+tcp",
  enough: (r: GstDecoded) => boolean,
  maxSeconds = 30,
  props: string[] = [],
): Promise<GstDecoded> {
  const branch = (
    depay: string,
    parse: string,
    dec: string,
    name: string,
  ) => [
    "src.",
    "!",
    "queue",
    "!",
    depay,
    "!",
    parse,
    "!",
    dec,
    "!",
    "fakesink",
    `name=${name}`,
    "silent=false",
    "sync=false",
  ];
  const args = [
    "-v",
    "rtspsrc",
    `location=${url}`,
    `protocols=${protocols}`,
    "latency=0",
    "name=src",
    ...props,
    ...branch("rtph264depay", "h264parse", "avdec_h264", "video"),
    ...branch("rtpmp4gdepay", "aacparse", "avdec_aac", "audio"),
  ];
  const read = (output: string): GstDecoded => ({
    output,
    video: output.match(/video: last-message = chain/g)?.length ?? 0,
    audio: output.match(/audio: last-message = chain/g)?.length ?? 0,
    problems: problemLines(output),
  });
  return runGst(args, read, enough, maxSeconds);
}

/** ffprobe's key_frame,pict_type lines for the first `frames` video frames of url. */
export async function ffprobeFrames(url: string, transport: "tcp" | "udp", frames = 30) {
  const p = new Proc("ffprobe", [
    "-v",
    "error",
    "-rtsp_transport",
    transport,
    "-select_streams",
    "v:0",
    "-show_entries",
    "frame=key_frame,pict_type",
    "-read_intervals",
    `%+#${frames}`,
    "-of",
    "csv=p=0",
    url,
  ]);
  const st = await p.wait(20000);
  return { code: st.code, stderr: p.stderr, lines: p.stdout.trim().split("\n").map((l) => l.trim()) };
}

/**
 * ffmpeg pushing a generated H.265 + AAC stream to an RTSP URL: libx265 with zero latency (no
 * B-frames), a keyframe every 30 frames (1 s) and VPS/SPS/PPS in-band before each, as cameras do.
 */
export function ffmpegH265Publisher(url: string, transport: "tcp" | "udp" = "tcp"): Proc {
  return ffmpegAvPublisher(url, transport, [
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-x265-params",
    "repeat-headers=1:keyint=30:min-keyint=30:log-level=error",
  ]);
}

/**
 * ffmpeg pushing a generated 440 Hz tone alone (an audio-only stream) with `codecArgs`, e.g.
 * `["-c:a", "pcm_mulaw"]`, sampled at `sampleRate`.
 */
export function ffmpegAudioPublisher(url: string, sampleRate: number, codecArgs: string[]): Proc {
  return new Proc("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-re",
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=440:sample_rate=${sampleRate}`,
    ...codecArgs,
    "-f",
    "rtsp",
    "-rtsp_transport",
    "tcp",
    url,
  ]);
}

/** ffprobe's view of url's streams: codec_name, codec_type, sample_rate, channels, width per stream. */
export async function ffprobeStreams(url: string, transport: "tcp" | "udp" = "tcp") {
  const p = new Proc("ffprobe", [
    "-v",
    "error",
    "-rtsp_transport",
    transport,
    "-show_entries",
    "stream=codec_name,codec_type,sample_rate,channels,width,height",
    "-of",
    "json",
    url,
  ]);
  const st = await p.wait(20000);
  const streams = st.code === 0
    ? (JSON.parse(p.stdout) as { streams: Record<string, unknown>[] }).streams
    : [];
  return { code: st.code, stderr: p.stderr, streams };
}

/** ffmpeg starting to play url over TCP for `seconds` into the null muxer, printing only errors. */
export function ffmpegDecoder(url: string, seconds: number): Proc {
  return new Proc("ffmpeg", [
    "-hide_banner",
    "-v",
    "error",
    "-rtsp_transport",
    "tcp",
    "-i",
    url,
    "-t",
    String(seconds),
    "-f",
    "null",
    "-",
  ]);
}

/** ffmpeg playing url over TCP for `seconds` into the null muxer: exit code and its error lines. */
export async function ffmpegDecode(url: string, seconds: number) {
  const p = ffmpegDecoder(url, seconds);
  const st = await p.wait(30000);
  return { code: st.code, stderr: p.stderr };
}

/**
 * Runs GStreamer's rtspsrc over TCP with one decoding branch per entry (elements after the
 * depayloader's queue, ending in a fakesink named after the branch) until `enough` holds of the
 * buffers so far (or it exits, or `maxSeconds` pass), then stops it: buffers that reached each
 * sink, and the lines that report errors or warnings.
 */
export function gstDecodeBranches(
  url: string,
  branches: Record<string, string[]>,
  enough: (r: GstOutput & { buffers: Record<string, number> }) => boolean,
  maxSeconds = 30,
): Promise<GstOutput & { buffers: Record<string, number> }> {
  const args = ["-v", "rtspsrc", `location=${url}`, "protocols=tcp", "latency=0", "name=src"];
  for (const [name, elements] of Object.entries(branches)) {
    args.push("src.", "!", "queue");
    for (const e of elements) args.push("!", ...e.split(" "));
    args.push("!", "fakesink", `name=${name}`, "silent=false", "sync=false");
  }
  const read = (output: string) => {
    const buffers: Record<string, number> = {};
    for (const name of Object.keys(branches)) {
      buffers[name] = output.match(new RegExp(`${name}: last-message = chain`, "g"))?.length ?? 0;
    }
    return { buffers, problems: problemLines(output), output };
  };
  return runGst(args, read, enough, maxSeconds);
}

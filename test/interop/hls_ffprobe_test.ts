/**
 * A real player's parser against the store and handler: ffmpeg writes a fragmented MP4, its
 * fragments go into an HlsStreamStore as parts, Deno.serve answers with handleHlsRequest, and
 * ffprobe reads `index.m3u8` over HTTP. ffmpeg's HLS demuxer ignores the LL-HLS tags (it reads
 * segments), so this checks the playlists' syntax, EXT-X-MAP, the names and the segment bodies
 * built from parts; hls.js is left to a browser test.
 */
import assert from "node:assert/strict";
import { interopTest } from "./clients.ts";
import { handleHlsRequest } from "../../src/hls/hls_http.ts";
import { HlsStreamStore } from "../../src/hls/hls_stream_store.ts";
import { mediaPlaylistProblems } from "../../src/hls/playlist_rules.ts";
import { splitFragmentedMp4 } from "../../src/hls/testdata/fmp4_fragments.ts";

const FPS = 25;
const SECONDS = 4;

/** 4 s of 320x240 H.264 at 25 fps, a key frame every 10 frames, fragments of 200 ms or at key frames. */
async function fragmentedMp4(): Promise<Uint8Array> {
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc=size=320x240:rate=${FPS}`],
      ...["-t", String(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
      ...["-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0"],
      ...["-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "200000"],
      ...["-f", "mp4", "pipe:1"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

async function ffprobe(url: string, countFrames: boolean) {
  const out = await new Deno.Command("ffprobe", {
    args: [
      ...["-v", "error", "-select_streams", "v:0", ...(countFrames ? ["-count_frames"] : [])],
      ...["-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", url],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `ffprobe failed: ${err}`);
  return { stream: JSON.parse(new TextDecoder().decode(out.stdout)).streams[0], stderr: err };
}

interopTest("ffprobe plays dm-live's LL-HLS over HTTP: live, then ended with every frame", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const { init, fragments } = splitFragmentedMp4(await fragmentedMp4());
  assert.ok(fragments.length >= SECONDS * 5 && fragments[0]!.independent && !fragments[1]!.independent);
  const store = new HlsStreamStore({ id: "probe" });
  store.setInit(init, { codecs: "avc1.64000d", width: 320, height: 240, frameRate: FPS });
  let ms = Date.parse("2026-12-03T14:44:55Z");
  for (const f of fragments) {
    store.pushPart({ ...f, programDateTime: new Date(ms) });
    ms += f.duration * 1000;
  }
  assert.deepEqual(mediaPlaylistProblems(store.mediaPlaylist()), []);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      handleHlsRequest(req, {
        getStore: (path) =>
          Promise.resolve(path === "live/cam" ? store : new Response(null, { status: 404 })),
      }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/live/cam/index.m3u8`;
    // Live: ffmpeg starts three segments from the end and probes what it reads there.
    const live = await ffprobe(url, false);
    assert.deepEqual([live.stream.codec_name, live.stream.width, live.stream.height], ["h264", 320, 240]);
    assert.equal(live.stderr, "");
    store.close();
    const ended = await ffprobe(url, true);
    assert.equal(ended.stream.nb_read_frames, String(FPS * SECONDS), "every frame, through every segment");
    assert.equal(ended.stderr, "");
  } finally {
    await server.shutdown();
  }
});

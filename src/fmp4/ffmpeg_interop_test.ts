/**
 * The muxer against a real demuxer and decoders: ffmpeg encodes elementary streams, the test splits
 * them into frames, muxes init + fragments with src/fmp4/, and ffprobe must report the codecs,
 * dimensions, rates and channels written and every packet's pts, dts, duration, size and key flag;
 * `ffmpeg -v error -i FILE -f null -` must print nothing. ffmpeg is required (CI installs it).
 */
import assert from "node:assert/strict";
import { type InitSegment, parseInitSegment, serializeInitSegment } from "./init_segment.ts";
import {
  type Fragment,
  fragmentHeaderSize,
  type FragmentSample,
  fragmentSize,
  parseFragment,
  serializeFragment,
  writeFragmentHeader,
  writeNalUnits,
} from "./fragment.ts";
import { type AudioTrack, isVideoTrack, type Track, type VideoTrack } from "./track.ts";
import { avcC, concat, decodeErrors, oggPackets, opusHead, parseFrameCrc, probe } from "./testdata/media.ts";
import { annexBAccessUnits } from "../rtp/testdata/annex_b.ts";
import { audioSpecificConfig, splitAdts } from "../rtp/testdata/adts.ts";
import { runTool } from "../rtp/testdata/run_tool.ts";

const FFMPEG_QUIET = ["-hide_banner", "-v", "error", "-y"];
const VIDEO_SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "2"];
/** 2 s of a 440 Hz tone. */
const tone = (rate: number) => ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${rate}`, "-t", "2"];
const STEREO_TONE = [...tone(48000), "-ac", "2"];
const VIDEO_TIMESCALE = 90000;

/** One track's samples in decode order with their decode times, before they are cut into fragments. */
interface TrackMedia {
  track: Track;
  samples: (FragmentSample & { dts: number })[];
}

/** The init segment of ffmpeg's own MP4 of `input`, stream-copied: the reference to compare with. */
async function referenceInit(dir: string, input: string, args: string[] = []): Promise<InitSegment> {
  await runTool("ffmpeg", [
    ...FFMPEG_QUIET,
    "-i",
    input,
    "-c",
    "copy",
    ...args,
    "-f",
    "mp4",
    `${dir}/ref.mp4`,
  ]);
  return parseInitSegment(await Deno.readFile(`${dir}/ref.mp4`));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dm-live-fmp4-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Encodes testsrc2 once with x264/x265 into an Annex B stream and, from the same encoder output,
 * a framecrc list of its packets (dts, pts, size, key flag: the truth to compare against).
 */
async function encodeVideo(
  dir: string,
  codec: "h264" | "h265",
  bFrames: number,
  id = 1,
): Promise<TrackMedia> {
  const es = `${dir}/video.${codec}`;
  const encoder = codec === "h264"
    ? ["-c:v", "libx264", "-preset", "veryfast", "-bf", String(bFrames)]
    : ["-c:v", "libx265", "-preset", "veryfast", "-x265-params", `log-level=error:bframes=${bFrames}`];
  await runTool("ffmpeg", [
    ...FFMPEG_QUIET,
    ...VIDEO_SOURCE,
    "-map",
    "0",
    ...encoder,
    "-g",
    "30",
    "-pix_fmt",
    "yuv420p",
    "-f",
    "tee",
    `[f=${codec === "h264" ? "h264" : "hevc"}]${es}|[f=framecrc]${dir}/video.crc`,
  ]);
  const bytes = await Deno.readFile(es);
  const units = annexBAccessUnits(codec, bytes);
  const crc = parseFrameCrc(await Deno.readTextFile(`${dir}/video.crc`));
  assert.equal(units.length, crc.packets.length, "access units found in the stream vs packets ffmpeg wrote");
  units.forEach((u, i) =>
    assert.equal(u.annexBSize, crc.packets[i].size, `access unit ${i} spans its packet`)
  );
  assert.equal(crc.timeBase[0], 1);
  const scale = VIDEO_TIMESCALE / crc.timeBase[1];
  const dts0 = crc.packets[0].dts;

  let decoderConfig: Uint8Array;
  if (codec === "h264") {
    const sps = units[0].nals.find((n) => (n[0] & 0x1f) === 7)!;
    const pps = units[0].nals.find((n) => (n[0] & 0x1f) === 8)!;
    decoderConfig = avcC(sps, pps);
  } else {
    // The hvcC of ffmpeg's own MP4 of the same stream, read with the muxer's box reader.
    const t = (await referenceInit(dir, es, ["-tag:v", "hvc1"])).tracks[0] as VideoTrack;
    assert.deepEqual([t.codec, t.width, t.height], ["h265", 640, 360]);
    decoderConfig = t.decoderConfig;
  }
  const track: VideoTrack = { id, codec, timescale: VIDEO_TIMESCALE, width: 640, height: 360, decoderConfig };
  const samples = units.map((u, i) => {
    const p = crc.packets[i];
    return {
      dts: (p.dts - dts0) * scale,
      duration: p.duration * scale,
      sync: p.key,
      compositionOffset: (p.pts - p.dts) * scale,
      nalUnits: u.nals,
    };
  });
  return { track, samples };
}

/** A 440 Hz tone, stereo 48 kHz, as AAC in ADTS; the AudioSpecificConfig from the ADTS header. */
async function encodeAac(dir: string, id = 1): Promise<TrackMedia> {
  await runTool("ffmpeg", [
    ...FFMPEG_QUIET,
    ...STEREO_TONE,
    "-c:a",
    "aac",
    "-b:a",
    "96k",
    "-f",
    "adts",
    `${dir}/audio.aac`,
  ]);
  const frames = splitAdts(await Deno.readFile(`${dir}/audio.aac`));
  const config = audioSpecificConfig(frames[0]);
  // ffmpeg's own MP4 of the stream carries the same config (its esds pads lengths to 4 bytes).
  const ref = (await referenceInit(dir, `${dir}/audio.aac`)).tracks[0] as AudioTrack;
  assert.deepEqual([ref.codec, ref.channels, ref.sampleRate, ref.config], ["aac", 2, 48000, config]);
  const track: AudioTrack = { id, codec: "aac", timescale: 48000, channels: 2, sampleRate: 48000, config };
  return {
    track,
    samples: frames.map((f, i) => ({ dts: i * 1024, duration: 1024, sync: true, data: f.data })),
  };
}

/** The tone as Opus (20 ms frames) in Ogg; the dOps fields from OpusHead. */
async function encodeOpus(dir: string): Promise<TrackMedia> {
  await runTool("ffmpeg", [
    ...FFMPEG_QUIET,
    ...STEREO_TONE,
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
    "-frame_duration",
    "20",
    "-f",
    "ogg",
    `${dir}/audio.ogg`,
  ]);
  const [head, _tags, ...packets] = oggPackets(await Deno.readFile(`${dir}/audio.ogg`));
  const h = opusHead(head);
  const track: AudioTrack = {
    id: 1,
    codec: "opus",
    timescale: 48000,
    channels: h.channels,
    sampleRate: h.inputRate,
    preSkip: h.preSkip,
    outputGain: h.gain,
  };
  // ffmpeg's MP4 of the same stream has a dOps with the same fields.
  assert.deepEqual((await referenceInit(dir, `${dir}/audio.ogg`)).tracks[0], track);
  return { track, samples: packets.map((p, i) => ({ dts: i * 960, duration: 960, sync: true, data: p })) };
}

/** The tone as raw G.711 at 8 kHz, cut into 20 ms frames as RTP carries it. */
async function encodeG711(dir: string, codec: "pcmu" | "pcma"): Promise<TrackMedia> {
  const format = codec === "pcmu" ? "mulaw" : "alaw";
  await runTool("ffmpeg", [
    ...FFMPEG_QUIET,
    ...tone(8000),
    "-c:a",
    `pcm_${format}`,
    "-f",
    format,
    `${dir}/audio.g711`,
  ]);
  const bytes = await Deno.readFile(`${dir}/audio.g711`);
  const samples = [];
  for (let at = 0; at < bytes.length; at += 160) {
    const data = bytes.subarray(at, at + 160);
    samples.push({ dts: at, duration: data.length, sync: true, data });
  }
  return { track: { id: 1, codec, timescale: 8000, channels: 1, sampleRate: 8000 }, samples };
}

/**
 * Cuts tracks into fragments of `seconds` of decode time each, every track of a window in the
 * same moof (windows where a track has no sample leave it out).
 */
function cut(media: readonly TrackMedia[], seconds: number): Fragment[] {
  const out: Fragment[] = [];
  const last = Math.max(...media.map((m) => m.samples.at(-1)!.dts / m.track.timescale));
  for (let k = 0; k * seconds <= last; k++) {
    const tracks = [];
    for (const m of media) {
      const from = k * seconds * m.track.timescale;
      const to = (k + 1) * seconds * m.track.timescale;
      const samples = m.samples.filter((s) => s.dts >= from && s.dts < to);
      if (samples.length > 0) tracks.push({ trackId: m.track.id, baseDecodeTime: samples[0].dts, samples });
    }
    if (tracks.length > 0) out.push({ sequenceNumber: out.length + 1, tracks });
  }
  return out;
}

/** Fragments of `count` samples each, of a single track. */
function cutEvery(m: TrackMedia, count: number): Fragment[] {
  const out: Fragment[] = [];
  for (let i = 0; i < m.samples.length; i += count) {
    const samples = m.samples.slice(i, i + count);
    out.push({
      sequenceNumber: out.length + 1,
      tracks: [{ trackId: m.track.id, baseDecodeTime: samples[0].dts, samples }],
    });
  }
  return out;
}

/**
 * The fragment written the way the live path does: one buffer of fragmentSize, the moof and mdat
 * header written into it, then every sample's bytes straight after (NAL units with their lengths).
 */
function writeInPlace(f: Fragment): Uint8Array {
  const buf = new Uint8Array(fragmentSize(f));
  let at = writeFragmentHeader(f, buf, 0);
  assert.equal(at, fragmentHeaderSize(f));
  for (const t of f.tracks) {
    for (const s of t.samples) {
      if (s.nalUnits !== undefined) at += writeNalUnits(s.nalUnits, buf, at);
      else {
        buf.set(s.data!, at);
        at += s.data!.length;
      }
    }
  }
  assert.equal(at, buf.length);
  return buf;
}

const FFPROBE_CODEC = {
  h264: "h264",
  h265: "hevc",
  aac: "aac",
  opus: "opus",
  pcmu: "pcm_mulaw",
  pcma: "pcm_alaw",
};

/** ffprobe's view of `file` matches the tracks and every sample of every fragment. */
async function assertProbe(file: string, init: InitSegment, fragments: readonly Fragment[]): Promise<void> {
  const p = await probe(file);
  assert.equal(p.streams.length, init.tracks.length, "streams");
  for (const [index, track] of init.tracks.entries()) {
    const s = p.streams[index];
    assert.equal(s.codec_name, FFPROBE_CODEC[track.codec], `stream ${index} codec`);
    assert.equal(s.time_base, `1/${track.timescale}`, `stream ${index} time base`);
    if (isVideoTrack(track)) {
      assert.deepEqual([s.width, s.height], [track.width, track.height], `stream ${index} size`);
    } else {
      // Opus decodes at 48 kHz whatever the input rate dOps records.
      const rate = track.codec === "opus" ? 48000 : track.sampleRate;
      assert.deepEqual([Number(s.sample_rate), s.channels], [rate, track.channels], `stream ${index} audio`);
    }
    const expected: { pts: number; dts: number; duration: number; size: number; key: boolean }[] = [];
    for (const f of fragments) {
      const t = f.tracks.find((x) => x.trackId === track.id);
      let dts = t?.baseDecodeTime ?? 0;
      for (const sample of t?.samples ?? []) {
        const size = sample.data?.length ?? sample.nalUnits!.reduce((n, u) => n + 4 + u.length, 0);
        expected.push({
          pts: dts + (sample.compositionOffset ?? 0),
          dts,
          duration: sample.duration,
          size,
          key: sample.sync,
        });
        dts += sample.duration;
      }
    }
    // ffmpeg 5.1's mov demuxer reports no duration for the first AAC packet of a fragmented file
    // and for none of Opus's (its own `-movflags frag_keyframe` output alike); there the decode
    // times, which the durations make within a fragment, are what is compared.
    const untimed = (i: number) => track.codec === "opus" || (track.codec === "aac" && i === 0);
    const got = p.packets.filter((x) => x.stream_index === index).map((x, i) => ({
      pts: x.pts,
      dts: x.dts,
      duration: x.duration === undefined && untimed(i) ? expected[i]?.duration : x.duration,
      size: Number(x.size),
      key: x.flags.startsWith("K"),
    }));
    assert.deepEqual(got, expected, `stream ${index} packets`);
  }
  assert.equal(await decodeErrors(file), "", "ffmpeg decode errors");
}

/** Writes init + fragments as one file and checks it with ffprobe and ffmpeg. */
async function muxAndProbe(dir: string, media: readonly TrackMedia[], fragments: Fragment[]): Promise<void> {
  const init: InitSegment = { tracks: media.map((m) => m.track) };
  const initBytes = serializeInitSegment(init);
  assert.deepEqual(parseInitSegment(initBytes), init, "init segment reads back");
  const parts = fragments.map((f, i) => (i % 2 === 0 ? serializeFragment(f) : writeInPlace(f)));
  parts.forEach((bytes, i) => {
    // Both ways of writing give the same bytes, and they read back to the samples written.
    assert.deepEqual(bytes, serializeFragment(fragments[i]));
    const parsed = parseFragment(bytes);
    assert.equal(parsed.tracks.length, fragments[i].tracks.length);
  });
  const file = `${dir}/out.mp4`;
  await Deno.writeFile(file, concat([initBytes, ...parts]));
  await assertProbe(file, init, fragments);
}

Deno.test("fMP4 of H.264 without B-frames: ffprobe reads codec, size and every packet; ffmpeg decodes it cleanly", async () => {
  await withTempDir(async (dir) => {
    const v = await encodeVideo(dir, "h264", 0);
    assert.ok(v.samples.every((s) => s.compositionOffset === 0));
    await muxAndProbe(dir, [v], cutEvery(v, 7));
  });
});

Deno.test("fMP4 of H.264 with B-frames: composition offsets (trun v1) give ffprobe the encoder's pts", async () => {
  await withTempDir(async (dir) => {
    const v = await encodeVideo(dir, "h264", 2);
    assert.ok(v.samples.some((s) => s.compositionOffset !== 0), "the encoder made B-frames");
    await muxAndProbe(dir, [v], cutEvery(v, 7));
  });
});

Deno.test("fMP4 of H.265 (hvc1, hvcC from ffmpeg's MP4, B-frames): ffprobe and ffmpeg read it", async () => {
  await withTempDir(async (dir) => {
    const v = await encodeVideo(dir, "h265", 3);
    await muxAndProbe(dir, [v], cutEvery(v, 10));
  });
});

Deno.test("fMP4 of AAC (mp4a + esds): ffprobe reads rate, channels and every packet", async () => {
  await withTempDir(async (dir) => {
    const a = await encodeAac(dir);
    await muxAndProbe(dir, [a], cutEvery(a, 10));
  });
});

Deno.test("fMP4 of Opus (Opus + dOps): ffprobe reads rate, channels and every packet", async () => {
  await withTempDir(async (dir) => {
    const a = await encodeOpus(dir);
    await muxAndProbe(dir, [a], cutEvery(a, 10));
  });
});

Deno.test("fMP4 of G.711 (QuickTime ulaw/alaw entries): ffprobe reads pcm_mulaw and pcm_alaw", async (t) => {
  for (const codec of ["pcmu", "pcma"] as const) {
    await t.step(codec, async () => {
      await withTempDir(async (dir) => {
        const a = await encodeG711(dir, codec);
        await muxAndProbe(dir, [a], cutEvery(a, 10));
      });
    });
  }
});

Deno.test("fMP4 of H.264 + AAC: two tracks in the init and in each moof, timestamps per stream", async () => {
  await withTempDir(async (dir) => {
    const v = await encodeVideo(dir, "h264", 2, 1);
    const a = await encodeAac(dir, 2);
    const fragments = cut([v, a], 0.5);
    // The AAC runs a frame past the last video frame, so the last window may hold audio alone.
    assert.ok(fragments.slice(0, -1).every((f) => f.tracks.length === 2), "every fragment has both tracks");
    await muxAndProbe(dir, [v, a], fragments);
  });
});

Deno.test("fMP4 as separate files: init + one moof/mdat per file, concatenated and as an HLS playlist", async () => {
  await withTempDir(async (dir) => {
    const v = await encodeVideo(dir, "h264", 2, 1);
    const a = await encodeAac(dir, 2);
    const init: InitSegment = { tracks: [v.track, a.track] };
    const fragments = cut([v, a], 0.5);
    await Deno.writeFile(`${dir}/init.mp4`, serializeInitSegment(init));
    const names: string[] = [];
    for (const [i, f] of fragments.entries()) {
      const bytes = serializeFragment(f);
      assert.equal(parseFragment(bytes).sequenceNumber, i + 1, "a fragment file reads on its own");
      names.push(`part${i + 1}.m4s`);
      await Deno.writeFile(`${dir}/${names[i]}`, bytes);
    }
    const joined = concat(await Promise.all(["init.mp4", ...names].map((n) => Deno.readFile(`${dir}/${n}`))));
    await Deno.writeFile(`${dir}/joined.mp4`, joined);
    await assertProbe(`${dir}/joined.mp4`, init, fragments);

    const playlist = [
      "#EXTM3U",
      "#EXT-X-VERSION:7",
      "#EXT-X-TARGETDURATION:1",
      "#EXT-X-MEDIA-SEQUENCE:0",
      '#EXT-X-MAP:URI="init.mp4"',
      ...names.flatMap((n) => ["#EXTINF:0.5,", n]),
      "#EXT-X-ENDLIST",
      "",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/index.m3u8`, playlist);
    assert.equal(
      await decodeErrors(`${dir}/index.m3u8`),
      "",
      "ffmpeg's HLS demuxer decodes the parts cleanly",
    );
    const p = await probe(`${dir}/index.m3u8`);
    const count = (i: number) => p.packets.filter((x) => x.stream_index === i).length;
    assert.deepEqual([count(0), count(1)], [v.samples.length, a.samples.length], "every sample, through HLS");
  });
});

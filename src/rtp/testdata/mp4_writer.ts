/**
 * A minimal progressive MP4 writer for tests (ISO/IEC 14496-12): one video track whose samples
 * carry the dts and pts a test gives, with the avcC / hvcC payload a test built, so ffmpeg can
 * decode what the codec-config serializers and the DTS extractor produced. Test-only; the server's
 * muxer is src/fmp4/.
 */

/** One sample: its NAL units (written with 4-byte lengths), times in the 90 kHz clock, sync flag. */
export interface Mp4Sample {
  units: readonly Uint8Array[];
  dts: number;
  pts: number;
  sync: boolean;
}

const TIMESCALE = 90000;

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function box(type: string, ...parts: (Uint8Array | number[])[]): Uint8Array {
  const body = concat(parts);
  return concat([u32(body.length + 8), [...type].map((c) => c.charCodeAt(0)), body]);
}

function fullBox(
  type: string,
  version: number,
  flags: number,
  ...parts: (Uint8Array | number[])[]
): Uint8Array {
  return box(type, [version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff], ...parts);
}

const MATRIX = [
  ...u32(0x10000),
  ...u32(0),
  ...u32(0),
  ...u32(0),
  ...u32(0x10000),
  ...u32(0),
  ...u32(0),
  ...u32(0),
  ...u32(0x40000000),
];

/** Run-length (count, value) pairs. */
function runs(values: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out.at(-1);
    if (last !== undefined && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

/**
 * The MP4 bytes: ftyp, moov, mdat; sample entry `entry` ("avc1" / "hvc1") holding `config` in an
 * `avcC` / `hvcC` box. Times start at the first sample's dts; ctts version 1 allows pts < dts.
 */
export function writeMp4(
  entry: "avc1" | "hvc1",
  config: Uint8Array,
  width: number,
  height: number,
  samples: readonly Mp4Sample[],
): Uint8Array {
  const base = samples[0].dts;
  // The last sample lasts as long as the one before it.
  const durations = samples.map((s, i) => i + 1 < samples.length ? samples[i + 1].dts - s.dts : 0);
  if (durations.length > 1) durations[durations.length - 1] = durations[durations.length - 2];
  else durations[0] = TIMESCALE / 30;
  const total = samples.at(-1)!.dts - base + durations.at(-1)!;
  const data = samples.map((s) => concat(s.units.flatMap((u) => [u32(u.length), u])));
  const sampleEntry = box(
    entry,
    [0, 0, 0, 0, 0, 0, ...u16(1)],
    new Array(16).fill(0),
    [...u16(width), ...u16(height), ...u32(0x00480000), ...u32(0x00480000), ...u32(0), ...u16(1)],
    new Array(32).fill(0),
    [...u16(0x18), ...u16(0xffff)],
    box(entry === "avc1" ? "avcC" : "hvcC", config),
  );
  const stts = runs(durations);
  const ctts = runs(samples.map((s) => s.pts - s.dts));
  const syncs = samples.flatMap((s, i) => (s.sync ? [i + 1] : []));
  const stbl = (chunkOffset: number) =>
    box(
      "stbl",
      fullBox("stsd", 0, 0, u32(1), sampleEntry),
      fullBox("stts", 0, 0, u32(stts.length), stts.flatMap(([c, d]) => [...u32(c), ...u32(d)])),
      fullBox("ctts", 1, 0, u32(ctts.length), ctts.flatMap(([c, o]) => [...u32(c), ...u32(o >>> 0)])),
      fullBox("stss", 0, 0, u32(syncs.length), syncs.flatMap(u32)),
      fullBox("stsc", 0, 0, u32(1), [...u32(1), ...u32(samples.length), ...u32(1)]),
      fullBox("stsz", 0, 0, u32(0), u32(samples.length), data.flatMap((d) => u32(d.length))),
      fullBox("stco", 0, 0, u32(1), u32(chunkOffset)),
    );
  const moov = (chunkOffset: number) =>
    box(
      "moov",
      fullBox(
        "mvhd",
        0,
        0,
        u32(0),
        u32(0),
        u32(TIMESCALE),
        u32(total),
        u32(0x10000),
        u16(0x100),
        new Array(10).fill(0),
        MATRIX,
        new Array(24).fill(0),
        u32(2),
      ),
      box(
        "trak",
        fullBox(
          "tkhd",
          0,
          3,
          u32(0),
          u32(0),
          u32(1),
          u32(0),
          u32(total),
          new Array(8).fill(0),
          u16(0),
          u16(0),
          u16(0),
          u16(0),
          MATRIX,
          u32(width * 65536),
          u32(height * 65536),
        ),
        box(
          "mdia",
          fullBox("mdhd", 0, 0, u32(0), u32(0), u32(TIMESCALE), u32(total), u16(0x55c4), u16(0)),
          fullBox(
            "hdlr",
            0,
            0,
            u32(0),
            [..."vide"].map((c) => c.charCodeAt(0)),
            new Array(12).fill(0),
            [..."Video\0"].map((c) => c.charCodeAt(0)),
          ),
          box(
            "minf",
            fullBox("vmhd", 0, 1, new Array(8).fill(0)),
            box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1))),
            stbl(chunkOffset),
          ),
        ),
      ),
    );
  const ftyp = box(
    "ftyp",
    [..."isom"].map((c) => c.charCodeAt(0)),
    u32(0x200),
    [..."isomiso2mp41"].map((c) => c.charCodeAt(0)),
  );
  const moovSize = moov(0).length;
  const mdat = box("mdat", ...data);
  return concat([ftyp, moov(ftyp.length + moovSize + 8), mdat]);
}

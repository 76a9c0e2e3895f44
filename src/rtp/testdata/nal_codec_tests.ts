/**
 * The tests the H.264 and H.265 depacketizer/packetizer pairs share (test-only), one contract run
 * on each codec by its `*_depacketizer_test.ts`: the golden packets both ways, random frames through
 * packetizer and depacketizer, the fuzz convention, and ffmpeg's own stream frame by frame.
 */
import assert from "node:assert/strict";
import type { AccessUnit } from "../access_unit.ts";
import type { AccessUnitCallback, DepacketizerLimits } from "../depacketizer.ts";
import type { PacketizerOptions } from "../packetizer.ts";
import { goldenParseSteps } from "../../testing/golden.ts";
import { Prng } from "../../testing/prng.ts";
import { accessUnits, splitAnnexB, type VideoCodec } from "./annex_b.ts";
import {
  depacketize,
  depacketizerFuzzSteps,
  goldenPacketizeSteps,
  type PacketCase,
  type TestDepacketizer,
} from "./depacketizer_harness.ts";
import { ffmpegElementaryStream } from "./ffmpeg_elementary.ts";

/** A golden case's packets, and the limits of the depacketizer that reads them. */
export interface NalPackets {
  packets: Uint8Array[];
  limits?: DepacketizerLimits;
}

/** What the round trip varies; every H.264/H.265 packetizer takes it. */
export type NalPacketizerOptions = Omit<PacketizerOptions, "payloadType" | "ssrc"> & { aggregate?: boolean };

/** One codec's pair under test. `O`: the packetizer options a golden case names as its canonical form. */
export interface NalCodecUnderTest<O extends NalPacketizerOptions> {
  /** The classes' prefix, as the test names say: "H264". */
  name: string;
  codec: VideoCodec;
  cases: readonly PacketCase<NalPackets, O>[];
  depacketizer: (onUnit: AccessUnitCallback, limits: DepacketizerLimits) => TestDepacketizer;
  /** A packetizer of payload type PT and SSRC SSRC with these options. */
  packetizer: (options: NalPacketizerOptions) => { packetize(au: AccessUnit): Uint8Array[] };
  /** Smallest maxPayloadBytes the packetizer takes: its fragmentation headers and a byte. */
  minPayloadBytes: number;
  /** Frames of random NAL units that the depacketizer delivers as they are (first slices marked). */
  randomFrames: (rng: Prng, count: number) => AccessUnit[];
  isSlice: (nal: Uint8Array) => boolean;
  isAud: (nal: Uint8Array) => boolean;
  /** A slice of a random access picture: H.264 IDR, H.265 IRAP. */
  isRandomSlice: (nal: Uint8Array) => boolean;
  /** The RFC's number: seed of the round trip and the fuzzer. */
  seed: number;
}

/** Registers the shared tests of one codec (see the module doc). */
export function nalCodecTests<O extends NalPacketizerOptions>(c: NalCodecUnderTest<O>): void {
  const make = (limits: DepacketizerLimits = {}) => (onUnit: AccessUnitCallback) =>
    c.depacketizer(onUnit, limits);

  Deno.test(`${c.name}Depacketizer: golden packets to access units`, async (t) => {
    await goldenParseSteps(t, c.cases, (input) => depacketize(make(input.limits), input.packets));
  });

  Deno.test(`${c.name}Packetizer: writes the golden packets for their units`, async (t) => {
    await goldenPacketizeSteps(t, c.cases, (k, options) => {
      const packetizer = c.packetizer(options);
      return k.parsed.units.flatMap((u) => packetizer.packetize(u));
    });
  });

  Deno.test(`${c.name}Packetizer then ${c.name}Depacketizer: random frames come back as they were`, () => {
    const rng = new Prng(c.seed);
    for (let run = 0; run < 40; run++) {
      const frames = c.randomFrames(rng, 1 + rng.int(12));
      const packetizer = c.packetizer({
        sequence: rng.int(65536),
        maxPayloadBytes: c.minPayloadBytes + rng.int(1500),
        aggregate: rng.chance(0.5),
      });
      const packets = frames.flatMap((f) => packetizer.packetize(f));
      assert.deepStrictEqual(depacketize(make(), packets), { units: frames, drops: {} }, `run ${run}`);
    }
  });

  Deno.test(`${c.name}Depacketizer fuzz: corpus and mutated packet lists never throw and stay in bounds`, async (t) => {
    const limits = { maxFrameBytes: 4096, maxUnits: 8 };
    await depacketizerFuzzSteps(t, {
      name: `${c.name}Depacketizer`,
      corpus: `${c.codec}_depacketizer`,
      cases: c.cases,
      make: make(limits),
      bounds: { ...limits, video: { isSlice: c.isSlice, isAud: c.isAud } },
      count: 3000,
      seed: c.seed,
      maxBytes: 8192,
    });
  });

  const encoder = c.codec === "h264" ? "libx264" : "libx265";
  Deno.test(`${c.name}Depacketizer: ffmpeg's ${encoder} stream, packetized, comes back frame by frame`, async () => {
    const frames = accessUnits(c.codec, splitAnnexB(await ffmpegElementaryStream(c.codec, 30)));
    assert.ok(frames.length === 30, `${frames.length} frames`);
    assert.ok(frames.every((f) => c.isAud(f[0])), "ffmpeg was asked for AUDs (aud=1)");
    assert.ok(frames.some((f) => f.filter(c.isRandomSlice).length > 1), "multi-slice random access pictures");
    assert.ok(frames.some((f) => f.some((n) => n.length > 1200)), "NAL units large enough to fragment");
    const expected = frames.map((nals, i) => ({
      pts: 1_000_000 + i * 3600,
      units: nals.filter((n) => !c.isAud(n)),
      random: nals.some(c.isRandomSlice),
    }));
    for (const aggregate of [true, false]) {
      const packetizer = c.packetizer({ maxPayloadBytes: 1200, aggregate });
      const packets = expected.flatMap((f) => packetizer.packetize(f));
      assert.deepStrictEqual(depacketize(make(), packets), { units: expected, drops: {} });
    }
  });
}

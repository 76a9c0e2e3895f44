import assert from "node:assert/strict";
import type { AccessUnit } from "./access_unit.ts";
import { SimpleAudioDepacketizer } from "./simple_audio_depacketizer.ts";
import { SimpleAudioPacketizer } from "./simple_audio_packetizer.ts";
import { goldenParseSteps } from "../testing/golden.ts";
import { Prng } from "../testing/prng.ts";
import {
  depacketize,
  depacketizerFuzzSteps,
  goldenPacketizeSteps,
  type PacketCase,
  PT,
  rtp,
  SSRC,
} from "./testdata/depacketizer_harness.ts";
import { hex } from "./testdata/hex.ts";

// 20 ms of PCMU at 8 kHz is 160 bytes; an Opus packet opens with its TOC byte (RFC 6716 §3.1).
const pcmu = Uint8Array.from({ length: 160 }, (_, i) => 0xff - (i & 0x0f));
const opus = hex("78 07 c9 79 c8 c9 57 c0 a2 12 23 fa ef 67 f3 2e e4");
const opusDtx = hex("78");
const au = (pts: number, data: Uint8Array): AccessUnit => ({ pts, units: [data], random: true });

interface Input {
  packets: Uint8Array[];
  maxFrameBytes?: number;
}

/** `canonical`: the first sequence number with which the packetizer writes the input. */
type Case = PacketCase<Input, { sequence: number }>;

const cases: Case[] = [
  {
    name: "G.711: one 20 ms frame per packet",
    input: { packets: [rtp(0, 0, false, pcmu), rtp(1, 160, false, pcmu), rtp(2, 320, false, pcmu)] },
    parsed: { units: [au(0, pcmu), au(160, pcmu), au(320, pcmu)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "Opus: one packet per frame, a 1-byte DTX frame too",
    input: { packets: [rtp(100, 48000, false, opus), rtp(101, 48960, false, opusDtx)] },
    parsed: { units: [au(48000, opus), au(48960, opusDtx)], drops: {} },
    canonical: { sequence: 100 },
  },
  {
    name: "sequence number and timestamp wrap",
    input: { packets: [rtp(65535, 2 ** 32 - 160, false, pcmu), rtp(0, 2 ** 32, false, pcmu)] },
    parsed: { units: [au(2 ** 32 - 160, pcmu), au(2 ** 32, pcmu)], drops: {} },
    canonical: { sequence: 65535 },
  },
  {
    name: "a lost packet is a lost frame, nothing more",
    input: { packets: [rtp(0, 0, false, pcmu), rtp(3, 480, false, pcmu)] },
    parsed: { units: [au(0, pcmu), au(480, pcmu)], drops: { packetsLost: 2 } },
  },
  {
    name: "the marker bit and padding change nothing",
    input: { packets: [rtp(0, 0, true, opus, 3)] },
    parsed: { units: [au(0, opus)], drops: {} },
  },
  {
    name: "an empty payload and a packet that is not RTP are invalid",
    input: { packets: [rtp(0, 0, false, new Uint8Array()), hex("80 00 00"), rtp(1, 160, false, pcmu)] },
    parsed: { units: [au(160, pcmu)], drops: { packetsInvalid: 2 } },
  },
  {
    name: "a frame over maxFrameBytes is dropped",
    input: { packets: [rtp(0, 0, false, pcmu), rtp(1, 160, false, opus)], maxFrameBytes: 100 },
    parsed: { units: [au(160, opus)], drops: { framesDropped: 1, framesTooLarge: 1 } },
  },
];

const make = (maxFrameBytes?: number) => (onUnit: (au: AccessUnit) => void) =>
  new SimpleAudioDepacketizer({ onUnit, maxFrameBytes });

Deno.test("SimpleAudioDepacketizer: golden packets to access units", async (t) => {
  await goldenParseSteps(t, cases, (input) => depacketize(make(input.maxFrameBytes), input.packets));
});

Deno.test("SimpleAudioPacketizer: writes the golden packets for their units", async (t) => {
  await goldenPacketizeSteps(t, cases, (c, { sequence }) => {
    const packetizer = new SimpleAudioPacketizer({ payloadType: PT, ssrc: SSRC, sequence });
    return c.parsed.units.flatMap((u) => packetizer.packetize(u));
  });
});

Deno.test("SimpleAudioPacketizer refuses frames it cannot carry", () => {
  const pk = new SimpleAudioPacketizer({ payloadType: PT, ssrc: SSRC, maxPayloadBytes: 100 });
  assert.throws(() => pk.packetize(au(0, pcmu)), /1\.\.100 bytes/);
  assert.throws(() => pk.packetize(au(0, new Uint8Array())), RangeError);
  assert.throws(() => pk.packetize({ pts: 0, units: [opus, opus], random: true }), RangeError);
});

Deno.test("SimpleAudioPacketizer then SimpleAudioDepacketizer: random frames come back as they were", () => {
  const rng = new Prng(7587);
  for (let run = 0; run < 20; run++) {
    const packetizer = new SimpleAudioPacketizer({ payloadType: PT, ssrc: SSRC, sequence: rng.int(65536) });
    const frames: AccessUnit[] = [];
    let pts = rng.next();
    for (let i = 0, n = 1 + rng.int(30); i < n; i++) {
      frames.push(au(pts, Uint8Array.from({ length: 1 + rng.int(1200) }, () => rng.int(256))));
      pts += 960;
    }
    const packets = frames.flatMap((f) => packetizer.packetize(f));
    assert.deepStrictEqual(depacketize(make(), packets), { units: frames, drops: {} });
  }
});

Deno.test("SimpleAudioDepacketizer fuzz: corpus and mutated packet lists never throw and stay in bounds", async (t) => {
  const maxFrameBytes = 1024;
  await depacketizerFuzzSteps(t, {
    name: "SimpleAudioDepacketizer",
    corpus: "simple_audio_depacketizer",
    cases,
    make: make(maxFrameBytes),
    bounds: { maxFrameBytes, audio: true },
    count: 1000,
    seed: 7587,
    maxBytes: 4096,
  });
});

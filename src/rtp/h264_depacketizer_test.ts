import assert from "node:assert/strict";
import type { AccessUnit } from "./access_unit.ts";
import { H264Depacketizer, h264NalKind } from "./h264_depacketizer.ts";
import { H264Packetizer, type H264PacketizerOptions } from "./h264_packetizer.ts";
import { NAL_KIND } from "./_nal_assembler.ts";
import type { Prng } from "../testing/prng.ts";
import { concat, type PacketCase, parts, PT, rtp, SSRC } from "./testdata/depacketizer_harness.ts";
import { nalCodecTests, type NalPackets } from "./testdata/nal_codec_tests.ts";
import { hex } from "./testdata/hex.ts";

// libx264's parameter sets (ffmpeg 5.1); slices shortened after their first bytes. first_mb_in_slice
// is 0 when the byte after the header has its top bit set (ue(v) "1").
const sps = hex("67 64 00 1f ac d9 40 50 05 ba 10 00 00 03 00 10 00 00 03 03 c8 f1 83 19 60");
const pps = hex("68 eb e3 cb 22 c0");
const idr = hex("65 88 84 00 33 ff fe f6 f0");
const idrSlice2 = hex("65 00 d8 84 00 33 ff");
const p = hex("41 9a 24 6c 42 ff");
const pSlice2 = hex("41 00 6a 24 6c 42");
const p2 = hex("41 9a 46 11 22");
const sei = hex("06 05 11 dc 45 e9 80");
const aud = hex("09 f0");
const big = Uint8Array.from({ length: 3000 }, (_, i) => (i === 0 ? 0x65 : i === 1 ? 0x88 : (i * 7) & 0xff));

function stapA(...nals: Uint8Array[]): Uint8Array {
  return concat([0x78], ...nals.map((n) => concat([n.length >> 8, n.length & 0xff], n)));
}

function fuA(nal: Uint8Array, start: boolean, end: boolean, data: Uint8Array): Uint8Array {
  return concat([(nal[0] & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0] & 0x1f)], data);
}

/** FU-As of `nal` in `n` nearly equal fragments. */
function fuAs(nal: Uint8Array, n: number): Uint8Array[] {
  return parts(nal.subarray(1), n).map((data, i) => fuA(nal, i === 0, i === n - 1, data));
}

const au = (pts: number, units: Uint8Array[], random = false): AccessUnit => ({ pts, units, random });

/** `canonical`: the packetizer options with which it writes exactly the input packets for the units. */
type Case = PacketCase<NalPackets, Omit<H264PacketizerOptions, "payloadType" | "ssrc">>;

const [bigA, bigB, bigC] = fuAs(big, 3);

const cases: Case[] = [
  {
    name: "single NAL unit IDR",
    input: { packets: [rtp(0, 0, true, idr)] },
    parsed: { units: [au(0, [idr], true)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "ffmpeg keyframe: STAP-A SPS+PPS, then the IDR alone",
    input: { packets: [rtp(7, 90000, false, stapA(sps, pps)), rtp(8, 90000, true, big)] },
    parsed: { units: [au(90000, [sps, pps, big], true)], drops: {} },
    canonical: { sequence: 7, maxPayloadBytes: 3000 },
  },
  {
    name: "STAP-A SPS+PPS+IDR in one packet, then a P frame",
    input: { packets: [rtp(1, 0, true, stapA(sps, pps, idr)), rtp(2, 3000, true, p)] },
    parsed: { units: [au(0, [sps, pps, idr], true), au(3000, [p])], drops: {} },
    canonical: { sequence: 1 },
  },
  {
    name: "FU-A IDR in three fragments",
    input: {
      packets: [
        rtp(10, 0, false, stapA(sps, pps)),
        rtp(11, 0, false, bigA),
        rtp(12, 0, false, bigB),
        rtp(13, 0, true, bigC),
      ],
    },
    parsed: { units: [au(0, [sps, pps, big], true)], drops: {} },
    canonical: { sequence: 10, maxPayloadBytes: 1002 },
  },
  {
    name: "packetization-mode 0: one NAL unit per packet",
    input: {
      packets: [rtp(0, 0, false, sps), rtp(1, 0, false, pps), rtp(2, 0, true, idr), rtp(3, 3000, true, p)],
    },
    parsed: { units: [au(0, [sps, pps, idr], true), au(3000, [p])], drops: {} },
    canonical: { sequence: 0, packetizationMode: 0 },
  },
  {
    name: "two-slice IDR and two-slice P frame",
    input: {
      packets: [
        rtp(0, 0, false, idr),
        rtp(1, 0, true, idrSlice2),
        rtp(2, 3000, false, p),
        rtp(3, 3000, true, pSlice2),
      ],
    },
    parsed: { units: [au(0, [idr, idrSlice2], true), au(3000, [p, pSlice2])], drops: {} },
    canonical: { sequence: 0, aggregate: false },
  },
  {
    name: "AUDs are left out",
    input: {
      packets: [
        rtp(0, 0, true, stapA(aud, sps, pps, sei, idr)),
        rtp(1, 3000, false, aud),
        rtp(2, 3000, true, p),
      ],
    },
    parsed: { units: [au(0, [sps, pps, sei, idr], true), au(3000, [p])], drops: {} },
  },
  {
    name: "frames without marker bits end at the next timestamp",
    input: {
      packets: [
        rtp(0, 0, false, stapA(sps, pps)),
        rtp(1, 0, false, idr),
        rtp(2, 3000, false, p),
        rtp(3, 6000, false, p2),
        rtp(4, 9000, true, p),
      ],
    },
    parsed: {
      units: [au(0, [sps, pps, idr], true), au(3000, [p]), au(6000, [p2]), au(9000, [p])],
      drops: {},
    },
  },
  {
    name: "SPS+PPS marked on their own go with the next frame",
    input: { packets: [rtp(0, 0, true, stapA(sps, pps)), rtp(1, 0, true, idr)] },
    parsed: { units: [au(0, [sps, pps, idr], true)], drops: {} },
  },
  {
    name: "SPS+PPS stamped apart go with the next frame, at its time",
    input: { packets: [rtp(0, 100, true, sps), rtp(1, 200, false, pps), rtp(2, 3000, true, idr)] },
    parsed: { units: [au(3000, [sps, pps, idr], true)], drops: {} },
  },
  {
    name: "sequence number and timestamp wrap",
    input: {
      packets: [
        rtp(65534, 0xffff_f000, true, stapA(sps, pps, idr)),
        rtp(65535, 0xffff_f000 + 3000, true, p),
        rtp(0, 0xffff_f000 + 6000, true, p2), // rtp() writes the timestamp modulo 2^32
        rtp(1, 0xffff_f000 + 9000, true, p),
      ],
    },
    parsed: {
      units: [
        au(0xffff_f000, [sps, pps, idr], true),
        au(0xffff_f000 + 3000, [p]),
        au(0xffff_f000 + 6000, [p2]),
        au(0xffff_f000 + 9000, [p]),
      ],
      drops: {},
    },
    canonical: { sequence: 65534 },
  },
  {
    name: "RTP padding is not payload",
    input: { packets: [rtp(0, 0, true, idr, 4)] },
    parsed: { units: [au(0, [idr], true)], drops: {} },
  },
  {
    name: "STAP-A with trailing zero padding",
    input: { packets: [rtp(0, 0, true, concat(stapA(sps, pps, idr), [0, 0]))] },
    parsed: { units: [au(0, [sps, pps, idr], true)], drops: {} },
  },
  {
    name: "Annex B start codes inside a single NAL unit packet (camera quirk)",
    input: { packets: [rtp(0, 0, true, concat([0, 0, 0, 1], sps, [0, 0, 1], pps, [0, 0, 0, 1], idr))] },
    parsed: { units: [au(0, [sps, pps, idr], true)], drops: {} },
  },
  {
    name: "loss in the middle of an FU-A drops the frame and waits for the next IDR",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 3000, false, fuA(p, true, false, hex("9a 01 02"))),
        // 2 lost
        rtp(3, 3000, true, fuA(p, false, true, hex("05 06"))),
        rtp(4, 6000, true, p2),
        rtp(5, 9000, true, stapA(sps, pps, idr)),
        rtp(6, 12000, true, p),
      ],
    },
    parsed: {
      units: [au(0, [idr], true), au(9000, [sps, pps, idr], true), au(12000, [p])],
      drops: { packetsLost: 1, framesDropped: 2, framesDamaged: 1, framesBeforeRandom: 1 },
    },
  },
  {
    name: "a frame lost whole: the next P frame is dropped, not delivered with a broken reference",
    input: { packets: [rtp(0, 0, true, idr), rtp(3, 9000, true, p), rtp(4, 12000, true, idr)] },
    parsed: {
      units: [au(0, [idr], true), au(12000, [idr], true)],
      drops: { packetsLost: 2, framesDropped: 1, framesBeforeRandom: 1 },
    },
  },
  {
    name: "loss of a marked packet: the unfinished frame is dropped at the next timestamp",
    input: { packets: [rtp(0, 0, true, idr), rtp(1, 3000, false, p), rtp(3, 6000, true, idr)] },
    parsed: {
      units: [au(0, [idr], true), au(6000, [idr], true)],
      drops: { packetsLost: 1, framesDropped: 1, framesDamaged: 1 },
    },
  },
  {
    name: "frames before the first IDR are dropped",
    input: { packets: [rtp(0, 0, true, p), rtp(1, 3000, true, p2), rtp(2, 6000, true, idr)] },
    parsed: { units: [au(6000, [idr], true)], drops: { framesDropped: 2, framesBeforeRandom: 2 } },
  },
  {
    name: "joined in the middle of an FU-A: not invalid, just before the first IDR",
    input: {
      packets: [
        rtp(5, 0, false, fuA(idr, false, false, hex("01"))),
        rtp(6, 0, true, fuA(idr, false, true, hex("02"))),
        rtp(7, 3000, true, idr),
      ],
    },
    parsed: { units: [au(3000, [idr], true)], drops: { framesDropped: 1, framesBeforeRandom: 1 } },
  },
  {
    name: "an IDR missing its first slice cannot start decoding",
    input: { packets: [rtp(0, 0, true, idrSlice2), rtp(1, 3000, true, idr)] },
    parsed: { units: [au(3000, [idr], true)], drops: { framesDropped: 1, framesBeforeRandom: 1 } },
  },
  {
    name: "STAP-B, MTAP16, MTAP24 and FU-B are refused, each dropping its frame",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 3000, true, concat([0x79, 0x00, 0x01], stapA(p).subarray(1))),
        rtp(2, 6000, true, hex("7a 00 01 00 05 00 00 00 41 9a")),
        rtp(3, 9000, true, hex("7b 00 01 00 05 00 00 00 00 41 9a")),
        rtp(4, 12000, true, hex("7d c5 00 01 88 84")),
        rtp(5, 15000, true, idr),
      ],
    },
    parsed: {
      units: [au(0, [idr], true), au(15000, [idr], true)],
      drops: { packetsUnsupported: 4, framesDropped: 4, framesDamaged: 4 },
    },
  },
  {
    name: "malformed payloads drop their frame",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 1, true, stapA(sps, pps).subarray(0, 8)), // size past the payload
        rtp(2, 2, true, hex("78")), // STAP-A without units
        rtp(3, 3, true, fuA(idr, true, true, hex("88"))), // S and E together
        rtp(4, 4, true, hex("7c 85")), // FU-A without data
        rtp(5, 5, true, hex("7e 01 02")), // type 30, reserved
        rtp(6, 6, true, hex("00 01 02 03")), // type 0 without a start code
        rtp(7, 7, true, new Uint8Array()), // empty payload
        rtp(8, 8, true, idr),
      ],
    },
    parsed: {
      units: [au(0, [idr], true), au(8, [idr], true)],
      drops: { packetsInvalid: 7, framesDropped: 7, framesDamaged: 7 },
    },
  },
  {
    name: "an FU-A continuation of another NAL type is invalid",
    input: {
      packets: [
        rtp(0, 0, false, fuA(idr, true, false, hex("88 84"))),
        rtp(1, 0, true, fuA(p, false, true, hex("01"))),
        rtp(2, 3000, true, idr),
      ],
    },
    parsed: {
      units: [au(3000, [idr], true)],
      drops: { packetsInvalid: 1, framesDropped: 1, framesDamaged: 1 },
    },
  },
  {
    name: "a NAL unit between two fragments of another ends the frame damaged",
    input: {
      packets: [
        rtp(0, 0, false, fuA(idr, true, false, hex("88 84"))),
        rtp(1, 0, false, sei),
        rtp(2, 0, true, fuA(idr, false, true, hex("01"))),
        rtp(3, 3000, true, idr),
      ],
    },
    parsed: { units: [au(3000, [idr], true)], drops: { framesDropped: 1, framesDamaged: 1 } },
  },
  {
    name: "a duplicate packet is out of order and drops its frame",
    input: { packets: [rtp(0, 0, false, idr), rtp(0, 0, true, idr), rtp(1, 3000, true, idr)] },
    parsed: {
      units: [au(3000, [idr], true)],
      drops: { packetsOutOfOrder: 1, framesDropped: 1, framesDamaged: 1 },
    },
  },
  {
    name: "not RTP: ignored, counted, the sequence untouched",
    input: {
      packets: [rtp(0, 0, true, idr), hex("40 60 00 01 00 00 00 00 00 00 00 00 41"), rtp(1, 3000, true, p)],
    },
    parsed: { units: [au(0, [idr], true), au(3000, [p])], drops: { packetsInvalid: 1 } },
  },
  {
    name: "a frame over maxFrameBytes is dropped, and frames until the next IDR",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 3000, false, bigA),
        rtp(2, 3000, false, bigB),
        rtp(3, 3000, true, bigC),
        rtp(4, 6000, true, p),
        rtp(5, 9000, true, idr),
      ],
      limits: { maxFrameBytes: 2048 },
    },
    parsed: {
      units: [au(0, [idr], true), au(9000, [idr], true)],
      drops: { framesDropped: 2, framesTooLarge: 1, framesBeforeRandom: 1 },
    },
  },
  {
    name: "a frame over maxUnits NAL units is dropped",
    input: {
      packets: [
        rtp(0, 0, true, stapA(sps, pps, idr)),
        rtp(1, 3000, true, stapA(sei, sei, p)),
        rtp(2, 6000, true, stapA(sps, pps, sei, idr)),
      ],
      limits: { maxUnits: 3 },
    },
    parsed: {
      units: [au(0, [sps, pps, idr], true), au(3000, [sei, sei, p])],
      drops: { framesDropped: 1, framesTooManyUnits: 1 },
    },
  },
];

nalCodecTests({
  name: "H264",
  codec: "h264",
  cases,
  depacketizer: (onUnit, limits) => new H264Depacketizer({ onUnit, ...limits }),
  packetizer: (options) => new H264Packetizer({ payloadType: PT, ssrc: SSRC, ...options }),
  minPayloadBytes: 3,
  randomFrames,
  isSlice: (n) => (n[0] & 0x1f) >= 1 && (n[0] & 0x1f) <= 5,
  isAud: (n) => (n[0] & 0x1f) === 9,
  isRandomSlice: (n) => (n[0] & 0x1f) === 5,
  seed: 6184,
});

Deno.test("h264NalKind() classifies slices, IDRs, first slices and AUDs", () => {
  const { DROP, VCL, RANDOM, FIRST_SLICE } = NAL_KIND;
  assert.equal(h264NalKind(5, 0x88), VCL | RANDOM | FIRST_SLICE);
  assert.equal(h264NalKind(5, 0x00), VCL | RANDOM);
  assert.equal(h264NalKind(1, 0x9a), VCL | FIRST_SLICE);
  assert.equal(h264NalKind(1, -1), VCL);
  assert.equal(h264NalKind(3, 0xff), VCL);
  assert.equal(h264NalKind(9, 0xf0), DROP);
  for (const type of [6, 7, 8, 10, 12, 20]) assert.equal(h264NalKind(type, 0xff), 0);
});

Deno.test("H264Depacketizer.reset() drops the frame in progress and waits for an IDR", () => {
  const units: AccessUnit[] = [];
  const d = new H264Depacketizer({ onUnit: (u) => units.push(u) });
  d.push(rtp(0, 0, true, idr));
  d.push(rtp(1, 3000, false, fuA(p, true, false, hex("9a 01"))));
  d.reset();
  d.push(rtp(900, 6000, true, p)); // no gap counted after a reset, but no reference either
  d.push(rtp(901, 9000, true, idr));
  assert.deepStrictEqual(units.map((u) => u.pts), [0, 9000]);
  assert.equal(d.counters.packetsLost, 0);
  assert.equal(d.counters.framesBeforeRandom, 1);
});

Deno.test("H264Depacketizer: limits must be positive integers", () => {
  const onUnit = () => {};
  assert.throws(
    () => new H264Depacketizer({ onUnit, maxFrameBytes: 0 }),
    /'maxFrameBytes' must be a positive integer/,
  );
  assert.throws(() => new H264Depacketizer({ onUnit, maxUnits: 1.5 }), /'maxUnits'/);
});

Deno.test("H264Packetizer refuses what it cannot carry", () => {
  const pk = new H264Packetizer({ payloadType: PT, ssrc: SSRC, maxPayloadBytes: 100, packetizationMode: 0 });
  assert.throws(() => pk.packetize(au(0, [big])), /packetization-mode 0 cannot fragment/);
  assert.throws(() => pk.packetize(au(0, [])), /no NAL units/);
  assert.throws(() => pk.packetize(au(0, [hex("7c 85 01")])), /type 28/);
  assert.throws(() => pk.packetize(au(0, [new Uint8Array()])), /type 0/);
  assert.throws(
    () => new H264Packetizer({ payloadType: PT, ssrc: SSRC, maxPayloadBytes: 2 }),
    /maxPayloadBytes/,
  );
});

/** Random frames of random NAL units, each starting with a first slice so the depacketizer delivers them. */
function randomFrames(rng: Prng, count: number): AccessUnit[] {
  const frames: AccessUnit[] = [];
  let pts = rng.next();
  for (let i = 0; i < count; i++) {
    const random = i === 0 || rng.chance(0.2);
    const nals: Uint8Array[] = [];
    if (random && rng.chance(0.5)) nals.push(sps, pps);
    if (rng.chance(0.3)) nals.push(sei);
    const slices = 1 + rng.int(4);
    for (let s = 0; s < slices; s++) {
      const n = 2 + (rng.chance(0.3) ? rng.int(5000) : rng.int(60));
      const nal = Uint8Array.from({ length: n }, () => rng.int(256));
      nal[0] = (rng.int(4) << 5) | (random ? 5 : 1);
      nal[1] = s === 0 ? nal[1] | 0x80 : nal[1] & 0x7f;
      nals.push(nal);
    }
    frames.push(au(pts, nals, random));
    pts += rng.int(2) === 0 ? 3000 : -1500 + rng.int(6000);
  }
  return frames;
}

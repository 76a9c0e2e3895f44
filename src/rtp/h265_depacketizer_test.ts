import assert from "node:assert/strict";
import type { AccessUnit } from "./access_unit.ts";
import { H265Depacketizer, h265NalKind } from "./h265_depacketizer.ts";
import { H265Packetizer, type H265PacketizerOptions } from "./h265_packetizer.ts";
import { NAL_KIND } from "./_nal_assembler.ts";
import type { Prng } from "../testing/prng.ts";
import { concat, type PacketCase, parts, PT, rtp, SSRC } from "./testdata/depacketizer_harness.ts";
import { nalCodecTests, type NalPackets } from "./testdata/nal_codec_tests.ts";
import { hex } from "./testdata/hex.ts";

// libx265's parameter sets (ffmpeg 5.1), shortened; slices cut after their first bytes. The byte
// after the 2-byte header opens with first_slice_segment_in_pic_flag.
const vps = hex("40 01 0c 01 ff ff 01 60 00 00 03 00 90 00 00 03");
const sps = hex("42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3c a0");
const pps = hex("44 01 c1 72 b4 62 40");
const idr = hex("26 01 af 06 b8 63 ef 3a");
const idrSlice2 = hex("26 01 2f 06 b8 63");
const cra = hex("2a 01 ac 84 31 9a");
const bla = hex("20 01 ac 21 44");
const irap22 = hex("2c 01 aa bb");
const trail = hex("02 01 d0 28 8e 7f");
const trail2 = hex("02 01 d4 11 22");
const rasl = hex("12 01 c4 31 22");
const prefixSei = hex("4e 01 05 ff ff");
const aud = hex("46 01 50");
const eos = hex("48 01");
const big = Uint8Array.from(
  { length: 3000 },
  (_, i) => (i === 0 ? 0x26 : i === 1 ? 0x01 : i === 2 ? 0xaf : (i * 7) & 0xff),
);

function ap(...nals: Uint8Array[]): Uint8Array {
  return concat([0x60, 0x01], ...nals.map((n) => concat([n.length >> 8, n.length & 0xff], n)));
}

function fu(nal: Uint8Array, start: boolean, end: boolean, data: Uint8Array): Uint8Array {
  const type = (nal[0] >> 1) & 0x3f;
  return concat([(nal[0] & 0x81) | (49 << 1), nal[1], (start ? 0x80 : 0) | (end ? 0x40 : 0) | type], data);
}

/** FUs of `nal` in `n` nearly equal fragments. */
function fus(nal: Uint8Array, n: number): Uint8Array[] {
  return parts(nal.subarray(2), n).map((data, i) => fu(nal, i === 0, i === n - 1, data));
}

const au = (pts: number, units: Uint8Array[], random = false): AccessUnit => ({ pts, units, random });

/** `canonical`: the packetizer options with which it writes exactly the input packets for the units. */
type Case = PacketCase<NalPackets, Omit<H265PacketizerOptions, "payloadType" | "ssrc">>;

const [bigA, bigB, bigC] = fus(big, 3);

const cases: Case[] = [
  {
    name: "single NAL unit IDR",
    input: { packets: [rtp(0, 0, true, idr)] },
    parsed: { units: [au(0, [idr], true)], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "AP VPS+SPS+PPS, then the IDR alone (ffmpeg)",
    input: { packets: [rtp(3, 90000, false, ap(vps, sps, pps)), rtp(4, 90000, true, big)] },
    parsed: { units: [au(90000, [vps, sps, pps, big], true)], drops: {} },
    canonical: { sequence: 3, maxPayloadBytes: 3000 },
  },
  {
    name: "AP VPS+SPS+PPS+IDR, then a trailing picture",
    input: { packets: [rtp(0, 0, true, ap(vps, sps, pps, idr)), rtp(1, 3000, true, trail)] },
    parsed: { units: [au(0, [vps, sps, pps, idr], true), au(3000, [trail])], drops: {} },
    canonical: { sequence: 0 },
  },
  {
    name: "FU IDR in three fragments",
    input: {
      packets: [
        rtp(0, 0, false, ap(vps, sps, pps)),
        rtp(1, 0, false, bigA),
        rtp(2, 0, false, bigB),
        rtp(3, 0, true, bigC),
      ],
    },
    parsed: { units: [au(0, [vps, sps, pps, big], true)], drops: {} },
    canonical: { sequence: 0, maxPayloadBytes: 1003 },
  },
  {
    name: "two-slice IDR, one NAL unit per packet",
    input: { packets: [rtp(0, 0, false, idr), rtp(1, 0, true, idrSlice2), rtp(2, 3000, true, trail)] },
    parsed: { units: [au(0, [idr, idrSlice2], true), au(3000, [trail])], drops: {} },
    canonical: { sequence: 0, aggregate: false },
  },
  {
    name: "CRA, BLA and reserved IRAP 22 are random access points, RASL is not",
    input: {
      packets: [rtp(0, 0, true, cra), rtp(1, 1, true, rasl), rtp(2, 2, true, bla), rtp(3, 3, true, irap22)],
    },
    parsed: {
      units: [au(0, [cra], true), au(1, [rasl]), au(2, [bla], true), au(3, [irap22], true)],
      drops: {},
    },
    canonical: { sequence: 0 },
  },
  {
    name: "AUDs are left out, a header-only end of sequence is kept",
    input: { packets: [rtp(0, 0, false, aud), rtp(1, 0, true, ap(prefixSei, idr, eos))] },
    parsed: { units: [au(0, [prefixSei, idr, eos], true)], drops: {} },
  },
  {
    name: "frames without marker bits end at the next timestamp",
    input: {
      packets: [
        rtp(0, 0, false, ap(vps, sps, pps)),
        rtp(1, 0, false, idr),
        rtp(2, 3000, false, trail),
        rtp(3, 6000, true, trail2),
      ],
    },
    parsed: { units: [au(0, [vps, sps, pps, idr], true), au(3000, [trail]), au(6000, [trail2])], drops: {} },
  },
  {
    name: "parameter sets marked on their own go with the next frame",
    input: { packets: [rtp(0, 0, true, ap(vps, sps, pps)), rtp(1, 0, true, idr)] },
    parsed: { units: [au(0, [vps, sps, pps, idr], true)], drops: {} },
  },
  {
    name: "sequence number and timestamp wrap",
    input: {
      packets: [
        rtp(65535, 0xffff_f000, true, ap(vps, sps, pps, idr)),
        rtp(0, 0xffff_f000 + 6000, true, trail), // rtp() writes the timestamp modulo 2^32
        rtp(1, 0xffff_f000 + 3000, true, trail2),
      ],
    },
    parsed: {
      units: [
        au(0xffff_f000, [vps, sps, pps, idr], true),
        au(0xffff_f000 + 6000, [trail]),
        au(0xffff_f000 + 3000, [trail2]),
      ],
      drops: {},
    },
    canonical: { sequence: 65535 },
  },
  {
    name: "Annex B start codes inside a single NAL unit packet (camera quirk)",
    input: {
      packets: [
        rtp(0, 0, true, concat([0, 0, 0, 1], vps, [0, 0, 1], sps, [0, 0, 1], pps, [0, 0, 0, 1], idr)),
      ],
    },
    parsed: { units: [au(0, [vps, sps, pps, idr], true)], drops: {} },
  },
  {
    name: "loss in the middle of an FU drops the frame and waits for the next IRAP",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 3000, false, fu(trail, true, false, hex("d0 01"))),
        // 2 lost
        rtp(3, 3000, true, fu(trail, false, true, hex("02"))),
        rtp(4, 6000, true, trail2),
        rtp(5, 9000, true, cra),
      ],
    },
    parsed: {
      units: [au(0, [idr], true), au(9000, [cra], true)],
      drops: { packetsLost: 1, framesDropped: 2, framesDamaged: 1, framesBeforeRandom: 1 },
    },
  },
  {
    name: "frames before the first IRAP, or an IRAP without its first slice, are dropped",
    input: { packets: [rtp(0, 0, true, trail), rtp(1, 3000, true, idrSlice2), rtp(2, 6000, true, idr)] },
    parsed: { units: [au(6000, [idr], true)], drops: { framesDropped: 2, framesBeforeRandom: 2 } },
  },
  {
    name: "joined in the middle of an FU: not invalid, just before the first IRAP",
    input: { packets: [rtp(0, 0, true, fu(idr, false, true, hex("01"))), rtp(1, 3000, true, idr)] },
    parsed: { units: [au(3000, [idr], true)], drops: { framesDropped: 1, framesBeforeRandom: 1 } },
  },
  {
    name: "PACI is refused, types 51-63 and malformed payloads are invalid",
    input: {
      packets: [
        rtp(0, 0, true, idr),
        rtp(1, 1, true, hex("64 01 00 00 26 01 af")), // PACI
        rtp(2, 2, true, hex("66 01 01 02")), // type 51
        rtp(3, 3, true, ap(vps).subarray(0, 6)), // size past the payload
        rtp(4, 4, true, hex("60 01 00 01 40")), // AP unit shorter than a NAL unit header
        rtp(5, 5, true, hex("60 01")), // AP without units
        rtp(6, 6, true, fu(idr, true, true, hex("af"))), // S and E together
        rtp(7, 7, true, hex("62 01 b0 01")), // FuType 48
        rtp(8, 8, true, hex("62 01 93")), // FU without data
        rtp(9, 9, true, hex("26")), // shorter than a NAL unit header
        rtp(10, 10, true, idr),
      ],
    },
    parsed: {
      units: [au(0, [idr], true), au(10, [idr], true)],
      drops: { packetsUnsupported: 1, packetsInvalid: 8, framesDropped: 9, framesDamaged: 9 },
    },
  },
  {
    name: "a frame over maxFrameBytes is dropped",
    input: {
      packets: [
        rtp(0, 0, false, bigA),
        rtp(1, 0, false, bigB),
        rtp(2, 0, true, bigC),
        rtp(3, 3000, true, idr),
      ],
      limits: { maxFrameBytes: 2999 },
    },
    parsed: { units: [au(3000, [idr], true)], drops: { framesDropped: 1, framesTooLarge: 1 } },
  },
  {
    name: "a frame over maxUnits NAL units is dropped",
    input: {
      packets: [
        rtp(0, 0, true, ap(vps, sps, pps, idr)),
        rtp(1, 3000, true, ap(vps, sps, pps, prefixSei, idr)),
      ],
      limits: { maxUnits: 4 },
    },
    parsed: {
      units: [au(0, [vps, sps, pps, idr], true)],
      drops: { framesDropped: 1, framesTooManyUnits: 1 },
    },
  },
];

const type = (n: Uint8Array) => (n[0] >> 1) & 0x3f;

nalCodecTests({
  name: "H265",
  codec: "h265",
  cases,
  depacketizer: (onUnit, limits) => new H265Depacketizer({ onUnit, ...limits }),
  packetizer: (options) => new H265Packetizer({ payloadType: PT, ssrc: SSRC, ...options }),
  minPayloadBytes: 4,
  randomFrames,
  isSlice: (n) => type(n) <= 31,
  isAud: (n) => type(n) === 35,
  isRandomSlice: (n) => type(n) >= 16 && type(n) <= 23,
  seed: 7798,
});

Deno.test("H265Packetizer: an AP's header takes the lowest LayerId and TID, and any F bit", () => {
  const layered = hex("02 0a d0 01"); // TRAIL_R, LayerId 1, TID 2
  const forbidden = hex("80 01 05"); // F set, type 0, TID 1
  const [packet] = new H265Packetizer({ payloadType: PT, ssrc: SSRC }).packetize(au(0, [layered, forbidden]));
  assert.deepStrictEqual(packet.subarray(12, 14), hex("e0 01"));
  const [only] = new H265Packetizer({ payloadType: PT, ssrc: SSRC }).packetize(au(0, [layered, layered]));
  assert.deepStrictEqual(only.subarray(12, 14), hex("60 0a"));
});

Deno.test("h265NalKind() classifies slices, IRAPs, first slices and AUDs", () => {
  const { DROP, VCL, RANDOM, FIRST_SLICE } = NAL_KIND;
  for (let type = 16; type <= 23; type++) assert.equal(h265NalKind(type, 0x80), VCL | RANDOM | FIRST_SLICE);
  for (const type of [0, 1, 8, 9, 15, 24, 31]) assert.equal(h265NalKind(type, 0x80), VCL | FIRST_SLICE);
  assert.equal(h265NalKind(19, 0x7f), VCL | RANDOM);
  assert.equal(h265NalKind(1, -1), VCL);
  assert.equal(h265NalKind(35, 0x50), DROP);
  for (const type of [32, 33, 34, 36, 39, 40, 47]) assert.equal(h265NalKind(type, 0xff), 0);
});

Deno.test("H265Depacketizer: sprop-max-don-diff above 0 (DONL) is refused at construction", () => {
  const onUnit = () => {};
  assert.throws(() => new H265Depacketizer({ onUnit, spropMaxDonDiff: 2 }), /sprop-max-don-diff=2 .*DONL/);
  new H265Depacketizer({ onUnit, spropMaxDonDiff: 0 });
});

Deno.test("H265Packetizer refuses what it cannot carry", () => {
  const pk = new H265Packetizer({ payloadType: PT, ssrc: SSRC });
  assert.throws(() => pk.packetize(au(0, [])), /no NAL units/);
  assert.throws(() => pk.packetize(au(0, [hex("26")])), /1 bytes/);
  assert.throws(() => pk.packetize(au(0, [hex("60 01 00")])), /cannot|not one/); // type 48
  assert.throws(() => pk.packetize(au(0, [hex("26 00 af")])), /not one/); // TID 0
  assert.throws(
    () => new H265Packetizer({ payloadType: PT, ssrc: SSRC, maxPayloadBytes: 3 }),
    /maxPayloadBytes/,
  );
});

function randomFrames(rng: Prng, count: number): AccessUnit[] {
  const frames: AccessUnit[] = [];
  let pts = rng.next();
  for (let i = 0; i < count; i++) {
    const random = i === 0 || rng.chance(0.2);
    const nals: Uint8Array[] = [];
    if (random && rng.chance(0.5)) nals.push(vps, sps, pps);
    if (rng.chance(0.3)) nals.push(prefixSei);
    const slices = 1 + rng.int(4);
    const type = random ? 16 + rng.int(8) : rng.int(16);
    for (let s = 0; s < slices; s++) {
      const n = 3 + (rng.chance(0.3) ? rng.int(5000) : rng.int(60));
      const nal = Uint8Array.from({ length: n }, () => rng.int(256));
      nal[0] = (type << 1) | rng.int(2);
      nal[1] = (rng.int(32) << 3) | (1 + rng.int(7));
      nal[2] = s === 0 ? nal[2] | 0x80 : nal[2] & 0x7f;
      nals.push(nal);
    }
    frames.push(au(pts, nals, random));
    pts += 1500 + rng.int(3000);
  }
  return frames;
}

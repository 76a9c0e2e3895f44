import assert from "node:assert/strict";
import { H265_FLAG, H265_NAL, h265IsKeyframeStart, h265PacketFlags } from "./h265.ts";
import { buildRtpPacket, rtpPayloadEnd, rtpPayloadStart } from "./rtp_header.ts";
import { fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const { IRAP, VPS, SPS, PPS, NON_IRAP, FRAGMENT, FRAGMENT_START, FRAGMENT_END } = H265_FLAG;

// Parameter sets as libx265 writes them (ffmpeg 5.1, 320x240 Main), shortened after the header.
const vps = bytes("40 01 0c 01 ff ff 01 60 00 00 03 00 90 00 00 03");
const sps = bytes("42 01 01 01 60 00 00 03 00 90 00 00 03 00 00 03 00 3c a0");
const pps = bytes("44 01 c1 72 b4 62 40");
const idrWRadl = bytes("26 01 af 06 b8 63 ef 3a");
const idrNLp = bytes("28 01 af 1d 18 a3 2c");
const cra = bytes("2a 01 ac 84 31 9a");
const blaWLp = bytes("20 01 ac 21 44");
const blaWRadl = bytes("22 01 ac 21 44");
const blaNLp = bytes("24 01 ac 21 44");
const trailR = bytes("02 01 d0 28 8e 7f");
const trailN = bytes("00 01 d0 28 8e 7f");
const raslN = bytes("10 01 e0 31 22");
const reservedIrap22 = bytes("2c 01 aa bb");
const prefixSei = bytes("4e 01 05 ff ff");
const aud = bytes("46 01 50");

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(" ").filter((h) => h !== ""), (h) => parseInt(h, 16));
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return new Uint8Array(out);
}

/** Aggregation packet (RFC 7798 §4.4.2), plain form (no DONL/DOND): payload header type 48, TID 1. */
function ap(...nals: Uint8Array[]): Uint8Array {
  return concat([H265_NAL.AP << 1, 0x01], ...nals.map((n) => concat([n.length >> 8, n.length & 0xff], n)));
}

/** Fragmentation unit (RFC 7798 §4.4.3) of `nal` carrying `data`, plain form (no DONL). */
function fu(nal: Uint8Array, start: boolean, end: boolean, data = bytes("aa bb cc")): Uint8Array {
  const type = (nal[0] >> 1) & 0x3f;
  const header = (start ? 0x80 : 0) | (end ? 0x40 : 0) | type;
  return concat([(nal[0] & 0x81) | (H265_NAL.FU << 1), nal[1], header], data);
}

/** Places the payload inside a larger buffer so every test exercises non-zero offsets. */
function flagsOf(payload: Uint8Array): number {
  const buf = new Uint8Array(payload.length + 9).fill(0xee);
  buf.set(payload, 4);
  return h265PacketFlags(buf, 4, 4 + payload.length);
}

const cases: { name: string; payload: Uint8Array; flags: number; keyframeStart: boolean }[] = [
  { name: "single NAL IDR_W_RADL", payload: idrWRadl, flags: IRAP, keyframeStart: true },
  { name: "single NAL IDR_N_LP", payload: idrNLp, flags: IRAP, keyframeStart: true },
  { name: "single NAL CRA", payload: cra, flags: IRAP, keyframeStart: true },
  { name: "single NAL BLA_W_LP", payload: blaWLp, flags: IRAP, keyframeStart: true },
  { name: "single NAL BLA_W_RADL", payload: blaWRadl, flags: IRAP, keyframeStart: true },
  { name: "single NAL BLA_N_LP", payload: blaNLp, flags: IRAP, keyframeStart: true },
  { name: "single NAL TRAIL_R", payload: trailR, flags: NON_IRAP, keyframeStart: false },
  { name: "single NAL TRAIL_N (first byte 0)", payload: trailN, flags: NON_IRAP, keyframeStart: false },
  { name: "single NAL RASL_N", payload: raslN, flags: NON_IRAP, keyframeStart: false },
  {
    name: "reserved IRAP type 22 is not a keyframe",
    payload: reservedIrap22,
    flags: NON_IRAP,
    keyframeStart: false,
  },
  { name: "single NAL VPS", payload: vps, flags: VPS, keyframeStart: false },
  { name: "single NAL SPS", payload: sps, flags: SPS, keyframeStart: false },
  { name: "single NAL PPS", payload: pps, flags: PPS, keyframeStart: false },
  { name: "single NAL prefix SEI", payload: prefixSei, flags: 0, keyframeStart: false },
  { name: "single NAL AUD", payload: aud, flags: 0, keyframeStart: false },
  { name: "NAL unit header only", payload: bytes("26 01"), flags: IRAP, keyframeStart: true },
  {
    name: "AP VPS+SPS+PPS (ffmpeg's keyframe prelude)",
    payload: ap(vps, sps, pps),
    flags: VPS | SPS | PPS,
    keyframeStart: false,
  },
  {
    name: "AP VPS+SPS+PPS+SEI+IDR",
    payload: ap(vps, sps, pps, prefixSei, idrWRadl),
    flags: VPS | SPS | PPS | IRAP,
    keyframeStart: true,
  },
  { name: "AP with a CRA last", payload: ap(aud, cra), flags: IRAP, keyframeStart: true },
  { name: "AP AUD+SEI+TRAIL", payload: ap(aud, prefixSei, trailR), flags: NON_IRAP, keyframeStart: false },
  {
    name: "AP with trailing zero bytes after the last unit",
    payload: concat(ap(sps, idrNLp), [0, 0]),
    flags: SPS | IRAP,
    keyframeStart: true,
  },
  {
    name: "AP whose IDR size runs past the payload",
    payload: ap(vps, sps, idrWRadl).subarray(0, 2 + 2 + vps.length + 2 + sps.length + 2 + 3),
    flags: VPS | SPS,
    keyframeStart: false,
  },
  {
    name: "AP cut inside a size field",
    payload: ap(vps, sps).subarray(0, 2 + 2 + vps.length + 1),
    flags: VPS,
    keyframeStart: false,
  },
  {
    name: "AP unit too short for a NAL unit header ends the walk",
    payload: concat([0x60, 0x01, 0x00, 0x01, 0x26], [0x00, idrWRadl.length], idrWRadl),
    flags: 0,
    keyframeStart: false,
  },
  {
    name: "AP first size too large",
    payload: concat([0x60, 0x01, 0x01, 0x00], cra),
    flags: 0,
    keyframeStart: false,
  },
  { name: "AP payload header only", payload: bytes("60 01"), flags: 0, keyframeStart: false },
  {
    name: "FU start of IDR",
    payload: fu(idrWRadl, true, false),
    flags: FRAGMENT | FRAGMENT_START | IRAP,
    keyframeStart: true,
  },
  {
    name: "FU middle of IDR",
    payload: fu(idrWRadl, false, false),
    flags: FRAGMENT | IRAP,
    keyframeStart: false,
  },
  {
    name: "FU end of IDR",
    payload: fu(idrWRadl, false, true),
    flags: FRAGMENT | FRAGMENT_END | IRAP,
    keyframeStart: false,
  },
  {
    name: "FU start of CRA",
    payload: fu(cra, true, false),
    flags: FRAGMENT | FRAGMENT_START | IRAP,
    keyframeStart: true,
  },
  {
    name: "FU start of TRAIL_R",
    payload: fu(trailR, true, false),
    flags: FRAGMENT | FRAGMENT_START | NON_IRAP,
    keyframeStart: false,
  },
  {
    name: "FU middle of TRAIL_R",
    payload: fu(trailR, false, false),
    flags: FRAGMENT | NON_IRAP,
    keyframeStart: false,
  },
  {
    name: "FU with S and E both set",
    payload: fu(idrNLp, true, true),
    flags: FRAGMENT | FRAGMENT_START | FRAGMENT_END | IRAP,
    keyframeStart: true,
  },
  {
    name: "FU start of a VPS",
    payload: fu(vps, true, false),
    flags: FRAGMENT | FRAGMENT_START | VPS,
    keyframeStart: false,
  },
  {
    name: "FU start of SEI",
    payload: fu(prefixSei, true, false),
    flags: FRAGMENT | FRAGMENT_START,
    keyframeStart: false,
  },
  {
    name: "FU without data",
    payload: fu(idrWRadl, true, false, new Uint8Array()),
    flags: 0,
    keyframeStart: false,
  },
  { name: "FU payload header only", payload: bytes("62 01"), flags: 0, keyframeStart: false },
  { name: "FU of an AP type", payload: bytes("62 01 b0 00 01"), flags: 0, keyframeStart: false },
  { name: "FU of an FU type", payload: bytes("62 01 b1 00 01"), flags: 0, keyframeStart: false },
  { name: "FU of a PACI type", payload: bytes("62 01 b2 00 01"), flags: 0, keyframeStart: false },
  {
    name: "PACI is not read",
    payload: concat([0x64, 0x01, 0x26, 0x00], idrWRadl),
    flags: 0,
    keyframeStart: false,
  },
  { name: "unspecified type 51", payload: bytes("66 01 26 01"), flags: 0, keyframeStart: false },
  { name: "unspecified type 63", payload: bytes("7e 01 26 01"), flags: 0, keyframeStart: false },
  {
    name: "Annex B VPS+SPS+PPS+IDR in one payload",
    payload: concat([0, 0, 0, 1], vps, [0, 0, 0, 1], sps, [0, 0, 1], pps, [0, 0, 1], idrWRadl),
    flags: VPS | SPS | PPS | IRAP,
    keyframeStart: true,
  },
  {
    name: "Annex B 3-byte start code before TRAIL_R",
    payload: concat([0, 0, 1], trailR),
    flags: NON_IRAP,
    keyframeStart: false,
  },
  { name: "Annex B start code alone", payload: bytes("00 00 00 01"), flags: 0, keyframeStart: false },
  {
    name: "Annex B start code and one header byte",
    payload: bytes("00 00 01 26"),
    flags: 0,
    keyframeStart: false,
  },
  {
    name: "zero header without start code",
    payload: bytes("00 00 02 26 01"),
    flags: 0,
    keyframeStart: false,
  },
  { name: "one byte", payload: bytes("26"), flags: 0, keyframeStart: false },
  { name: "empty payload", payload: new Uint8Array(), flags: 0, keyframeStart: false },
];

Deno.test("h265PacketFlags() reports what each payload carries", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(flagsOf(c.payload), c.flags));
  }
});

Deno.test("h265IsKeyframeStart() is true only on the first packet of an IRAP picture", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(h265IsKeyframeStart(flagsOf(c.payload)), c.keyframeStart));
  }
});

Deno.test("h265IsKeyframeStart() marks one packet of an ffmpeg GOP sent over RTP", () => {
  const payloads = [
    ap(vps, sps, pps, prefixSei),
    fu(cra, true, false),
    fu(cra, false, false),
    fu(cra, false, true),
    fu(trailR, true, false),
    fu(trailR, false, true),
    trailR,
    ap(trailN, trailN),
  ];
  const marks = payloads.map((payload, i) => {
    const packet = buildRtpPacket({
      payloadType: 96,
      sequence: i,
      timestamp: 0,
      ssrc: 1,
      padding: 2,
      payload,
    });
    const start = rtpPayloadStart(packet, 0, packet.length);
    return h265IsKeyframeStart(h265PacketFlags(packet, start, rtpPayloadEnd(packet, 0, packet.length)));
  });
  assert.deepEqual(marks, [false, true, false, false, false, false, false, false]);
});

Deno.test("h265PacketFlags() returns 0 for bounds it cannot read", async (t) => {
  const bounds = [
    { name: "payloadStart -1 from an invalid RTP packet", start: -1, end: 3 },
    { name: "end past the buffer", start: 0, end: idrWRadl.length + 1 },
    { name: "end before start", start: 2, end: 1 },
  ] as const;
  for (const c of bounds) {
    await t.step(c.name, () => assert.equal(h265PacketFlags(idrWRadl, c.start, c.end), 0));
  }
});

Deno.test("h265PacketFlags() on every cut of an AP reports only the whole units, never a cut IRAP", () => {
  const full = ap(vps, sps, pps, idrWRadl);
  const idrEnd = full.length;
  for (let n = 0; n <= full.length; n++) {
    const flags = flagsOf(full.subarray(0, n));
    assert.equal(flags & ~(VPS | SPS | PPS | IRAP), 0, `cut at ${n}: ${flags}`);
    assert.equal((flags & IRAP) !== 0, n === idrEnd, `cut at ${n}: IRAP only when whole`);
  }
});

Deno.test("h265PacketFlags() never throws and reports only its own bits on random payloads", () => {
  // Fixed-seed xorshift, so a failure replays; first two bytes biased toward AP/FU/start codes.
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const heads = [0x60, 0x62, 0x00, 0x26, 0x40];
  const all = IRAP | VPS | SPS | PPS | NON_IRAP | FRAGMENT | FRAGMENT_START | FRAGMENT_END;
  for (let i = 0; i < 5000; i++) {
    const p = new Uint8Array(next() % 24);
    for (let j = 0; j < p.length; j++) p[j] = next() & 0xff;
    if (p.length > 0 && i % 2 === 0) p[0] = heads[i % heads.length];
    const flags = flagsOf(p);
    assert.ok(Number.isInteger(flags) && (flags & ~all) === 0, `payload ${p}: ${flags}`);
  }
});

const ALL_H265_FLAGS = Object.values(H265_FLAG).reduce((a, b) => a | b, 0);

Deno.test("h265PacketFlags() fuzz: corpus and mutated payloads never throw and read in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "h265",
    label: "h265PacketFlags()",
    seeds: goldenSeeds(cases, (c) => [c.payload]),
    check: (payload) => {
      const flags = readsOnlyItsBytes(payload, h265PacketFlags);
      assert.ok(Number.isInteger(flags) && (flags & ~ALL_H265_FLAGS) === 0, `flags ${flags}`);
      if ((flags & FRAGMENT) === 0) assert.equal(flags & (FRAGMENT_START | FRAGMENT_END), 0);
      const start = (flags & FRAGMENT) === 0 || (flags & FRAGMENT_START) !== 0;
      assert.equal(h265IsKeyframeStart(flags), (flags & IRAP) !== 0 && start);
    },
    count: 5000,
    seed: 7798,
    kind: "binary",
    maxBytes: 2048,
  });
});

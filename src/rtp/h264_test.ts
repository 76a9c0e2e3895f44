import assert from "node:assert/strict";
import {
  H264_FLAG,
  H264_NAL,
  h264IsKeyframeStart,
  h264PacketFlags,
  h264ProfileLevelFromSps,
  parseSpropParameterSets,
} from "./h264.ts";
import { buildRtpPacket, rtpPayloadEnd, rtpPayloadStart } from "./rtp_header.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, readsOnlyItsBytes, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const { IDR, SPS, PPS, NON_IDR, FRAGMENT, FRAGMENT_START, FRAGMENT_END } = H264_FLAG;

// ffmpeg's libx264 parameter sets (sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA).
const sps = bytes("67 64 00 1f ac d9 40 50 05 ba 10 00 00 03 00 10 00 00 03 03 c8 f1 83 19 60");
const pps = bytes("68 eb e3 cb 22 c0");
const idr = bytes("65 88 84 00 33 ff fe f6 f0");
const pSlice = bytes("41 9a 24 6c 42 ff");
const sei = bytes("06 05 11 dc 45 e9 80");
const aud = bytes("09 f0");

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(" ").filter((h) => h !== ""), (h) => parseInt(h, 16));
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return new Uint8Array(out);
}

/** STAP-A (RFC 6184 §5.7.1) with the NRI ffmpeg uses: the highest of its NAL units. */
function stapA(...nals: Uint8Array[]): Uint8Array {
  return concat([0x78], ...nals.map((n) => concat([n.length >> 8, n.length & 0xff], n)));
}

/** FU-A (RFC 6184 §5.8) fragment of `nal` carrying `data`. */
function fuA(nal: Uint8Array, start: boolean, end: boolean, data = bytes("aa bb cc")): Uint8Array {
  const indicator = (nal[0] & 0xe0) | H264_NAL.FU_A;
  const header = (start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0] & 0x1f);
  return concat([indicator, header], data);
}

/** Places the payload inside a larger buffer so every test exercises non-zero offsets. */
function flagsOf(payload: Uint8Array): number {
  const buf = new Uint8Array(payload.length + 9).fill(0xee);
  buf.set(payload, 4);
  return h264PacketFlags(buf, 4, 4 + payload.length);
}

const cases: { name: string; payload: Uint8Array; flags: number; keyframeStart: boolean }[] = [
  { name: "single NAL IDR", payload: idr, flags: IDR, keyframeStart: true },
  { name: "single NAL P slice", payload: pSlice, flags: NON_IDR, keyframeStart: false },
  { name: "single NAL SPS", payload: sps, flags: SPS, keyframeStart: false },
  { name: "single NAL PPS", payload: pps, flags: PPS, keyframeStart: false },
  { name: "single NAL SEI", payload: sei, flags: 0, keyframeStart: false },
  { name: "single NAL AUD", payload: aud, flags: 0, keyframeStart: false },
  {
    name: "STAP-A SPS+PPS+IDR (ffmpeg keyframe)",
    payload: stapA(sps, pps, idr),
    flags: SPS | PPS | IDR,
    keyframeStart: true,
  },
  { name: "STAP-A SPS+PPS", payload: stapA(sps, pps), flags: SPS | PPS, keyframeStart: false },
  { name: "STAP-A AUD+SEI+P", payload: stapA(aud, sei, pSlice), flags: NON_IDR, keyframeStart: false },
  {
    name: "STAP-A with trailing zero bytes after the last unit",
    payload: concat(stapA(sps, idr), [0, 0]),
    flags: SPS | IDR,
    keyframeStart: true,
  },
  {
    name: "STAP-A whose IDR size runs past the payload",
    payload: stapA(sps, pps, idr).subarray(0, 1 + 2 + sps.length + 2 + pps.length + 2 + 3),
    flags: SPS | PPS,
    keyframeStart: false,
  },
  {
    name: "STAP-A cut inside a size field",
    payload: stapA(sps, pps).subarray(0, 1 + 2 + sps.length + 1),
    flags: SPS,
    keyframeStart: false,
  },
  {
    name: "STAP-A first size too large",
    payload: concat([0x78, 0x01, 0x00], idr),
    flags: 0,
    keyframeStart: false,
  },
  { name: "STAP-A header only", payload: bytes("78"), flags: 0, keyframeStart: false },
  {
    name: "STAP-B skips the DON",
    payload: concat([0x79, 0x12, 0x34], stapA(sps, idr).subarray(1)),
    flags: SPS | IDR,
    keyframeStart: true,
  },
  { name: "STAP-B cut inside the DON", payload: bytes("79 12"), flags: 0, keyframeStart: false },
  {
    name: "FU-A start of IDR",
    payload: fuA(idr, true, false),
    flags: FRAGMENT | FRAGMENT_START | IDR,
    keyframeStart: true,
  },
  {
    name: "FU-A middle of IDR",
    payload: fuA(idr, false, false),
    flags: FRAGMENT | IDR,
    keyframeStart: false,
  },
  {
    name: "FU-A end of IDR",
    payload: fuA(idr, false, true),
    flags: FRAGMENT | FRAGMENT_END | IDR,
    keyframeStart: false,
  },
  {
    name: "FU-A start of P slice",
    payload: fuA(pSlice, true, false),
    flags: FRAGMENT | FRAGMENT_START | NON_IDR,
    keyframeStart: false,
  },
  {
    name: "FU-A middle of P slice",
    payload: fuA(pSlice, false, false),
    flags: FRAGMENT | NON_IDR,
    keyframeStart: false,
  },
  {
    name: "FU-A end of P slice",
    payload: fuA(pSlice, false, true),
    flags: FRAGMENT | FRAGMENT_END | NON_IDR,
    keyframeStart: false,
  },
  {
    name: "FU-A with S and E both set",
    payload: fuA(idr, true, true),
    flags: FRAGMENT | FRAGMENT_START | FRAGMENT_END | IDR,
    keyframeStart: true,
  },
  {
    name: "FU-A start of SEI",
    payload: fuA(sei, true, false),
    flags: FRAGMENT | FRAGMENT_START,
    keyframeStart: false,
  },
  {
    name: "FU-B start of IDR skips the DON",
    payload: bytes("7d 85 00 01 88 84"),
    flags: FRAGMENT | FRAGMENT_START | IDR,
    keyframeStart: true,
  },
  { name: "FU-B without data", payload: bytes("7d 85 00 01"), flags: 0, keyframeStart: false },
  {
    name: "FU-A without data",
    payload: fuA(idr, true, false, new Uint8Array()),
    flags: 0,
    keyframeStart: false,
  },
  { name: "FU-A indicator only", payload: bytes("7c"), flags: 0, keyframeStart: false },
  { name: "FU-A of an aggregation type", payload: bytes("7c 98 00 01"), flags: 0, keyframeStart: false },
  { name: "FU-A of type 0", payload: bytes("7c 80 00 01"), flags: 0, keyframeStart: false },
  {
    name: "Annex B 4-byte start code before IDR",
    payload: concat([0, 0, 0, 1], idr),
    flags: IDR,
    keyframeStart: true,
  },
  {
    name: "Annex B 3-byte start code before P slice",
    payload: concat([0, 0, 1], pSlice),
    flags: NON_IDR,
    keyframeStart: false,
  },
  {
    name: "Annex B SPS+PPS+IDR in one payload",
    payload: concat([0, 0, 0, 1], sps, [0, 0, 0, 1], pps, [0, 0, 1], idr),
    flags: SPS | PPS | IDR,
    keyframeStart: true,
  },
  { name: "Annex B start code alone", payload: bytes("00 00 00 01"), flags: 0, keyframeStart: false },
  { name: "type 0 without start code", payload: bytes("00 00 02 65"), flags: 0, keyframeStart: false },
  {
    name: "MTAP16 is not supported",
    payload: bytes("7a 00 01 00 02 00 00 00 65"),
    flags: 0,
    keyframeStart: false,
  },
  { name: "reserved type 30", payload: bytes("7e 01 02"), flags: 0, keyframeStart: false },
  { name: "empty payload", payload: new Uint8Array(), flags: 0, keyframeStart: false },
];

Deno.test("h264PacketFlags() reports what each payload carries", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(flagsOf(c.payload), c.flags));
  }
});

Deno.test("h264IsKeyframeStart() is true only on the first packet of an IDR", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(h264IsKeyframeStart(flagsOf(c.payload)), c.keyframeStart));
  }
});

Deno.test("h264IsKeyframeStart() marks one packet of an ffmpeg GOP sent over RTP", () => {
  const payloads = [
    stapA(sps, pps),
    fuA(idr, true, false),
    fuA(idr, false, false),
    fuA(idr, false, true),
    fuA(pSlice, true, false),
    fuA(pSlice, false, true),
    pSlice,
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
    return h264IsKeyframeStart(h264PacketFlags(packet, start, rtpPayloadEnd(packet, 0, packet.length)));
  });
  assert.deepEqual(marks, [false, true, false, false, false, false, false]);
});

Deno.test("h264PacketFlags() returns 0 for bounds it cannot read", async (t) => {
  const cases = [
    { name: "payloadStart -1 from an invalid RTP packet", start: -1, end: 3 },
    { name: "end past the buffer", start: 0, end: idr.length + 1 },
    { name: "end before start", start: 2, end: 1 },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(h264PacketFlags(idr, c.start, c.end), 0));
  }
});

const spropCases: { name: string; value: string; nals: Uint8Array[] }[] = [
  { name: "ffmpeg SPS and PPS", value: "Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA", nals: [sps, pps] },
  {
    name: "missing base64 padding",
    value: "Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA,aOvjyyLA",
    nals: [sps, pps],
  },
  {
    name: "spaces and empty entries",
    value: " Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA== , ,aOvjyyLA,",
    nals: [sps, pps],
  },
  {
    name: "camera with Annex B start codes, both sets in one entry",
    value: "AAAAAWdkAB+s2UBQBboQAAADABAAAAMDyPGDGWAAAAABaOvjyyLA",
    nals: [sps, pps],
  },
  { name: "3-byte start code", value: btoa("\x00\x00\x01\x68\xeb\xe3\xcb\x22\xc0"), nals: [pps] },
  { name: "empty value", value: "", nals: [] },
];

Deno.test("parseSpropParameterSets() decodes every parameter set", async (t) => {
  for (const c of spropCases) {
    await t.step(c.name, () => assert.deepEqual(parseSpropParameterSets(c.value), c.nals));
  }
});

Deno.test("parseSpropParameterSets() throws SyntaxError for invalid base64", () => {
  assert.throws(() => parseSpropParameterSets("Z2QA,@@@"), {
    name: "SyntaxError",
    message: 'Invalid base64 in sprop-parameter-sets: "@@@"',
  });
});

Deno.test("h264ProfileLevelFromSps() returns profile_idc, constraints and level_idc as hex", async (t) => {
  const cases = [
    { name: "ffmpeg High 3.1", sps, expected: "64001F" },
    { name: "Baseline constrained 3.0", sps: bytes("67 42 c0 1e d9 03 c5 68"), expected: "42C01E" },
    { name: "Annex B prefixed", sps: concat([0, 0, 0, 1], sps), expected: "64001F" },
    { name: "exactly 4 bytes", sps: bytes("27 4d 40 28"), expected: "4D4028" },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(h264ProfileLevelFromSps(c.sps), c.expected));
  }
});

Deno.test("h264ProfileLevelFromSps() throws SyntaxError when the input is no SPS", async (t) => {
  const cases = [
    { name: "PPS", nal: pps },
    { name: "3 bytes", nal: sps.subarray(0, 3) },
    { name: "empty", nal: new Uint8Array() },
    { name: "start code only", nal: bytes("00 00 00 01") },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assert.throws(() => h264ProfileLevelFromSps(c.nal), SyntaxError));
  }
});

const ALL_H264_FLAGS = Object.values(H264_FLAG).reduce((a, b) => a | b, 0);

/** h264PacketFlags()'s convention: never throws, only its own bits, reads only the payload. */
function checkH264Flags(payload: Uint8Array): void {
  const flags = readsOnlyItsBytes(payload, h264PacketFlags);
  assert.ok(Number.isInteger(flags) && (flags & ~ALL_H264_FLAGS) === 0, `flags ${flags}`);
  if ((flags & FRAGMENT) === 0) assert.equal(flags & (FRAGMENT_START | FRAGMENT_END), 0);
  assert.equal(
    h264IsKeyframeStart(flags),
    (flags & IDR) !== 0 && ((flags & FRAGMENT) === 0 || (flags & FRAGMENT_START) !== 0),
  );
}

Deno.test("h264PacketFlags() fuzz: corpus and mutated payloads never throw and read in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "h264",
    label: "h264PacketFlags()",
    seeds: goldenSeeds(cases, (c) => [c.payload]),
    check: checkH264Flags,
    count: 5000,
    seed: 6184,
    kind: "binary",
    maxBytes: 2048,
  });
});

const toBase64 = (nal: Uint8Array) => btoa(String.fromCharCode(...nal));

/**
 * parseSpropParameterSets()'s convention: refuse with SyntaxError, or NAL units that encode back
 * to the same list; h264ProfileLevelFromSps() on each refuses with SyntaxError or gives 6 hex digits.
 */
function checkSprop(input: Uint8Array): void {
  const nals = parseOrRefuse(
    () => parseSpropParameterSets(new TextDecoder().decode(input)),
    (e) => e instanceof SyntaxError,
  );
  if (nals === REFUSED) return;
  for (const nal of nals) assert.ok(nal.length > 0, "an empty NAL unit");
  assertRoundTrip(nals, (list) => list.map(toBase64).join(","), parseSpropParameterSets);
  for (const nal of nals) {
    const profile = parseOrRefuse(() => h264ProfileLevelFromSps(nal), (e) => e instanceof SyntaxError);
    if (profile !== REFUSED) assert.match(profile, /^[0-9A-F]{6}$/);
  }
}

Deno.test("parseSpropParameterSets() fuzz: corpus and mutated values refuse with SyntaxError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "h264_sprop",
    label: "parseSpropParameterSets()",
    seeds: goldenSeeds(spropCases, (c) => [c.value]),
    check: checkSprop,
    count: 3000,
    seed: 81,
    kind: "text",
    dictionary: ["AAAAAW", "AAAB", "Z2QAH", "aOvjyyLA", "==", ","],
  });
});

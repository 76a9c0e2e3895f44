import assert from "node:assert/strict";
import {
  aacAccessUnitCount,
  aacChannelsFromConfig,
  aacSampleRateFromConfig,
  type AudioSpecificConfigInfo,
  type Mpeg4GenericConfig,
  parseAudioSpecificConfig,
  parseMpeg4GenericFmtp,
} from "./aac.ts";
import { buildRtpPacket, rtpPayloadEnd, rtpPayloadStart } from "./rtp_header.ts";
import { parseFmtpParameters } from "../sdp/media_description.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, readsOnlyItsBytes, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Splits an fmtp value into the lower-cased key map the SDP parser hands over. */
function fmtp(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

const fmtpCases: { name: string; fmtp: string; parsed: Mpeg4GenericConfig }[] = [
  {
    name: "ffmpeg AAC-hbr",
    fmtp: "profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=121056E500",
    parsed: {
      mode: "AAC-hbr",
      sizeLength: 13,
      indexLength: 3,
      indexDeltaLength: 3,
      config: hex("121056E500"),
      profileLevelId: 1,
    },
  },
  {
    name: "GStreamer with streamtype and lower-case hex",
    fmtp: "streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1190;sizelength=13;indexlength=3;" +
      "indexdeltalength=3",
    parsed: {
      mode: "AAC-hbr",
      sizeLength: 13,
      indexLength: 3,
      indexDeltaLength: 3,
      config: hex("1190"),
      profileLevelId: 2,
    },
  },
  {
    name: "AAC-lbr",
    fmtp: "mode=AAC-lbr;sizelength=6;indexlength=2;indexdeltalength=2;config=1588",
    parsed: { mode: "AAC-lbr", sizeLength: 6, indexLength: 2, indexDeltaLength: 2, config: hex("1588") },
  },
  {
    name: "mode in another case, index lengths omitted",
    fmtp: "mode=aac-HBR;sizelength=13;config=1210",
    parsed: { mode: "aac-HBR", sizeLength: 13, indexLength: 0, indexDeltaLength: 0, config: hex("1210") },
  },
  {
    name: "mode omitted counts as generic",
    fmtp: "config=1210",
    parsed: { mode: "generic", sizeLength: 0, indexLength: 0, indexDeltaLength: 0, config: hex("1210") },
  },
  {
    name: "non-decimal profile-level-id is dropped",
    fmtp: "profile-level-id=0x0F;mode=AAC-hbr;sizelength=13;config=1210",
    parsed: { mode: "AAC-hbr", sizeLength: 13, indexLength: 0, indexDeltaLength: 0, config: hex("1210") },
  },
];

Deno.test("parseMpeg4GenericFmtp() reads the parameters senders use", async (t) => {
  for (const c of fmtpCases) {
    await t.step(c.name, () => assert.deepEqual(parseMpeg4GenericFmtp(fmtp(c.fmtp)), c.parsed));
  }
});

Deno.test("parseMpeg4GenericFmtp() throws SyntaxError naming the bad parameter", async (t) => {
  const cases = [
    { name: "config missing", fmtp: "mode=AAC-hbr;sizelength=13", message: /Missing 'config'/ },
    { name: "config empty", fmtp: "mode=AAC-hbr;sizelength=13;config=", message: /Invalid 'config'/ },
    { name: "config odd length", fmtp: "mode=AAC-hbr;sizelength=13;config=121", message: /Invalid 'config'/ },
    { name: "config not hex", fmtp: "mode=AAC-hbr;sizelength=13;config=12zz", message: /Invalid 'config'/ },
    {
      name: "config truncated AudioSpecificConfig",
      fmtp: "mode=AAC-hbr;sizelength=13;config=12",
      message: /Invalid 'config'.*truncated/,
    },
    {
      name: "sizelength missing in AAC-hbr",
      fmtp: "mode=AAC-hbr;config=1210",
      message: /Missing 'sizelength'/,
    },
    {
      name: "sizelength missing in AAC-lbr",
      fmtp: "mode=AAC-lbr;config=1210",
      message: /Missing 'sizelength'/,
    },
    {
      name: "sizelength not a number",
      fmtp: "mode=AAC-hbr;sizelength=x;config=1210",
      message: /'sizelength'/,
    },
    {
      name: "indexlength negative",
      fmtp: "mode=AAC-hbr;sizelength=13;indexlength=-3;config=1210",
      message: /'indexlength'/,
    },
    {
      name: "indexdeltalength too wide",
      fmtp: "sizelength=13;indexdeltalength=33;config=1210",
      message: /'indexdeltalength'/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => parseMpeg4GenericFmtp(fmtp(c.fmtp)), (e: unknown) => {
        assert.ok(e instanceof SyntaxError);
        assert.match(e.message, c.message);
        return true;
      });
    });
  }
});

const configCases: { name: string; config: string; info: AudioSpecificConfigInfo }[] = [
  {
    name: "AAC LC 44.1 kHz stereo",
    config: "1210",
    info: { objectType: 2, sampleRate: 44100, channels: 2, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "ffmpeg 121056E500: sync extension says no SBR",
    config: "121056E500",
    info: { objectType: 2, sampleRate: 44100, channels: 2, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "AAC LC 48 kHz stereo",
    config: "1190",
    info: { objectType: 2, sampleRate: 48000, channels: 2, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "AAC LC 8 kHz mono (camera)",
    config: "1588",
    info: { objectType: 2, sampleRate: 8000, channels: 1, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "HE-AAC hierarchical signalling",
    config: "2B118800",
    info: { objectType: 2, sampleRate: 24000, channels: 2, sbrPresent: true, extensionSampleRate: 48000 },
  },
  {
    name: "HE-AAC v2 (PS) hierarchical signalling",
    config: "EB098800",
    info: { objectType: 2, sampleRate: 24000, channels: 1, sbrPresent: true, extensionSampleRate: 48000 },
  },
  {
    name: "HE-AAC backward-compatible signalling",
    config: "131056E598",
    info: { objectType: 2, sampleRate: 24000, channels: 2, sbrPresent: true, extensionSampleRate: 48000 },
  },
  {
    name: "truncated sync extension keeps the core",
    config: "121056",
    info: { objectType: 2, sampleRate: 44100, channels: 2, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "escaped object type 42 (USAC)",
    config: "F94840",
    info: { objectType: 42, sampleRate: 44100, channels: 2, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "escaped 24-bit sampling rate",
    config: "178061A808",
    info: { objectType: 2, sampleRate: 50000, channels: 1, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "channel configuration 7 is 7.1",
    config: "11B8",
    info: { objectType: 2, sampleRate: 48000, channels: 8, sbrPresent: false, extensionSampleRate: 0 },
  },
  {
    name: "channel configuration 0 defers to a PCE",
    config: "1200",
    info: { objectType: 2, sampleRate: 44100, channels: 0, sbrPresent: false, extensionSampleRate: 0 },
  },
];

Deno.test("parseAudioSpecificConfig() reads object type, rate and channels", async (t) => {
  for (const c of configCases) {
    await t.step(c.name, () => {
      assert.deepEqual(parseAudioSpecificConfig(hex(c.config)), c.info);
      assert.equal(aacSampleRateFromConfig(hex(c.config)), c.info.sampleRate);
      assert.equal(aacChannelsFromConfig(hex(c.config)), c.info.channels);
    });
  }
});

Deno.test("aacSampleRateFromConfig(), aacChannelsFromConfig() throw SyntaxError on bad input", async (t) => {
  const cases = [
    { name: "empty", config: "" },
    { name: "one byte", config: "12" },
    { name: "object type 0", config: "0210" },
    { name: "reserved frequency index 13", config: "1690" },
    { name: "reserved channel configuration 8", config: "1240" },
    { name: "escaped rate cut", config: "1780" },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => aacSampleRateFromConfig(hex(c.config)), SyntaxError);
      assert.throws(() => aacChannelsFromConfig(hex(c.config)), SyntaxError);
    });
  }
});

/** AU-header section for AAC-hbr (13-bit size, 3-bit index/delta = 0) followed by `data` bytes. */
function hbrPayload(sizes: number[], dataBytes: number): Uint8Array {
  const bits = sizes.length * 16;
  const out = new Uint8Array(2 + sizes.length * 2 + dataBytes).fill(0x5a, 2 + sizes.length * 2);
  out[0] = bits >> 8;
  out[1] = bits & 0xff;
  sizes.forEach((size, i) => {
    out[2 + i * 2] = (size << 3) >> 8;
    out[3 + i * 2] = (size << 3) & 0xff;
  });
  return out;
}

const hbr = [13, 3, 3] as const;
const auCases: {
  name: string;
  payload: Uint8Array;
  lengths: readonly [number, number, number];
  count: number;
}[] = [
  { name: "one AU (ffmpeg)", payload: hbrPayload([371], 371), lengths: hbr, count: 1 },
  { name: "three AUs", payload: hbrPayload([4, 5, 6], 15), lengths: hbr, count: 3 },
  { name: "largest 13-bit AU", payload: hbrPayload([8191], 8191), lengths: hbr, count: 1 },
  { name: "fragment of a larger AU", payload: hbrPayload([2000], 1400), lengths: hbr, count: 1 },
  {
    name: "AAC-lbr two AUs, one byte per header",
    payload: new Uint8Array([0x00, 0x10, 3 << 2, 4 << 2, 1, 2, 3, 4, 5, 6, 7]),
    lengths: [6, 2, 2],
    count: 2,
  },
  {
    name: "AU headers padded to a byte (6+2+6+2+6+2 bits)",
    payload: new Uint8Array([0x00, 0x18, 1 << 2, 1 << 2, 2 << 2, 0xaa, 0xbb, 0xcc, 0xdd]),
    lengths: [6, 2, 2],
    count: 3,
  },
  {
    name: "10-bit headers leave the section unaligned",
    payload: new Uint8Array([0x00, 0x14, 0b00000011, 0b00000000, 0b10000000, 1, 2, 3, 4, 5]),
    lengths: [8, 2, 2],
    count: 2,
  },
  { name: "no AU-header fields: one AU", payload: new Uint8Array([1, 2, 3]), lengths: [0, 0, 0], count: 1 },
  { name: "three AUs, data one byte short", payload: hbrPayload([4, 5, 6], 14), lengths: hbr, count: -1 },
  { name: "three AUs, data one byte long", payload: hbrPayload([4, 5, 6], 16), lengths: hbr, count: -1 },
  { name: "one AU followed by extra bytes", payload: hbrPayload([6], 7), lengths: hbr, count: -1 },
  {
    name: "headers length not a multiple of the header size",
    payload: new Uint8Array([0x00, 0x14, 0x00, 0x30, 0x00, 1, 2, 3, 4, 5, 6]),
    lengths: hbr,
    count: -1,
  },
  { name: "headers length 0", payload: new Uint8Array([0x00, 0x00, 1, 2]), lengths: hbr, count: -1 },
  {
    name: "headers length past the payload",
    payload: new Uint8Array([0x01, 0x00, 0x00, 0x30, 1, 2]),
    lengths: hbr,
    count: -1,
  },
  { name: "headers but no data", payload: hbrPayload([6], 0), lengths: hbr, count: -1 },
  { name: "one byte", payload: new Uint8Array([0x00]), lengths: hbr, count: -1 },
  { name: "empty", payload: new Uint8Array(), lengths: hbr, count: -1 },
  { name: "empty without header fields", payload: new Uint8Array(), lengths: [0, 0, 0], count: -1 },
];

Deno.test("aacAccessUnitCount() counts AUs and checks their sizes", async (t) => {
  for (const c of auCases) {
    await t.step(c.name, () => {
      const buf = new Uint8Array(c.payload.length + 10).fill(0xff);
      buf.set(c.payload, 6);
      assert.equal(aacAccessUnitCount(buf, 6, 6 + c.payload.length, ...c.lengths), c.count);
    });
  }
});

Deno.test("aacAccessUnitCount() reads a payload located by rtpPayloadStart()", () => {
  const packet = buildRtpPacket({
    payloadType: 97,
    sequence: 65535,
    timestamp: 2 ** 32 - 1024,
    ssrc: 0xcafebabe,
    marker: true,
    padding: 3,
    payload: hbrPayload([200, 210], 410),
  });
  const start = rtpPayloadStart(packet, 0, packet.length);
  assert.equal(aacAccessUnitCount(packet, start, rtpPayloadEnd(packet, 0, packet.length), 13, 3, 3), 2);
  assert.equal(aacAccessUnitCount(packet, -1, packet.length, 13, 3, 3), -1);
});

const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** The fmtp a relay would write for a config (test-only: dm-live forwards fmtp verbatim). */
function fmtpText(c: Mpeg4GenericConfig): string {
  let s = `mode=${c.mode};sizelength=${c.sizeLength};indexlength=${c.indexLength};` +
    `indexdeltalength=${c.indexDeltaLength};config=${toHex(c.config)}`;
  if (c.profileLevelId !== undefined) s += `;profile-level-id=${c.profileLevelId}`;
  return s;
}

/** parseMpeg4GenericFmtp()'s convention: refuse with SyntaxError, or a config that rewrites as fmtp and reads back. */
function checkFmtp(input: Uint8Array): void {
  const parse = (text: string) => parseMpeg4GenericFmtp(parseFmtpParameters(text));
  const config = parseOrRefuse(() => parse(new TextDecoder().decode(input)), (e) => e instanceof SyntaxError);
  if (config === REFUSED) return;
  for (const n of [config.sizeLength, config.indexLength, config.indexDeltaLength]) {
    assert.ok(Number.isInteger(n) && n >= 0 && n <= 32);
  }
  assert.ok(config.config.length > 0);
  assertRoundTrip(config, fmtpText, parse);
}

Deno.test("parseMpeg4GenericFmtp() fuzz: corpus and mutated fmtp refuse with SyntaxError or read back", async (t) => {
  await fuzzSteps(t, {
    corpus: "aac_fmtp",
    label: "parseMpeg4GenericFmtp()",
    seeds: goldenSeeds(fmtpCases, (c) => [c.fmtp]),
    check: checkFmtp,
    count: 3000,
    seed: 3640,
    kind: "text",
    dictionary: [";mode=AAC-hbr", ";sizelength=13", ";config=", ";indexlength=", "AAC-lbr", "generic"],
  });
});

/** parseAudioSpecificConfig()'s convention: refuse with SyntaxError, or fields in their ranges. */
function checkAudioSpecificConfig(config: Uint8Array): void {
  const info = parseOrRefuse(() => parseAudioSpecificConfig(config), (e) => e instanceof SyntaxError);
  if (info === REFUSED) return;
  assert.ok(Number.isInteger(info.objectType) && info.objectType >= 1 && info.objectType <= 95);
  assert.ok(Number.isInteger(info.sampleRate) && info.sampleRate >= 0 && info.sampleRate < 2 ** 24);
  assert.ok([0, 1, 2, 3, 4, 5, 6, 7, 8, 24].includes(info.channels));
  assert.equal(info.sbrPresent, info.extensionSampleRate > 0 || info.sbrPresent);
  assert.equal(aacSampleRateFromConfig(config), info.sampleRate);
  assert.equal(aacChannelsFromConfig(config), info.channels);
}

Deno.test("parseAudioSpecificConfig() fuzz: corpus and mutated configs refuse with SyntaxError or read sane fields", async (t) => {
  await fuzzSteps(t, {
    corpus: "aac_config",
    label: "parseAudioSpecificConfig()",
    seeds: goldenSeeds(configCases, (c) => [hex(c.config)]),
    check: checkAudioSpecificConfig,
    count: 3000,
    seed: 14496,
    kind: "binary",
    maxBytes: 64,
  });
});

/**
 * aacAccessUnitCount()'s convention: -1 or a count, never a throw, reading only the payload. The
 * input's first three bytes are sizeLength, indexLength and indexDeltaLength (mod 33, the widths
 * parseMpeg4GenericFmtp() lets through), the rest is the payload.
 */
function checkAccessUnits(input: Uint8Array): void {
  if (input.length < 3) return;
  const [size, index, delta] = [input[0]! % 33, input[1]! % 33, input[2]! % 33];
  const count = readsOnlyItsBytes(
    input.subarray(3),
    (b, s, e) => aacAccessUnitCount(b, s, e, size, index, delta),
  );
  assert.ok(count === -1 || (Number.isInteger(count) && count >= 1), `count ${count}`);
}

Deno.test("aacAccessUnitCount() fuzz: corpus and mutated payloads give -1 or a count, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "aac_au_headers",
    label: "aacAccessUnitCount()",
    seeds: goldenSeeds(auCases, (c) => [Uint8Array.of(...c.lengths, ...c.payload)]),
    check: checkAccessUnits,
    count: 3000,
    seed: 3641,
    kind: "binary",
    maxBytes: 4096,
  });
});

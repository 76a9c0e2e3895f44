import assert from "node:assert/strict";
import {
  buildRtpPacket,
  RTP_HEADER_MIN_BYTES,
  rtpMarker,
  rtpOverhead,
  type RtpPacketInit,
  rtpPayloadEnd,
  rtpPayloadStart,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  setRtpPayloadType,
  setRtpSequence,
  setRtpSsrc,
  setRtpTimestamp,
} from "./rtp_header.ts";
import { fuzzSteps, readsOnlyItsBytes } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

/** Places the packet inside a larger buffer so every test exercises non-zero `start`/`end`. */
function embed(packet: Uint8Array): { buf: Uint8Array; start: number; end: number } {
  const before = 7;
  const buf = new Uint8Array(before + packet.length + 5).fill(0xee);
  buf.set(packet, before);
  return { buf, start: before, end: before + packet.length };
}

const base = { payloadType: 96, sequence: 1, timestamp: 2, ssrc: 3 } as const;
const payload3 = new Uint8Array([0xaa, 0xbb, 0xcc]);

const payloadCases: { name: string; init: RtpPacketInit; offset: number; payloadLength: number }[] = [
  { name: "bare header", init: { ...base, payload: payload3 }, offset: 12, payloadLength: 3 },
  { name: "empty payload", init: { ...base, payload: new Uint8Array() }, offset: 12, payloadLength: 0 },
  {
    name: "two CSRCs",
    init: { ...base, csrcs: [0x11111111, 0x22222222], payload: payload3 },
    offset: 20,
    payloadLength: 3,
  },
  {
    name: "fifteen CSRCs",
    init: { ...base, csrcs: Array.from({ length: 15 }, (_, i) => i), payload: payload3 },
    offset: 72,
    payloadLength: 3,
  },
  {
    name: "CSRC and two-word extension",
    init: {
      ...base,
      csrcs: [7],
      extension: { profile: 0xbede, data: new Uint8Array(8).fill(1) },
      payload: payload3,
    },
    offset: 12 + 4 + 4 + 8,
    payloadLength: 3,
  },
  {
    name: "empty extension",
    init: { ...base, extension: { profile: 0x1000, data: new Uint8Array() }, payload: payload3 },
    offset: 16,
    payloadLength: 3,
  },
  { name: "padding 4", init: { ...base, padding: 4, payload: payload3 }, offset: 12, payloadLength: 3 },
  { name: "padding 1", init: { ...base, padding: 1, payload: payload3 }, offset: 12, payloadLength: 3 },
  {
    name: "padding is the whole payload",
    init: { ...base, padding: 4, payload: new Uint8Array() },
    offset: 12,
    payloadLength: 0,
  },
  {
    name: "extension and padding",
    init: {
      ...base,
      extension: { profile: 1, data: new Uint8Array(4) },
      padding: 3,
      payload: payload3,
    },
    offset: 20,
    payloadLength: 3,
  },
];

Deno.test("rtpPayloadStart() and rtpPayloadEnd() find the payload of valid packets", async (t) => {
  for (const c of payloadCases) {
    await t.step(c.name, () => {
      const { buf, start, end } = embed(buildRtpPacket(c.init));
      const payloadStart = rtpPayloadStart(buf, start, end);
      assert.equal(payloadStart, start + c.offset);
      assert.equal(rtpPayloadEnd(buf, start, end), payloadStart + c.payloadLength);
      assert.deepEqual(buf.subarray(payloadStart, payloadStart + c.payloadLength), c.init.payload);
    });
  }
});

Deno.test("rtpPayloadStart() returns -1 for invalid or truncated packets", async (t) => {
  const good = buildRtpPacket({
    ...base,
    csrcs: [1, 2],
    extension: { profile: 0xbede, data: new Uint8Array(8) },
    payload: payload3,
  });
  const withVersion = (version: number) => {
    const p = good.slice();
    p[0] = (p[0] & 0x3f) | (version << 6);
    return p;
  };
  const cases: { name: string; packet: Uint8Array }[] = [
    { name: "empty", packet: new Uint8Array() },
    { name: "11 bytes", packet: buildRtpPacket({ ...base, payload: new Uint8Array() }).subarray(0, 11) },
    { name: "version 0", packet: withVersion(0) },
    { name: "version 1", packet: withVersion(1) },
    { name: "version 3", packet: withVersion(3) },
    { name: "CSRC list cut", packet: good.subarray(0, 12 + 7) },
    { name: "extension header cut", packet: good.subarray(0, 20 + 3) },
    { name: "extension data cut", packet: good.subarray(0, 20 + 4 + 7) },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { buf, start, end } = embed(c.packet);
      assert.equal(rtpPayloadStart(buf, start, end), -1);
    });
  }
  await t.step("end past the buffer", () => {
    assert.equal(rtpPayloadStart(good, 0, good.length + 1), -1);
  });
  await t.step("extension ending exactly at end is an empty payload", () => {
    const { buf, start, end } = embed(good.subarray(0, 20 + 4 + 8));
    assert.equal(rtpPayloadStart(buf, start, end), end);
  });
});

Deno.test("rtpPayloadEnd() returns -1 for an invalid padding count", async (t) => {
  const cases: { name: string; packet: Uint8Array; count: number }[] = [
    { name: "count 0", packet: buildRtpPacket({ ...base, padding: 2, payload: payload3 }), count: 0 },
    {
      name: "count larger than the payload",
      packet: buildRtpPacket({ ...base, padding: 2, payload: payload3 }),
      count: 6,
    },
    {
      name: "count reaching into the extension",
      packet: buildRtpPacket({
        ...base,
        extension: { profile: 1, data: new Uint8Array(4) },
        padding: 1,
        payload: new Uint8Array(),
      }),
      count: 2,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { buf, start, end } = embed(c.packet);
      buf[end - 1] = c.count;
      assert.equal(rtpPayloadEnd(buf, start, end), -1);
    });
  }
  await t.step("truncated header", () => {
    const { buf, start } = embed(buildRtpPacket({ ...base, padding: 1, payload: new Uint8Array() }));
    assert.equal(rtpPayloadEnd(buf, start, start + RTP_HEADER_MIN_BYTES - 1), -1);
  });
});

Deno.test("rtpSequence(), rtpTimestamp(), rtpSsrc() read unsigned extremes", async (t) => {
  const cases = [
    { name: "zeros", sequence: 0, timestamp: 0, ssrc: 0 },
    { name: "maximums", sequence: 65535, timestamp: 2 ** 32 - 1, ssrc: 2 ** 32 - 1 },
    { name: "sign bits", sequence: 0x8000, timestamp: 0x80000000, ssrc: 0x80000001 },
    { name: "mixed", sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304 },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      const { buf, start } = embed(buildRtpPacket({ ...base, ...c, payload: payload3 }));
      assert.equal(rtpSequence(buf, start), c.sequence);
      assert.equal(rtpTimestamp(buf, start), c.timestamp);
      assert.equal(rtpSsrc(buf, start), c.ssrc);
    });
  }
});

Deno.test("rtpMarker() and rtpPayloadType() read the second byte", async (t) => {
  const cases = [
    { name: "PT 0 no marker", payloadType: 0, marker: false },
    { name: "PT 96 marker", payloadType: 96, marker: true },
    { name: "PT 127 marker", payloadType: 127, marker: true },
    { name: "PT 127 no marker", payloadType: 127, marker: false },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      const { buf, start } = embed(buildRtpPacket({ ...base, ...c, payload: payload3 }));
      assert.equal(rtpMarker(buf, start), c.marker);
      assert.equal(rtpPayloadType(buf, start), c.payloadType);
    });
  }
});

Deno.test("setRtpSequence(), setRtpTimestamp(), setRtpSsrc() write in place modulo field size", async (t) => {
  const cases = [
    {
      name: "maximums",
      value: { seq: 65535, ts: 2 ** 32 - 1, ssrc: 2 ** 32 - 1 },
      read: [65535, 2 ** 32 - 1],
    },
    { name: "wrap past the top", value: { seq: 65536 + 5, ts: 2 ** 32 + 7, ssrc: 9 }, read: [5, 7] },
    { name: "negative wraps down", value: { seq: -1, ts: -1, ssrc: -1 }, read: [65535, 2 ** 32 - 1] },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      const { buf, start, end } = embed(
        buildRtpPacket({ ...base, marker: true, payloadType: 111, payload: payload3 }),
      );
      const before = buf.slice();
      setRtpSequence(buf, start, c.value.seq);
      setRtpTimestamp(buf, start, c.value.ts);
      setRtpSsrc(buf, start, c.value.ssrc);
      assert.equal(rtpSequence(buf, start), c.read[0]);
      assert.equal(rtpTimestamp(buf, start), c.read[1]);
      assert.equal(rtpSsrc(buf, start), c.value.ssrc >>> 0);
      assert.equal(rtpMarker(buf, start), true);
      assert.equal(rtpPayloadType(buf, start), 111);
      assert.deepEqual(buf.subarray(0, start + 2), before.subarray(0, start + 2));
      assert.deepEqual(buf.subarray(start + 12), before.subarray(start + 12));
      assert.equal(rtpPayloadStart(buf, start, end), start + 12);
    });
  }
});

Deno.test("buildRtpPacket() lays out every field as RFC 3550 draws it", () => {
  const packet = buildRtpPacket({
    payloadType: 96,
    sequence: 0x0102,
    timestamp: 0x03040506,
    ssrc: 0x0708090a,
    marker: true,
    csrcs: [0x0b0c0d0e],
    extension: { profile: 0xbede, data: new Uint8Array([1, 2, 3, 4]) },
    padding: 2,
    payload: new Uint8Array([0xf0]),
  });
  // deno-fmt-ignore
  const expected = new Uint8Array([
    0b1011_0001, 0x80 | 96, 0x01, 0x02, // V=2 P X CC=1 | M PT | sequence
    0x03, 0x04, 0x05, 0x06, // timestamp
    0x07, 0x08, 0x09, 0x0a, // SSRC
    0x0b, 0x0c, 0x0d, 0x0e, // CSRC
    0xbe, 0xde, 0x00, 0x01, // extension profile | length in words
    0x01, 0x02, 0x03, 0x04, // extension data
    0xf0, // payload
    0x00, 0x02, // padding | count
  ]);
  assert.deepEqual(packet, expected);
});

Deno.test("buildRtpPacket() rejects values it cannot encode", async (t) => {
  const cases: { name: string; init: RtpPacketInit }[] = [
    { name: "payload type 128", init: { ...base, payloadType: 128, payload: payload3 } },
    { name: "16 CSRCs", init: { ...base, csrcs: new Array<number>(16).fill(0), payload: payload3 } },
    { name: "padding 256", init: { ...base, padding: 256, payload: payload3 } },
    {
      name: "extension not whole words",
      init: { ...base, extension: { profile: 1, data: new Uint8Array(3) }, payload: payload3 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assert.throws(() => buildRtpPacket(c.init), RangeError));
  }
});

Deno.test("rtpOverhead() counts header, CSRCs, extension and padding, at most the packet", async (t) => {
  const payload = new Uint8Array(100).fill(1);
  const plain = buildRtpPacket({ payloadType: 96, sequence: 1, timestamp: 2, ssrc: 3, payload });
  await t.step("fixed header", () => assert.equal(rtpOverhead(plain, 0, plain.length), 12));
  await t.step("2 CSRCs, a 3-word extension, 4 bytes of padding", () => {
    const p = new Uint8Array(12 + 8 + 4 + 12 + 100 + 4);
    p[0] = 0x80 | 0x20 | 0x10 | 2;
    p[12 + 8 + 3] = 3; // extension length in words
    p[p.length - 1] = 4;
    assert.equal(rtpOverhead(p, 0, p.length), 12 + 8 + 4 + 12 + 4);
  });
  await t.step("at an offset", () => {
    const b = new Uint8Array(plain.length + 5);
    b.set(plain, 5);
    assert.equal(rtpOverhead(b, 5, b.length), 12);
  });
  await t.step("an extension length past the packet", () => {
    const p = new Uint8Array(20);
    p[0] = 0x90;
    p[14] = 0xff;
    p[15] = 0xff;
    assert.equal(rtpOverhead(p, 0, 20), 20);
  });
});

Deno.test("setRtpPayloadType() writes the payload type and keeps the marker bit", () => {
  const p = buildRtpPacket({
    payloadType: 96,
    sequence: 1,
    timestamp: 2,
    ssrc: 3,
    marker: true,
    payload: new Uint8Array(4),
  });
  setRtpPayloadType(p, 0, 111);
  assert.equal(rtpPayloadType(p, 0), 111);
  assert.equal(rtpMarker(p, 0), true);
  setRtpPayloadType(p, 0, 8);
  assert.equal(rtpPayloadType(p, 0), 8);
  assert.equal(rtpMarker(p, 0), true);
});

/** An RTP packet as its fields: what the readers find and what buildRtpPacket() writes back. */
interface RtpView {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension?: { profile: number; data: Uint8Array };
  padding: number;
  payload: Uint8Array;
  /** rtpOverhead() of the packet. */
  overhead: number;
}

const word = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** The fields of buf[start..end) through the readers, or -1 where they refuse it (offsets from start). */
function readRtp(buf: Uint8Array, start: number, end: number): RtpView | -1 {
  const payloadStart = rtpPayloadStart(buf, start, end);
  const payloadEnd = rtpPayloadEnd(buf, start, end);
  if (payloadStart < 0 || payloadEnd < 0) return -1;
  assert.ok(payloadStart >= start + RTP_HEADER_MIN_BYTES && payloadStart <= payloadEnd && payloadEnd <= end);
  const cc = buf[start]! & 0x0f;
  const view: RtpView = {
    marker: rtpMarker(buf, start),
    payloadType: rtpPayloadType(buf, start),
    sequence: rtpSequence(buf, start),
    timestamp: rtpTimestamp(buf, start),
    ssrc: rtpSsrc(buf, start),
    csrcs: Array.from({ length: cc }, (_, i) => word(buf, start + 12 + 4 * i)),
    padding: end - payloadEnd,
    payload: buf.slice(payloadStart, payloadEnd),
    overhead: rtpOverhead(buf, start, end),
  };
  if ((buf[start]! & 0x10) !== 0) {
    const at = start + 12 + 4 * cc;
    view.extension = {
      profile: (buf[at]! << 8) | buf[at + 1]!,
      data: buf.slice(at + 4, payloadStart),
    };
  }
  // Everything that is not payload is overhead (RFC 3550 §5.1); the 16-bit cap never bites here.
  assert.equal(view.overhead, end - start - view.payload.length);
  return view;
}

const buildFromView = (v: RtpView) =>
  buildRtpPacket({
    payloadType: v.payloadType,
    sequence: v.sequence,
    timestamp: v.timestamp,
    ssrc: v.ssrc,
    marker: v.marker,
    csrcs: v.csrcs,
    extension: v.extension,
    padding: v.padding,
    payload: v.payload,
  });
const parseRtp = (packet: Uint8Array) => readRtp(packet, 0, packet.length);

const rtpCases: GoldenCase<Uint8Array, RtpView | -1, Uint8Array>[] = [
  ...payloadCases.map((c) => {
    const packet = buildRtpPacket(c.init);
    return { name: c.name, input: packet, parsed: parseRtp(packet), canonical: packet };
  }),
  {
    name: "ffmpeg 5.1 AAC packet, marker set",
    input: Uint8Array.of(
      0x80,
      0xe1,
      0x12,
      0x34,
      0,
      0,
      0x04,
      0,
      0xca,
      0xfe,
      0xba,
      0xbe,
      0x00,
      0x10,
      0x01,
      0x80,
      0xaa,
    ),
    parsed: {
      marker: true,
      payloadType: 97,
      sequence: 0x1234,
      timestamp: 1024,
      ssrc: 0xcafebabe,
      csrcs: [],
      padding: 0,
      payload: Uint8Array.of(0x00, 0x10, 0x01, 0x80, 0xaa),
      overhead: 12,
    },
    canonical: Uint8Array.of(
      0x80,
      0xe1,
      0x12,
      0x34,
      0,
      0,
      0x04,
      0,
      0xca,
      0xfe,
      0xba,
      0xbe,
      0x00,
      0x10,
      0x01,
      0x80,
      0xaa,
    ),
  },
  { name: "version 1 refused", input: Uint8Array.of(0x40, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), parsed: -1 },
  {
    name: "padding count 0 refused",
    input: Uint8Array.of(0xa0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0),
    parsed: -1,
  },
];

Deno.test("rtpPayloadStart() and the field readers read the golden packets", (t) =>
  goldenParseSteps(t, rtpCases, parseRtp));

Deno.test("buildRtpPacket() writes the golden packets", (t) =>
  goldenSerializeSteps(
    t,
    rtpCases.filter((c) => c.parsed !== -1),
    (v) => buildFromView(v as RtpView),
    parseRtp,
  ));

Deno.test("RTP header readers fuzz: corpus and mutated packets give -1 or fields that rebuild, in bounds", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtp_header",
    label: "rtpPayloadStart()/rtpPayloadEnd()",
    seeds: goldenSeeds(rtpCases, (c) => [c.input]),
    check: (input) => {
      const view = readsOnlyItsBytes(input, readRtp);
      if (view === -1) return;
      assert.deepEqual(parseRtp(buildFromView(view)), view, "rebuilt packet reads differently");
    },
    count: 5000,
    seed: 3550,
    kind: "binary",
    maxBytes: 2048,
  });
});

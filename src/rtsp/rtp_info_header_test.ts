import assert from "node:assert/strict";
import { RtspError, RtspParseError } from "./errors.ts";
import { parseRtpInfoHeader, type RtpInfoEntry, serializeRtpInfoHeader } from "./rtp_info_header.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases: { name: string; input: string; parsed: RtpInfoEntry[]; canonical: string }[] = [
  {
    name: "two tracks",
    input: "url=rtsp://h/p/trackID=0;seq=100;rtptime=12345,url=rtsp://h/p/trackID=1;seq=7;rtptime=4294967295",
    parsed: [
      { url: "rtsp://h/p/trackID=0", seq: 100, rtptime: 12345 },
      { url: "rtsp://h/p/trackID=1", seq: 7, rtptime: 4294967295 },
    ],
    canonical:
      "url=rtsp://h/p/trackID=0;seq=100;rtptime=12345,url=rtsp://h/p/trackID=1;seq=7;rtptime=4294967295",
  },
  {
    name: "url only",
    input: "url=rtsp://h/p/trackID=0",
    parsed: [{ url: "rtsp://h/p/trackID=0" }],
    canonical: "url=rtsp://h/p/trackID=0",
  },
  {
    name: "spaces, order, unknown keys, comma in URL",
    input: 'url="rtsp://h/a,b/t=0" ; rtptime=5 ;seq=1;ssrc=1, url=rtsp://h/a,b/t=1;seq=2',
    parsed: [{ url: "rtsp://h/a,b/t=0", rtptime: 5, seq: 1 }, { url: "rtsp://h/a,b/t=1", seq: 2 }],
    canonical: "url=rtsp://h/a,b/t=0;seq=1;rtptime=5,url=rtsp://h/a,b/t=1;seq=2",
  },
];

Deno.test("parseRtpInfoHeader() parses the golden cases", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(parseRtpInfoHeader(c.input), c.parsed));
});

Deno.test("serializeRtpInfoHeader() writes the golden cases canonically", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(serializeRtpInfoHeader(c.parsed), c.canonical);
      assert.deepEqual(parseRtpInfoHeader(c.canonical), c.parsed);
    });
  }
});

Deno.test("parseRtpInfoHeader() rejects bad entries with 400", () => {
  for (
    const input of ["seq=1", "url=;seq=1", "url=rtsp://h/p;seq=65536", "url=rtsp://h/p;rtptime=4294967296"]
  ) {
    assert.throws(() => parseRtpInfoHeader(input), (e) => e instanceof RtspError && e.status === 400, input);
  }
});

/** parseRtpInfoHeader()'s convention: refuse with RtspParseError 400, or entries that round-trip. */
function checkRtpInfo(input: Uint8Array): void {
  const text = new TextDecoder().decode(input);
  const refused = (e: unknown) => e instanceof RtspParseError && e.status === 400;
  const entries = parseOrRefuse(() => parseRtpInfoHeader(text), refused);
  if (entries === REFUSED) return;
  assertRoundTrip(entries, serializeRtpInfoHeader, parseRtpInfoHeader);
}

Deno.test("parseRtpInfoHeader() fuzz: corpus and mutated values refuse with 400 or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "rtp_info_header",
    label: "parseRtpInfoHeader()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: checkRtpInfo,
    count: 3000,
    seed: 1233,
    kind: "text",
    dictionary: ["url=", ";seq=", ";rtptime=", ",url=", '"'],
  });
});

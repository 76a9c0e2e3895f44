import assert from "node:assert/strict";
import { RtspError } from "./errors.ts";
import { parseRtpInfoHeader, type RtpInfoEntry, serializeRtpInfoHeader } from "./rtp_info_header.ts";

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

import assert from "node:assert/strict";
import {
  type MediaPlaylist,
  type MultivariantPlaylist,
  parseMediaPlaylist,
  parseMultivariantPlaylist,
  PlaylistParseError,
  serializeMediaPlaylist,
  serializeMultivariantPlaylist,
} from "./playlist.ts";
import { mediaPlaylistProblems } from "./playlist_rules.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "../testing/golden.ts";

const lines = (...l: string[]) => l.join("\n") + "\n";
const t0 = new Date("2026-12-03T14:44:55.000Z");
const at = (ms: number) => new Date(t0.getTime() + ms);
const part = (uri: string, duration: number, independent = false) => ({ duration, uri, independent });

/** What HlsStreamStore writes: two segments, the open one's parts, the hint. */
const DM_LIVE_TEXT = lines(
  "#EXTM3U",
  "#EXT-X-VERSION:6",
  "#EXT-X-TARGETDURATION:1",
  "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,HOLD-BACK=3",
  "#EXT-X-PART-INF:PART-TARGET=0.2",
  "#EXT-X-MEDIA-SEQUENCE:4",
  '#EXT-X-MAP:URI="init.mp4"',
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.000Z",
  "#EXTINF:1,",
  "seg_k3x9_4.m4s",
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:56.000Z",
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_25.m4s",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_26.m4s"',
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_27.m4s"',
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_28.m4s"',
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_29.m4s"',
  '#EXT-X-PART:DURATION=0.033333,URI="part_k3x9_30.m4s"',
  "#EXTINF:1.033333,",
  "seg_k3x9_5.m4s",
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:57.033Z",
  '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_31.m4s",INDEPENDENT=YES',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_k3x9_32.m4s"',
);

const DM_LIVE: MediaPlaylist = {
  version: 6,
  targetDuration: 1,
  serverControl: { canBlockReload: true, partHoldBack: 0.6, holdBack: 3 },
  partTarget: 0.2,
  mediaSequence: 4,
  map: "init.mp4",
  segments: [
    { duration: 1, uri: "seg_k3x9_4.m4s", programDateTime: t0, parts: [] },
    {
      duration: 1.033333,
      uri: "seg_k3x9_5.m4s",
      programDateTime: at(1000),
      parts: [
        part("part_k3x9_25.m4s", 0.2, true),
        part("part_k3x9_26.m4s", 0.2),
        part("part_k3x9_27.m4s", 0.2),
        part("part_k3x9_28.m4s", 0.2),
        part("part_k3x9_29.m4s", 0.2),
        part("part_k3x9_30.m4s", 0.033333),
      ],
    },
  ],
  openSegment: { programDateTime: at(2033), parts: [part("part_k3x9_31.m4s", 0.2, true)] },
  preloadHint: { type: "PART", uri: "part_k3x9_32.m4s" },
  endList: false,
};

// In the style of gohlslib (MediaMTX): five decimals, CRLF-free, INDEPENDENT-SEGMENTS, CAN-SKIP-UNTIL.
const MEDIAMTX_TEXT = lines(
  "#EXTM3U",
  "#EXT-X-VERSION:9",
  "#EXT-X-TARGETDURATION:2",
  "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.50000,CAN-SKIP-UNTIL=12",
  "#EXT-X-PART-INF:PART-TARGET=0.20000",
  "#EXT-X-MEDIA-SEQUENCE:12",
  "#EXT-X-INDEPENDENT-SEGMENTS",
  '#EXT-X-MAP:URI="init.mp4"',
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55Z",
  '#EXT-X-PART:DURATION=0.20000,URI="part40.mp4",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=0.20000,URI="part41.mp4"',
  "#EXTINF:0.40000,",
  "seg12.mp4",
  '#EXT-X-PART:DURATION=0.20000,URI="part42.mp4",INDEPENDENT=YES',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part43.mp4"',
);

const MEDIAMTX: MediaPlaylist = {
  version: 9,
  targetDuration: 2,
  serverControl: { canBlockReload: true, partHoldBack: 0.5, canSkipUntil: 12 },
  partTarget: 0.2,
  mediaSequence: 12,
  map: "init.mp4",
  segments: [{
    duration: 0.4,
    uri: "seg12.mp4",
    programDateTime: t0,
    parts: [part("part40.mp4", 0.2, true), part("part41.mp4", 0.2)],
  }],
  openSegment: { parts: [part("part42.mp4", 0.2, true)] },
  preloadHint: { type: "PART", uri: "part43.mp4" },
  endList: false,
};

// In the style of Apple's LL-HLS examples: comments, a title, a rendition report, CRLF line ends.
const APPLE_STYLE_TEXT = [
  "#EXTM3U",
  "# a comment",
  "#EXT-X-TARGETDURATION:4",
  "#EXT-X-VERSION:6",
  "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0",
  "#EXT-X-PART-INF:PART-TARGET=0.33334",
  "#EXT-X-MEDIA-SEQUENCE:266",
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T15:44:55.250+01:00",
  '#EXT-X-MAP:URI="init.mp4"',
  "#EXTINF:4.00008,live",
  "fileSequence266.mp4",
  '#EXT-X-PART:DURATION=0.33334,URI="filePart267.0.mp4",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=0.33334,URI="filePart267.1.mp4"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart267.2.mp4"',
  "",
  '#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=267,LAST-PART=1',
  "",
].join("\r\n");

const APPLE_STYLE: MediaPlaylist = {
  version: 6,
  targetDuration: 4,
  serverControl: { canBlockReload: true, partHoldBack: 1 },
  partTarget: 0.33334,
  mediaSequence: 266,
  map: "init.mp4",
  segments: [{
    duration: 4.00008,
    uri: "fileSequence266.mp4",
    title: "live",
    programDateTime: at(250),
    parts: [],
  }],
  openSegment: { parts: [part("filePart267.0.mp4", 0.33334, true), part("filePart267.1.mp4", 0.33334)] },
  preloadHint: { type: "PART", uri: "filePart267.2.mp4" },
  endList: false,
};

const mediaCases: GoldenCase<string, MediaPlaylist>[] = [
  { name: "dm-live live window", input: DM_LIVE_TEXT, parsed: DM_LIVE, canonical: DM_LIVE_TEXT },
  {
    name: "MediaMTX-style LL-HLS",
    input: MEDIAMTX_TEXT,
    parsed: MEDIAMTX,
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.5,CAN-SKIP-UNTIL=12",
      "#EXT-X-PART-INF:PART-TARGET=0.2",
      "#EXT-X-MEDIA-SEQUENCE:12",
      '#EXT-X-MAP:URI="init.mp4"',
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.000Z",
      '#EXT-X-PART:DURATION=0.2,URI="part40.mp4",INDEPENDENT=YES',
      '#EXT-X-PART:DURATION=0.2,URI="part41.mp4"',
      "#EXTINF:0.4,",
      "seg12.mp4",
      '#EXT-X-PART:DURATION=0.2,URI="part42.mp4",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part43.mp4"',
    ),
  },
  {
    name: "Apple-style with comments, CRLF, a time zone and a rendition report",
    input: APPLE_STYLE_TEXT,
    parsed: APPLE_STYLE,
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:6",
      "#EXT-X-TARGETDURATION:4",
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1",
      "#EXT-X-PART-INF:PART-TARGET=0.33334",
      "#EXT-X-MEDIA-SEQUENCE:266",
      '#EXT-X-MAP:URI="init.mp4"',
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.250Z",
      "#EXTINF:4.00008,live",
      "fileSequence266.mp4",
      '#EXT-X-PART:DURATION=0.33334,URI="filePart267.0.mp4",INDEPENDENT=YES',
      '#EXT-X-PART:DURATION=0.33334,URI="filePart267.1.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart267.2.mp4"',
    ),
  },
  {
    name: "delta update",
    input: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      "#EXT-X-TARGETDURATION:1",
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=6",
      "#EXT-X-MEDIA-SEQUENCE:100",
      "#EXT-X-SKIP:SKIPPED-SEGMENTS=3",
      "#EXTINF:1,",
      "seg_a_103.m4s",
    ),
    parsed: {
      version: 9,
      targetDuration: 1,
      serverControl: { canBlockReload: true, partHoldBack: 0.6, canSkipUntil: 6 },
      mediaSequence: 100,
      skippedSegments: 3,
      segments: [{ duration: 1, uri: "seg_a_103.m4s", parts: [] }],
      endList: false,
    },
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      "#EXT-X-TARGETDURATION:1",
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=6",
      "#EXT-X-MEDIA-SEQUENCE:100",
      "#EXT-X-SKIP:SKIPPED-SEGMENTS=3",
      "#EXTINF:1,",
      "seg_a_103.m4s",
    ),
  },
  {
    name: "ended stream: ENDLIST, no hint, MEDIA-SEQUENCE absent",
    input: lines("#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXTINF:1.5,", "a.m4s", "#EXT-X-ENDLIST"),
    parsed: {
      targetDuration: 2,
      mediaSequence: 0,
      segments: [{ duration: 1.5, uri: "a.m4s", parts: [] }],
      endList: true,
    },
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-MEDIA-SEQUENCE:0",
      "#EXTINF:1.5,",
      "a.m4s",
      "#EXT-X-ENDLIST",
    ),
  },
  {
    name: "tolerated spellings: spaces after commas, EXTINF without comma, 1. and .5",
    input: lines(
      "#EXTM3U",
      "#EXT-X-TARGETDURATION: 1",
      "#EXT-X-PART-INF:PART-TARGET=.5",
      '#EXT-X-PART:DURATION=.5, URI="p0.m4s", INDEPENDENT=YES',
      "#EXTINF:1.",
      "  s0.m4s  ",
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p1.m4s",BYTERANGE-START=0',
    ),
    parsed: {
      targetDuration: 1,
      partTarget: 0.5,
      mediaSequence: 0,
      segments: [{ duration: 1, uri: "s0.m4s", parts: [part("p0.m4s", 0.5, true)] }],
      preloadHint: { type: "PART", uri: "p1.m4s" },
      endList: false,
    },
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-TARGETDURATION:1",
      "#EXT-X-PART-INF:PART-TARGET=0.5",
      "#EXT-X-MEDIA-SEQUENCE:0",
      '#EXT-X-PART:DURATION=0.5,URI="p0.m4s",INDEPENDENT=YES',
      "#EXTINF:1,",
      "s0.m4s",
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p1.m4s"',
    ),
  },
  {
    name: "live playlist before its first segment: only the hint",
    input: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:6",
      "#EXT-X-TARGETDURATION:1",
      "#EXT-X-MEDIA-SEQUENCE:0",
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_a_0.m4s"',
    ),
    parsed: {
      version: 6,
      targetDuration: 1,
      mediaSequence: 0,
      map: "init.mp4",
      segments: [],
      preloadHint: { type: "PART", uri: "part_a_0.m4s" },
      endList: false,
    },
  },
];

Deno.test("parseMediaPlaylist() reads dm-live's and other LL-HLS servers' playlists", async (t) => {
  await goldenParseSteps(t, mediaCases, parseMediaPlaylist);
});

Deno.test("serializeMediaPlaylist() writes the canonical form, which parses back", async (t) => {
  await goldenSerializeSteps(t, mediaCases, serializeMediaPlaylist, parseMediaPlaylist);
});

Deno.test("mediaPlaylistProblems() passes the golden LL-HLS playlists and names what breaks a rule", async (t) => {
  await t.step("dm-live and MediaMTX style keep every rule", () => {
    assert.deepEqual(mediaPlaylistProblems(DM_LIVE), []);
    assert.deepEqual(mediaPlaylistProblems(MEDIAMTX), ["PART-HOLD-BACK 0.5 under three PART-TARGETs (0.2)"]);
  });
  const broken: [string, Partial<MediaPlaylist>, RegExp][] = [
    ["EXTINF rounding above the target", { targetDuration: 0 }, /rounds above TARGETDURATION 0/],
    ["part above PART-TARGET", { partTarget: 0.19 }, /part_k3x9_25.m4s: DURATION 0.2 above PART-TARGET 0.19/],
    [
      "PART-HOLD-BACK too short",
      { serverControl: { canBlockReload: true, partHoldBack: 0.4, holdBack: 3 } },
      /PART-HOLD/,
    ],
    [
      "HOLD-BACK too short",
      { serverControl: { canBlockReload: true, partHoldBack: 0.6, holdBack: 2 } },
      /HOLD-BACK 2/,
    ],
    ["version too low for EXT-X-MAP", { version: 5 }, /EXT-X-VERSION 5 below the 6/],
    ["hint in an ended playlist", { endList: true }, /PRELOAD-HINT in an ended/],
    ["live without a hint", { preloadHint: undefined }, /without EXT-X-PRELOAD-HINT/],
  ];
  for (const [name, change, message] of broken) {
    await t.step(name, () => {
      const problems = mediaPlaylistProblems({ ...DM_LIVE, ...change });
      assert.ok(problems.some((p) => message.test(p)), problems.join("; "));
    });
  }
});

const mediaErrors: [string, string, RegExp][] = [
  ["empty", "", /does not start with #EXTM3U/],
  ["byte order mark", "\ufeff#EXTM3U\n#EXT-X-TARGETDURATION:1\n", /byte order mark/],
  ["control character", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n\u0001a\n", /control character/],
  ["lone CR", "#EXTM3U\r#EXT-X-TARGETDURATION:1\n", /control character/],
  ["no target duration", "#EXTM3U\n#EXTINF:1,\na\n", /without EXT-X-TARGETDURATION/],
  ["EXTINF without URI", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n", /EXTINF without a URI/],
  ["URI without EXTINF", "#EXTM3U\n#EXT-X-TARGETDURATION:1\na.m4s\n", /without an EXTINF/],
  ["two EXTINF", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n#EXTINF:1,\na\n", /Two EXTINF/],
  ["negative duration", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:-1,\na\n", /not a decimal-floating-point/],
  ["huge duration", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1e99,\na\n", /not a decimal-floating-point/],
  ["two target durations", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-TARGETDURATION:2\n", /more than once/],
  ["target duration not an integer", "#EXTM3U\n#EXT-X-TARGETDURATION:1.5\n", /not a decimal-integer/],
  ["part without PART-INF", '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART:DURATION=1,URI="p"\n', /PART-INF/],
  [
    "part without URI",
    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART:DURATION=1\n",
    /needs DURATION and URI/,
  ],
  ["unquoted URI", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=init.mp4\n", /must be a quoted-string/],
  [
    "quoted duration",
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART:DURATION="1",URI="p"\n',
    /must not be quoted/,
  ],
  ["repeated attribute", '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="a",URI="b"\n', /appears twice/],
  ["unterminated quote", '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="a\n', /unterminated/],
  ["trailing comma", '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="a",\n', /trailing ','/],
  [
    "INDEPENDENT not YES/NO",
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=1\n#EXT-X-PART:DURATION=1,URI="p",INDEPENDENT=1\n',
    /YES or NO/,
  ],
  [
    "two maps",
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="a"\n#EXT-X-MAP:URI="b"\n',
    /more than once/,
  ],
  [
    "media sequence after a segment",
    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na\n#EXT-X-MEDIA-SEQUENCE:1\n",
    /before the first/,
  ],
  ["bad date", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n", /ISO 8601/],
  [
    "date without zone",
    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55\n",
    /ISO 8601/,
  ],
  [
    "hint of another type",
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PRELOAD-HINT:TYPE=SEGMENT,URI="a"\n',
    /TYPE=PART\|MAP/,
  ],
  [
    "two part hints",
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="a"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="b"\n',
    /Two/,
  ],
  ["a multivariant playlist", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", /multivariant/],
];

Deno.test("parseMediaPlaylist() refuses malformed playlists with PlaylistParseError naming the problem", async (t) => {
  for (const [name, text, message] of mediaErrors) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseMediaPlaylist(text),
          (e) => e instanceof PlaylistParseError && message.test(e.message),
        ),
    );
  }
});

const DM_LIVE_MULTIVARIANT_TEXT = lines(
  "#EXTM3U",
  "#EXT-X-VERSION:6",
  '#EXT-X-STREAM-INF:BANDWIDTH=2400000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970',
  "stream.m3u8",
);

const multivariantCases: GoldenCase<string, MultivariantPlaylist>[] = [
  {
    name: "dm-live: one variant",
    input: DM_LIVE_MULTIVARIANT_TEXT,
    parsed: {
      version: 6,
      independentSegments: false,
      variants: [{
        bandwidth: 2_400_000,
        averageBandwidth: 2_000_000,
        codecs: "avc1.64001f,mp4a.40.2",
        resolution: { width: 1280, height: 720 },
        frameRate: 29.97,
        uri: "stream.m3u8",
      }],
    },
    canonical: DM_LIVE_MULTIVARIANT_TEXT,
  },
  {
    name: "MediaMTX-style with INDEPENDENT-SEGMENTS and a query in the URI",
    input: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      "#EXT-X-INDEPENDENT-SEGMENTS",
      "",
      '#EXT-X-STREAM-INF:BANDWIDTH=1234,AVERAGE-BANDWIDTH=1000,CODECS="avc1.42c028",RESOLUTION=1920x1080,FRAME-RATE=30',
      "stream.m3u8?jwt=abc",
    ),
    parsed: {
      version: 9,
      independentSegments: true,
      variants: [{
        bandwidth: 1234,
        averageBandwidth: 1000,
        codecs: "avc1.42c028",
        resolution: { width: 1920, height: 1080 },
        frameRate: 30,
        uri: "stream.m3u8?jwt=abc",
      }],
    },
    canonical: lines(
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      "#EXT-X-INDEPENDENT-SEGMENTS",
      '#EXT-X-STREAM-INF:BANDWIDTH=1234,AVERAGE-BANDWIDTH=1000,CODECS="avc1.42c028",RESOLUTION=1920x1080,FRAME-RATE=30.000',
      "stream.m3u8?jwt=abc",
    ),
  },
  {
    name: "two variants and an EXT-X-MEDIA line (skipped), audio only without resolution",
    input: lines(
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2",AUDIO="aud"',
      "audio/stream.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=900000",
      "low/stream.m3u8",
    ),
    parsed: {
      independentSegments: false,
      variants: [
        { bandwidth: 128000, codecs: "mp4a.40.2", uri: "audio/stream.m3u8" },
        { bandwidth: 900000, uri: "low/stream.m3u8" },
      ],
    },
    canonical: lines(
      "#EXTM3U",
      '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"',
      "audio/stream.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=900000",
      "low/stream.m3u8",
    ),
  },
];

Deno.test("parseMultivariantPlaylist() reads variants", async (t) => {
  await goldenParseSteps(t, multivariantCases, parseMultivariantPlaylist);
});

Deno.test("serializeMultivariantPlaylist() writes the canonical form, which parses back", async (t) => {
  await goldenSerializeSteps(t, multivariantCases, serializeMultivariantPlaylist, parseMultivariantPlaylist);
});

const multivariantErrors: [string, string, RegExp][] = [
  ["no EXTM3U", "#EXT-X-STREAM-INF:BANDWIDTH=1\na\n", /#EXTM3U/],
  ["no BANDWIDTH", '#EXTM3U\n#EXT-X-STREAM-INF:CODECS="avc1.64001f"\na\n', /without BANDWIDTH/],
  ["STREAM-INF without URI", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", /without a URI/],
  [
    "two STREAM-INF in a row",
    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\na\n",
    /followed by another/,
  ],
  ["URI without STREAM-INF", "#EXTM3U\na.m3u8\n", /without an EXT-X-STREAM-INF/],
  ["bad resolution", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=720p\na\n", /WIDTHxHEIGHT/],
  ["a media playlist", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n", /media playlist/],
];

Deno.test("parseMultivariantPlaylist() refuses malformed playlists with PlaylistParseError", async (t) => {
  for (const [name, text, message] of multivariantErrors) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseMultivariantPlaylist(text),
          (e) => e instanceof PlaylistParseError && message.test(e.message),
        ),
    );
  }
});

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const refused = (e: unknown) => e instanceof PlaylistParseError;

function checkMedia(input: Uint8Array): void {
  const pl = parseOrRefuse(() => parseMediaPlaylist(dec(input)), refused);
  if (pl === REFUSED) return;
  assertRoundTrip(pl, serializeMediaPlaylist, parseMediaPlaylist);
}

function checkMultivariant(input: Uint8Array): void {
  const pl = parseOrRefuse(() => parseMultivariantPlaylist(dec(input)), refused);
  if (pl === REFUSED) return;
  assertRoundTrip(pl, serializeMultivariantPlaylist, parseMultivariantPlaylist);
}

Deno.test("parseMediaPlaylist() fuzz: corpus and mutated playlists refuse with PlaylistParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "hls_media_playlist",
    label: "parseMediaPlaylist()",
    seeds: goldenSeeds(mediaCases, (c) => [c.input, c.canonical]),
    check: checkMedia,
    count: 5000,
    seed: 8216,
    kind: "text",
    dictionary: [
      '#EXT-X-PART:DURATION=0.2,URI="p.m4s",INDEPENDENT=YES\n',
      "#EXTINF:1,\n",
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.000Z\n",
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="h"\n',
      "#EXT-X-ENDLIST\n",
      "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n",
      ",CAN-SKIP-UNTIL=6",
      '"',
    ],
  });
});

Deno.test("parseMultivariantPlaylist() fuzz: corpus and mutated playlists refuse with PlaylistParseError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "hls_multivariant_playlist",
    label: "parseMultivariantPlaylist()",
    seeds: goldenSeeds(multivariantCases, (c) => [c.input, c.canonical]),
    check: checkMultivariant,
    count: 3000,
    seed: 8217,
    kind: "text",
    dictionary: [
      "#EXT-X-STREAM-INF:BANDWIDTH=1\n",
      ",RESOLUTION=1x1",
      ",FRAME-RATE=29.97",
      ',CODECS="a,b"',
      "\n",
    ],
  });
});

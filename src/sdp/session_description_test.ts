import assert from "node:assert/strict";
import {
  parseSdp,
  SdpError,
  serializeSdp,
  sessionAttribute,
  sessionControl,
  type SessionDescription,
} from "./session_description.ts";
import { findAttribute, fmtpFor, mediaControl, parseFmtpParameters, rtpmapFor } from "./media_description.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

// Captured from `ffmpeg -re -i in.mp4 -c copy -f rtsp rtsp://127.0.0.1:8554/live/cam1` (ffmpeg 6.1).
const FFMPEG_ANNOUNCE_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=No Name",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:libavformat 60.16.100",
  "m=video 0 RTP/AVP 96",
  "b=AS:2000",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA; " +
  "profile-level-id=64001F",
  "a=control:streamid=0",
  "m=audio 0 RTP/AVP 97",
  "b=AS:128",
  "a=rtpmap:97 MPEG4-GENERIC/44100/2",
  "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=121056E500",
  "a=control:streamid=1",
  "",
].join("\r\n");

// Captured from GStreamer 1.22 `rtspclientsink` (session-level `a=control:*`).
const GSTREAMER_SDP = [
  "v=0",
  "o=- 1188340656180883 1 IN IP4 127.0.0.1",
  "s=Session streamed with GStreamer",
  "i=rtsp-server",
  "t=0 0",
  "a=tool:GStreamer",
  "a=type:broadcast",
  "a=range:npt=now-",
  "a=control:*",
  "m=video 0 RTP/AVP 96",
  "c=IN IP4 0.0.0.0",
  "a=rtpmap:96 H264/90000",
  "a=framerate:30",
  "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAA8DxYuS,aMuMsg==;" +
  "profile-level-id=42c01e;level-asymmetry-allowed=1",
  "a=control:stream=0",
  "a=ts-refclk:local",
  "a=mediaclk:sender",
  "",
].join("\r\n");

// An IP camera style SDP: absolute session control, recvonly flag, multi-port m= line.
const CAMERA_SDP = [
  "v=0",
  "o=- 1 1 IN IP4 192.168.1.64",
  "s=Media Presentation",
  "e=NONE",
  "b=AS:5050",
  "t=0 0",
  "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/",
  "m=video 0/2 RTP/AVP 96 97",
  "b=AS:5000",
  "a=recvonly",
  "a=x-dimensions:1920,1080",
  "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1",
  "a=rtpmap:96 H265/90000",
  "a=rtpmap:97 h264/90000",
  "a=fmtp:97",
  "",
].join("\r\n");

const cases: { name: string; text: string; parsed: SessionDescription }[] = [
  {
    name: "ffmpeg ANNOUNCE H.264 + AAC",
    text: FFMPEG_ANNOUNCE_SDP,
    parsed: {
      sessionLines: [
        { type: "v", value: "0" },
        { type: "o", value: "- 0 0 IN IP4 127.0.0.1" },
        { type: "s", value: "No Name" },
        { type: "c", value: "IN IP4 127.0.0.1" },
        { type: "t", value: "0 0" },
        { type: "a", value: "tool:libavformat 60.16.100" },
      ],
      media: [
        {
          media: "video",
          port: 0,
          protocol: "RTP/AVP",
          formats: ["96"],
          lines: [
            { type: "b", value: "AS:2000" },
            { type: "a", value: "rtpmap:96 H264/90000" },
            {
              type: "a",
              value:
                "fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==," +
                "aOvjyyLA; profile-level-id=64001F",
            },
            { type: "a", value: "control:streamid=0" },
          ],
        },
        {
          media: "audio",
          port: 0,
          protocol: "RTP/AVP",
          formats: ["97"],
          lines: [
            { type: "b", value: "AS:128" },
            { type: "a", value: "rtpmap:97 MPEG4-GENERIC/44100/2" },
            {
              type: "a",
              value:
                "fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; " +
                "config=121056E500",
            },
            { type: "a", value: "control:streamid=1" },
          ],
        },
      ],
    },
  },
];

Deno.test("parseSdp() parses the golden cases", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(parseSdp(c.text), c.parsed));
});

Deno.test("serializeSdp() writes the golden cases byte for byte", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.equal(serializeSdp(c.parsed), c.text));
});

Deno.test("serializeSdp() round-trips real SDPs byte for byte", async (t) => {
  const texts = { ffmpeg: FFMPEG_ANNOUNCE_SDP, gstreamer: GSTREAMER_SDP, camera: CAMERA_SDP };
  for (const [name, text] of Object.entries(texts)) {
    await t.step(name, () => {
      assert.equal(serializeSdp(parseSdp(text)), text);
      // Same result from bare-LF input: only line endings may differ.
      assert.equal(serializeSdp(parseSdp(text.replaceAll("\r\n", "\n"))), text);
    });
  }
});

Deno.test("parseSdp() tolerates blank lines, trailing whitespace and a missing final newline", () => {
  const sd = parseSdp("v=0  \n\n o=- 1 1 IN IP4 h\r\ns=x\t\r\n\r\nm=video 0 RTP/AVP 96\na=control:trackID=0");
  assert.equal(
    serializeSdp(sd),
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=control:trackID=0\r\n",
  );
});

Deno.test("parseSdp() keeps the fmtp of each codec byte for byte", () => {
  const [video, audio] = parseSdp(FFMPEG_ANNOUNCE_SDP).media;
  assert.ok(video !== undefined && audio !== undefined);
  assert.equal(
    fmtpFor(video, 96),
    "packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA; profile-level-id=64001F",
  );
  assert.equal(
    fmtpFor(audio, "97"),
    "profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=121056E500",
  );
  assert.deepEqual(rtpmapFor(audio, 97), { encoding: "MPEG4-GENERIC", clockRate: 44100, channels: 2 });
  assert.equal(mediaControl(video), "streamid=0");
  assert.equal(mediaControl(audio), "streamid=1");
});

Deno.test("sessionAttribute() reads session-level attributes only", () => {
  const gst = parseSdp(GSTREAMER_SDP);
  assert.equal(sessionAttribute(gst, "control"), "*");
  assert.equal(sessionControl(gst), "*");
  assert.equal(sessionAttribute(gst, "range"), "npt=now-");
  assert.equal(sessionAttribute(gst, "framerate"), undefined);
  assert.equal(sessionAttribute(parseSdp(FFMPEG_ANNOUNCE_SDP), "tool"), "libavformat 60.16.100");
  assert.equal(sessionControl(parseSdp(FFMPEG_ANNOUNCE_SDP)), undefined);
  assert.equal(sessionControl(parseSdp(CAMERA_SDP)), "rtsp://192.168.1.64:554/Streaming/Channels/101/");
});

Deno.test("parseSdp() parses the multi-port m= line and keeps it", () => {
  const m = parseSdp(CAMERA_SDP).media[0];
  assert.ok(m !== undefined);
  assert.deepEqual({ port: m.port, portCount: m.portCount, formats: m.formats }, {
    port: 0,
    portCount: 2,
    formats: ["96", "97"],
  });
});

Deno.test("parseSdp() accepts a description without media", () => {
  assert.deepEqual(parseSdp("v=0\r\ns=x\r\n").media, []);
});

Deno.test("parseSdp() throws SdpError with a clear message", async (t) => {
  const bad = [
    { name: "empty", text: "", message: /empty/ },
    { name: "first line not v=0", text: "o=- 0 0 IN IP4 h\r\nv=0\r\n", message: /v=0/ },
    { name: "v=1", text: "v=1\r\n", message: /v=0/ },
    { name: "line without =", text: "v=0\r\nhello\r\n", message: /line 2/ },
    { name: "two-letter type", text: "v=0\r\nab=c\r\n", message: /line 2/ },
    { name: "m= without protocol", text: "v=0\r\nm=video 0\r\n", message: /m= line/ },
    { name: "m= with bad port", text: "v=0\r\nm=video x RTP/AVP 96\r\n", message: /bad port/ },
    { name: "m= with port above 65535", text: "v=0\r\nm=video 70000 RTP/AVP 96\r\n", message: /bad port/ },
  ];
  for (const c of bad) {
    await t.step(c.name, () => {
      assert.throws(() => parseSdp(c.text), (e) => e instanceof SdpError && c.message.test(e.message));
    });
  }
});

// Captured from ffmpeg 5.1 publishing libx265 + AAC, then pcm_mulaw alone, over RTSP.
const FFMPEG_H265_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=No Name",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:libavformat LIBAVFORMAT_VERSION",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H265/90000",
  "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ; " +
  "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZKkkyvAWgIAAAAwAgAAADA8E=; sprop-pps=RAHBcrRiQA==",
  "a=control:streamid=0",
  "m=audio 0 RTP/AVP 97",
  "b=AS:69",
  "a=rtpmap:97 MPEG4-GENERIC/44100/1",
  "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=120856E500",
  "a=control:streamid=1",
  "",
].join("\r\n");
const FFMPEG_PCMU_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=No Name",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:libavformat LIBAVFORMAT_VERSION",
  "m=audio 0 RTP/AVP 0",
  "b=AS:64",
  "a=control:streamid=0",
  "",
].join("\r\n");

Deno.test("serializeSdp() round-trips ffmpeg's H.265 and PCMU announcements byte for byte", () => {
  for (const text of [FFMPEG_H265_SDP, FFMPEG_PCMU_SDP]) assert.equal(serializeSdp(parseSdp(text)), text);
  const [video] = parseSdp(FFMPEG_H265_SDP).media;
  assert.ok(video !== undefined);
  const params = parseFmtpParameters(fmtpFor(video, 96)!);
  assert.deepEqual([params.get("sprop-vps"), params.get("sprop-pps")], [
    "QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ",
    "RAHBcrRiQA==",
  ]);
  const [pcmu] = parseSdp(FFMPEG_PCMU_SDP).media;
  assert.deepEqual(pcmu?.formats, ["0"]);
  assert.equal(rtpmapFor(pcmu!, 0), undefined, "static payload type: no rtpmap");
});

Deno.test("parseSdp() keeps each format's rtpmap and fmtp in a media with several formats", () => {
  const sd = parseSdp(
    CAMERA_SDP.replace("a=fmtp:97\r\n", "a=fmtp:97\r\na=framerate:25.000\r\na=fmtp:96 x=1\r\n"),
  );
  const m = sd.media[0]!;
  assert.deepEqual(m.formats, ["96", "97"]);
  assert.deepEqual(rtpmapFor(m, 96), { encoding: "H265", clockRate: 90000 });
  assert.deepEqual(rtpmapFor(m, 97), { encoding: "h264", clockRate: 90000 });
  assert.equal(fmtpFor(m, 96), "x=1");
  assert.equal(fmtpFor(m, 97), "");
  assert.equal(findAttribute(m.lines, "framerate"), "25.000");
  assert.deepEqual(m.lines.filter((l) => l.type === "a").map((l) => l.value.split(":")[0]), [
    "recvonly",
    "x-dimensions",
    "control",
    "rtpmap",
    "rtpmap",
    "fmtp",
    "framerate",
    "fmtp",
  ]);
});

/**
 * parseSdp()'s convention: refuse with SdpError, or a description that round-trips; the media
 * readers (rtpmap, fmtp and its parameters) never throw on what it accepted.
 */
function checkSdp(input: Uint8Array): void {
  const sd = parseOrRefuse(() => parseSdp(new TextDecoder().decode(input)), (e) => e instanceof SdpError);
  if (sd === REFUSED) return;
  assertRoundTrip(sd, serializeSdp, parseSdp);
  for (const m of sd.media) {
    mediaControl(m);
    for (const pt of m.formats) {
      const map = rtpmapFor(m, pt);
      if (map !== undefined) assert.ok(Number.isInteger(map.clockRate) && map.encoding !== "");
      const fmtp = fmtpFor(m, pt);
      if (fmtp === undefined) continue;
      for (const [key, value] of parseFmtpParameters(fmtp)) {
        assert.ok(
          key !== "" && key === key.toLowerCase() && key === key.trim(),
          `key ${JSON.stringify(key)}`,
        );
        assert.equal(value, value.trim());
      }
    }
  }
}

Deno.test("parseSdp() fuzz: corpus and mutated SDPs refuse with SdpError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "sdp",
    label: "parseSdp()",
    seeds: goldenSeeds([...cases.map((c) => c.text), GSTREAMER_SDP, CAMERA_SDP, FFMPEG_H265_SDP], (c) => [c]),
    check: checkSdp,
    count: 3000,
    seed: 4566,
    kind: "text",
    dictionary: ["m=video 0 RTP/AVP 96\r\n", "a=rtpmap:96 H264/90000\r\n", "a=fmtp:96 ", "v=0\r\n", "/2"],
  });
});

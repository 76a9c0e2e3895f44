import assert from "node:assert/strict";
import { VIDEO_CODEC } from "../rtp/video_packet.ts";
import { parseSdp } from "../sdp/session_description.ts";
import {
  StreamInfoError,
  streamInfoFromSdp,
  type TrackInfo,
  videoCodecsByPayloadType,
} from "./stream_info.ts";

const HEAD = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";

// Captured from ffmpeg 5.1 publishing libx265 (-x265-params repeat-headers=1) + AAC over RTSP.
const FFMPEG_H265_AAC = HEAD + [
  "a=tool:libavformat LIBAVFORMAT_VERSION",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H265/90000",
  "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ; sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZKkkyvAWgIAAAAwAgAAADA8E=; sprop-pps=RAHBcrRiQA==",
  "a=control:streamid=0",
  "m=audio 0 RTP/AVP 97",
  "b=AS:69",
  "a=rtpmap:97 MPEG4-GENERIC/44100/1",
  "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=120856E500",
  "a=control:streamid=1",
  "",
].join("\r\n");

/** One media section, first format decoded: what streamInfoFromSdp() makes of it. */
function track(media: string): TrackInfo {
  const info = streamInfoFromSdp(parseSdp(HEAD + media.split("\n").join("\r\n") + "\r\n"));
  return info.tracks[0]!;
}

const first = (t: TrackInfo) => ({
  encoding: t.encoding,
  clockRate: t.clockRate,
  channels: t.channels,
  codec: t.codec,
  payloadType: t.payloadType,
});

Deno.test("streamInfoFromSdp() reads ffmpeg's H.265 + AAC: H.265 is the video track", () => {
  const info = streamInfoFromSdp(parseSdp(FFMPEG_H265_AAC));
  assert.equal(info.videoTrack, 0);
  assert.deepEqual(info.tracks.map(first), [
    { encoding: "H265", clockRate: 90000, channels: undefined, codec: "h265", payloadType: 96 },
    { encoding: "MPEG4-GENERIC", clockRate: 44100, channels: 1, codec: "aac", payloadType: 97 },
  ]);
  assert.deepEqual(info.tracks.map((t) => t.control), ["streamid=0", "streamid=1"]);
  assert.equal(info.sessionControl, undefined);
});

Deno.test("streamInfoFromSdp() reads PCM and G.711 with and without rtpmap", async (t) => {
  const cases = [
    {
      name: "PCMU, static 0 (ffmpeg writes no rtpmap)",
      media: "m=audio 0 RTP/AVP 0",
      want: ["PCMU", 8000, 1],
    },
    { name: "PCMA, static 8", media: "m=audio 0 RTP/AVP 8", want: ["PCMA", 8000, 1] },
    { name: "L16 stereo, static 10", media: "m=audio 0 RTP/AVP 10", want: ["L16", 44100, 2] },
    { name: "L16 mono, static 11", media: "m=audio 0 RTP/AVP 11", want: ["L16", 44100, 1] },
    {
      name: "L16 at any rate via rtpmap",
      media: "m=audio 0 RTP/AVP 96\na=rtpmap:96 L16/16000/2",
      want: ["L16", 16000, 2],
    },
    {
      name: "L16 mono without channel count",
      media: "m=audio 0 RTP/AVP 98\na=rtpmap:98 L16/8000",
      want: ["L16", 8000],
    },
    {
      name: "an rtpmap overrides the static meaning",
      media: "m=audio 0 RTP/AVP 0\na=rtpmap:0 PCMU/16000",
      want: ["PCMU", 16000],
    },
    { name: "G.722, static 9", media: "m=audio 0 RTP/AVP 9", want: ["G722", 8000, 1] },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      const tr = track(c.media);
      assert.deepEqual([tr.encoding, tr.clockRate, tr.channels], [c.want[0], c.want[1], c.want[2]]);
      assert.equal(tr.codec, "other", "relayed opaquely");
    });
  }
});

Deno.test("streamInfoFromSdp() relays Opus and unknown codecs opaquely; audio-only streams have no video track", () => {
  const info = streamInfoFromSdp(parseSdp(
    HEAD +
      "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 sprop-stereo=1\r\n" +
      "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n",
  ));
  assert.equal(info.videoTrack, -1);
  assert.deepEqual(info.tracks.map((t) => [t.encoding, t.codec]), [
    ["opus", "other"],
    ["vnd.onvif.metadata", "other"],
  ]);
});

Deno.test("streamInfoFromSdp() keeps every format of a media; the first decides the track's role", () => {
  const tr = track(
    "m=video 0 RTP/AVP 96 97 98 99\na=rtpmap:96 H265/90000\na=rtpmap:97 h264/90000\n" +
      "a=rtpmap:98 rtx/90000\na=fmtp:98 apt=97",
  );
  assert.equal(tr.codec, "h265");
  assert.deepEqual(tr.formats?.map((f) => [f.payloadType, f.encoding, f.codec]), [
    [96, "H265", "h265"],
    [97, "h264", "h264"],
    [98, "rtx", "other"],
    [99, "", "other"],
  ]);
  const info = streamInfoFromSdp(parseSdp(
    HEAD +
      "m=video 0 RTP/AVP 26 96\r\na=rtpmap:96 H264/90000\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
  ));
  assert.equal(info.videoTrack, 1, "a media that prefers JPEG is not the H.264 track");
});

Deno.test("streamInfoFromSdp() accepts dynamic payload types anywhere in 96-127 and static ones", () => {
  assert.equal(track("m=video 0 RTP/AVP 127\na=rtpmap:127 H264/90000").codec, "h264");
  assert.equal(track("m=audio 0 RTP/AVP 101\na=rtpmap:101 MPEG4-GENERIC/48000/2").codec, "aac");
  assert.deepEqual(first(track("m=video 0 RTP/AVP 26")), {
    encoding: "JPEG",
    clockRate: 90000,
    channels: undefined,
    codec: "other",
    payloadType: 26,
  });
});

Deno.test("streamInfoFromSdp() keeps the session-level control", async (t) => {
  const cases = [
    { name: "aggregate", line: "a=control:*\r\n", want: "*" },
    { name: "absolute", line: "a=control:rtsp://cam/live/\r\n", want: "rtsp://cam/live/" },
    { name: "absent", line: "", want: undefined },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const info = streamInfoFromSdp(
        parseSdp(HEAD + c.line + "m=audio 0 RTP/AVP 0\r\na=control:trackID=1\r\n"),
      );
      assert.equal(info.sessionControl, c.want);
      assert.equal(info.tracks[0]?.control, "trackID=1");
    });
  }
});

Deno.test("streamInfoFromSdp() refuses a first format it cannot name with 400", async (t) => {
  const cases = [
    {
      name: "dynamic without rtpmap",
      media: "m=audio 0 RTP/AVP 96\r\n",
      message: /payload type 96 has no rtpmap/,
    },
    {
      name: "unassigned static",
      media: "m=audio 0 RTP/AVP 20\r\n",
      message: /payload type 20 has no rtpmap/,
    },
    { name: "no format", media: "m=audio 0 RTP/AVP\r\n", message: /no valid RTP payload type/ },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => streamInfoFromSdp(parseSdp(HEAD + c.media)),
        // The publisher's ANNOUNCE turns it into 400 (test/server/bad_input_test.ts).
        (e) => e instanceof StreamInfoError && c.message.test(e.message),
      );
    });
  }
});

Deno.test("videoCodecsByPayloadType() maps each video format's payload type to its parser", () => {
  const tr = track(
    "m=video 0 RTP/AVP 96 97 98\na=rtpmap:96 H265/90000\na=rtpmap:97 H264/90000\na=rtpmap:98 rtx/90000",
  );
  const table = videoCodecsByPayloadType(tr);
  assert.equal(table.length, 128);
  assert.deepEqual([table[96], table[97], table[98], table[0]], [
    VIDEO_CODEC.H265,
    VIDEO_CODEC.H264,
    VIDEO_CODEC.NONE,
    VIDEO_CODEC.NONE,
  ]);
  const { formats: _, ...firstOnly } = tr;
  assert.equal(
    videoCodecsByPayloadType(firstOnly)[96],
    VIDEO_CODEC.H265,
    "no formats list: the first format",
  );
  assert.ok(videoCodecsByPayloadType(undefined).every((c) => c === VIDEO_CODEC.NONE), "no video track");
});

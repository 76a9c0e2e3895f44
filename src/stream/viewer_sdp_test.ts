import assert from "node:assert/strict";
import { parseSdp } from "../sdp/session_description.ts";
import { buildViewerSdp } from "./viewer_sdp.ts";

const crlf = (lines: string[]) => lines.map((l) => l + "\r\n").join("");

/** Our own session lines, before anything kept from the publisher's. */
const OWN_HEAD = (name: string, id: number) => [
  "v=0",
  `o=- ${id} 1 IN IP4 127.0.0.1`,
  `s=${name}`,
  "c=IN IP4 0.0.0.0",
  "t=0 0",
  "a=tool:dm-live",
  "a=range:npt=now-",
];

Deno.test("buildViewerSdp() keeps H.265 sprop-vps/sps/pps byte for byte and gives its own controls", () => {
  const fmtp = "fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ; " +
    "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZKkkyvAWgIAAAAwAgAAADA8E=; sprop-pps=RAHBcrRiQA==";
  const announced = crlf([
    "v=0",
    "o=- 0 0 IN IP4 127.0.0.1",
    "s=No Name",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "a=tool:libavformat LIBAVFORMAT_VERSION",
    "m=video 0 RTP/AVP 96",
    "a=rtpmap:96 H265/90000",
    `a=${fmtp}`,
    "a=control:streamid=0",
    "m=audio 0 RTP/AVP 0",
    "b=AS:64",
    "a=control:streamid=1",
  ]);
  assert.equal(
    buildViewerSdp(parseSdp(announced), 7),
    crlf([
      ...OWN_HEAD("No Name", 7),
      "m=video 0 RTP/AVP 96",
      "a=rtpmap:96 H265/90000",
      `a=${fmtp}`,
      "a=control:trackID=0",
      // A static payload type stays without rtpmap: players know PCMU by number (RFC 3551).
      "m=audio 0 RTP/AVP 0",
      "b=AS:64",
      "a=control:trackID=1",
    ]),
  );
});

Deno.test("buildViewerSdp() relays several formats per media, framerate and unknown attributes in order", () => {
  const announced = crlf([
    "v=0",
    "o=- 1 1 IN IP4 192.168.1.64",
    "s=Media Presentation",
    "e=NONE",
    "b=AS:5050",
    "t=0 0",
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/",
    "a=x-vendor:session-one",
    "a=framerate:25",
    "a=x-vendor:session-two",
    "m=video 0 RTP/AVP 96 97 98",
    "c=IN IP4 0.0.0.0",
    "b=AS:5000",
    "a=recvonly",
    "a=x-dimensions:1920,1080",
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1",
    "a=rtpmap:96 H265/90000",
    "a=fmtp:96 sprop-vps=QAEM; sprop-sps=QgEB; sprop-pps=RAHB",
    "a=rtpmap:97 h264/90000",
    "a=fmtp:97 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAA8DxYuS,aMuMsg==",
    "a=rtpmap:98 rtx/90000",
    "a=fmtp:98 apt=97;rtx-time=3000",
    "a=framerate:25.000",
    "a=Media_header:MEDIAINFO=494D4B48;",
    "m=audio 0 RTP/AVP 8 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=control:trackID=2",
  ]);
  assert.equal(
    buildViewerSdp(parseSdp(announced), 3),
    crlf([
      ...OWN_HEAD("Media Presentation", 3),
      "e=NONE",
      "b=AS:5050",
      "a=x-vendor:session-one",
      "a=framerate:25",
      "a=x-vendor:session-two",
      "m=video 0 RTP/AVP 96 97 98",
      "b=AS:5000",
      "a=recvonly",
      "a=x-dimensions:1920,1080",
      "a=rtpmap:96 H265/90000",
      "a=fmtp:96 sprop-vps=QAEM; sprop-sps=QgEB; sprop-pps=RAHB",
      "a=rtpmap:97 h264/90000",
      "a=fmtp:97 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAA8DxYuS,aMuMsg==",
      "a=rtpmap:98 rtx/90000",
      "a=fmtp:98 apt=97;rtx-time=3000",
      "a=framerate:25.000",
      "a=Media_header:MEDIAINFO=494D4B48;",
      "a=control:trackID=0",
      "m=audio 0 RTP/AVP 8 101",
      "a=rtpmap:8 PCMA/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-15",
      "a=control:trackID=1",
    ]),
  );
});

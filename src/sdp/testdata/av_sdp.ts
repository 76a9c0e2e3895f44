/** SDPs for unit tests. */

/** SDP like ffmpeg's for an H.264 + AAC stream (controls are ffmpeg's `streamid=N`). */
export const AV_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=synthetic",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:dm-live-test",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==; profile-level-id=42C01E",
  "a=control:streamid=0",
  "m=audio 0 RTP/AVP 97",
  "b=AS:128",
  "a=rtpmap:97 MPEG4-GENERIC/44100/2",
  "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=1210",
  "a=control:streamid=1",
  "",
].join("\r\n");

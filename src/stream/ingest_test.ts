import assert from "node:assert/strict";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { audioPacket, type H264Kind, h264Packet } from "../../test/support/rtp_packets.ts";
import { StreamIngest } from "./ingest.ts";
import type { StreamInfo } from "./stream_info.ts";

const AV: StreamInfo = {
  videoTrack: 0,
  tracks: [
    {
      index: 0,
      media: "video",
      payloadType: 96,
      encoding: "H264",
      clockRate: 90000,
      codec: "h264",
      control: "streamid=0",
    },
    {
      index: 1,
      media: "audio",
      payloadType: 97,
      encoding: "MPEG4-GENERIC",
      clockRate: 44100,
      codec: "aac",
      control: "streamid=1",
    },
  ],
};
const AUDIO_ONLY: StreamInfo = { videoTrack: -1, tracks: [{ ...AV.tracks[1], index: 0 }] };

function setup(info = AV) {
  const ring = SharedRing.create(1024, 1 << 20, info.tracks.length);
  const ingest = new StreamIngest(new RingWriter(ring), info, 1000);
  let seq = 0;
  const video = (kind: H264Kind, ts: number) => {
    const p = h264Packet(kind, seq++, ts);
    ingest.packet(p, 0, p.length, 0, 0);
  };
  const audio = (ts: number, track = 1, now = 0) => {
    const p = audioPacket(seq++, ts);
    ingest.packet(p, 0, p.length, track, now);
  };
  return { ring, ingest, video, audio };
}

Deno.test("StreamIngest starts the GOP at in-band SPS/PPS before the IDR, audio in between", () => {
  const { ring, ingest, video, audio } = setup();
  video("p", 0); // 0
  video("sps", 3000); // 1
  audio(100); // 2
  video("pps", 3000); // 3
  video("idr", 3000); // 4
  video("p", 6000); // 5
  ingest.flush(0);
  assert.equal(ring.gopStart(), 1);
  assert.ok(ring.isGopStart(1) && ring.isGopStart(4));
  assert.equal(ingest.keyframes, 1);
});

Deno.test("StreamIngest starts the GOP at the IDR when parameter sets come out of band", () => {
  const { ring, ingest, video } = setup();
  video("p", 0);
  video("fu-idr-start", 3000);
  video("fu-idr-mid", 3000);
  ingest.flush(0);
  assert.equal(ring.gopStart(), 1);
});

Deno.test("StreamIngest counts a multi-slice IDR (same timestamp) as one keyframe", () => {
  const { ring, ingest, video } = setup();
  video("stap-sps-pps", 3000); // 0
  video("fu-idr-start", 3000); // 1 slice 1
  video("fu-idr-mid", 3000);
  video("fu-idr-start", 3000); // 3 slice 2
  ingest.flush(0);
  assert.equal(ingest.keyframes, 1);
  assert.equal(ring.gopStart(), 0);
  assert.equal(ring.isGopStart(3), false);
});

Deno.test("StreamIngest forgets parameter sets followed by a P slice", () => {
  const { ring, ingest, video } = setup();
  video("sps", 0); // 0
  video("p", 0); // 1
  video("idr", 3000); // 2
  ingest.flush(0);
  assert.equal(ring.gopStart(), 2);
});

Deno.test("StreamIngest refuses frames that are not RTP and counts them", () => {
  const { ring, ingest } = setup();
  const junk = new Uint8Array([0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  ingest.packet(junk, 0, junk.length, 0, 0);
  ingest.flush(0);
  assert.equal(ingest.invalidPackets, 1);
  assert.equal(ring.head(), 0);
});

Deno.test("StreamIngest starts audio-only viewers audioStartWindowMs back", () => {
  const { ring, ingest, audio } = setup(AUDIO_ONLY);
  for (let i = 0; i < 50; i++) audio(i * 1024, 0, i * 100); // one packet per 100 ms
  ingest.flush(4900);
  const gop = ring.gopStart()!;
  assert.equal(ring.slotTime(gop), 3900, "newest packet at most 1000 ms old");
});

Deno.test("StreamIngest.midFrame holds publishing until the video packet with the marker bit", () => {
  const { ingest } = setup();
  const start = h264Packet("fu-idr-start", 0, 3000);
  ingest.packet(start, 0, start.length, 0, 0);
  assert.equal(ingest.midFrame, true);
  const audio = audioPacket(1, 100);
  ingest.packet(audio, 0, audio.length, 1, 0);
  assert.equal(ingest.midFrame, true, "audio does not end a video frame");
  const last = h264Packet("fu-idr-mid", 2, 3000);
  last[1] |= 0x80; // marker
  ingest.packet(last, 0, last.length, 0, 0);
  assert.equal(ingest.midFrame, false);
});

Deno.test("StreamIngest.withoutVideo holds audio for the next video frame, only in streams with video", () => {
  const { ingest, audio, video } = setup();
  audio(100);
  audio(1124);
  assert.equal(ingest.withoutVideo, true, "audio alone since the last flush");
  video("p", 3000);
  assert.equal(ingest.withoutVideo, false, "a video packet joins it");
  ingest.flush(0);
  audio(2148);
  assert.equal(ingest.withoutVideo, true);
  ingest.flush(0);
  assert.equal(ingest.withoutVideo, false, "a flush (the hold timer) publishes it");

  const only = setup(AUDIO_ONLY);
  only.audio(100, 0);
  assert.equal(only.ingest.withoutVideo, false, "audio-only streams publish every packet at once");
});

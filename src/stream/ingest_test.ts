import assert from "node:assert/strict";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { audioPacket, type H264Kind, h264Packet } from "../rtp/testdata/rtp_packets.ts";
import { buildRtpPacket } from "../rtp/rtp_header.ts";
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

/** Sends packets with per-track sequence numbers, as a real publisher does. */
function perTrack(info = AV) {
  const s = setup(info);
  const next = [0, 0];
  const send = (p: Uint8Array, track: number) => s.ingest.packet(p, 0, p.length, track, 0);
  return {
    ...s,
    next,
    video: (kind: H264Kind, ts: number, size = 32) => send(h264Packet(kind, next[0]++, ts, size), 0),
    audio: (ts: number) => send(audioPacket(next[1]++, ts), 1),
  };
}

Deno.test("StreamIngest counts gaps in each track's RTP sequence as lost, across the 16-bit wrap", () => {
  const t = perTrack();
  t.next[0] = 65533;
  t.video("idr", 0); // 65533
  t.video("p", 3000); // 65534
  t.next[0] += 2; // 65535, 0 never sent
  t.video("p", 6000); // 1
  t.audio(0);
  t.next[1] += 3;
  t.audio(1024);
  assert.equal(t.ingest.lost, 5);
  t.next[0] = (t.next[0] - 1) & 0xffff; // a duplicate is nothing missing
  t.video("p", 6000);
  assert.equal(t.ingest.lost, 5);
  t.next[0] += 10_000; // a restarted sender's new base is no loss
  t.video("p", 9000);
  t.video("p", 12000);
  assert.equal(t.ingest.lost, 5);
});

Deno.test("StreamIngest measures the last complete GOP from parameter sets to parameter sets", () => {
  const t = perTrack();
  t.video("p", 0, 100); // before the first GOP: not counted
  for (let gop = 0; gop < 3; gop++) {
    const ts = gop * 30_000;
    t.video("stap-sps-pps", ts); // 9 bytes payload
    t.video("fu-idr-start", ts, 500);
    t.video("fu-idr-mid", ts, 500);
    t.audio(ts);
    for (let f = 1; f < 10; f++) {
      t.video("p", ts + f * 3000, 200);
      t.audio(ts + f * 3000);
    }
    if (gop === 0) assert.equal(t.ingest.lastGop, null, "one GOP start is not a complete GOP");
  }
  // Each GOP: STAP + 2 IDR fragments + 9 P + 10 audio packets; 10 frames.
  const rtp = 12;
  assert.deepEqual(t.ingest.lastGop, {
    packets: 22,
    bytes: (rtp + 9) + 2 * (rtp + 500) + 9 * (rtp + 200) + 10 * (rtp + 32),
    frames: 10,
  });
});

Deno.test("StreamIngest measures a GOP from keyframe to keyframe when parameter sets come out of band", () => {
  const t = perTrack();
  for (let gop = 0; gop < 2; gop++) {
    t.video("idr", gop * 9000, 300);
    t.video("p", gop * 9000 + 3000, 100);
    t.video("p", gop * 9000 + 6000, 100);
  }
  t.video("idr", 18_000, 300);
  assert.deepEqual(t.ingest.lastGop, { packets: 3, bytes: 3 * 12 + 500, frames: 3 });
});

Deno.test("StreamIngest's rate is the RTP bytes per second published", () => {
  const t = perTrack();
  t.ingest.flush(0);
  for (let i = 0; i < 10; i++) t.video("p", i * 3000, 988); // 10 packets of 1000 bytes
  t.ingest.flush(1000);
  assert.equal(t.ingest.rate.perSecond(2000, t.ingest.writer.bytes), 5000);
});

// H.265 (RFC 7798): the same GOP rules as H.264, with VPS/SPS/PPS and IRAP pictures.
const H265_VIDEO = {
  index: 0,
  media: "video",
  payloadType: 96,
  encoding: "H265",
  clockRate: 90000,
  codec: "h265",
  control: "streamid=0",
} as const;
const H265_AV: StreamInfo = { videoTrack: 0, tracks: [H265_VIDEO, AV.tracks[1]] };
/** A camera that lists H.265 and H.264 in one m= line (either may be sent) and RFC 4588 retransmission. */
const TWO_FORMATS: StreamInfo = {
  videoTrack: 0,
  tracks: [{
    ...H265_VIDEO,
    formats: [
      H265_VIDEO,
      { payloadType: 97, encoding: "H264", clockRate: 90000, codec: "h264" },
      { payloadType: 98, encoding: "rtx", clockRate: 90000, codec: "other" },
    ],
  }],
};
const H265_PAYLOAD = {
  vps: [0x40, 0x01, 0x0c],
  sps: [0x42, 0x01, 0x01],
  pps: [0x44, 0x01, 0xc1],
  sei: [0x4e, 0x01, 0x05],
  idr: [0x26, 0x01, 0xaf],
  cra: [0x2a, 0x01, 0xac],
  trail: [0x02, 0x01, 0xd0],
  "ap-vps-sps-pps": [0x60, 0x01, 0, 3, 0x40, 0x01, 0x0c, 0, 3, 0x42, 0x01, 0x01, 0, 3, 0x44, 0x01, 0xc1],
  "fu-cra-start": [0x62, 0x01, 0x95, 0xaa],
  "fu-cra-mid": [0x62, 0x01, 0x15, 0xaa],
  "fu-cra-end": [0x62, 0x01, 0x55, 0xaa],
  "fu-trail-start": [0x62, 0x01, 0x81, 0xaa],
  "too-short": [0x26],
  "empty": [],
} as const;
type H265Kind = keyof typeof H265_PAYLOAD;

function h265Setup(info = H265_AV) {
  const s = setup(info);
  let seq = 0;
  const send = (pt: number, payload: readonly number[], ts: number) => {
    const p = buildRtpPacket({
      payloadType: pt,
      sequence: seq++,
      timestamp: ts,
      ssrc: 0x265,
      payload: new Uint8Array(payload),
    });
    s.ingest.packet(p, 0, p.length, 0, 0);
  };
  return { ...s, h265: (kind: H265Kind, ts: number, pt = 96) => send(pt, H265_PAYLOAD[kind], ts), send };
}

Deno.test("StreamIngest starts an H.265 GOP at the VPS/SPS/PPS before the IRAP, audio in between", () => {
  const { ring, ingest, h265, audio } = h265Setup();
  h265("trail", 0); // 0
  h265("vps", 3000); // 1
  audio(100); // 2
  h265("sps", 3000); // 3
  h265("pps", 3000); // 4
  h265("sei", 3000); // 5
  h265("idr", 3000); // 6
  h265("trail", 6000); // 7
  ingest.flush(0);
  assert.equal(ring.gopStart(), 1);
  assert.ok(ring.isGopStart(1) && ring.isGopStart(6));
  assert.equal(ingest.keyframes, 1);
});

Deno.test("StreamIngest counts an H.265 IRAP in several FUs and slices once, from the AP of parameter sets", () => {
  const { ring, ingest, h265 } = h265Setup();
  h265("ap-vps-sps-pps", 3000); // 0
  h265("fu-cra-start", 3000); // 1 slice 1
  h265("fu-cra-mid", 3000);
  h265("fu-cra-end", 3000);
  h265("fu-cra-start", 3000); // 4 slice 2
  h265("fu-cra-end", 3000);
  h265("fu-trail-start", 6000);
  ingest.flush(0);
  assert.equal(ingest.keyframes, 1);
  assert.equal(ring.gopStart(), 0);
  assert.ok(ring.isGopStart(1));
  assert.equal(ring.isGopStart(4), false);
});

Deno.test("StreamIngest starts an H.265 GOP at the IRAP when parameter sets come out of band or go stale", () => {
  const { ring, ingest, h265 } = h265Setup();
  h265("ap-vps-sps-pps", 0); // 0: followed by a non-IRAP slice, forgotten
  h265("trail", 0); // 1
  h265("cra", 3000); // 2
  h265("trail", 6000); // 3
  h265("fu-cra-start", 9000); // 4
  ingest.flush(0);
  assert.equal(ingest.keyframes, 2);
  assert.equal(ring.isGopStart(0), false);
  assert.ok(ring.isGopStart(2));
  assert.equal(ring.gopStart(), 4);
});

Deno.test("StreamIngest never starts a GOP at malformed H.265 payloads", () => {
  const { ring, ingest, h265 } = h265Setup();
  h265("too-short", 0);
  h265("empty", 0);
  h265("fu-cra-mid", 0);
  ingest.flush(0);
  assert.equal(ring.head(), 3, "relayed as received");
  assert.equal(ring.gopStart(), undefined);
  assert.equal(ingest.keyframes, 0);
});

Deno.test("StreamIngest reads each video packet by the payload type actually sent", () => {
  const { ring, ingest, send } = h265Setup(TWO_FORMATS);
  // 0x41 is an H.264 P slice and an H.265 VPS; 0x65 an H.264 IDR and an H.265 type 50 (PACI).
  send(97, [0x67, 0x42, 0xc0], 0); // 0 H.264 SPS
  send(97, [0x65, 0x88, 0x84], 0); // 1 H.264 IDR
  send(97, [0x41, 0x9a, 0x24], 3000); // 2 H.264 P
  send(98, [0x26, 0x01, 0xaf], 6000); // 3 retransmission bytes that read as an H.265 IDR
  send(96, [0x41, 0x01, 0x0c], 9000); // 4 H.265 VPS
  send(96, [0x26, 0x01, 0xaf], 9000); // 5 H.265 IDR
  ingest.flush(0);
  assert.equal(ingest.keyframes, 2);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((s) => ring.isGopStart(s)), [true, true, false, false, true, true]);
});

Deno.test("StreamIngest puts the SDP's parameter sets in before a keyframe that came without them", () => {
  const stap = new Uint8Array([0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]);
  const info: StreamInfo = { ...AV, tracks: [{ ...AV.tracks[0], parameterSets: stap }, AV.tracks[1]] };
  const ring = SharedRing.create(1024, 1 << 20, 2);
  const ingest = new StreamIngest(new RingWriter(ring), info, 1000);
  const send = (kind: H264Kind, seq: number, ts: number) => {
    const p = h264Packet(kind, seq, ts);
    ingest.packet(p, 0, p.length, 0, 0);
  };
  send("p", 100, 0); // before any keyframe
  send("idr", 101, 3000); // no parameter sets before it: one is put in
  send("p", 102, 6000);
  send("stap-sps-pps", 103, 9000); // in-band ones: nothing put in
  send("idr", 104, 9000);
  ingest.flush(0);
  const d = ring.data;
  const at = (s: number) => ring.rtpOffset(s);
  const seqs = [0, 1, 2, 3, 4, 5].map((s) => (d[at(s) + 2] << 8) | d[at(s) + 3]);
  assert.deepEqual(seqs, [100, 101, 102, 103, 104, 105], "one sequence, no gap, no repeat");
  assert.deepEqual([...d.subarray(at(1) + 12, at(1) + 12 + stap.length)], [...stap]);
  assert.equal(ring.isGopStart(1), true, "the parameter sets start the GOP");
  assert.equal(ring.isGopStart(2), true);
  assert.equal(d[at(1) + 1] & 0x80, 0, "no marker bit");
  assert.equal(ring.slotLen(1), 4 + 12 + stap.length);
  assert.equal(ingest.injected, 1);
  assert.equal(ring.gopStart(), 4, "the last GOP starts at the publisher's own parameter sets");
});

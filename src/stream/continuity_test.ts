import assert from "node:assert/strict";
import { buildRtpPacket, rtpSequence, rtpSsrc, rtpTimestamp } from "../rtp/rtp_header.ts";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { HDR } from "../ring/ring_layout.ts";
import { storeClockSsrc } from "../ring/track_clock.ts";
import { Continuity, type TrackEnd, trackEnds } from "./continuity.ts";

const pkt = (seq: number, ts: number, ssrc: number, pt = 96) =>
  buildRtpPacket({ payloadType: pt, sequence: seq, timestamp: ts, ssrc, payload: new Uint8Array([1, 2, 3]) });

Deno.test("trackEnds() reads each track's last sequence, timestamp, SSRC and payload type from the ring", () => {
  const ring = SharedRing.create(64, 1 << 17, 3);
  const w = new RingWriter(ring);
  for (
    const [p, t] of [[pkt(10, 1000, 0xaaaa0001), 0], [pkt(500, 7, 0xbbbb0002, 97), 1], [
      pkt(11, 4000, 0xaaaa0001),
      0,
    ]] as const
  ) {
    w.append(p, 0, p.length, t, 0);
  }
  w.publish();
  const ends = trackEnds(ring, [90000, 44100, 8000]);
  assert.deepEqual(ends[0], {
    seq: 11,
    timestamp: 4000,
    ssrc: 0xaaaa0001,
    payloadType: 96,
    clockRate: 90000,
  });
  assert.deepEqual(ends[1], { seq: 500, timestamp: 7, ssrc: 0xbbbb0002, payloadType: 97, clockRate: 44100 });
  assert.equal(ends[2].seq, -1, "a track without packets");
  assert.equal(ends[2].ssrc, -1);
});

Deno.test("trackEnds(): a track whose last packet the ring no longer holds takes its SSRC from the header", () => {
  const ring = SharedRing.create(64, 1 << 17, 2);
  const w = new RingWriter(ring);
  const a = pkt(10, 1000, 0xaaaa0001);
  w.append(a, 0, a.length, 0, 0);
  w.publish();
  // Track 1's packets were before what the ring holds (a move copied from later on): only the
  // header knows its last sequence, timestamp and SSRC.
  ring.header[HDR.TRACKS + 2] = 500;
  ring.header[HDR.TRACKS + 3] = 7;
  storeClockSsrc(ring.header, 1, 0xbbbb0002);
  const ends = trackEnds(ring, [90000, 44100]);
  assert.equal(ends[1].ssrc, 0xbbbb0002, "so its replays are still recognised");
  assert.equal(ends[1].payloadType, -1, "kept as the new publisher sends it");
});

Deno.test("Continuity: sequence follows on, timestamps advance by the gap, SSRC and payload type are kept", () => {
  const ends: TrackEnd[] = [
    { seq: 65534, timestamp: 0xffffff00, ssrc: 0x11111111, payloadType: 96, clockRate: 90000 },
    { seq: 7, timestamp: 100, ssrc: 0x22222222, payloadType: 97, clockRate: 48000 },
  ];
  const c = new Continuity(ends, 1_000);
  // The new publisher starts 2 s later with its own numbering, SSRC and payload types.
  const v1 = pkt(40000, 5_000_000, 0x99999999, 100);
  c.rewrite(v1, 0, 0, 3_000);
  assert.equal(rtpSequence(v1, 0), 65535);
  assert.equal(rtpTimestamp(v1, 0), (0xffffff00 + 180_000) >>> 0, "wraps past 2^32");
  assert.equal(rtpSsrc(v1, 0), 0x11111111);
  assert.equal(v1[1] & 0x7f, 96);
  const v2 = pkt(40001, 5_003_000, 0x99999999, 100);
  v2[1] |= 0x80; // marker kept
  c.rewrite(v2, 0, 0, 3_033);
  assert.equal(rtpSequence(v2, 0), 0, "wraps past 65535");
  assert.equal(rtpTimestamp(v2, 0), (0xffffff00 + 180_000 + 3_000) >>> 0);
  assert.equal(v2[1], 0x80 | 96);
  // The audio track's first packet comes later but shifts by the same gap (A/V stay aligned).
  const a1 = pkt(3, 77, 0x98989898, 101);
  c.rewrite(a1, 0, 1, 3_500);
  assert.equal(rtpSequence(a1, 0), 8);
  assert.equal(rtpTimestamp(a1, 0), 100 + 96_000);
  assert.equal(c.timestampOffset(1), (100 + 96_000 - 77) >>> 0);
});

Deno.test("Continuity: a reconnect with no gap still moves the timestamp by a tick; empty tracks pass as they are", () => {
  const c = new Continuity([
    { seq: 1, timestamp: 50, ssrc: 5, payloadType: 96, clockRate: 90000 },
    { seq: -1, timestamp: 0, ssrc: -1, payloadType: -1, clockRate: 8000 },
  ], 10_000);
  const v = pkt(9, 50, 6);
  c.rewrite(v, 0, 0, 9_000); // clocks disagree: never a negative gap
  assert.equal(rtpTimestamp(v, 0), 51);
  const a = pkt(9, 50, 6, 0);
  c.rewrite(a, 0, 1, 9_000);
  assert.deepEqual([rtpSequence(a, 0), rtpTimestamp(a, 0), rtpSsrc(a, 0), a[1]], [9, 50, 6, 0]);
});

Deno.test("Continuity.isReplay(): the previous publisher's own packets again, before the track's first new one", () => {
  const ends: TrackEnd[] = [{
    seq: 1000,
    timestamp: 900_000,
    ssrc: 0x11111111,
    payloadType: 96,
    clockRate: 90000,
  }];
  const c = new Continuity(ends, 1_000);
  // A moved edge pull: the new owner's cached GOP, packets 840..1000 of the same SSRC, 1.6 s back.
  assert.equal(c.isReplay(pkt(840, 900_000 - 144_000, 0x11111111), 0, 0), true);
  assert.equal(c.isReplay(pkt(1000, 900_000, 0x11111111), 0, 0), true, "the last one relayed");
  // The new owner's own packets go on from its numbering, timestamps a gap ahead: not replays,
  // even numbered at or below the last relayed (the new owner had relayed a few less).
  assert.equal(c.isReplay(pkt(998, 900_000 + 180_000, 0x11111111), 0, 0), false);
  assert.equal(c.isReplay(pkt(1001, 900_000, 0x11111111), 0, 0), false, "after the last one");
  // A restarted camera: another SSRC, or numbers far from the last.
  assert.equal(c.isReplay(pkt(900, 800_000, 0x22222222), 0, 0), false);
  assert.equal(c.isReplay(pkt(1000 - 5000, 800_000, 0x11111111), 0, 0), false, "far behind: not ours");
  assert.equal(c.isReplay(pkt(990, 900_000 - 11 * 90000, 0x11111111), 0, 0), false, "timestamps far behind");
  // Once the track has rewritten packets, nothing is a replay any more.
  c.rewrite(pkt(5, 77, 0x33333333), 0, 0, 2_000);
  assert.equal(c.isReplay(pkt(999, 899_000, 0x11111111), 0, 0), false);
});

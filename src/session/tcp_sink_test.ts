import assert from "node:assert/strict";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { audioPacket, h264Packet } from "../rtp/testdata/rtp_packets.ts";
import type { TcpSink } from "./tcp_sink.ts";
import { tcpSink, type ViewerPolicy } from "./testdata/tcp_sink.ts";
import { rtpInfoAt } from "./viewer_session.ts";
import { buildRtpPacket } from "../rtp/rtp_header.ts";

/** The viewer's next chunk as a view, for assertions (the server sends the range, no view). */
function chunkOf(v: TcpSink): Uint8Array {
  const buf = v.nextChunk();
  assert.ok(buf !== null, "a chunk is due");
  return buf.subarray(v.chunkStart, v.chunkEnd);
}

const DATA = 1 << 17;
const POLICY: ViewerPolicy = { maxWriteBytes: 1 << 20, skipLagPercent: 50, dropLagPercent: 75 };

function publisher() {
  const ring = SharedRing.create(4096, DATA, 2);
  const w = new RingWriter(ring);
  let vseq = 1000;
  let aseq = 5000;
  const video = (keyframe: boolean, ts: number, size = 200) => {
    const p = h264Packet(keyframe ? "idr" : "p", vseq++, ts, size);
    const s = w.append(p, 0, p.length, 0, 0);
    if (keyframe) w.markGopStart(s);
  };
  const audio = (ts: number) => {
    const p = audioPacket(aseq++, ts);
    w.append(p, 0, p.length, 1, 0);
  };
  return { ring, w, video, audio };
}

const ALL = new Map([[0, 0], [1, 2]]);

Deno.test("TcpSink starts at the newest GOP and serves it as one view of the shared ring", () => {
  const { ring, w, video, audio } = publisher();
  video(true, 0);
  video(false, 3000);
  video(true, 6000); // seq 2 is the newest GOP start
  audio(100);
  video(false, 9000);
  w.publish();
  const counters = { skips: 0, skippedPackets: 0, drops: 0 };
  const v = tcpSink(ring, ALL, POLICY, counters);
  assert.equal(v.zeroCopy, true);
  const chunk = chunkOf(v);
  assert.equal(chunk.buffer, ring.sab, "a view, not a copy");
  assert.equal(chunk.byteOffset - ring.data.byteOffset, ring.slotOffset(2));
  assert.equal(chunk.length, ring.slotLen(2) + ring.slotLen(3) + ring.slotLen(4));
  assert.equal(v.nextChunk(), null, "one write in flight at a time is the queue's job; caught up here");
  v.chunkWritten();
});

Deno.test("rtpInfoAt() gives seq/rtptime of the first packet sent per track", () => {
  const { ring, w, video, audio } = publisher();
  audio(50); // a: 5000, before the GOP: not sent
  video(true, 6000); // v: 1000
  audio(100); // a: 5001
  w.publish();
  const v = tcpSink(ring, ALL, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  const info = rtpInfoAt(v.reader, ALL.keys(), (t) => `rtsp://h/p/trackID=${t}`);
  assert.deepEqual(info, [
    { url: "rtsp://h/p/trackID=0", seq: 1000, rtptime: 6000 },
    { url: "rtsp://h/p/trackID=1", seq: 5001, rtptime: 100 },
  ]);
});

Deno.test("TcpSink copies with the viewer's own channels and leaves out tracks not set up", () => {
  const { ring, w, video, audio } = publisher();
  video(true, 0);
  audio(10);
  video(false, 3000);
  w.publish();
  const v = tcpSink(ring, new Map([[0, 10]]), POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  assert.equal(v.zeroCopy, false);
  const chunk = chunkOf(v);
  assert.notEqual(chunk.buffer, ring.sab);
  // Two video frames, channel 10, no audio.
  const first = 4 + ((chunk[2] << 8) | chunk[3]);
  assert.equal(chunk[0], 0x24);
  assert.equal(chunk[1], 10);
  assert.equal(chunk[first], 0x24);
  assert.equal(chunk[first + 1], 10);
  assert.equal(chunk.length, ring.slotLen(0) + ring.slotLen(2));
});

Deno.test("TcpSink waits for a keyframe when the stream has none yet", () => {
  const { ring, w, video } = publisher();
  video(false, 0);
  w.publish();
  const v = tcpSink(ring, ALL, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  video(false, 3000);
  w.publish();
  assert.equal(v.nextChunk(), null);
  video(true, 6000);
  w.publish();
  const chunk = chunkOf(v);
  assert.equal(chunk.byteOffset - ring.data.byteOffset, ring.slotOffset(2));
});

Deno.test("TcpSink skips a lagging viewer to the newest keyframe and counts it", () => {
  const { ring, w, video } = publisher();
  const counters = { skips: 0, skippedPackets: 0, drops: 0 };
  video(true, 0, 1000);
  w.publish();
  const v = tcpSink(ring, ALL, { ...POLICY, maxWriteBytes: 2000 }, counters);
  v.nextChunk();
  v.chunkWritten();
  // The viewer sleeps while ~90% of the ring is written, ending with a new GOP.
  for (let i = 0; i < 110; i++) video(false, i, 1000);
  video(true, 999, 1000);
  const gop = w.nextSeq - 1;
  video(false, 1000, 1000);
  w.publish();
  const chunk = chunkOf(v);
  assert.equal(counters.skips, 1);
  assert.equal(counters.skippedPackets, gop - 1, "everything between the first packet and the GOP");
  assert.equal(v.reader.skips, 1);
  assert.equal(v.reader.skippedPackets, gop - 1);
  assert.ok(v.reader.lastSkip!.includes("skipped to the newest keyframe"));
  assert.equal(chunk.byteOffset - ring.data.byteOffset, ring.slotOffset(gop));
});

Deno.test("RingReader.safe() drops a viewer whose unfinished write the writer is about to reach", () => {
  const { ring, w, video } = publisher();
  const counters = { skips: 0, skippedPackets: 0, drops: 0 };
  video(true, 0, 1000);
  w.publish();
  const v = tcpSink(ring, ALL, POLICY, counters);
  assert.ok(v.nextChunk()); // in flight, never completes
  assert.equal(v.reader.safe(ring.writePos()), true);
  for (let i = 0; i < 100; i++) video(false, i, 1000);
  w.publish();
  assert.equal(v.reader.safe(ring.writePos()), false);
  assert.equal(counters.drops, 1);
  assert.equal(v.nextChunk(), null);
});

Deno.test("TcpSink counts written packets per track in batches; a report syncs the rest", () => {
  const ring = SharedRing.create(4096, 1 << 20, 2);
  const w = new RingWriter(ring);
  const send = (track: number, n: number, payload = 100) => {
    for (let i = 0; i < n; i++) {
      const p = buildRtpPacket({
        payloadType: 96,
        sequence: i,
        timestamp: 0,
        ssrc: 1,
        payload: new Uint8Array(payload),
      });
      w.append(p, 0, p.length, track, 0);
    }
  };
  const seq = w.nextSeq;
  send(0, 1);
  w.markGopStart(seq);
  send(0, 9);
  send(1, 5);
  w.publish();
  const v = tcpSink(ring, new Map([[0, 0], [1, 2]]), POLICY, {
    skips: 0,
    skippedPackets: 0,
    drops: 0,
  });
  assert.ok(v.nextChunk() !== null);
  v.chunkWritten();
  assert.deepEqual(v.sentPackets, [0, 0], "a batch is not full yet");
  v.syncCounts();
  assert.deepEqual(v.sentPackets, [10, 5]);
  assert.deepEqual(v.sentOctets, [1000, 500]);
  // 300 more packets: counted without a sync once a batch is full.
  send(1, 300);
  w.publish();
  while (v.nextChunk() !== null) v.chunkWritten();
  assert.deepEqual(v.sentPackets, [10, 305]);
});

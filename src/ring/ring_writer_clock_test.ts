// RingWriter's part in RTCP: payload sizes in the slot flags (senders' octet counts) and the
// AppendObserver that keeps the clock mapping (stream/publisher_clock.ts).
import assert from "node:assert/strict";
import { type AppendObserver, RingWriter } from "./ring_writer.ts";
import { SharedRing } from "./shared_ring.ts";
import { SLOT_FLAG_GOP_START, SLOT_FLAG_OVERHEAD_SHIFT, SLOT_FLAG_TRACK_MASK } from "./ring_layout.ts";
import { buildRtpPacket } from "../rtp/rtp_header.ts";

Deno.test("RingWriter.append() keeps the overhead in the slot flags beside the track and GOP flag", () => {
  const ring = SharedRing.create(64, 1 << 17, 2);
  const w = new RingWriter(ring);
  const p = new Uint8Array(12 + 4 + 50 + 2);
  p[0] = 0x80 | 0x20 | 1; // one CSRC, 2 bytes of padding
  p[p.length - 1] = 2;
  const seq = w.append(p, 0, p.length, 1, 0, SLOT_FLAG_GOP_START);
  const flags = ring.slotFlags(seq);
  assert.equal(flags & SLOT_FLAG_TRACK_MASK, 1);
  assert.ok(ring.isGopStart(seq));
  assert.equal(flags >>> SLOT_FLAG_OVERHEAD_SHIFT, 18);
  assert.equal(ring.slotLen(seq) - 4 - (flags >>> SLOT_FLAG_OVERHEAD_SHIFT), 50, "the payload");
});

Deno.test("RingWriter tells its clock observer of each packet, before readers can see it", () => {
  const ring = SharedRing.create(64, 1 << 17, 2);
  const w = new RingWriter(ring);
  const seen: [number, number, number][] = [];
  const observer: AppendObserver = {
    appended(track, ts, src, start) {
      assert.equal(ring.head(), 0, "not published yet");
      seen.push([track, ts, src[start + 11]]);
    },
  };
  w.clock = observer;
  const a = buildRtpPacket({
    payloadType: 96,
    sequence: 1,
    timestamp: 0xfffffff0,
    ssrc: 7,
    payload: new Uint8Array(4),
  });
  const b = buildRtpPacket({
    payloadType: 97,
    sequence: 9,
    timestamp: 44100,
    ssrc: 8,
    payload: new Uint8Array(4),
  });
  w.append(a, 0, a.length, 0, 0);
  w.append(b, 0, b.length, 1, 0);
  w.publish();
  assert.deepEqual(seen, [[0, 0xfffffff0, 7], [1, 44100, 8]]);
});

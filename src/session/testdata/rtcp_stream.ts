/** A two-track stream with its clock mapping, and a reader of RTCP frames, for the RTCP unit tests. */
import assert from "node:assert/strict";
import { RingWriter } from "../../ring/ring_writer.ts";
import { SharedRing } from "../../ring/shared_ring.ts";
import { buildRtpPacket } from "../../rtp/rtp_header.ts";
import { parseRtcpCompound, type RtcpPacket } from "../../rtcp/compound.ts";
import { PublisherClock } from "../../stream/publisher_clock.ts";
import type { ViewerPolicy } from "./tcp_sink.ts";

export const DATA = 1 << 17;
export const POLICY: ViewerPolicy = {
  maxWriteBytes: 1 << 20,
  skipLagPercent: 50,
  dropLagPercent: 75,
};
export const TRACKS = [{ clockRate: 90000 }, { clockRate: 44100 }];

/** A stream with a video and an audio track, its clock mapping from the server's clock. */
export function stream() {
  const ring = SharedRing.create(1024, DATA, 2);
  const w = new RingWriter(ring);
  w.clock = new PublisherClock(ring, TRACKS.map((t) => t.clockRate));
  const seqs = [100, 200];
  const send = (track: number, ts: number, payload = 100, csrcs = 0) => {
    const p = buildRtpPacket({
      payloadType: 96 + track,
      sequence: seqs[track]++,
      timestamp: ts,
      ssrc: track === 0 ? 0x71de0 : 0xa0d10,
      payload: new Uint8Array(payload),
    });
    let pkt = p;
    if (csrcs > 0) {
      // CSRCs count as header, not payload.
      pkt = new Uint8Array(p.length + 4 * csrcs);
      pkt.set(p.subarray(0, 12));
      pkt[0] |= csrcs;
      pkt.set(p.subarray(12), 12 + 4 * csrcs);
    }
    const seq = w.append(pkt, 0, pkt.length, track, 0);
    if (track === 0 && seqs[0] === 101) w.markGopStart(seq);
  };
  return { ring, w, send };
}

/** The frames of an interleaved buffer: channel and the RTCP packets in it. */
export function rtcpFrames(buf: Uint8Array, n: number): { channel: number; packets: RtcpPacket[] }[] {
  const out = [];
  for (let i = 0; i < n;) {
    assert.equal(buf[i], 0x24);
    const len = (buf[i + 2] << 8) | buf[i + 3];
    const packets = parseRtcpCompound(buf, i + 4, i + 4 + len);
    assert.ok(packets !== null, "RTCP");
    out.push({ channel: buf[i + 1], packets });
    i += 4 + len;
  }
  return out;
}

import assert from "node:assert/strict";
import { newClockMapping, readClockMapping } from "../ring/track_clock.ts";
import { parseRtcpCompound, type RtcpPacket } from "../rtcp/compound.ts";
import { unixMsFromNtp } from "../rtcp/ntp_time.ts";
import type { SenderReport } from "../rtcp/sender_report.ts";
import { DenoUdpEndpoint } from "../net/deno_udp.ts";
import { tcpSink } from "./testdata/tcp_sink.ts";
import { POLICY, rtcpFrames, stream, TRACKS } from "./testdata/rtcp_stream.ts";
import { SENDER_REPORT_INTERVAL_MS, SenderReports, streamCname } from "./sender_reports.ts";

function senderReport(packets: RtcpPacket[]): SenderReport {
  const sr = packets[0];
  assert.equal(sr.type, "sr");
  return (sr as { report: SenderReport }).report;
}

Deno.test("SenderReports: SSRC from the packets, RTP time from the mapping at the SR's NTP time, counts, CNAME", () => {
  const { ring, w, send } = stream();
  send(0, 3000);
  send(0, 3000, 50, 2);
  send(1, 1470);
  w.publish();
  const channels = new Map([[0, 0], [1, 2]]);
  const v = tcpSink(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  assert.ok(v.nextChunk() !== null);
  v.chunkWritten();
  v.syncCounts(); // counts are kept in batches; a report syncs them first
  assert.deepEqual(v.sentPackets, [2, 1]);
  assert.deepEqual(v.sentOctets, [150, 100], "payload only: CSRCs left out");
  const totals = { senderReports: 0 };
  const r = new SenderReports({ ring }, TRACKS, channels.keys(), v, 7, totals);
  const n = r.writeInterleaved(performance.now(), channels);
  const frames = rtcpFrames(r.buffer, n);
  assert.deepEqual(frames.map((f) => f.channel), [1, 3], "each track's RTCP channel");
  for (const [t, f] of frames.entries()) {
    const sr = senderReport(f.packets);
    assert.equal(sr.ssrc, t === 0 ? 0x71de0 : 0xa0d10);
    assert.equal(sr.packetCount, v.sentPackets[t]);
    assert.equal(sr.octetCount, v.sentOctets[t]);
    const m = newClockMapping();
    assert.ok(readClockMapping(ring.header, t, m));
    const elapsed = unixMsFromNtp(sr.ntpSeconds, sr.ntpFraction) - unixMsFromNtp(m.ntpSeconds, m.ntpFraction);
    assert.ok(elapsed >= 0 && elapsed < 1000, `SR ${elapsed} ms after the mapping`);
    const expected = m.rtpTimestamp + (elapsed * TRACKS[t].clockRate) / 1000;
    assert.ok(Math.abs(sr.rtpTimestamp - expected) <= 1, `RTP ${sr.rtpTimestamp} vs ${expected}`);
    assert.deepEqual(f.packets[1], {
      type: "sdes",
      chunks: [{ ssrc: sr.ssrc, items: [{ type: 1, text: streamCname(7) }] }],
    });
  }
  assert.equal(totals.senderReports, 2);
  assert.equal(r.sent, 2);
});

Deno.test("SenderReports are due at once, then every interval; a track's first report is owed before its first packet", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  w.publish();
  const channels = new Map([[0, 0], [1, 2]]);
  const v = tcpSink(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  const r = new SenderReports({ ring }, TRACKS, channels.keys(), v, 1);
  const t0 = performance.now();
  assert.ok(r.due(t0));
  const n = r.writeInterleaved(t0, channels);
  assert.deepEqual(rtcpFrames(r.buffer, n).map((f) => f.channel), [1], "audio has no packet yet");
  assert.ok(!r.due(t0 + SENDER_REPORT_INTERVAL_MS - 1));
  assert.ok(r.due(t0 + SENDER_REPORT_INTERVAL_MS));
  assert.ok(r.owesFirst(1) && !r.owesFirst(0));
  assert.ok(v.nextChunk() !== null);
  assert.equal(r.firstOwed(), false, "audio has no packet yet");
  v.chunkWritten();
  v.syncCounts(); // counts are kept in batches; a report syncs them first
  assert.deepEqual(v.sentPackets, [1, 0], "counted once written");
  send(1, 0);
  w.publish();
  assert.equal(r.firstOwed(), true, "audio has a packet: its first report is owed before the next chunk");
  assert.ok(v.nextChunk() !== null);
  v.syncCounts();
  assert.deepEqual(v.sentPackets, [1, 0], "not counted before it is written");
  r.writeInterleaved(t0, channels);
  assert.equal(r.firstOwed(), false);
});

Deno.test("SenderReports: a track without a clock rate gets none; the copy path counts only set-up tracks", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  send(1, 0);
  w.publish();
  const channels = new Map([[1, 6]]); // audio only, on channels 6-7: the copy path
  const v = tcpSink(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  assert.ok(v.nextChunk() !== null);
  v.chunkWritten();
  v.syncCounts(); // counts are kept in batches; a report syncs them first
  assert.deepEqual(v.sentPackets, [0, 1]);
  const r = new SenderReports({ ring }, [{ clockRate: 90000 }, { clockRate: 0 }], channels.keys(), v, 1);
  assert.equal(r.owesFirst(1), false);
  assert.equal(r.writeInterleaved(performance.now(), channels), 0);
  const r2 = new SenderReports({ ring }, TRACKS, channels.keys(), v, 1);
  const n = r2.writeInterleaved(performance.now(), channels);
  assert.deepEqual(rtcpFrames(r2.buffer, n).map((f) => f.channel), [7]);
});

Deno.test("SenderReports.sendDatagrams() sends each track's compound packet to its RTCP address", async () => {
  const { ring, w, send } = stream();
  send(0, 0);
  send(1, 0);
  w.publish();
  const channels = new Map([[0, 0], [1, 2]]);
  const v = tcpSink(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const ep = new DenoUdpEndpoint("127.0.0.1", 0, () => {});
  try {
    const port = (sock.addr as Deno.NetAddr).port;
    const r = new SenderReports({ ring }, TRACKS, channels.keys(), v, 3);
    const bytes = r.sendDatagrams(performance.now(), ep, [null, DenoUdpEndpoint.address("127.0.0.1", port)]);
    const [d] = await sock.receive();
    assert.equal(bytes, d.length);
    const packets = parseRtcpCompound(d, 0, d.length)!;
    assert.equal(senderReport(packets).ssrc, 0xa0d10, "the audio track's, the only one with an address");
    assert.equal(packets[1].type, "sdes");
  } finally {
    ep.close();
    sock.close();
  }
});

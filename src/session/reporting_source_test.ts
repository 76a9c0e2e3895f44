import assert from "node:assert/strict";
import { RingViewer } from "./ring_viewer.ts";
import { ReportingSource } from "./reporting_source.ts";
import { SENDER_REPORT_INTERVAL_MS, SenderReports } from "./sender_reports.ts";
import { POLICY, rtcpFrames, stream, TRACKS } from "./testdata/rtcp_stream.ts";
import type { SenderReport } from "../rtcp/sender_report.ts";

/** What the source hands its write queue next: "rtcp <channels>", "rtp <channels>", or null. */
function next(src: ReportingSource): string | null {
  const buf = src.nextChunk();
  if (buf === null) return null;
  const chans: number[] = [];
  for (let i = src.chunkStart; i < src.chunkEnd; i += 4 + ((buf[i + 2] << 8) | buf[i + 3])) {
    assert.equal(buf[i], 0x24, "whole interleaved frames");
    chans.push(buf[i + 1]);
  }
  const rtcp = buf[src.chunkStart + 5] >= 200 && buf[src.chunkStart + 5] <= 204;
  src.chunkWritten();
  return `${rtcp ? "rtcp" : "rtp"} ${chans.join(",")}`;
}

Deno.test("ReportingSource: reports before the first packets, a late track's report before its first packet", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  send(0, 3000);
  w.publish();
  const channels = new Map([[0, 0], [1, 2]]);
  const v = new RingViewer(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  const src = new ReportingSource(v, new SenderReports(ring, TRACKS, channels.keys(), v, 1), channels);
  assert.equal(next(src), "rtcp 1", "video's report first (audio has no packet yet)");
  assert.equal(next(src), "rtp 0,0");
  assert.equal(next(src), null);
  send(0, 6000);
  send(1, 1470);
  w.publish();
  assert.equal(next(src), "rtcp 1,3", "audio's first report goes before its first packet");
  assert.equal(next(src), "rtp 0,2", "then the chunk held back");
  assert.equal(next(src), null);
  send(0, 9000);
  w.publish();
  assert.equal(next(src), "rtp 0", "nothing due before the interval");
});

Deno.test("ReportingSource: the reports count what went before them, on the viewer's own channels", () => {
  const { ring, w, send } = stream();
  send(0, 0, 100);
  send(1, 0, 40);
  w.publish();
  const channels = new Map([[0, 10], [1, 4]]);
  const v = new RingViewer(ring, channels, POLICY, { skips: 0, skippedPackets: 0, drops: 0 });
  const reports = new SenderReports(ring, TRACKS, channels.keys(), v, 1);
  const src = new ReportingSource(v, reports, channels);
  assert.equal(next(src), "rtcp 11,5");
  assert.equal(next(src), "rtp 10,4");
  send(0, 3000, 100);
  w.publish();
  // Not due yet: force the next batch as the interval would.
  const n = reports.writeInterleaved(performance.now() + SENDER_REPORT_INTERVAL_MS, channels);
  const buf = reports.buffer;
  assert.equal(next(src), "rtp 10");
  const counts = rtcpFrames(buf, n).map((f) => {
    const sr = f.packets[0] as { report: SenderReport };
    return [f.channel, sr.report.packetCount, sr.report.octetCount];
  });
  assert.deepEqual(counts, [[11, 1, 100], [5, 1, 40]], "what was handed out when they were built");
});

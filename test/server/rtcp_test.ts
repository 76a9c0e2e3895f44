/**
 * RTCP over raw sockets: Sender Reports to TCP and UDP viewers (first before any RTP, then every
 * interval; the publisher's NTP↔RTP mapping, or the server's clock; counts of what was sent), and
 * receiver reports from viewers in the API, never reaching the publisher.
 */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import type { Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { startPublisher, type SyntheticPublisher } from "../support/synthetic_publisher.ts";
import { playTcp, playUdp, type UdpViewer } from "../support/viewers.ts";
import { until } from "../support/proc.ts";
import { ignoreSocketClosed } from "../support/expected_errors.ts";
import { Logger } from "../../src/log/logger.ts";
import { startApi, type StreamStatus } from "../../src/api/http_api.ts";
import type { SessionReport } from "../../src/cluster/messages.ts";
import { parseRtcpCompound } from "../../src/rtcp/compound.ts";
import { ntpFraction, ntpMiddle32, ntpSeconds, unixMsFromNtp } from "../../src/rtcp/ntp_time.ts";
import { type SenderReport, writeSenderReport } from "../../src/rtcp/sender_report.ts";
import { writeReceiverReport } from "../../src/rtcp/receiver_report.ts";
import { SENDER_REPORT_INTERVAL_MS } from "../../src/session/sender_reports.ts";
import { SR_OFFSET_TOLERANCE_MS } from "../../src/stream/publisher_clock.ts";

/** The synthetic publisher's SSRCs and clock rates (test/support/synthetic_publisher.ts). */
const SSRC = [0x71de0, 0xa0d10];
const RATE = [90000, 44100];
/** NTP timestamps and rounded RTP times put a mapping this far (ms) from the exact one. */
const ROUNDING_MS = 0.1;

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Sender Report (first packet) of an RTCP compound packet, checking an SDES CNAME follows. */
function senderReportOf(bytes: Uint8Array): SenderReport {
  const packets = parseRtcpCompound(bytes, 0, bytes.length);
  assert.ok(packets !== null && packets[0].type === "sr", "an SR first");
  const sdes = packets[1];
  assert.ok(sdes?.type === "sdes" && sdes.chunks[0].items[0].type === 1, "then an SDES CNAME");
  assert.equal(sdes.chunks[0].ssrc, packets[0].report.ssrc);
  return packets[0].report;
}

/** A publisher's SR for `track`: its mapping is `rtp` at wall-clock `ms`. */
function publisherSr(track: number, ms: number, rtp: number): Uint8Array {
  const b = new Uint8Array(28);
  writeSenderReport(
    {
      ssrc: SSRC[track],
      ntpSeconds: ntpSeconds(ms),
      ntpFraction: ntpFraction(ms),
      rtpTimestamp: rtp,
      packetCount: 0,
      octetCount: 0,
      reports: [],
    },
    b,
    0,
  );
  return b;
}

/** |RTP time of sr − the mapping (ms ↔ rtp) at the SR's NTP time|, in ms of the track's clock. */
function offMs(sr: SenderReport, track: number, ms: number, rtp: number): number {
  const at = unixMsFromNtp(sr.ntpSeconds, sr.ntpFraction);
  const expected = rtp + ((at - ms) * RATE[track]) / 1000;
  const ticks = ((sr.rtpTimestamp - (expected >>> 0)) << 0) - (expected - Math.floor(expected));
  return (ticks * 1000) / RATE[track];
}

/** Datagrams one socket received, with their source port, in order. */
class Collector {
  readonly got: { data: Uint8Array; port: number }[] = [];
  constructor(sock: Deno.DatagramConn) {
    (async () => {
      try {
        for await (const [data, addr] of sock) this.got.push({ data, port: (addr as Deno.NetAddr).port });
      } catch (e) {
        // Expected: the socket closed by the test ends the loop; anything else fails the test.
        ignoreSocketClosed(e);
      }
    })();
  }
}

/** Payload octets (RTP header left out: the synthetic publisher sends 12-byte headers) of packets. */
const octets = (ps: Uint8Array[]) => ps.reduce((n, p) => n + p.length - 12, 0);

/**
 * A bound on how long what the publisher sent before now took to reach the server: the time until
 * the answer to a request sent after it (the server reads a connection in order).
 */
async function reachedBy(pub: SyntheticPublisher): Promise<number> {
  assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
  return wall();
}

/** Sends a frame every 100 ms until stopped, so viewers keep being woken. */
function keepSending(pub: SyntheticPublisher): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      await pub.sendFrames(1, 10);
      await sleep(100);
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

Deno.test("TCP and UDP viewers get Sender Reports with the publisher's mapping: first before any RTP, then each interval", async () => {
  await withServer({ workers: 2 }, async (server) => {
    const pub = await startPublisher(server.port, "rtcp/sr");
    let tcp: RtspTestClient | null = null;
    let udp: UdpViewer | null = null;
    try {
      // The publisher's mapping: video 5,000,000 and audio 2,000,000 at W0 (its clock is ours here).
      const w0 = wall();
      const pubRtp = [5_000_000, 2_000_000];
      // A few rounds of SRs, as publishers send them: the server takes the least delayed one,
      // which took at most `leastDelay` ms to arrive (the shortest time to an answer after a round).
      let leastDelay = Infinity;
      for (let i = 0; i < 5; i++) {
        const now = wall();
        for (const t of [0, 1]) {
          await pub.client.sendFrame(
            2 * t + 1,
            publisherSr(t, now, pubRtp[t] + Math.round(((now - w0) * RATE[t]) / 1000)),
          );
        }
        leastDelay = Math.min(leastDelay, (await reachedBy(pub)) - now);
      }
      // The server's offset from the publisher's clock is that delay, or up to its tolerance more
      // (a later SR only lowers it when that much sooner): its SRs lag the mapping by as much.
      const slack = leastDelay + SR_OFFSET_TOLERANCE_MS + ROUNDING_MS;
      await pub.sendFrames(12, 10);
      tcp = await playTcp(server.port, "rtcp/sr");
      udp = await playUdp(server.port, "rtcp/sr");
      const rtp = [new Collector(udp.sockets[0]), new Collector(udp.sockets[2])];
      const rtcp = [new Collector(udp.sockets[1]), new Collector(udp.sockets[3])];
      const stop = keepSending(pub);
      const c = tcp;
      const twoEach = () =>
        [1, 3].every((ch) => c.rtcpFrames.filter((f) => f.channel === ch).length >= 2) &&
        rtcp.every((r) => r.got.length >= 2);
      const ok = await c.waitFrames(twoEach, SENDER_REPORT_INTERVAL_MS + 3000);
      await stop();
      assert.ok(ok, `two SRs per track: TCP ${c.rtcpFrames.length}, UDP ${rtcp.map((r) => r.got.length)}`);

      // TCP: on each track's RTCP channel, the first before the track's first RTP packet.
      for (const track of [0, 1]) {
        const rtpCh = 2 * track;
        const srs = c.rtcpFrames.filter((f) => f.channel === rtpCh + 1);
        const firstRtp = c.frames.findIndex((f: Frame) => f.channel === rtpCh);
        assert.ok(firstRtp >= 0);
        assert.ok(srs[0].at <= firstRtp, `track ${track}: SR at ${srs[0].at}, first RTP at ${firstRtp}`);
        const reports = srs.map((f) => senderReportOf(f.payload));
        assert.equal(
          reports[0].packetCount,
          0,
          `track ${track}: ${
            JSON.stringify(srs.map((f) => [f.at, senderReportOf(f.payload).packetCount]))
          } first rtp ${firstRtp}`,
        );
        const gap = unixMsFromNtp(reports[1].ntpSeconds, reports[1].ntpFraction) -
          unixMsFromNtp(reports[0].ntpSeconds, reports[0].ntpFraction);
        // Not before the interval is up, and at the next interval's turn, none skipped.
        assert.ok(
          gap >= SENDER_REPORT_INTERVAL_MS - 50 && gap < 2 * SENDER_REPORT_INTERVAL_MS,
          `track ${track}: next SR ${gap} ms later`,
        );
        for (const [i, sr] of reports.entries()) {
          assert.equal(sr.ssrc, SSRC[track], "the SSRC of the publisher's packets");
          const off = offMs(sr, track, w0, pubRtp[track]);
          assert.ok(
            off <= ROUNDING_MS && off >= -slack,
            `track ${track} SR ${i}: ${off.toFixed(3)} ms off the mapping (${slack.toFixed(3)} allowed)`,
          );
          // Counts: the RTP packets of the track before the SR in the byte stream.
          const before = c.frames.slice(0, srs[i].at).filter((f) => f.channel === rtpCh).map((f) =>
            f.payload
          );
          assert.equal(sr.packetCount, before.length, `track ${track} SR ${i} packet count`);
          assert.equal(sr.octetCount, octets(before), `track ${track} SR ${i} octet count`);
        }
      }

      // UDP: from the server's RTCP port to the client's; the first counts nothing (sent before any RTP).
      for (const track of [0, 1]) {
        const srs = rtcp[track].got.map((d) => ({ sr: senderReportOf(d.data), port: d.port }));
        assert.ok(srs.every((s) => s.port === udp!.serverPorts[track] + 1), "from the worker's RTCP port");
        assert.equal(srs[0].sr.packetCount, 0);
        assert.equal(srs[0].sr.octetCount, 0);
        for (const [i, { sr }] of srs.entries()) {
          assert.equal(sr.ssrc, SSRC[track]);
          const off = offMs(sr, track, w0, pubRtp[track]);
          assert.ok(
            off <= ROUNDING_MS && off >= -slack,
            `UDP track ${track} SR ${i}: ${off.toFixed(3)} ms off (${slack.toFixed(3)} allowed)`,
          );
          // Datagrams of one socket arrive in order: the SR counts the first packetCount of them.
          await until(() => rtp[track].got.length >= sr.packetCount, 2000, "the packets the SR counts");
          const sent = rtp[track].got.slice(0, sr.packetCount).map((d) => d.data);
          assert.equal(sr.octetCount, octets(sent), `UDP track ${track} SR ${i} octet count`);
        }
        assert.ok(srs[1].sr.packetCount > 0);
      }
    } finally {
      tcp?.close();
      udp?.close();
      pub.close();
    }
  });
});

Deno.test("without publisher SRs, viewers' SRs map each track's timestamps to the packets' arrival", async () => {
  await withServer({}, async (server) => {
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const pub = await startPublisher(server.port, "rtcp/clock");
    let tcp: RtspTestClient | null = null;
    try {
      // Frame f (video ts 3000·f, audio ts 1470·f: both 33.3 ms per frame) leaves at start + f·33.3 ms
      // or later, and arrives at most `late` ms after that (bounded by the answer to a request after it).
      const start = wall();
      let late = 0;
      for (let f = 0; f < 20; f++) {
        const due = start + (f * 1000) / 30;
        while (wall() < due) await sleep(1);
        await pub.sendFrames(1, 10);
        late = Math.max(late, (await reachedBy(pub)) - due);
      }
      tcp = await playTcp(server.port, "rtcp/clock");
      const c = tcp;
      assert.ok(await c.waitFrames(() => c.rtcpFrames.length >= 2), "an SR per track");
      for (const f of c.rtcpFrames.slice(0, 2)) {
        const track = (f.channel - 1) / 2;
        const sr = senderReportOf(f.payload);
        // The server maps a packet's arrival (the first's, or a less delayed one's) to its timestamp:
        // no sooner than it left, at most `late` after.
        const off = offMs(sr, track, start, 0);
        assert.ok(
          off <= ROUNDING_MS && off >= -(late + ROUNDING_MS),
          `track ${track}: ${off.toFixed(3)} ms off the arrival mapping (${late.toFixed(3)} allowed)`,
        );
      }
      const r = await fetch(`http://127.0.0.1:${api.port}/v1/streams`);
      const { streams } = await r.json() as { streams: StreamStatus[] };
      assert.deepEqual(streams[0].tracks.map((t) => t.clock), ["server", "server"]);
    } finally {
      tcp?.close();
      pub.close();
      await api.close();
    }
  });
});

Deno.test("viewers' receiver reports show in the API and never reach the publisher; RTCP garbage is counted", async () => {
  await withServer({ workers: 2 }, async (server) => {
    const api = await startApi("127.0.0.1", 0, server, new Logger("error"));
    const url = `http://127.0.0.1:${api.port}`;
    const pub = await startPublisher(server.port, "rtcp/rr");
    let tcp: RtspTestClient | null = null;
    let udp: UdpViewer | null = null;
    try {
      await pub.client.sendFrame(1, publisherSr(0, wall(), 0));
      // A publisher's own receiver report (empty) is read too.
      await pub.client.sendFrame(1, new Uint8Array([0x80, 201, 0, 1, 0, 0, 0, 9]));
      await pub.sendFrames(12, 10);
      tcp = await playTcp(server.port, "rtcp/rr");
      udp = await playUdp(server.port, "rtcp/rr");
      const c = tcp;
      assert.ok(await c.waitFrames(() => c.rtcpFrames.some((f) => f.channel === 1)));
      const sr = senderReportOf(c.rtcpFrames.find((f) => f.channel === 1)!.payload);
      const rr = (fractionLost: number, cumulativeLost: number, jitter: number, lastSr = 0) => {
        const b = new Uint8Array(32);
        writeReceiverReport(
          {
            ssrc: 0x5eed,
            reports: [{
              ssrc: sr.ssrc,
              fractionLost,
              cumulativeLost,
              highestSeq: 1000,
              jitter,
              lastSr,
              delaySinceLastSr: 0,
            }],
          },
          b,
          0,
        );
        return b;
      };
      // TCP: 25% lost, 7 in all, 10 ms of jitter, echoing the SR it got.
      await c.sendFrame(1, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])); // not RTCP (read before the RR)
      await c.sendFrame(1, rr(64, 7, 900, ntpMiddle32(sr.ntpSeconds, sr.ntpFraction)));
      // UDP: 50% lost, 3 in all, 5 ms, from its RTCP port to the worker's.
      await udp.sockets[1].send(rr(128, 3, 450), {
        transport: "udp",
        hostname: "127.0.0.1",
        port: udp.serverPorts[0] + 1,
      });

      const srMs = unixMsFromNtp(sr.ntpSeconds, sr.ntpFraction);
      let s: StreamStatus | undefined;
      await until(
        async () => {
          const r = await fetch(`${url}/v1/streams`);
          s = (await r.json() as { streams: StreamStatus[] }).streams[0];
          return s.viewerReports.count === 2;
        },
        5000,
        "both viewers' reports in /v1/streams",
      );
      // The TCP viewer's report arrived after the SR it echoes was stamped and before the API showed it.
      const seen = wall();
      const v = s!.viewerReports;
      assert.equal(v.fractionLostMax, 0.5);
      assert.equal(v.cumulativeLost, 10);
      assert.equal(v.jitterMaxMs, 10);
      assert.ok(
        v.roundTripMaxMs !== null && v.roundTripMaxMs >= 0 && v.roundTripMaxMs <= seen - srMs + ROUNDING_MS,
        `round trip ${v.roundTripMaxMs} ms, ${(seen - srMs).toFixed(3)} ms from the SR to the API's answer`,
      );
      assert.deepEqual(s!.tracks.map((t) => t.clock), ["publisher", "server"]);

      const r = await fetch(`${url}/v1/sessions`);
      const sessions = (await r.json() as { sessions: SessionReport[] }).sessions;
      const port = (x: RtspTestClient) => `127.0.0.1:${(x.conn.localAddr as Deno.NetAddr).port}`;
      const row = (x: RtspTestClient) => sessions.find((e) => e.peer === port(x))!;
      assert.deepEqual(
        { ...row(c).receiverReport!, roundTripMs: 0, ageMs: 0 },
        { fractionLost: 0.25, cumulativeLost: 7, jitterMs: 10, roundTripMs: 0, ageMs: 0 },
      );
      assert.equal(row(udp.client).receiverReport!.fractionLost, 0.5);
      assert.equal(row(udp.client).receiverReport!.roundTripMs, null, "no SR echoed");
      assert.equal(row(pub.client).receiverReport, undefined);

      const metrics = await (await fetch(`${url}/metrics`)).text();
      const sum = (name: string) =>
        [...metrics.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} (\\d+)$`, "gm"))].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
      assert.equal(sum("dm_live_rtcp_in_total"), 4, "publisher SR and RR, two viewer RRs");
      assert.equal(sum("dm_live_rtcp_invalid_total"), 1);
      assert.ok(sum("dm_live_sender_reports_total") >= 4);
      // Nothing a viewer sent came back to the publisher, and the viewer keeps playing.
      await pub.sendFrames(2, 10);
      assert.ok(await c.waitFrames((fs) => fs.length > 0 && !c.closed));
      assert.deepEqual([pub.client.frames.length, pub.client.rtcpFrames.length], [0, 0]);
    } finally {
      tcp?.close();
      udp?.close();
      pub.close();
      await api.close();
    }
  });
});

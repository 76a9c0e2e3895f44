/**
 * The contract both viewer sinks keep (viewer_sink.ts), run against each: the TCP sink over a real
 * write queue on a socket that takes every byte, the UDP sink on endpoints that record datagrams.
 */
import assert from "node:assert/strict";
import type { ByteSocket } from "../net/byte_socket.ts";
import type { UdpAddress, UdpEndpoint } from "../net/udp_endpoint.ts";
import { WriteQueue } from "../net/write_queue.ts";
import { RingReader } from "../ring/ring_reader.ts";
import { parseRtcpCompound } from "../rtcp/compound.ts";
import { rtpSequence } from "../rtp/rtp_header.ts";
import { passClock } from "../stream/pass_clock.ts";
import { SenderReports, type SentCounts } from "./sender_reports.ts";
import { TcpSink } from "./tcp_sink.ts";
import { POLICY, stream, TRACKS } from "./testdata/rtcp_stream.ts";
import { UdpSink } from "./udp_sink.ts";
import type { ViewerSink } from "./viewer_sink.ts";

/** What the viewer received, in order: a Sender Report about a track, or an RTP packet (track, seq). */
type Received = ["sr", number] | ["rtp", number, number];

interface SinkUnderTest {
  sink: ViewerSink;
  received: Received[];
}

const ALL = new Map([[0, 0], [1, 2]]);

function reportsFor(ring: ReturnType<typeof stream>["ring"]) {
  return (counts: SentCounts) => new SenderReports({ ring }, TRACKS, ALL.keys(), counts, 1);
}

function tcpSink(reader: RingReader): SinkUnderTest {
  const received: Received[] = [];
  const sock: ByteSocket = {
    peer: "test:1",
    read: () => new Promise(() => {}),
    write(buf, start, end) {
      for (let i = start; i < end;) {
        assert.equal(buf[i], 0x24, "whole interleaved frames, never torn");
        const ch = buf[i + 1];
        const len = (buf[i + 2] << 8) | buf[i + 3];
        if (ch % 2 === 1) {
          const p = parseRtcpCompound(buf, i + 4, i + 4 + len);
          assert.ok(p !== null && p[0].type === "sr");
          received.push(["sr", (ch - 1) / 2]);
        } else received.push(["rtp", ch / 2, rtpSequence(buf, i + 4)]);
        i += 4 + len;
      }
      return end - start;
    },
    close() {},
  };
  const writer = new WriteQueue(sock, 1 << 20, (e) => {
    throw e;
  });
  return { sink: new TcpSink(reader, ALL, 1 << 20, { writer, reports: reportsFor(reader.ring) }), received };
}

function udpSink(reader: RingReader): SinkUnderTest {
  const received: Received[] = [];
  const addr = (port: number): UdpAddress => ({
    host: "127.0.0.1",
    port,
    sockaddr: new Uint8Array(16),
    sockaddrAddr: 0,
  });
  const endpoint = (rtcp: boolean): UdpEndpoint => ({
    port: rtcp ? 9001 : 9000,
    send(buf, start, end, to) {
      const track = (to.port - (rtcp ? 5001 : 5000)) / 2;
      if (rtcp) {
        const p = parseRtcpCompound(buf, start, end);
        assert.ok(p !== null && p[0].type === "sr");
        received.push(["sr", track]);
      } else received.push(["rtp", track, rtpSequence(buf, start)]);
      return true;
    },
    flush: () => 0,
    close() {},
  });
  const sink = new UdpSink(
    reader,
    {
      rtp: endpoint(false),
      rtpTo: [addr(5000), addr(5002)],
      rtcp: endpoint(true),
      rtcpTo: [addr(5001), addr(5003)],
      reports: reportsFor(reader.ring),
      flush: () => {},
    },
    { bytesOut: 0, udpSendDrops: 0 },
    { udpBytesOut: 0 },
  );
  return { sink, received };
}

function runSinkContract(name: string, make: (reader: RingReader) => SinkUnderTest): void {
  const setup = () => {
    const s = stream();
    s.send(1, 100); // audio before the first GOP: not sent
    s.send(0, 3000); // the GOP start (video seq 100)
    s.send(1, 1470);
    s.send(0, 6000);
    s.w.publish();
    const counters = { skips: 0, skippedPackets: 0, drops: 0 };
    const reader = new RingReader(s.ring, POLICY, counters);
    return { ...s, counters, ...make(reader) };
  };
  const wake = (t: SinkUnderTest, ring: ReturnType<typeof stream>["ring"]) => {
    passClock.now = performance.now();
    assert.equal(t.sink.wake(ring.writePos()), true);
  };

  Deno.test(`${name}: start() sends each track's Sender Report before its first packet, then the GOP burst`, () => {
    const t = setup();
    t.sink.start();
    assert.deepEqual(t.received, [["sr", 0], ["sr", 1], ["rtp", 0, 100], ["rtp", 1, 201], ["rtp", 0, 101]]);
    assert.equal(t.sink.packetsSent, 3);
  });

  Deno.test(`${name}: wake() sends what was published since, in order, once`, () => {
    const t = setup();
    t.sink.start();
    t.received.length = 0;
    t.send(0, 9000);
    t.send(1, 2940);
    wake(t, t.ring);
    t.w.publish();
    wake(t, t.ring);
    wake(t, t.ring);
    assert.deepEqual(t.received, [["rtp", 0, 102], ["rtp", 1, 202]]);
  });

  Deno.test(`${name}: a viewer left behind skips to the newest GOP start, counted`, () => {
    const t = setup();
    t.sink.start();
    t.received.length = 0;
    // More than the skip lag (half the ring) published while the viewer was not woken.
    for (let i = 0; i < 600; i++) t.send(1, 3000 + i);
    t.w.publish();
    const gop = t.w.nextSeq;
    t.send(0, 99000);
    t.w.markGopStart(gop);
    t.send(1, 9999);
    t.w.publish();
    wake(t, t.ring);
    assert.equal(t.counters.skips, 1);
    assert.equal(t.sink.reader.skips, 1);
    assert.deepEqual(t.received.filter((r) => r[0] === "rtp"), [["rtp", 0, 102], ["rtp", 1, 802]]);
  });

  Deno.test(`${name}: after stop() nothing more is sent`, () => {
    const t = setup();
    t.sink.start();
    t.sink.stop();
    t.received.length = 0;
    t.send(0, 9000);
    t.w.publish();
    t.sink.wake(t.ring.writePos());
    assert.deepEqual(t.received, []);
  });
}

runSinkContract("TcpSink", tcpSink);
runSinkContract("UdpSink", udpSink);

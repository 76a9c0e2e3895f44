import assert from "node:assert/strict";
import { RingWriter } from "../ring/ring_writer.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { clockSsrc, newClockMapping, readClockMapping } from "../ring/track_clock.ts";
import { CLOCK_SOURCE_SENDER_REPORT, CLOCK_SOURCE_SERVER } from "../ring/ring_layout.ts";
import { buildRtpPacket } from "../rtp/rtp_header.ts";
import { ntpFraction, ntpSeconds, unixMsFromNtp } from "../rtcp/ntp_time.ts";
import {
  CLOCK_JUMP_MS,
  PublisherClock,
  SENDER_REPORT_DRIFT_WINDOW_MS,
  SENDER_REPORT_STALE_MS,
  SERVER_CLOCK_TOLERANCE_MS,
  SERVER_CLOCK_WINDOW_MS,
} from "./publisher_clock.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

/** A ring with a video (90 kHz) and an audio (48 kHz) track, a writer and a clock on a fake wall clock. */
function setup(timestampOffset: ((t: number) => number) | null = null) {
  const ring = SharedRing.create(256, 1 << 17, 2);
  const w = new RingWriter(ring);
  const time = { now: T0 };
  const clock = new PublisherClock(ring, [90000, 48000], timestampOffset, () => time.now);
  w.clock = clock;
  let seq = 0;
  const send = (track: number, ts: number, ssrc = track === 0 ? 0x1111 : 0x2222) => {
    const p = buildRtpPacket({
      payloadType: 96 + track,
      sequence: seq++,
      timestamp: ts,
      ssrc,
      payload: new Uint8Array(8),
    });
    w.append(p, 0, p.length, track, 0);
  };
  const mapping = (track: number) => {
    const m = newClockMapping();
    assert.ok(readClockMapping(ring.header, track, m), `track ${track} has a mapping`);
    return { ms: unixMsFromNtp(m.ntpSeconds, m.ntpFraction), rtp: m.rtpTimestamp, source: m.source };
  };
  return { ring, clock, time, send, mapping };
}

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 0.01, `${what}: ${a} vs ${b}`);

Deno.test("without Sender Reports a track's first packet maps its arrival to its timestamp", () => {
  const { ring, time, send, mapping } = setup();
  send(0, 1000);
  let m = mapping(0);
  near(m.ms, T0, "arrival");
  assert.equal(m.rtp, 1000);
  assert.equal(m.source, CLOCK_SOURCE_SERVER);
  assert.equal(clockSsrc(ring.header, 0), 0x1111);
  // On time, or a little late: the mapping stays.
  time.now += 40;
  send(0, 1000 + 3000);
  time.now += 33;
  send(0, 1000 + 6000);
  m = mapping(0);
  near(m.ms, T0, "unchanged");
  assert.equal(m.rtp, 1000);
});

Deno.test("the least delayed packet of a window moves the mapping when it is off by more than the tolerance", () => {
  const { time, send, mapping } = setup();
  // The first packet came 30 ms late: later ones show the publisher's clock is 30 ms earlier.
  send(1, 0);
  const step = 20; // ms per audio packet, 960 ticks at 48 kHz
  let ts = 0;
  for (let ms = step; ms <= SERVER_CLOCK_WINDOW_MS + 100; ms += step) {
    ts += 960;
    time.now = T0 + ms - 30 + (ms % 60 === 0 ? 7 : 0); // jitter on top
    send(1, ts);
  }
  const m = mapping(1);
  const at = T0 - 30 + (m.rtp * 1000) / 48000;
  near(m.ms, at, "mapped to a least delayed packet");
  assert.ok(SERVER_CLOCK_TOLERANCE_MS < 30);
});

Deno.test("a timestamp jump maps anew at once", () => {
  const { time, send, mapping } = setup();
  send(0, 5000);
  time.now += 33;
  send(0, 5000 + 90000 * 3600); // an hour ahead in RTP time
  const m = mapping(0);
  near(m.ms, T0 + 33, "the jumped packet's arrival");
  assert.equal(m.rtp, 5000 + 90000 * 3600);
  assert.ok(CLOCK_JUMP_MS < 3600_000);
});

Deno.test("Sender Reports set the mapping on the server's clock, with one offset for every track", () => {
  const { clock, time, send, mapping } = setup();
  send(0, 100);
  send(1, 200);
  // The publisher's clock is 2 s behind ours; its SRs arrive 5 ms after they are sent.
  const pub = T0 - 2000;
  time.now = T0 + 5;
  clock.senderReport(0, ntpSeconds(pub), ntpFraction(pub), 900_000, time.now);
  time.now = T0 + 1005;
  clock.senderReport(1, ntpSeconds(pub + 1000), ntpFraction(pub + 1000), 480_000, time.now);
  const v = mapping(0);
  const a = mapping(1);
  assert.equal(v.source, CLOCK_SOURCE_SENDER_REPORT);
  assert.equal(a.source, CLOCK_SOURCE_SENDER_REPORT);
  near(v.ms, T0 + 5, "video: the SR's instant on the server's clock");
  assert.equal(v.rtp, 900_000);
  near(a.ms - v.ms, 1000, "audio keeps the publisher's relation to video");
  // Packets no longer move the mapping while SRs are fresh.
  time.now += 3000;
  send(0, 100 + 90000 * 3600);
  assert.equal(mapping(0).rtp, 900_000);
  assert.equal(clock.senderReports, 2);
});

Deno.test("when Sender Reports stop, the server's clock takes the track over", () => {
  const { clock, time, send, mapping } = setup();
  send(0, 0);
  clock.senderReport(0, ntpSeconds(T0), ntpFraction(T0), 0, T0);
  time.now = T0 + SENDER_REPORT_STALE_MS + 1;
  send(0, 12345);
  const m = mapping(0);
  assert.equal(m.source, CLOCK_SOURCE_SERVER);
  assert.equal(m.rtp, 12345);
  near(m.ms, time.now, "arrival of the first packet after");
});

Deno.test("receive() takes the SR's track from its SSRC, else from the channel it came on; RRs change nothing", () => {
  const { clock, send, mapping } = setup();
  send(0, 0, 0xaaaa);
  send(1, 0, 0xbbbb);
  const sr = (ssrc: number, rtp: number) => ({
    type: "sr" as const,
    report: {
      ssrc,
      ntpSeconds: ntpSeconds(T0),
      ntpFraction: ntpFraction(T0),
      rtpTimestamp: rtp,
      packetCount: 0,
      octetCount: 0,
      reports: [],
    },
  });
  // Audio's SR on video's channel: its SSRC says audio.
  assert.equal(clock.receive(0, [sr(0xbbbb, 777), { type: "rr", report: { ssrc: 1, reports: [] } }], T0), 1);
  assert.equal(mapping(1).rtp, 777);
  assert.equal(mapping(0).source, CLOCK_SOURCE_SERVER);
  // An unknown SSRC: the channel's track.
  clock.receive(0, [sr(0xcccc, 555)], T0);
  assert.equal(mapping(0).rtp, 555);
});

Deno.test("a continued stream's SR waits for the track's first packet, then gets its timestamp offset", () => {
  const offsets = [1_000_000, 0];
  const { clock, send, mapping, ring } = setup((t) => offsets[t]);
  // The previous publisher's mapping is still there; the new one's SR comes before its packets.
  clock.senderReport(0, ntpSeconds(T0), ntpFraction(T0), 5000, T0);
  assert.equal(readClockMapping(ring.header, 0, newClockMapping()), false, "not applied yet");
  send(0, 5000 + 1_000_000);
  const m = mapping(0);
  assert.equal(m.source, CLOCK_SOURCE_SENDER_REPORT);
  assert.equal(m.rtp, 1_005_000);
  near(m.ms, T0, "the SR's instant");
});

Deno.test("a less delayed SR lowers the offset and moves every track; SRs all later for a window raise it", () => {
  const { clock, time, send, mapping } = setup();
  send(0, 0);
  send(1, 0);
  // The publisher's clock equals ours. Video's SR took 20 ms to arrive, audio's 2 ms.
  clock.senderReport(0, ntpSeconds(T0), ntpFraction(T0), 90_000, T0 + 20);
  near(mapping(0).ms, T0 + 20, "video on the first SR's offset");
  clock.senderReport(1, ntpSeconds(T0 + 100), ntpFraction(T0 + 100), 48_000, T0 + 102);
  near(mapping(1).ms, T0 + 102, "audio");
  near(mapping(0).ms, T0 + 2, "video moved with the lower offset, before its next SR");
  // The publisher's clock falls behind ours by 10 ms: once a whole window of SRs shows it, the offset follows.
  let t = T0 + 1000;
  for (; t <= T0 + 1000 + SENDER_REPORT_DRIFT_WINDOW_MS + 1000; t += 1000) {
    clock.senderReport(1, ntpSeconds(t - 10), ntpFraction(t - 10), 48_000, t + 2);
    clock.senderReport(0, ntpSeconds(t - 10), ntpFraction(t - 10), 90_000, t + 2);
  }
  t -= 1000;
  near(mapping(0).ms, t + 2, "video at the raised offset: 10 ms behind, 2 ms of delay");
  near(mapping(1).ms, t + 2, "audio too");
  time.now = t;
});

Deno.test("a continued stream goes on from the previous publisher's mapping; its SRs are aligned to it", () => {
  // The first publisher: video mapped from the server's clock, timestamp 0 at T0.
  const first = setup();
  first.send(0, 0);
  const ring = first.ring;
  // The second one's timestamps get 900,000 added (10 s at 90 kHz: it starts 10 s later).
  const time = { now: T0 + 10_000 };
  const clock = new PublisherClock(ring, [90000, 48000], () => 900_000, () => time.now);
  // Its SR (its clock 2 s behind ours) says its timestamp 0 is now; its first packet comes 100 ms later.
  clock.senderReport(0, ntpSeconds(time.now - 2000), ntpFraction(time.now - 2000), 0, time.now);
  time.now += 100;
  clock.appended(0, 9000 + 900_000, new Uint8Array(12), 0);
  const m = first.mapping(0);
  assert.equal(m.source, CLOCK_SOURCE_SENDER_REPORT);
  // Where the previous mapping puts the rewritten timestamp of the SR's instant: T0 + 10 s.
  near(m.ms - (m.rtp - 900_000) / 90, T0 + 10_000, "aligned with the previous mapping");
  // A later SR that arrives sooner than that alignment does not move the timeline back.
  time.now += 1000;
  clock.senderReport(0, ntpSeconds(time.now - 2000), ntpFraction(time.now - 2000), 99_000, time.now);
  const later = first.mapping(0);
  near(later.ms - (later.rtp - 900_000) / 90, T0 + 10_000, "still aligned");
});

Deno.test("a continued stream's tracks never map earlier than the previous publisher left them", () => {
  // The first publisher: both tracks mapped from the server's clock, timestamp 0 at T0.
  const first = setup();
  first.send(0, 0);
  first.send(1, 0);
  const ring = first.ring;
  const time = { now: T0 + 10_000 };
  // The second one's timestamps go on 10 s later on both tracks.
  const offsets = [900_000, 480_000];
  const clock = new PublisherClock(ring, [90000, 48000], (t) => offsets[t], () => time.now);
  clock.appended(0, 900_000, new Uint8Array(12), 0);
  clock.appended(1, 480_000, new Uint8Array(12), 0);
  // Its video SR: its timestamp 0 is now (T0 + 10 s on the previous mapping): the offset aligns to it.
  clock.senderReport(0, ntpSeconds(time.now), ntpFraction(time.now), 0, time.now);
  const previousAt = (m: { ms: number; rtp: number }, rate: number, off: number) =>
    m.ms - (m.rtp - off) / rate * 1000;
  near(previousAt(first.mapping(0), 90000, 900_000), T0 + 10_000, "video aligned");
  // Its audio SR says its timestamp 0 was 20 ms later than video's: with video's offset, audio would
  // map 20 ms before where the previous publisher left it. The offset rises instead; video moves on.
  clock.senderReport(1, ntpSeconds(time.now - 20), ntpFraction(time.now - 20), 0, time.now);
  near(previousAt(first.mapping(1), 48000, 480_000), T0 + 10_000, "audio not moved back");
  near(previousAt(first.mapping(0), 90000, 900_000), T0 + 10_020, "video moved forward with the offset");
  // A third publisher whose video SR would map video later than before (a forward step) does not
  // lower the offset its audio SR aligned: audio stays where it was.
  const third = new PublisherClock(ring, [90000, 48000], (t) => offsets[t], () => time.now);
  third.appended(0, 900_000, new Uint8Array(12), 0);
  third.appended(1, 480_000, new Uint8Array(12), 0);
  third.senderReport(1, ntpSeconds(time.now), ntpFraction(time.now), 0, time.now);
  third.senderReport(0, ntpSeconds(time.now + 40), ntpFraction(time.now + 40), 0, time.now);
  near(previousAt(first.mapping(1), 48000, 480_000), T0 + 10_000, "audio kept its place");
  near(previousAt(first.mapping(0), 90000, 900_000), T0 + 10_040, "video steps forward");
});

Deno.test("a continued stream without SRs keeps the previous mapping for its rewritten timestamps", () => {
  const first = setup();
  first.send(1, 48_000);
  const time = { now: T0 + 5000 };
  const clock = new PublisherClock(first.ring, [90000, 48000], () => 0, () => time.now);
  // The rewritten timestamps go on 5 s later, as the previous mapping predicts: nothing to change.
  clock.appended(1, 48_000 + 5 * 48_000, new Uint8Array(12), 0);
  const m = first.mapping(1);
  near(m.ms, T0, "the previous mapping, unchanged");
  assert.equal(m.rtp, 48_000);
});

Deno.test("a continued stream's server-clock mapping steps forward but never back", () => {
  const first = setup();
  first.send(0, 0);
  const time = { now: T0 + 5000 };
  const clock = new PublisherClock(first.ring, [90000, 48000], () => 0, () => time.now);
  // Its frames arrive 20 ms sooner than the previous mapping predicts for a whole window (a
  // restarted camera's first frames in a burst): the timeline stays where the viewers have it.
  for (let i = 0; i <= SERVER_CLOCK_WINDOW_MS / 100; i++) {
    clock.appended(0, (5000 + 20 + i * 100) * 90, new Uint8Array(12), 0);
    time.now += 100;
  }
  near(first.mapping(0).ms, T0, "not moved back");
  assert.equal(first.mapping(0).rtp, 0);
  // Frames 20 ms later than the mapping for a window: it steps forward to them.
  for (let i = 0; i <= SERVER_CLOCK_WINDOW_MS / 100; i++) {
    const at = time.now;
    clock.appended(0, (at - T0 - 20) * 90, new Uint8Array(12), 0);
    time.now += 100;
  }
  const m = first.mapping(0);
  assert.equal(m.source, CLOCK_SOURCE_SERVER);
  near(m.ms - m.rtp / 90, T0 + 20, "moved forward by 20 ms");
});

Deno.test("a continued stream aligned ahead of its new publisher's SRs never steps back to them", () => {
  // A cluster edge's new source first sends its cached GOP: the rewritten timeline runs 2.3 s ahead
  // of what the source's SRs say, more than a clock step. Stepping back was ffmpeg's "non
  // monotonically increasing dts" on the edge's viewers.
  const first = setup();
  first.send(0, 0);
  const time = { now: T0 + 10_000 };
  // The rewriting adds 10 s + 2.3 s: where the previous mapping puts its timestamps is 2.3 s ahead.
  const offset = (10_000 + 2300) * 90;
  const clock = new PublisherClock(first.ring, [90000, 48000], () => offset, () => time.now);
  clock.appended(0, offset, new Uint8Array(12), 0);
  clock.senderReport(0, ntpSeconds(time.now), ntpFraction(time.now), 0, time.now);
  const aligned = first.mapping(0);
  const at = (m: { ms: number; rtp: number }) => m.ms - (m.rtp - offset) / 90;
  near(at(aligned), T0 + 12_300, "aligned to the previous timeline");
  // The next SRs say the source's own clock: 2.3 s behind the aligned offset. Not a step back.
  for (let i = 1; i <= 3; i++) {
    time.now += 1000;
    clock.senderReport(0, ntpSeconds(time.now), ntpFraction(time.now), i * 90_000, time.now);
    near(at(first.mapping(0)), T0 + 12_300, `SR ${i}: still on the previous timeline`);
  }
});

Deno.test("a continued stream without SRs whose timestamps run ahead of the clock is not mapped anew back", () => {
  const first = setup();
  first.send(0, 0);
  const time = { now: T0 + 5000 };
  const clock = new PublisherClock(first.ring, [90000, 48000], () => 0, () => time.now);
  // Its rewritten timestamps say 5 s + 3 s: 3 s ahead of the wall clock on the previous mapping.
  clock.appended(0, (5000 + 3000) * 90, new Uint8Array(12), 0);
  time.now += 100;
  clock.appended(0, (5000 + 3100) * 90, new Uint8Array(12), 0);
  const m = first.mapping(0);
  near(m.ms, T0, "the previous mapping kept");
  assert.equal(m.rtp, 0);
});

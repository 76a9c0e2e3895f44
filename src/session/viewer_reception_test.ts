import assert from "node:assert/strict";
import { ViewerReception } from "./viewer_reception.ts";
import { stream, TRACKS } from "./testdata/rtcp_stream.ts";
import type { RtcpPacket } from "../rtcp/compound.ts";
import { ntpFraction, ntpMiddle32, ntpSeconds } from "../rtcp/ntp_time.ts";

const rr = (
  blocks: Partial<
    {
      ssrc: number;
      highestSeq: number;
      fractionLost: number;
      cumulativeLost: number;
      jitter: number;
      lastSr: number;
      delaySinceLastSr: number;
    }
  >[],
): RtcpPacket => ({
  type: "rr",
  report: {
    ssrc: 0x5eed,
    reports: blocks.map((b) => ({
      ssrc: 0,
      fractionLost: 0,
      cumulativeLost: 0,
      highestSeq: 70000, // a receiver past its first sequence cycle
      jitter: 0,
      lastSr: 0,
      delaySinceLastSr: 0,
      ...b,
    })),
  },
});

Deno.test("ViewerReception: latest loss, jitter in ms at the track's clock rate, round trip from LSR/DLSR", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  send(1, 0);
  w.publish();
  const r = new ViewerReception({ ring }, TRACKS, [0, 1]);
  assert.equal(r.summary(performance.now()), null, "nothing before a report");
  const wall = Date.UTC(2026, 0, 1);
  const lsr = ntpMiddle32(ntpSeconds(wall - 250), ntpFraction(wall - 250));
  // Video's block (by SSRC, arriving on audio's channel), and a block with an unknown SSRC: the channel's track.
  r.receive(
    1,
    [rr([{
      ssrc: 0x71de0,
      fractionLost: 64,
      cumulativeLost: 10,
      jitter: 900,
      lastSr: lsr,
      delaySinceLastSr: 65536 / 10,
    }])],
    wall,
    1000,
  );
  r.receive(1, [rr([{ ssrc: 0x1234, fractionLost: 128, cumulativeLost: 3, jitter: 441 }])], wall, 2000);
  const s = r.summary(2500)!;
  assert.equal(s.fractionLost, 0.5);
  assert.equal(s.cumulativeLost, 13);
  assert.equal(s.jitterMs, 10, "900 ticks at 90 kHz; audio's 441 at 44.1 kHz is 10 too");
  assert.ok(Math.abs(s.roundTripMs! - 150) < 0.1, `round trip ${s.roundTripMs}`);
  assert.equal(s.ageMs, 500);
  // A newer report replaces the track's figures.
  r.receive(0, [rr([{ ssrc: 0x71de0, fractionLost: 0, cumulativeLost: 11, jitter: 90 }])], wall, 3000);
  assert.deepEqual({ ...r.summary(3000)!, roundTripMs: null }, {
    fractionLost: 0.5,
    cumulativeLost: 14,
    jitterMs: 10,
    roundTripMs: null,
    ageMs: 0,
  });
});

Deno.test("ViewerReception ignores blocks about tracks the viewer did not set up, and SDES or BYE", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  w.publish();
  const r = new ViewerReception({ ring }, TRACKS, [1]);
  r.receive(
    0,
    [rr([{ ssrc: 0x999, fractionLost: 200 }]), { type: "bye", bye: { ssrcs: [1], reason: "" } }],
    0,
    0,
  );
  assert.equal(r.summary(0), null);
  assert.equal(r.blocks, 0);
});

Deno.test("ViewerReception leaves out implausible blocks: loss beyond the sequence reported, seconds of jitter", () => {
  const { ring, w, send } = stream();
  send(0, 0);
  w.publish();
  const r = new ViewerReception({ ring }, TRACKS, [0]);
  r.receive(0, [rr([{ cumulativeLost: 8_388_607, highestSeq: 5000 }])], 0, 0);
  r.receive(0, [rr([{ jitter: 90000 * 97_391, highestSeq: 5000 }])], 0, 0);
  assert.equal(r.summary(0), null, "nothing taken");
  assert.equal(r.implausible, 2);
  r.receive(0, [rr([{ cumulativeLost: 7, highestSeq: 5000, jitter: 900, fractionLost: 64 }])], 0, 0);
  const s = r.summary(0)!;
  assert.deepEqual([s.cumulativeLost, s.jitterMs, s.fractionLost], [7, 10, 0.25]);
});

import assert from "node:assert/strict";
import { ntpFraction, ntpMiddle32, ntpSeconds, roundTripMs, unixMsFromNtp } from "./ntp_time.ts";

Deno.test("NTP timestamps of known instants (RFC 5905: the Unix epoch is 2208988800 s after 1900)", () => {
  assert.equal(ntpSeconds(0), 2208988800);
  assert.equal(ntpFraction(0), 0);
  assert.equal(ntpSeconds(1500), 2208988801);
  assert.equal(ntpFraction(1500), 0x80000000, "half a second");
  assert.equal(ntpFraction(250), 0x40000000);
  // 2036-02-07T06:28:16Z: era 0 ends, the seconds word wraps to 0.
  const wrap = Date.UTC(2036, 1, 7, 6, 28, 16);
  assert.equal(ntpSeconds(wrap), 0);
  assert.equal(ntpSeconds(wrap - 1000), 0xffffffff);
});

Deno.test("unixMsFromNtp() inverts the conversion to well under a microsecond, on both sides of 2036", () => {
  for (
    const ms of [
      0,
      1,
      999.999,
      Date.UTC(2026, 10, 24, 12, 0, 0, 123.456),
      Date.UTC(2036, 1, 7, 6, 28, 16, 500),
    ]
  ) {
    const back = unixMsFromNtp(ntpSeconds(ms), ntpFraction(ms));
    assert.ok(Math.abs(back - ms) < 1e-3, `${ms} → ${back}`);
  }
});

Deno.test("ntpMiddle32() keeps the low 16 bits of the seconds and the high 16 of the fraction", () => {
  assert.equal(ntpMiddle32(0xe8b1c2d3, 0x80001234), 0xc2d38000);
});

Deno.test("roundTripMs() is arrival less LSR less DLSR, and null without an SR echoed", () => {
  const sent = Date.UTC(2026, 0, 1, 0, 0, 0, 0);
  const lsr = ntpMiddle32(ntpSeconds(sent), ntpFraction(sent));
  // Held 0.5 s by the receiver (DLSR 32768/65536 s), answered 0.6 s after our SR: 100 ms round trip.
  const rtt = roundTripMs(sent + 600, lsr, 32768)!;
  assert.ok(Math.abs(rtt - 100) < 0.1, `${rtt}`);
  assert.equal(roundTripMs(sent + 600, 0, 0), null);
  assert.equal(roundTripMs(sent + 100, lsr, 65536), null, "negative: the echo claims more delay than passed");
});

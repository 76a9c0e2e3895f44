import assert from "node:assert/strict";
import { RATE_WINDOW_MS, RateMeter } from "./rate_meter.ts";

Deno.test("RateMeter is 0 before any sample and at the sample's own instant", () => {
  const m = new RateMeter();
  assert.equal(m.perSecond(1000, 500), 0);
  m.sample(1000, 0);
  assert.equal(m.perSecond(1000, 500), 0);
});

Deno.test("RateMeter gives the exact growth per second since the sample", () => {
  const m = new RateMeter();
  m.sample(0, 0);
  m.sample(400, 999); // under a second after the last one: ignored
  assert.equal(m.perSecond(2000, 3000), 1500);
});

Deno.test("RateMeter looks back only over the window, so a change of rate shows within it", () => {
  const m = new RateMeter();
  // 1000 units/s for 10 s, sampled every second, then 4000 units/s for the last window.
  let total = 0;
  for (let t = 0; t <= 10_000; t += 1000) {
    m.sample(t, total);
    total += 1000;
  }
  total -= 1000;
  for (let t = 11_000; t <= 10_000 + RATE_WINDOW_MS; t += 1000) {
    total += 4000;
    m.sample(t, total);
  }
  assert.equal(m.perSecond(10_000 + RATE_WINDOW_MS, total), 4000);
});

Deno.test("RateMeter reads near 0 once the total stops growing", () => {
  const m = new RateMeter();
  m.sample(0, 0);
  m.sample(1000, 1000);
  assert.equal(m.perSecond(1000 + 10 * RATE_WINDOW_MS, 1000), 0);
});

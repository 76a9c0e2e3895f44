import assert from "node:assert/strict";
import { RingClasses } from "./ring_classes.ts";
import { RingSizer, SHRINK_WINDOW_MS } from "./ring_sizer.ts";

const KiB = 1024;
const classes = new RingClasses(256 * KiB, 8 << 20, 32768);

Deno.test("RingSizer grows as soon as the kept span passes half the ring, to the class that holds twice it", () => {
  const s = new RingSizer(classes, 0);
  assert.equal(s.observe(128 * KiB, 100, 256 * KiB, 1024, 1), null, "half: still fits");
  assert.equal(s.observe(128 * KiB + 1, 100, 256 * KiB, 1024, 2)?.dataBytes, 512 * KiB);
  assert.equal(
    s.observe(700 * KiB, 100, 256 * KiB, 1024, 3)?.dataBytes,
    2048 * KiB,
    "a late look jumps classes",
  );
  assert.equal(s.observe(10 * KiB, 513, 256 * KiB, 1024, 4)?.dataBytes, 512 * KiB, "slots count too");
  assert.equal(s.observe(6 << 20, 100, 8 << 20, 32768, 5), null, "the largest class is the most");
});

Deno.test("RingSizer shrinks only after a full window of spans an eighth of the ring or less, to twice what they need", () => {
  const s = new RingSizer(classes, 0);
  const cap = 4 << 20;
  let t = 0;
  const run = (span: number, ms: number) => {
    let got = null;
    for (const end = t + ms; t < end; t += 100) got = s.observe(span, 50, cap, 16384, t) ?? got;
    return got;
  };
  assert.equal(run(100 * KiB, SHRINK_WINDOW_MS), null, "not before a whole window was watched");
  const c = run(100 * KiB, SHRINK_WINDOW_MS + 200);
  assert.equal(c?.dataBytes, 512 * KiB, "need 256 KiB (twice 100 KiB): moves to twice that");
  s.reset(t);
  assert.equal(
    run(600 * KiB, 3 * SHRINK_WINDOW_MS),
    null,
    "a quarter of the ring: stays (twice too large is fine)",
  );
  s.reset(t);
  assert.equal(run(100 * KiB, SHRINK_WINDOW_MS + 200), null);
  run(900 * KiB, 100); // one large GOP in the window
  assert.equal(run(100 * KiB, SHRINK_WINDOW_MS), null, "the window's largest span decides");
});

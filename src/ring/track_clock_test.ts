import assert from "node:assert/strict";
import { SharedRing } from "./shared_ring.ts";
import {
  clockSource,
  clockSsrc,
  newClockMapping,
  readClockMapping,
  rtpTimestampAt,
  storeClockSsrc,
  writeClockMapping,
} from "./track_clock.ts";
import { CLOCK_SOURCE_NONE, CLOCK_SOURCE_SENDER_REPORT, CLOCK_SOURCE_SERVER } from "./ring_layout.ts";

const DATA = 1 << 17;

Deno.test("a track's clock mapping reads back as written, from another view of the same memory", () => {
  const ring = SharedRing.create(64, DATA, 2);
  const other = new SharedRing(ring.sab);
  const m = newClockMapping();
  assert.equal(readClockMapping(other.header, 0, m), false, "no mapping before the first write");
  assert.equal(clockSource(other.header, 0), CLOCK_SOURCE_NONE);
  writeClockMapping(ring.header, 0, 0xe8b1c2d3, 0x80000000, 0xfffffff0, CLOCK_SOURCE_SENDER_REPORT);
  storeClockSsrc(ring.header, 0, 0xdeadbeef);
  assert.equal(readClockMapping(other.header, 0, m), true);
  assert.deepEqual(m, {
    ntpSeconds: 0xe8b1c2d3,
    ntpFraction: 0x80000000,
    rtpTimestamp: 0xfffffff0,
    source: CLOCK_SOURCE_SENDER_REPORT,
  });
  assert.equal(clockSsrc(other.header, 0), 0xdeadbeef);
  assert.equal(readClockMapping(other.header, 1, m), false, "the other track is untouched");
  // The region lies past the per-track RTP-Info words and the slot index.
  assert.equal(other.trackLastSeq(0), 0, "RTP-Info words untouched");
});

Deno.test("rtpTimestampAt() moves the mapped timestamp on at the clock rate, wrapping at 2^32", () => {
  const m = { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0xffffff00, source: CLOCK_SOURCE_SERVER };
  assert.equal(rtpTimestampAt(m, 1000, 1000, 90000), 0xffffff00);
  assert.equal(rtpTimestampAt(m, 1000, 2000, 90000), (0xffffff00 + 90000) >>> 0);
  assert.equal(rtpTimestampAt(m, 1000, 999, 48000), 0xffffff00 - 48);
  assert.equal(rtpTimestampAt({ ...m, rtpTimestamp: 10 }, 1000, 900, 8000), (10 - 800) >>> 0);
});

Deno.test("a reader never sees a torn mapping while a Worker keeps rewriting it", async () => {
  const ring = SharedRing.create(64, DATA, 2);
  const worker = new Worker(new URL("./testdata/clock_writer_worker.ts", import.meta.url), {
    type: "module",
  });
  const writes = 2_000_000;
  const { promise: ready, resolve: onReady } = Promise.withResolvers<void>();
  const { promise: done, resolve: onDone } = Promise.withResolvers<void>();
  worker.onmessage = (e) => (e.data === "ready" ? onReady() : onDone());
  worker.postMessage({ sab: ring.sab, writes });
  await ready;
  const m = newClockMapping();
  let reads = 0;
  let distinct = 0;
  let last = -1;
  let finished = false;
  done.then(() => (finished = true));
  // Read while the writer runs: a seqlock without its generation checks fails this within a few reads.
  for (let round = 0; !finished && round < 10_000; round++) {
    for (let i = 0; i < 2000; i++) {
      if (!readClockMapping(ring.header, 1, m)) continue;
      reads++;
      assert.equal(m.ntpFraction, (m.ntpSeconds * 3) >>> 0, `fraction of mapping ${m.ntpSeconds}`);
      assert.equal(m.rtpTimestamp, (m.ntpSeconds * 7) >>> 0, `RTP of mapping ${m.ntpSeconds}`);
      if (m.ntpSeconds !== last) distinct++;
      last = m.ntpSeconds;
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  await done;
  worker.terminate();
  assert.ok(readClockMapping(ring.header, 1, m));
  assert.equal(m.ntpSeconds, writes, "the last write is what stays");
  assert.ok(reads > 1000 && distinct > 10, `${reads} reads saw ${distinct} mappings while they changed`);
});

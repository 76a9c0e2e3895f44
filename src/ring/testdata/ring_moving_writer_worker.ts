/// <reference lib="deno.worker" />
// Writes a stream from another thread, as a publisher's worker does, moving it to the next of the
// rings it was given every `perRing` packets (at a GOP start, as the feed's sizer would): packet i
// carries i in its RTP timestamp field and its last byte, every `gop`-th packet starts a GOP, and
// the ring is published every `batch` packets, as fast as it goes.
import { RingWriter } from "../ring_writer.ts";
import { SharedRing } from "../shared_ring.ts";

self.onmessage = (e: MessageEvent) => {
  const { sabs, packets, gop, batch, perRing } = e.data as {
    sabs: SharedArrayBuffer[];
    packets: number;
    gop: number;
    batch: number;
    perRing: number;
  };
  const rings = sabs.map((s) => new SharedRing(s));
  const w = new RingWriter(rings[0]);
  const p = new Uint8Array(1000);
  const view = new DataView(p.buffer);
  let next = 1;
  for (let i = 0; i < packets; i++) {
    const n = 40 + ((i * 7919) % 960);
    p[0] = 0x80;
    view.setUint32(4, i);
    p.fill(i & 0xff, 12, n);
    const seq = w.append(p, 0, n, i % 2, 0);
    if (i % gop === 0) w.markGopStart(seq);
    if (i % perRing === 0 && i > 0 && next < rings.length) w.offer(rings[next++]);
    if ((i + 1) % batch === 0) w.publish();
  }
  w.end();
  self.postMessage({ moves: w.moves });
};

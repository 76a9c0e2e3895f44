/// <reference lib="deno.worker" />
// Writes a ring from another thread, as a publisher's worker does: packet i carries i in its RTP
// sequence and timestamp fields and its last byte, every GOP-th packet starts a GOP, and the ring
// is published every `batch` packets, as fast as it goes.
import { RingWriter } from "../ring_writer.ts";
import { SharedRing } from "../shared_ring.ts";

self.onmessage = (e: MessageEvent) => {
  const { sab, packets, gop, batch, minBytes, maxBytes } = e.data as {
    sab: SharedArrayBuffer;
    packets: number;
    gop: number;
    batch: number;
    minBytes: number;
    maxBytes: number;
  };
  const w = new RingWriter(new SharedRing(sab));
  const p = new Uint8Array(maxBytes);
  for (let i = 0; i < packets; i++) {
    const n = minBytes + ((i * 7919) % (maxBytes - minBytes + 1));
    p[0] = 0x80;
    p[2] = (i >> 8) & 0xff;
    p[3] = i & 0xff;
    new DataView(p.buffer).setUint32(4, i);
    p.fill(i & 0xff, 12, n);
    const seq = w.append(p, 0, n, i % 2, 0);
    if (i % gop === 0) w.markGopStart(seq);
    if ((i + 1) % batch === 0) w.publish();
  }
  w.end();
  self.postMessage("done");
};

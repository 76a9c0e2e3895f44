/// <reference lib="deno.worker" />
// Reads a ring from another thread, as a viewer's worker does, and checks every packet.
import { HDR } from "../ring_layout.ts";
import { SharedRing } from "../shared_ring.ts";

self.onmessage = async (e: MessageEvent) => {
  const ring = new SharedRing(e.data.sab);
  self.postMessage("ready");
  let pos = 0;
  let count = 0;
  let errors = 0;
  for (;;) {
    const head = ring.head();
    while (pos !== head) {
      if (((ring.tail() - pos) | 0) > 0) {
        errors++; // lapped: the ring is big enough that this must not happen here
        pos = ring.tail();
        continue;
      }
      const off = ring.slotOffset(pos);
      const len = ring.slotLen(pos);
      const d = ring.data;
      const i = (d[off + 6] << 8) | d[off + 7];
      const n = len - 4;
      if (d[off] !== 0x24 || ((d[off + 2] << 8) | d[off + 3]) !== n || i !== (count & 0xffff)) errors++;
      else if (n > 12 && d[off + 4 + n - 1] !== (count & 0xff)) errors++;
      count++;
      pos = (pos + 1) | 0;
    }
    if (ring.ended() && pos === ring.head()) break;
    const r = Atomics.waitAsync(ring.header, HDR.HEAD, head, 1000);
    if (r.async) await r.value;
  }
  self.postMessage({ count, errors });
};

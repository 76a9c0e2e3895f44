/**
 * Reads a moving stream (ring_moving_writer_worker.ts) to its end with a RingReader over every ring
 * it may move to: counts the packets, and the ones out of order, torn or seen twice.
 */
import { RingReader } from "../ring_reader.ts";
import { SharedRing } from "../shared_ring.ts";
import { TestChain } from "./ring_chain.ts";

export interface MovingReadResult {
  count: number;
  errors: number;
  moves: number;
  /** Rings the reader still held at the end (0 after close()). */
  held: number;
}

export async function readMovingStream(sabs: SharedArrayBuffer[]): Promise<MovingReadResult> {
  const chain = new TestChain(sabs);
  const first = chain.rings.get(new SharedRing(sabs[0]).id)!;
  const r = new RingReader(first, { skipLagPercent: 50, dropLagPercent: 75 }, {
    skips: 0,
    skippedPackets: 0,
    drops: 0,
  }, chain);
  let next = 0;
  let errors = 0;
  for (;;) {
    while (r.ready()) {
      const ring = r.ring;
      const d = ring.data;
      for (let s = r.pos; s !== r.head; s = (s + 1) | 0) {
        const off = ring.slotOffset(s);
        const len = ring.slotLen(s);
        const n = len - 4;
        const i = new DataView(d.buffer, d.byteOffset).getUint32(off + 8);
        if (
          d[off] !== 0x24 || ((d[off + 2] << 8) | d[off + 3]) !== n || i !== next ||
          d[off + len - 1] !== (i & 0xff)
        ) {
          errors++;
        }
        next = i + 1;
      }
      r.advance(r.head);
      if (!r.intact(r.pos - 1)) errors++;
    }
    const ring = r.ring;
    const head = ring.head();
    if (ring.ended() && r.pos === head) break;
    const w = Atomics.waitAsync(ring.header, 0, head, 100);
    if (w.async) await w.value;
  }
  r.close();
  return { count: next, errors, moves: r.moves, held: chain.holds.size };
}

/** A RingChain over a fixed set of rings, as a worker's LocalStream is one, for ring tests. */
import type { RingChain } from "../ring_reader.ts";
import { SharedRing } from "../shared_ring.ts";

export class TestChain implements RingChain {
  readonly rings = new Map<number, SharedRing>();
  /** Holds per ring id (what readers hold now). */
  readonly holds = new Map<number, number>();

  constructor(sabs: Iterable<SharedArrayBuffer> = []) {
    for (const sab of sabs) this.add(sab);
  }

  add(sab: SharedArrayBuffer): SharedRing {
    const r = new SharedRing(sab);
    this.rings.set(r.id, r);
    return r;
  }

  successor(ring: SharedRing): SharedRing | undefined {
    const id = ring.movedTo();
    return id === 0 ? undefined : this.rings.get(id);
  }
  hold(ring: SharedRing): void {
    this.holds.set(ring.id, (this.holds.get(ring.id) ?? 0) + 1);
  }
  release(ring: SharedRing): void {
    const n = (this.holds.get(ring.id) ?? 0) - 1;
    if (n < 0) throw new Error(`ring ${ring.id} released more often than held`);
    if (n === 0) this.holds.delete(ring.id);
    else this.holds.set(ring.id, n);
  }
}

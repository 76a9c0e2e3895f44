import assert from "node:assert/strict";
import { PendingBodies } from "./pending_bodies.ts";

Deno.test("PendingBodies: holds per address up to the bound; a refused move changes nothing", () => {
  const p = new PendingBodies();
  assert.ok(p.move("a", 0, 100, 250));
  assert.ok(p.move("a", 0, 100, 250));
  assert.equal(p.held("a"), 200);
  assert.equal(p.move("a", 0, 100, 250), false, "past the bound");
  assert.equal(p.held("a"), 200);
  assert.ok(p.move("b", 0, 250, 250), "another address has its own bound");
  // A connection's hold may shrink or be released at any time, and then there is room again.
  assert.ok(p.move("a", 100, 0, 250));
  assert.ok(p.move("a", 0, 100, 250));
  assert.ok(p.move("a", 100, 40, 1));
  assert.equal(p.held("a"), 140);
  assert.ok(p.move("x", 0, 1_000_000, 0), "0: no bound");
  for (const [h, n] of [["a", 140], ["b", 250], ["x", 1_000_000]] as const) p.move(h, n, 0, 250);
  assert.equal(p.addresses, 0, "released addresses leave the map");
});

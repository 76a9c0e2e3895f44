import assert from "node:assert/strict";
import { placementOrder, placeOf, weight } from "./placement.ts";

Deno.test("placement: every node computes the same owner, whatever the order it lists the members in", () => {
  const members = ["edge-1", "edge-2", "edge-3", "origin"];
  for (let i = 0; i < 200; i++) {
    const path = `cams/${i}`;
    const a = placeOf(path, members);
    const b = placeOf(path, [...members].reverse());
    assert.deepEqual(a, b);
    assert.deepEqual(placementOrder(path, members)[0], a);
    assert.deepEqual(placementOrder(path, members), placementOrder(path, [...members].reverse()));
  }
  assert.deepEqual(placeOf("x", []), undefined);
});

Deno.test("placement: spreads paths evenly and moves only the departed member's paths", () => {
  const members = ["a", "b", "c", "d", "e"];
  const count = new Map<string, number>();
  const before = new Map<string, string>();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const p = `relay/cam-${i}`;
    const m = placeOf(p, members)!;
    before.set(p, m);
    count.set(m, (count.get(m) ?? 0) + 1);
  }
  for (const m of members) {
    const share = count.get(m)! / N;
    assert(share > 0.17 && share < 0.23, `${m} got ${share}`);
  }
  // "c" leaves: its paths go to the next member in their own order; no other path moves.
  const after = members.filter((m) => m !== "c");
  for (const [p, m] of before) {
    const now = placeOf(p, after)!;
    if (m !== "c") assert.deepEqual(now, m, p);
    else assert.deepEqual(now, placementOrder(p, members)[1], p);
  }
});

Deno.test("placement: the weight separates member from path", () => {
  assert(weight("ab", "c") !== weight("a", "bc"));
  assert.deepEqual(weight("n", "p"), weight("n", "p"));
});

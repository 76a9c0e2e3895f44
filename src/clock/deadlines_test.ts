import assert from "node:assert/strict";
import { Deadline, DeadlineQueue } from "./deadlines.ts";

/** Resolves once cond() holds (checked every few ms); fails after 10 s (a deadline never fired). */
async function until(cond: () => boolean): Promise<void> {
  const stop = performance.now() + 10_000;
  while (!cond()) {
    if (performance.now() > stop) throw new Error("the deadlines did not all fire");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("DeadlineQueue: deadlines fire once each, in the order they are due, whatever the order armed", async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  const mk = (name: string) => new Deadline(() => fired.push(name), q);
  const c = mk("c"), a = mk("a"), b = mk("b"), d = mk("d");
  c.arm(30);
  a.arm(5);
  d.arm(40);
  b.arm(15);
  assert.equal(q.size, 4);
  await until(() => fired.length === 4);
  assert.deepEqual(fired, ["a", "b", "c", "d"]);
  assert.equal(q.size, 0);
  assert.ok(!a.armed && !d.armed);
});

Deno.test("DeadlineQueue: re-arming moves a deadline (earlier and later), disarming drops it", async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  const x = new Deadline(() => fired.push("x"), q);
  const y = new Deadline(() => fired.push("y"), q);
  const z = new Deadline(() => fired.push("z"), q);
  x.arm(10);
  y.arm(20);
  z.arm(30);
  x.arm(40); // later: now after z
  z.arm(0); // earlier than the timer was set for
  y.disarm();
  await until(() => fired.length === 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fired, ["z", "x"], "y never fires");
});

Deno.test("DeadlineQueue: a deadline that arms itself again from its callback fires again", async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  let n = 0;
  const again: Deadline = new Deadline(() => {
    fired.push(`again${++n}`);
    if (n < 3) again.arm(10);
  }, q);
  const other = new Deadline(() => fired.push("other"), q);
  again.arm(0);
  other.arm(15);
  await until(() => fired.length === 4);
  assert.equal(fired[0], "again1");
  assert.deepEqual([...fired].sort(), ["again1", "again2", "again3", "other"]);
  assert.equal(q.size, 0);
});

Deno.test("DeadlineQueue: a callback that throws does not keep the others due with it from running", async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  const errors: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    errors.push(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    const bad = new Deadline(() => {
      throw new Error("boom");
    }, q);
    const good = new Deadline(() => fired.push("good"), q);
    const later = new Deadline(() => fired.push("later"), q);
    bad.arm(5);
    good.arm(5);
    later.arm(30);
    await until(() => fired.length === 2);
    assert.deepEqual(fired, ["good", "later"]);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, "boom");
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("DeadlineQueue: a thousand deadlines in a random order come out sorted", async () => {
  const q = new DeadlineQueue();
  const fired: number[] = [];
  const due: number[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const all: Deadline[] = [];
  for (let i = 0; i < 1000; i++) {
    const d: Deadline = new Deadline(() => fired.push(d.dueMs), q);
    all.push(d);
    d.arm(rand() * 40);
  }
  // Some are moved or dropped after the fact.
  for (let i = 0; i < 1000; i += 7) all[i].arm(rand() * 40);
  for (let i = 3; i < 1000; i += 11) all[i].disarm();
  for (const d of all) if (d.armed) due.push(d.dueMs);
  await until(() => fired.length >= due.length);
  assert.equal(fired.length, due.length);
  assert.deepEqual(fired, [...due].sort((a, b) => a - b));
});

Deno.test("DeadlineQueue: while pumped, due deadlines fire only at runDue (never early); unpumped, the timer again", async () => {
  const q = new DeadlineQueue();
  const fired: string[] = [];
  const soon = new Deadline(() => fired.push("soon"), q);
  const later = new Deadline(() => fired.push("later"), q);
  const after = new Deadline(() => fired.push("after"), q);
  soon.arm(1);
  later.arm(60_000);
  q.pump(true);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(fired, [], "no runtime timer while pumped");
  q.runDue();
  assert.deepEqual(fired, ["soon"], "the pump runs what is due, not what is not");
  assert.ok(later.armed);
  after.arm(1);
  q.pump(false);
  await until(() => fired.length === 2);
  assert.deepEqual(fired, ["soon", "after"]);
  later.disarm();
  assert.equal(q.size, 0);
});

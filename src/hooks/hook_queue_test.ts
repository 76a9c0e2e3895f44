import assert from "node:assert/strict";
import { Logger, type LogLevel } from "../log/logger.ts";
import { type HookClock, HookQueue, hookRetryDelayMs, type HookSettings } from "./hook_queue.ts";
import { type HookEvent, hookEvent } from "./hook_event.ts";

/** A clock whose timers fire only when the test advances it. */
class FakeClock implements HookClock {
  t = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (id: unknown) => void this.timers.delete(id as number);

  /** Moves time on by ms, firing each timer due at its own time, letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= target && (due === undefined || e[1].at < due[1].at)) due = e;
      }
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = target;
    await settle();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

type Answer = number | Error | "hang";

/** A fetch that answers each POST as `answer` says (a status, a thrown error, or never), recording each. */
function fakeFetch(clock: FakeClock, answer: (n: number, e: HookEvent) => Answer) {
  const calls: { at: number; event: HookEvent; headers: Headers }[] = [];
  const release: (() => void)[] = [];
  const fetch = (_url: string, init: RequestInit): Promise<Response> => {
    const event = JSON.parse(init.body as string) as HookEvent;
    calls.push({ at: clock.t, event, headers: new Headers(init.headers) });
    const a = answer(calls.length, event);
    if (a instanceof Error) return Promise.reject(a);
    if (a === "hang") {
      return new Promise((resolve, reject) => {
        release.push(() => resolve(new Response(null, { status: 204 })));
        init.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
    return Promise.resolve(new Response(null, { status: a }));
  };
  return { fetch, calls, release };
}

function setup(
  answer: (n: number, e: HookEvent) => Answer,
  settings: Partial<HookSettings> = {},
  random = 1,
) {
  const clock = new FakeClock();
  const f = fakeFetch(clock, answer);
  const lines: [LogLevel, string][] = [];
  const s: HookSettings = {
    url: "http://127.0.0.1:1/hook",
    timeoutMs: 5000,
    maxQueue: 1000,
    retryMinMs: 500,
    retryMaxMs: 30_000,
    maxRetries: 5,
    ...settings,
  };
  const q = new HookQueue(() => s, new Logger("debug", "", (l, line) => lines.push([l, line])), {
    fetch: f.fetch,
    clock,
    random: () => random,
  });
  return { q, clock, ...f, lines, s };
}

const ev = (n: number): HookEvent =>
  hookEvent({ event: "publish.stop", path: `p${n}`, streamId: n, reason: "test" }, 0);
const paths = (calls: { event: HookEvent }[]) => calls.map((c) => c.event.path);

Deno.test("HookQueue: events go out one at a time, in order, as JSON", async () => {
  const { q, clock, calls, release } = setup(() => "hang");
  for (const n of [1, 2, 3]) q.push(ev(n));
  await clock.advance(0);
  assert.deepEqual(paths(calls), ["p1"], "the second waits for the first's answer");
  assert.equal(q.counters.queued, 3);
  assert.equal(calls[0].headers.get("Content-Type"), "application/json");
  release.shift()!();
  await clock.advance(0);
  release.shift()!();
  await clock.advance(0);
  release.shift()!();
  await clock.advance(0);
  assert.deepEqual(paths(calls), ["p1", "p2", "p3"]);
  assert.deepEqual(q.counters, { sent: 3, failed: 0, retries: 0, dropped: 0, queued: 0 });
});

Deno.test("HookQueue: a full queue drops its oldest waiting events, counts them and logs once", async () => {
  const { q, clock, calls, release, lines } = setup(() => "hang", { maxQueue: 3 });
  for (let n = 1; n <= 6; n++) {
    q.push(ev(n));
    await clock.advance(0);
  }
  // 1 is in flight; 2..6 waited, and 2 and 3 went to keep 3 waiting.
  assert.deepEqual(q.counters, { sent: 0, failed: 0, retries: 0, dropped: 2, queued: 4 });
  const warned = lines.filter(([l]) => l === "warn");
  assert.equal(warned.length, 1, "one line per 10 s, not one per drop");
  assert.match(warned[0][1], /queue full \(hooks\.maxQueue 3\): dropped the 1 oldest/);
  for (let i = 0; i < 4; i++) {
    release.shift()!();
    await clock.advance(0);
  }
  assert.deepEqual(paths(calls), ["p1", "p4", "p5", "p6"]);
  assert.equal(q.counters.sent, 4);
});

Deno.test("HookQueue: failures are retried on the doubling, capped schedule, then dropped with one log line", async () => {
  const { q, clock, calls, lines } = setup(() => 503, { retryMinMs: 500, retryMaxMs: 2000, maxRetries: 4 });
  q.push(ev(1));
  await clock.advance(60_000);
  // Waits of 500, 1000, 2000 and 2000 (capped) with the jitter at its top.
  assert.deepEqual(calls.map((c) => c.at), [0, 500, 1500, 3500, 5500]);
  assert.deepEqual(q.counters, { sent: 0, failed: 1, retries: 4, dropped: 0, queued: 0 });
  const warned = lines.filter(([l]) => l === "warn").map(([, l]) => l);
  assert.equal(warned.length, 1);
  assert.match(warned[0], /publish\.stop of path 'p1' dropped after 5 attempt\(s\): HTTP 503/);
});

Deno.test("HookQueue: jitter takes up to half of each wait off; the next event waits for the retries", async () => {
  const { q, clock, calls } = setup((n) => n <= 2 ? new Error("connection refused") : 204, {}, 0);
  q.push(ev(1));
  q.push(ev(2));
  await clock.advance(10_000);
  assert.deepEqual(calls.map((c) => [c.event.path, c.at]), [["p1", 0], ["p1", 250], ["p1", 750], [
    "p2",
    750,
  ]]);
  assert.deepEqual(q.counters, { sent: 2, failed: 0, retries: 2, dropped: 0, queued: 0 });
});

Deno.test("HookQueue: a POST without an answer is aborted after timeoutMs and counts as a failure", async () => {
  const { q, clock, calls, lines } = setup(() => "hang", { timeoutMs: 5000, maxRetries: 1, retryMinMs: 100 });
  q.push(ev(1));
  await clock.advance(4999);
  assert.equal(calls.length, 1);
  await clock.advance(1);
  await clock.advance(100);
  assert.equal(calls.length, 2, "retried after the timeout and the backoff");
  assert.equal(calls[1].at, 5100);
  await clock.advance(5000);
  assert.equal(q.counters.failed, 1);
  assert.match(lines.at(-1)![1], /dropped after 2 attempt\(s\): no answer within 5000 ms/);
});

Deno.test("HookQueue: a 4xx is the receiver's final word, but 408 and 429 are retried", async () => {
  const { q, clock, calls } = setup((n) => [400, 429, 408, 200][n - 1] ?? 200);
  q.push(ev(1));
  q.push(ev(2));
  await clock.advance(10_000);
  assert.deepEqual(calls.map((c) => c.event.path), ["p1", "p2", "p2", "p2"]);
  assert.deepEqual(q.counters, { sent: 1, failed: 1, retries: 2, dropped: 0, queued: 0 });
});

Deno.test("HookQueue: with hooks.url empty nothing is queued, and turning it off drops what waits", async () => {
  const { q, clock, calls, release, s } = setup(() => "hang");
  s.url = "";
  q.push(ev(1));
  assert.equal(q.counters.queued, 0);
  s.url = "http://127.0.0.1:1/hook";
  q.push(ev(2));
  q.push(ev(3));
  await clock.advance(0);
  s.url = "";
  release.shift()!();
  await clock.advance(0);
  assert.deepEqual(paths(calls), ["p2"]);
  assert.deepEqual(q.counters, { sent: 1, failed: 0, retries: 0, dropped: 1, queued: 0 });
});

Deno.test("HookQueue: close() gives what is queued its bound, then aborts and drops the rest", async () => {
  const { q, clock, calls, lines } = setup(() => "hang", { timeoutMs: 60_000 });
  q.push(ev(1));
  q.push(ev(2));
  await clock.advance(0);
  let closed = false;
  q.close(1000).then(() => closed = true);
  await clock.advance(999);
  assert.equal(closed, false);
  await clock.advance(1);
  assert.equal(closed, true);
  await clock.advance(0);
  assert.deepEqual(paths(calls), ["p1"], "no retry while stopping");
  q.push(ev(3));
  assert.deepEqual(q.counters, { sent: 0, failed: 1, retries: 0, dropped: 2, queued: 0 });
  assert.ok(lines.some(([, l]) => /1 event\(s\) not sent: the server is stopping/.test(l)));
});

Deno.test("hookRetryDelayMs: doubling from the minimum, capped, jittered down by up to half", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => hookRetryDelayMs(n, 500, 30_000, () => 1)), [
    500,
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
  ]);
  assert.equal(hookRetryDelayMs(3, 500, 30_000, () => 0), 1000);
  assert.equal(hookRetryDelayMs(40, 500, 30_000, () => 0.5), 22500);
});

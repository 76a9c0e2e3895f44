import assert from "node:assert/strict";
import { HttpAuthClient, type HttpAuthQuestion } from "./http_auth.ts";
import { DEFAULT_AUTH_SETTINGS, type HttpAuthSettings } from "./permission.ts";

const URL_ = "http://auth.test/check";
const Q: HttpAuthQuestion = {
  user: "view",
  password: "pw",
  ip: "192.0.2.1",
  action: "read",
  path: "cams/front",
  protocol: "rtsp",
};

/** A fetch that records what it was asked and answers with `status` (or what `answer` gives). */
function fakeFetch(
  answer: (body: Record<string, unknown>, init: RequestInit) => Promise<Response> | Response,
) {
  const calls: { url: string; init: RequestInit; body: Record<string, unknown> }[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    const body = JSON.parse(init.body as string);
    calls.push({ url, init, body });
    return await answer(body, init);
  };
  return { calls, fetch };
}

function client(over: Partial<HttpAuthSettings>, fetch: (u: string, i: RequestInit) => Promise<Response>) {
  let now = 0;
  const c = new HttpAuthClient({ ...DEFAULT_AUTH_SETTINGS.http, url: URL_, ...over }, {
    fetch,
    now: () => now,
  });
  return { c, advance: (ms: number) => now += ms };
}

Deno.test("HttpAuthClient POSTs the question as JSON; 2xx allows, another 4xx denies", async () => {
  const f = fakeFetch((b) => new Response(null, { status: b.user === "view" ? 204 : 403 }));
  const { c } = client({}, f.fetch);
  assert.deepEqual(await c.ask(Q), { kind: "allow", cached: false });
  assert.equal(f.calls[0].url, URL_);
  assert.equal(f.calls[0].init.method, "POST");
  assert.equal(new Headers(f.calls[0].init.headers).get("Content-Type"), "application/json");
  assert.equal(f.calls[0].init.redirect, "manual");
  assert.deepEqual(f.calls[0].body, {
    user: "view",
    password: "pw",
    ip: "192.0.2.1",
    action: "read",
    path: "cams/front",
    protocol: "rtsp",
  });
  assert.deepEqual(await c.ask({ ...Q, user: "eve" }), { kind: "deny", status: 403, cached: false });
});

Deno.test("HttpAuthClient: 5xx, 408, 429, redirects, no connection and no answer in time are the server's failures", async () => {
  for (const status of [500, 503, 408, 429, 302]) {
    const { c } = client({}, fakeFetch(() => new Response(null, { status })).fetch);
    const a = await c.ask(Q);
    assert.equal(a.kind, "unavailable", `status ${status}`);
  }
  const refused = client({}, () => Promise.reject(new TypeError("connection refused")));
  const a = await refused.c.ask(Q);
  assert.equal(a.kind, "unavailable");
  assert.match((a as { reason: string }).reason, /could not be asked: connection refused/);

  // A server that never answers: aborted at timeoutMs.
  const hang = client({ timeoutMs: 100 }, (_u, init) =>
    new Promise((_r, reject) => {
      init.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    }));
  const t0 = performance.now();
  const late = await hang.c.ask(Q);
  assert.equal(late.kind, "unavailable");
  assert.match((late as { reason: string }).reason, /no answer within 100 ms/);
  assert.ok(performance.now() - t0 < 2000);
});

Deno.test("HttpAuthClient caches allows for cacheMs and denials for denyCacheMs; failures never", async () => {
  let status = 200;
  const f = fakeFetch(() => new Response(null, { status }));
  const { c, advance } = client({ cacheMs: 1000, denyCacheMs: 100 }, f.fetch);
  assert.deepEqual(await c.ask(Q), { kind: "allow", cached: false });
  assert.deepEqual(await c.ask(Q), { kind: "allow", cached: true });
  assert.equal(f.calls.length, 1, "the second question was not forwarded");
  // Another password, address or path is another question.
  await c.ask({ ...Q, password: "other" });
  await c.ask({ ...Q, ip: "192.0.2.2" });
  await c.ask({ ...Q, action: "publish" });
  assert.equal(f.calls.length, 4);
  advance(1000);
  status = 401;
  assert.deepEqual(await c.ask(Q), { kind: "deny", status: 401, cached: false }, "expired: asked again");
  assert.deepEqual(await c.ask(Q), { kind: "deny", status: 401, cached: true });
  assert.equal(f.calls.length, 5);
  advance(100);
  status = 500;
  assert.equal((await c.ask(Q)).kind, "unavailable");
  assert.equal((await c.ask(Q)).kind, "unavailable");
  assert.equal(f.calls.length, 7, "a failure is asked again every time");
});

Deno.test("HttpAuthClient: cacheMs 0 caches nothing, cacheMaxEntries bounds what it keeps", async () => {
  const f = fakeFetch(() => new Response(null, { status: 200 }));
  const none = client({ cacheMs: 0 }, f.fetch);
  await none.c.ask(Q);
  await none.c.ask(Q);
  assert.equal(f.calls.length, 2);
  const small = client({ cacheMaxEntries: 2 }, f.fetch);
  for (let i = 0; i < 10; i++) await small.c.ask({ ...Q, user: `u${i}` });
  assert.equal(small.c.cached, 2);
});

Deno.test("HttpAuthClient: identical questions in flight share a POST; past maxPending, busy", async () => {
  const gates: (() => void)[] = [];
  const f = fakeFetch(() =>
    new Promise<Response>((r) => gates.push(() => r(new Response(null, { status: 200 }))))
  );
  const { c } = client({ maxPending: 2 }, f.fetch);
  const a = c.ask(Q);
  const b = c.ask(Q);
  const other = c.ask({ ...Q, user: "u2" });
  await Promise.resolve();
  assert.equal(c.pending, 2);
  const busy = await c.ask({ ...Q, user: "u3" });
  assert.equal(busy.kind, "busy");
  assert.match((busy as { reason: string }).reason, /auth\.http\.maxPending/);
  // A question already in flight, or cached, is not held back by the bound.
  const again = c.ask(Q);
  assert.equal(f.calls.length, 2);
  for (const g of gates) g();
  assert.deepEqual((await Promise.all([a, b, again, other])).map((x) => x.kind), [
    "allow",
    "allow",
    "allow",
    "allow",
  ]);
  assert.equal(c.pending, 0);
  const later = c.ask({ ...Q, user: "u3" });
  assert.equal(c.pending, 1, "room again once answered");
  gates[2]();
  assert.equal((await later).kind, "allow");
});

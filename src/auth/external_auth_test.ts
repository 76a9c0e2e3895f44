/** Authenticator.authorize() with ExternalAuth: the order internal users, token, HTTP server. */
import assert from "node:assert/strict";
import { newAuthShared } from "./auth_shared.ts";
import { type AccessRequest, type AccessResult, Authenticator } from "./authenticator.ts";
import { serializeAuthorization } from "./authorization_header.ts";
import { ExternalAuth, type TokenVerdict, type TokenVerifier } from "./external_auth.ts";
import { FailureLimiter } from "./failure_limiter.ts";
import { type AuthSettings, DEFAULT_AUTH_SETTINGS, type Permission } from "./permission.ts";

const T = 1_700_000_000_000;
const PEER = "192.0.2.10";
const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0b2sifQ.c2ln";
const OTHER_TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2ln";
const PERM: Permission = { users: [{ user: "alice", pass: "wonderland" }], ips: [] };
const OPEN: Permission = { users: [], ips: [] };
const basic = (user: string, pass: string) => serializeAuthorization({ scheme: "basic", user, pass });

/** A verifier that knows TOKEN (reads cams/*) and OTHER_TOKEN (publishes only); the rest is invalid. */
class FakeVerifier implements TokenVerifier {
  seen: string[] = [];
  down = false;
  verify(token: string): Promise<TokenVerdict> {
    this.seen.push(token);
    if (this.down) return Promise.resolve({ ok: false, unavailable: true, reason: "JWKS down" });
    if (token === TOKEN) {
      return Promise.resolve({
        ok: true,
        claims: { sub: "tok", mediamtx_permissions: [{ action: "read", path: "~^cams/" }] },
      });
    }
    if (token === OTHER_TOKEN) {
      return Promise.resolve({
        ok: true,
        claims: { sub: "other", mediamtx_permissions: [{ action: "publish" }] },
      });
    }
    return Promise.resolve({ ok: false, unavailable: false, reason: "invalid token: expired" });
  }
}

function setup(opts: { http?: boolean; jwt?: boolean; status?: number } = {}) {
  const shared = newAuthShared();
  const s: AuthSettings = {
    ...DEFAULT_AUTH_SETTINGS,
    http: { ...DEFAULT_AUTH_SETTINGS.http, url: opts.http === false ? "" : "http://auth.test/" },
    jwt: { ...DEFAULT_AUTH_SETTINGS.jwt, jwksUrl: opts.jwt ? "http://auth.test/jwks" : "" },
  };
  const asked: Record<string, unknown>[] = [];
  let status = opts.status ?? 200;
  const verifier = new FakeVerifier();
  const external = new ExternalAuth(s, {
    verifier,
    fetch: (_u, init) => {
      const body = JSON.parse(init.body as string);
      asked.push(body);
      if (status === 0) return Promise.reject(new TypeError("connection refused"));
      return Promise.resolve(new Response(null, { status: body.user === "eve" ? 403 : status }));
    },
  });
  const auth = new Authenticator(s, shared);
  const limiter = new FailureLimiter(shared.failures, s, shared.failureSecret);
  return {
    asked,
    verifier,
    limiter,
    setStatus: (n: number) => status = n,
    authorize: (authorization: string | undefined, perm: Permission, over: Partial<AccessRequest> = {}) =>
      auth.authorize(
        {
          method: "DESCRIBE",
          uri: "rtsp://h/cams/front",
          authorization,
          peerIp: PEER,
          nowMs: T,
          action: "read",
          path: "cams/front",
          query: "",
          protocol: "rtsp",
          ...over,
        },
        perm,
        undefined,
        external,
      ),
  };
}

function refusal(r: AccessResult) {
  assert.equal(r.ok, false, "expected a refusal");
  return r as Extract<AccessResult, { ok: false }>;
}

Deno.test("authorize(): an internal user is checked first; the HTTP server is not asked for it", async () => {
  const x = setup();
  assert.deepEqual(await x.authorize(basic("alice", "wonderland"), PERM), { ok: true, user: "alice" });
  const wrong = refusal(await x.authorize(basic("alice", "guess"), PERM));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.counted, true);
  assert.match(wrong.reason, /wrong password for user 'alice'/);
  assert.deepEqual(x.asked, [], "an internal user's name is never forwarded");
  assert.equal(x.limiter.failures(PEER, T), 1);
});

Deno.test("authorize(): other credentials, and none, go to the HTTP server; its refusal is 401", async () => {
  const x = setup();
  assert.deepEqual(await x.authorize(basic("bob", "pw"), PERM), { ok: true, user: "bob" });
  assert.deepEqual(x.asked[0], {
    user: "bob",
    password: "pw",
    ip: PEER,
    action: "read",
    path: "cams/front",
    protocol: "rtsp",
  });
  // A path with no internal users is the HTTP server's too.
  assert.deepEqual(await x.authorize(basic("bob", "pw"), OPEN, { path: "open" }), { ok: true, user: "bob" });
  const denied = refusal(await x.authorize(basic("eve", "pw"), OPEN));
  assert.equal(denied.status, 401);
  assert.equal(denied.counted, true);
  assert.match(denied.reason, /user 'eve': refused by the auth server \(403\)/);
  assert.deepEqual(denied.challenges, ['Basic realm="dm-live"'], "Basic only: Digest sends no password");
  assert.equal(x.limiter.failures(PEER, T), 1);

  x.setStatus(401);
  const none = refusal(await x.authorize(undefined, OPEN, { path: "p2" }));
  assert.equal(none.status, 401);
  assert.equal(none.reason, "no credentials");
  assert.equal(none.counted, false, "the first, credential-less request is no failure");
  assert.deepEqual(x.asked.at(-1), {
    user: "",
    password: "",
    ip: PEER,
    action: "read",
    path: "p2",
    protocol: "rtsp",
  });
  x.setStatus(200);
  assert.deepEqual(
    await x.authorize(undefined, OPEN, { path: "p3" }),
    { ok: true, user: null },
    "anonymous allowed",
  );
});

Deno.test("authorize(): Digest of a user not internal is 401 unasked; ips and the failure limit come first", async () => {
  const x = setup();
  const digest = serializeAuthorization({
    scheme: "digest",
    params: new Map([["username", "bob"], ["realm", "dm-live"], ["nonce", "n"], ["uri", "u"], [
      "response",
      "r",
    ]]),
  });
  const d = refusal(await x.authorize(digest, PERM));
  assert.equal(d.status, 401);
  assert.equal(d.counted, false);
  assert.match(d.reason, /external auth needs Basic/);
  assert.equal(
    refusal(await x.authorize(basic("bob", "pw"), { users: [], ips: ["10.0.0.0/8"] })).status,
    403,
  );
  for (let i = 0; i < DEFAULT_AUTH_SETTINGS.maxFailures; i++) x.limiter.recordFailure(PEER, T);
  const blocked = refusal(await x.authorize(basic("bob", "pw"), OPEN));
  assert.equal(blocked.status, 403);
  assert.equal(blocked.reason, "too many failures");
  assert.deepEqual(x.asked, [], "none of these was forwarded");
});

Deno.test("authorize(): an auth server that fails or is busy is 503, not counted", async () => {
  const x = setup({ status: 502 });
  const r = refusal(await x.authorize(basic("bob", "pw"), OPEN));
  assert.equal(r.status, 503);
  assert.equal(r.counted, false);
  assert.match(r.reason, /answered 502/);
  x.setStatus(0);
  assert.match(refusal(await x.authorize(basic("bob", "pw"), OPEN)).reason, /connection refused/);
  assert.equal(x.limiter.failures(PEER, T), 0);
});

Deno.test("authorize(): a token in jwt= or as the Basic password is verified, its claim decides", async () => {
  const x = setup({ http: false, jwt: true });
  assert.deepEqual(await x.authorize(undefined, OPEN, { query: `jwt=${TOKEN}` }), { ok: true, user: "tok" });
  // ffmpeg's SETUP: the track control after the token.
  assert.deepEqual(await x.authorize(undefined, OPEN, { query: `jwt=${TOKEN}/trackID=0` }), {
    ok: true,
    user: "tok",
  });
  assert.deepEqual(await x.authorize(basic("any", TOKEN), OPEN), { ok: true, user: "any" });
  assert.deepEqual(x.verifier.seen, [TOKEN, TOKEN, TOKEN]);

  const forbidden = refusal(await x.authorize(basic("any", TOKEN), OPEN, { path: "other/x" }));
  assert.equal(forbidden.status, 403, "valid, but not for this path");
  assert.equal(forbidden.counted, false);
  assert.match(forbidden.reason, /'mediamtx_permissions' claim does not allow read/);
  assert.equal(refusal(await x.authorize(undefined, OPEN, { query: `jwt=${OTHER_TOKEN}` })).status, 403);
  assert.deepEqual(await x.authorize(undefined, OPEN, { query: `jwt=${OTHER_TOKEN}`, action: "publish" }), {
    ok: true,
    user: "other",
  });

  const invalid = refusal(await x.authorize(undefined, OPEN, { query: "jwt=eyJhbGci.eyJleHAi.bad" }));
  assert.equal(invalid.status, 401);
  assert.equal(invalid.counted, true);
  assert.match(invalid.reason, /expired/);
  assert.equal(x.limiter.failures(PEER, T), 1);

  // Without a token, with jwt alone: credentials are needed, a plain password is a failure.
  assert.equal(refusal(await x.authorize(undefined, OPEN)).reason, "no credentials");
  const plain = refusal(await x.authorize(basic("bob", "pw"), OPEN));
  assert.equal(plain.counted, true);
  assert.match(plain.reason, /no internal user, and the password is no JWT/);

  x.verifier.down = true;
  assert.equal(refusal(await x.authorize(undefined, OPEN, { query: `jwt=${TOKEN}` })).status, 503);
});

Deno.test("authorize(): with both, a token goes to the verifier and a password to the HTTP server", async () => {
  const x = setup({ jwt: true });
  assert.deepEqual(await x.authorize(basic("bob", TOKEN), OPEN), { ok: true, user: "bob" });
  assert.deepEqual(x.asked, []);
  assert.deepEqual(await x.authorize(basic("bob", "pw"), OPEN), { ok: true, user: "bob" });
  assert.equal(x.asked.length, 1);
  assert.deepEqual(x.verifier.seen, [TOKEN]);
});

Deno.test("authorize() without external auth is check()", async () => {
  const shared = newAuthShared();
  const auth = new Authenticator(DEFAULT_AUTH_SETTINGS, shared);
  const r = await auth.authorize(
    {
      method: "DESCRIBE",
      uri: "rtsp://h/p",
      authorization: undefined,
      peerIp: PEER,
      nowMs: T,
      action: "read",
      path: "p",
      query: "",
      protocol: "rtsp",
    },
    PERM,
    undefined,
    null,
  );
  const f = refusal(r);
  assert.equal(f.status, 401);
  assert.equal(f.challenges.length, 2, "Basic and Digest, as always");
  assert.deepEqual(
    await auth.authorize(
      {
        method: "DESCRIBE",
        uri: "",
        authorization: undefined,
        peerIp: PEER,
        nowMs: T,
        action: "read",
        path: "p",
        query: "",
        protocol: "rtsp",
      },
      OPEN,
      undefined,
      null,
    ),
    { ok: true, user: null },
  );
});

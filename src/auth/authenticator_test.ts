import assert from "node:assert/strict";
import { newAuthShared } from "./auth_shared.ts";
import { Authenticator, type AuthRequest, type AuthResult, NonceCounter } from "./authenticator.ts";
import { type Challenge, parseChallenge, serializeAuthorization } from "./authorization_header.ts";
import { type DigestAlgorithm, digestHa1, digestHa2, digestResponse } from "./digest.ts";
import { FailureLimiter } from "./failure_limiter.ts";
import { issueNonce } from "./nonce.ts";
import { type AuthSettings, DEFAULT_AUTH_SETTINGS, type Permission } from "./permission.ts";

const T = 1_700_000_000_000;
const PEER = "192.0.2.10";
const URI = "rtsp://server:8554/live/cam1";
// `printf %s secret | openssl dgst -binary -sha256 | openssl base64`
const SECRET_SHA256 = "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=";

const settings = (over: Partial<AuthSettings> = {}): AuthSettings => ({
  ...DEFAULT_AUTH_SETTINGS,
  methods: ["basic", "digest"],
  digestAlgorithms: ["MD5", "SHA-256"],
  // These tests check the RFC 2069 form's arithmetic; its default (off) has its own test.
  allowRfc2069: true,
  ...over,
});

const PERM: Permission = {
  users: [
    { user: "alice", pass: "wonderland" },
    { user: "cam", pass: SECRET_SHA256 },
    {
      user: "bob",
      ha1: [
        `MD5:${digestHa1("MD5", "bob", "dm-live", "secret")}`,
        `SHA-256:${digestHa1("SHA-256", "bob", "dm-live", "secret")}`,
      ],
    },
    { user: "md5only", ha1: [`MD5:${digestHa1("MD5", "md5only", "dm-live", "secret")}`] },
  ],
  ips: [],
};

function setup(over: Partial<AuthSettings> = {}) {
  const shared = newAuthShared();
  const s = settings(over);
  return {
    shared,
    auth: new Authenticator(s, shared),
    limiter: new FailureLimiter(shared.failures, s, shared.failureSecret),
  };
}

function req(authorization?: string, over: Partial<AuthRequest> = {}): AuthRequest {
  return { method: "DESCRIBE", uri: URI, authorization, peerIp: PEER, nowMs: T, ...over };
}

function failure(r: AuthResult) {
  assert.equal(r.ok, false, "expected a refusal");
  return r as Extract<AuthResult, { ok: false }>;
}

const basic = (user: string, pass: string) => serializeAuthorization({ scheme: "basic", user, pass });

interface DigestOptions {
  algorithm?: DigestAlgorithm;
  /** Leave out qop/nc/cnonce (RFC 2069 form, as GStreamer and VLC answer). */
  noQop?: boolean;
  nc?: string;
  uri?: string;
  method?: string;
  realm?: string;
  /** Write `algorithm=` in the header (absent means MD5). */
  sendAlgorithm?: boolean;
}

/** A client's Digest answer to the nonce of a 401's challenges, computed independently of the server. */
function digest(user: string, pass: string, nonce: string, o: DigestOptions = {}): string {
  const algorithm = o.algorithm ?? "MD5";
  const realm = o.realm ?? "dm-live";
  const uri = o.uri ?? URI;
  const ha1 = digestHa1(algorithm, user, realm, pass);
  const ha2 = digestHa2(algorithm, o.method ?? "DESCRIBE", uri);
  const params: [string, string][] = [["username", user], ["realm", realm], ["nonce", nonce], ["uri", uri]];
  if (o.sendAlgorithm ?? true) params.push(["algorithm", algorithm]);
  let response: string;
  if (o.noQop) response = digestResponse(algorithm, ha1, nonce, ha2);
  else {
    const q = { qop: "auth", nc: o.nc ?? "00000001", cnonce: "0a4f113b" };
    response = digestResponse(algorithm, ha1, nonce, ha2, q);
    params.push(["qop", "auth"], ["nc", q.nc], ["cnonce", q.cnonce]);
  }
  params.push(["response", response]);
  return serializeAuthorization({ scheme: "digest", params: new Map(params) });
}

/** The nonce offered by a first, credential-less request. */
function firstNonce(auth: Authenticator, over: Partial<AuthRequest> = {}): string {
  const r = failure(auth.check(req(undefined, over), PERM));
  const c = parseChallenge(r.challenges.at(-1)!) as Extract<Challenge, { scheme: "digest" }>;
  return c.nonce;
}

Deno.test("Authenticator: no users needed, no Authorization needed", () => {
  const { auth } = setup();
  assert.deepEqual(auth.check(req(), { users: [], ips: [] }), { ok: true, user: null });
});

Deno.test("Authenticator: first request without credentials gets challenges, not counted", () => {
  const { auth, limiter } = setup({ maxFailures: 1 });
  const r = failure(auth.check(req(), PERM));
  assert.equal(r.status, 401);
  assert.equal(r.reason, "no credentials");
  assert.equal(r.counted, false);
  assert.equal(r.stale, false);
  assert.equal(limiter.failures(PEER, T), 0);
  // Basic first, then Digest SHA-256, then MD5 last (FFmpeg keeps the last Digest challenge).
  const parsed = r.challenges.map(parseChallenge);
  assert.deepEqual(parsed.map((c) => c?.scheme), ["basic", "digest", "digest"]);
  assert.equal(r.challenges[0], 'Basic realm="dm-live"');
  assert.match(
    r.challenges[1]!,
    /^Digest realm="dm-live", nonce="[A-Za-z0-9_-]{38}", algorithm=SHA-256, qop="auth"$/,
  );
  assert.match(
    r.challenges[2]!,
    /^Digest realm="dm-live", nonce="[A-Za-z0-9_-]{38}", algorithm=MD5, qop="auth"$/,
  );
  assert.equal(failure(auth.check(req(), PERM)).reason, "no credentials"); // still not blocked
});

Deno.test("Authenticator: challenges follow the settings, MD5 always last", () => {
  const cases: [Partial<AuthSettings>, string[]][] = [
    [{ methods: ["digest", "basic"], digestAlgorithms: ["MD5", "SHA-256"] }, ["Basic", "SHA-256", "MD5"]],
    [{ methods: ["basic"] }, ["Basic"]],
    [{ methods: ["digest"], digestAlgorithms: ["MD5"] }, ["MD5"]],
    [{ methods: ["digest"], digestAlgorithms: ["SHA-256"] }, ["SHA-256"]],
    [{ methods: ["basic", "digest"], digestAlgorithms: ["MD5"] }, ["Basic", "MD5"]],
  ];
  for (const [over, want] of cases) {
    const got = failure(setup(over).auth.check(req(), PERM)).challenges.map((c) => {
      const p = parseChallenge(c)!;
      return p.scheme === "basic" ? "Basic" : p.algorithm;
    });
    assert.deepEqual(got, want, JSON.stringify(over));
  }
});

Deno.test("Authenticator: Basic with plain and sha256: passwords", () => {
  const { auth, limiter } = setup();
  assert.deepEqual(auth.check(req(basic("alice", "wonderland")), PERM), { ok: true, user: "alice" });
  assert.deepEqual(auth.check(req(basic("cam", "secret")), PERM), { ok: true, user: "cam" });
  const wrong = failure(auth.check(req(basic("alice", "Wonderland")), PERM));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.reason, "wrong password for user 'alice'");
  assert.equal(wrong.counted, true);
  assert.equal(wrong.challenges.length, 3);
  assert.equal(
    failure(auth.check(req(basic("cam", SECRET_SHA256)), PERM)).reason,
    "wrong password for user 'cam'",
  );
  assert.equal(failure(auth.check(req(basic("eve", "x")), PERM)).reason, "unknown user 'eve'");
  assert.equal(limiter.failures(PEER, T), 3);
});

Deno.test("Authenticator: Basic refused for ha1-only users and when not offered, not counted", () => {
  const { auth, limiter } = setup();
  const r = failure(auth.check(req(basic("bob", "secret")), PERM));
  assert.equal(r.reason, "user 'bob' has only ha1 (Digest) secrets: Basic cannot be checked");
  assert.equal(r.counted, false);
  const off = setup({ methods: ["digest"] });
  const r2 = failure(off.auth.check(req(basic("alice", "wonderland")), PERM));
  assert.equal(r2.reason, "method basic not allowed");
  assert.equal(r2.counted, false);
  assert.equal(limiter.failures(PEER, T), 0);
});

Deno.test("Authenticator: Digest MD5 and SHA-256, with qop=auth and in the RFC 2069 form", async (t) => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    for (const noQop of [false, true]) {
      await t.step(`${algorithm} ${noQop ? "without qop" : "qop=auth"}`, () => {
        const { auth, limiter } = setup();
        const nonce = firstNonce(auth);
        const ok = auth.check(
          req(digest("alice", "wonderland", nonce, { algorithm, noQop })),
          PERM,
          new NonceCounter(),
        );
        assert.deepEqual(ok, { ok: true, user: "alice" });
        const bad = failure(auth.check(req(digest("alice", "wonder", nonce, { algorithm, noQop })), PERM));
        assert.equal(bad.reason, "wrong password for user 'alice'");
        assert.equal(bad.counted, true);
        assert.equal(bad.stale, false);
        assert.equal(limiter.failures(PEER, T), 1);
      });
    }
  }
  await t.step("absent algorithm means MD5, and the name is case-insensitive", () => {
    const { auth } = setup();
    const nonce = firstNonce(auth);
    assert.equal(
      auth.check(req(digest("alice", "wonderland", nonce, { sendAlgorithm: false })), PERM).ok,
      true,
    );
    const lower = digest("alice", "wonderland", nonce, { algorithm: "SHA-256" }).replace(
      "SHA-256",
      "sha-256",
    );
    assert.equal(auth.check(req(lower), PERM).ok, true);
  });
});

Deno.test("Authenticator: Digest with precomputed ha1 secrets", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth);
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    assert.deepEqual(auth.check(req(digest("bob", "secret", nonce, { algorithm })), PERM), {
      ok: true,
      user: "bob",
    });
    assert.equal(failure(auth.check(req(digest("bob", "secreT", nonce, { algorithm })), PERM)).counted, true);
  }
  const r = failure(auth.check(req(digest("md5only", "secret", nonce, { algorithm: "SHA-256" })), PERM));
  assert.equal(r.reason, "user 'md5only' has no SHA-256 ha1 secret");
  assert.equal(r.counted, false);
  assert.equal(auth.check(req(digest("md5only", "secret", nonce)), PERM).ok, true);
});

Deno.test("Authenticator: Digest cannot check a sha256: password, and says so", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth);
  const r = failure(auth.check(req(digest("cam", "secret", nonce)), PERM));
  assert.equal(r.reason, "user 'cam' has only a sha256: password: Digest cannot be checked, use Basic");
  assert.equal(r.counted, false);
});

Deno.test("Authenticator: Digest refusals and their reasons", async (t) => {
  const other = issueNonce(new Uint8Array(32).fill(9), PEER, T);
  const cases: {
    name: string;
    header: (nonce: string) => string;
    reason: string;
    counted: boolean;
    over?: Partial<AuthSettings>;
  }[] = [
    {
      name: "wrong realm",
      header: (n) => digest("alice", "wonderland", n, { realm: "other" }),
      reason: "realm 'other' is not 'dm-live'",
      counted: true,
    },
    {
      name: "unknown user",
      header: (n) => digest("eve", "x", n),
      reason: "unknown user 'eve'",
      counted: true,
    },
    {
      name: "forged nonce",
      header: () => digest("alice", "wonderland", other),
      reason: "forged nonce",
      counted: true,
    },
    {
      name: "made-up nonce",
      header: () => digest("alice", "wonderland", "dcd98b7102dd2f0e8b11d0f600bfb0c093"),
      reason: "forged nonce",
      counted: true,
    },
    {
      name: "uri of another path",
      header: (n) => digest("alice", "wonderland", n, { uri: "rtsp://server:8554/live/cam2" }),
      reason: "digest uri does not match request",
      counted: true,
    },
    {
      name: "method differs from the request's",
      header: (n) => digest("alice", "wonderland", n, { method: "PLAY" }),
      reason: "wrong password for user 'alice'",
      counted: true,
    },
    {
      name: "SHA-256 when only MD5 is offered",
      header: (n) => digest("alice", "wonderland", n, { algorithm: "SHA-256" }),
      reason: "digest algorithm SHA-256 not allowed",
      counted: false,
      over: { digestAlgorithms: ["MD5"] },
    },
    {
      name: "MD5-sess",
      header: (n) => digest("alice", "wonderland", n).replace("algorithm=MD5", "algorithm=MD5-sess"),
      reason: "digest algorithm 'MD5-sess' not supported",
      counted: false,
    },
    {
      name: "Digest when only Basic is offered",
      header: (n) => digest("alice", "wonderland", n),
      reason: "method digest not allowed",
      counted: false,
      over: { methods: ["basic"] },
    },
    {
      name: "qop=auth-int",
      header: (n) => digest("alice", "wonderland", n).replace("qop=auth", "qop=auth-int"),
      reason: "qop 'auth-int' not supported",
      counted: true,
    },
    {
      name: "malformed nc",
      header: (n) => digest("alice", "wonderland", n, { nc: "xyz" }),
      reason: "malformed nonce count",
      counted: true,
    },
    {
      name: "no response",
      header: (n) => digest("alice", "wonderland", n).replace(/, response="[0-9a-f]+"/, ""),
      reason: "digest lacks response",
      counted: true,
    },
    {
      name: "unreadable header",
      header: () => 'Digest username="alice", realm="dm-live',
      reason: "unreadable Authorization header (malformed or unknown scheme)",
      counted: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { shared, auth, limiter } = setup(c.over);
      const r = failure(auth.check(req(c.header(issueNonce(shared.nonceKey, PEER, T))), PERM));
      assert.equal(r.status, 401);
      assert.equal(r.reason, c.reason);
      assert.equal(r.counted, c.counted);
      assert.equal(limiter.failures(PEER, T), c.counted ? 1 : 0);
      assert.ok(r.challenges.length > 0);
      assert.doesNotMatch(r.reason, /wonderland/);
    });
  }
});

Deno.test("Authenticator: a nonce issued to another address is refused", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth, { peerIp: "192.0.2.99" });
  const r = failure(auth.check(req(digest("alice", "wonderland", nonce)), PERM));
  assert.equal(r.reason, "nonce issued to another address");
  assert.equal(r.counted, true);
});

Deno.test("Authenticator: IPv4-mapped and plain IPv4 are the same peer for nonces", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth, { peerIp: "::ffff:192.0.2.10" });
  assert.equal(auth.check(req(digest("alice", "wonderland", nonce)), PERM).ok, true);
});

Deno.test("Authenticator: stale nonce with the right password gets stale=TRUE, not counted", () => {
  const { auth, limiter } = setup({ nonceTtlMs: 300_000 });
  const nonce = firstNonce(auth);
  const later = T + 300_001;
  const r = failure(auth.check(req(digest("alice", "wonderland", nonce), { nowMs: later }), PERM));
  assert.equal(r.status, 401);
  assert.equal(r.reason, "stale nonce");
  assert.equal(r.stale, true);
  assert.equal(r.counted, false);
  assert.equal(limiter.failures(PEER, later), 0);
  const fresh = r.challenges.map(parseChallenge).filter((c) => c?.scheme === "digest");
  assert.equal(fresh.length, 2);
  for (const c of fresh) assert.equal(c?.scheme === "digest" && c.stale, true);
  assert.match(r.challenges.at(-1)!, /, stale=TRUE$/);
  // The client retries with the new nonce and gets in.
  const next = (fresh.at(-1) as Extract<Challenge, { scheme: "digest" }>).nonce;
  assert.notEqual(next, nonce);
  assert.equal(auth.check(req(digest("alice", "wonderland", next), { nowMs: later }), PERM).ok, true);
  // Within the TTL the old nonce was fine.
  assert.equal(auth.check(req(digest("alice", "wonderland", nonce), { nowMs: T + 300_000 }), PERM).ok, true);
});

Deno.test("Authenticator: stale nonce with a wrong password is an ordinary counted failure", () => {
  const { auth, limiter } = setup();
  const nonce = firstNonce(auth);
  const later = T + 400_000;
  const r = failure(auth.check(req(digest("alice", "nope", nonce), { nowMs: later }), PERM));
  assert.equal(r.reason, "wrong password for user 'alice'");
  assert.equal(r.stale, false);
  assert.equal(r.counted, true);
  assert.equal(limiter.failures(PEER, later), 1);
  assert.doesNotMatch(r.challenges.join(), /stale/);
});

Deno.test("Authenticator: a nonce dated in the future asks for a retry", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth, { nowMs: T + 5_000 });
  const r = failure(auth.check(req(digest("alice", "wonderland", nonce)), PERM));
  assert.equal(r.stale, true);
  assert.equal(r.counted, false);
  assert.equal(r.reason, "nonce dated in the future (clock stepped back)");
});

Deno.test("Authenticator: replayed nonce count is refused on the connection, counted", () => {
  const { auth, limiter } = setup();
  const nonce = firstNonce(auth);
  const conn = new NonceCounter();
  const h1 = digest("alice", "wonderland", nonce, { nc: "00000001" });
  assert.equal(auth.check(req(h1), PERM, conn).ok, true);
  const replay = failure(auth.check(req(h1), PERM, conn));
  assert.equal(replay.reason, "replayed nonce count");
  assert.equal(replay.counted, true);
  assert.equal(limiter.failures(PEER, T), 1);
  assert.equal(
    auth.check(req(digest("alice", "wonderland", nonce, { nc: "00000002" })), PERM, conn).ok,
    true,
  );
  assert.equal(
    failure(auth.check(req(digest("alice", "wonderland", nonce, { nc: "00000001" })), PERM, conn)).reason,
    "replayed nonce count",
  );
  // RFC 2069 answers carry no nc: no replay check, the nonce TTL bounds them.
  const old = digest("alice", "wonderland", nonce, { noQop: true });
  assert.equal(auth.check(req(old), PERM, conn).ok, true);
  assert.equal(auth.check(req(old), PERM, conn).ok, true);
});

Deno.test("Authenticator: relative digest uri and the stream URL for a track are accepted", () => {
  const { auth } = setup();
  const nonce = firstNonce(auth);
  assert.equal(auth.check(req(digest("alice", "wonderland", nonce, { uri: "/live/cam1" })), PERM).ok, true);
  const setupReq = { method: "SETUP", uri: `${URI}/trackID=0` };
  const h = digest("alice", "wonderland", nonce, { uri: `${URI}/`, method: "SETUP", nc: "00000002" });
  assert.equal(auth.check(req(h, setupReq), PERM).ok, true);
});

Deno.test("Authenticator: IP allow-list is checked first, refuses with 403 and no challenge", () => {
  const { auth, limiter } = setup();
  const perm: Permission = { users: [], ips: ["10.0.0.0/8", "2001:db8::/32", "::1"] };
  const refused = failure(auth.check(req(undefined, { peerIp: "192.0.2.1" }), perm));
  assert.deepEqual(refused, {
    ok: false,
    status: 403,
    reason: "address not allowed",
    challenges: [],
    stale: false,
    counted: false,
  });
  assert.equal(limiter.failures("192.0.2.1", T), 0);
  for (const peerIp of ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8:1::5", "::1"]) {
    assert.deepEqual(auth.check(req(undefined, { peerIp }), perm), { ok: true, user: null }, peerIp);
  }
  for (const peerIp of ["11.0.0.1", "2001:db9::1", "::2", "not-an-ip"]) {
    assert.equal(failure(auth.check(req(undefined, { peerIp }), perm)).status, 403, peerIp);
  }
  // Allowed address, credentials still needed.
  const withUsers = { ...PERM, ips: ["192.0.2.0/24"] };
  assert.equal(failure(auth.check(req(), withUsers)).status, 401);
  assert.equal(auth.check(req(basic("alice", "wonderland")), withUsers).ok, true);
  assert.equal(
    failure(auth.check(req(basic("alice", "wonderland"), { peerIp: "198.51.100.1" }), withUsers)).status,
    403,
  );
});

Deno.test("Authenticator: too many failures -> 403 on every protected path until the window ends; open paths stay open", () => {
  const { shared, auth } = setup({ maxFailures: 3, failureWindowMs: 60_000 });
  // A second worker's Authenticator over the same shared state sees the same count.
  const other = new Authenticator(settings({ maxFailures: 3, failureWindowMs: 60_000 }), shared);
  assert.equal(failure(auth.check(req(basic("alice", "x")), PERM)).status, 401);
  assert.equal(failure(other.check(req(basic("alice", "y"), { nowMs: T + 1000 }), PERM)).status, 401);
  assert.equal(failure(auth.check(req(basic("alice", "z"), { nowMs: T + 2000 }), PERM)).status, 401);
  for (const a of [auth, other]) {
    const r = failure(a.check(req(basic("alice", "wonderland"), { nowMs: T + 3000 }), PERM));
    assert.equal(r.status, 403);
    assert.equal(r.reason, "too many failures");
    assert.deepEqual(r.challenges, []);
    assert.equal(
      a.check(req(undefined, { nowMs: T + 3000 }), { users: [], ips: [] }).ok,
      true,
      "an open path",
    );
  }
  // Other addresses are unaffected; the window ends 60 s after the first failure.
  assert.equal(
    auth.check(req(basic("alice", "wonderland"), { peerIp: "192.0.2.11", nowMs: T + 3000 }), PERM).ok,
    true,
  );
  assert.equal(auth.check(req(basic("alice", "wonderland"), { nowMs: T + 60_000 }), PERM).ok, true);
});

Deno.test("Authenticator: success does not reset the failure count", () => {
  const { auth } = setup({ maxFailures: 2 });
  assert.equal(failure(auth.check(req(basic("alice", "x")), PERM)).counted, true);
  assert.equal(auth.check(req(basic("alice", "wonderland")), PERM).ok, true);
  assert.equal(failure(auth.check(req(basic("alice", "y")), PERM)).counted, true);
  assert.equal(failure(auth.check(req(basic("alice", "wonderland")), PERM)).reason, "too many failures");
});

Deno.test("Authenticator: IPv6 peers are limited per /64, IPv4-mapped as IPv4", () => {
  const { auth } = setup({ maxFailures: 2 });
  auth.check(req(basic("alice", "x"), { peerIp: "2001:db8:0:1::1" }), PERM);
  auth.check(req(basic("alice", "x"), { peerIp: "2001:db8:0:1::2" }), PERM);
  assert.equal(
    failure(auth.check(req(undefined, { peerIp: "2001:db8:0:1:ffff::9" }), PERM)).reason,
    "too many failures",
  );
  assert.equal(
    failure(auth.check(req(undefined, { peerIp: "2001:db8:0:2::1" }), PERM)).reason,
    "no credentials",
  );
  auth.check(req(basic("alice", "x"), { peerIp: "::ffff:192.0.2.50" }), PERM);
  auth.check(req(basic("alice", "x"), { peerIp: "192.0.2.50" }), PERM);
  assert.equal(
    failure(auth.check(req(undefined, { peerIp: "192.0.2.50" }), PERM)).reason,
    "too many failures",
  );
});

Deno.test("Authenticator: reasons escape what clients send and never hold a password", () => {
  const { auth } = setup();
  const r = failure(auth.check(req(basic("x'\u0007y\\\u2028\u0085é", "hunter2")), PERM));
  assert.equal(r.reason, "unknown user 'x\\x27\\x07y\\x5c\\u2028\\x85é'");
  const long = failure(auth.check(req(basic("u".repeat(500), "hunter2")), PERM));
  assert.ok(long.reason.length < 100);
  for (const x of [r, long]) assert.doesNotMatch(JSON.stringify(x), /hunter2/);
});

/**
 * External authentication against a running server: an HTTP auth server (Deno.serve here, which
 * asserts the JSON it is sent) and JWTs signed by keys this test makes, served as a JWKS.
 */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { withServer } from "../support/server.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import { AV_SDP, SyntheticPublisher } from "../support/synthetic_publisher.ts";
import type { ServerHandle } from "../../src/cluster/cluster.ts";
import { withOverrides } from "../../src/config.ts";

type SigningKey = Parameters<SignJWT["sign"]>[0];

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

/** What the auth server was POSTed, in order. */
interface Question {
  user: string;
  password: string;
  ip: string;
  action: string;
  path: string;
  protocol: string;
}

/**
 * An auth server: allows pub:pubpw to publish and view:viewpw to read `ext/` paths; a request
 * without credentials gets 401, anything else 403.
 */
function startAuthServer() {
  const asked: Question[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    assert.equal(req.method, "POST");
    assert.equal(req.headers.get("Content-Type"), "application/json");
    const q = await req.json() as Question;
    assert.deepEqual(Object.keys(q).sort(), ["action", "ip", "password", "path", "protocol", "user"]);
    asked.push(q);
    if (q.user === "") return new Response(null, { status: 401 });
    const ok = q.path.startsWith("ext/") &&
      ((q.user === "pub" && q.password === "pubpw" && q.action === "publish") ||
        (q.user === "view" && q.password === "viewpw" && q.action === "read"));
    return new Response(null, { status: ok ? 200 : 403 });
  });
  return { asked, server, url: `http://127.0.0.1:${server.addr.port}/auth` };
}

/** A port nothing listens on (bound, then let go). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** ANNOUNCE, SETUP both tracks and RECORD on `path` with these headers on each; the first status that is not 200. */
async function publish(port: number, path: string, headers: Record<string, string>, query = "") {
  const c = await RtspTestClient.connect(port, path);
  const url = `${c.url}${query}`;
  const steps: [string, string, Record<string, string>][] = [
    ["SETUP", `${c.url}/streamid=0${query}`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    }],
    ["SETUP", `${c.url}/streamid=1${query}`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
    }],
    ["RECORD", url, { Range: "npt=0.000-" }],
  ];
  const a = await c.request("ANNOUNCE", url, { "Content-Type": "application/sdp", ...headers }, AV_SDP);
  if (a.status !== 200) {
    c.close();
    return { status: a.status, response: a, pub: null };
  }
  for (const [method, u, h] of steps) {
    const r = await c.request(method, u, { ...h, ...headers });
    assert.equal(r.status, 200, `${method} ${u}: ${r.status}`);
  }
  return { status: 200, response: a, pub: new SyntheticPublisher(c) };
}

/**
 * DESCRIBE, SETUP of the video track (as the base URL of the answer says, ffmpeg style) and PLAY,
 * each with `headers`; resolves once video frames arrive. Statuses stop at the first not 200.
 */
async function play(port: number, url: string, headers: Record<string, string>, pub: SyntheticPublisher) {
  const c = await RtspTestClient.connect(port, "x");
  try {
    const d = await c.request("DESCRIBE", url, headers);
    if (d.status !== 200) return { statuses: [d.status], describe: d };
    const base = d.headers.get("Content-Base")!;
    const s = await c.request("SETUP", `${base}trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
      ...headers,
    });
    if (s.status !== 200) return { statuses: [200, s.status], describe: d };
    const p = await c.request("PLAY", base, headers);
    await pub.sendFrames(10, 5);
    const got = await c.waitFrames((f) => f.length > 5);
    return { statuses: [200, 200, p.status], describe: d, frames: got };
  } finally {
    c.close();
  }
}

async function sum(server: ServerHandle, key: "authFailures" | "authRefused"): Promise<number> {
  return (await server.stats()).reduce((n, r) => n + r[key], 0);
}

Deno.test("auth.http: the server is asked with the client's credentials; 2xx lets in, else 401; answers cached", async () => {
  const auth = startAuthServer();
  try {
    await withServer({ "auth.http.url": auth.url, workers: 1 }, async (server, config) => {
      // Publish: the first ANNOUNCE has no credentials, as every client's; the 401 offers Basic only.
      const none = await publish(server.port, "ext/cam", {});
      assert.equal(none.status, 401);
      assert.deepEqual(none.response.headers.getAll("WWW-Authenticate"), ['Basic realm="dm-live"']);
      assert.deepEqual(auth.asked[0], {
        user: "",
        password: "",
        ip: "127.0.0.1",
        action: "publish",
        path: "ext/cam",
        protocol: "rtsp",
      });
      assert.equal(await sum(server, "authFailures"), 0, "no credentials is no failure");
      const p = await publish(server.port, "ext/cam", { Authorization: basic("pub", "pubpw") });
      assert.equal(p.status, 200);
      assert.deepEqual(auth.asked[1], {
        user: "pub",
        password: "pubpw",
        ip: "127.0.0.1",
        action: "publish",
        path: "ext/cam",
        protocol: "rtsp",
      });
      const pub = p.pub!;
      try {
        await pub.sendFrames(5, 5);
        // Read: DESCRIBE asks, the first SETUP's check is the cached answer.
        const before = auth.asked.length;
        const v = await play(server.port, `rtsp://127.0.0.1:${server.port}/ext/cam`, {
          Authorization: basic("view", "viewpw"),
        }, pub);
        assert.deepEqual(v.statuses, [200, 200, 200]);
        assert.ok(v.frames, "the viewer got frames");
        assert.equal(auth.asked.length, before + 1, "DESCRIBE asked once; SETUP was answered from the cache");
        assert.deepEqual(auth.asked.at(-1), {
          user: "view",
          password: "viewpw",
          ip: "127.0.0.1",
          action: "read",
          path: "ext/cam",
          protocol: "rtsp",
        });
        // Again, on a new connection: still cached (one worker), not forwarded.
        const again = await play(server.port, `rtsp://127.0.0.1:${server.port}/ext/cam`, {
          Authorization: basic("view", "viewpw"),
        }, pub);
        assert.deepEqual(again.statuses, [200, 200, 200]);
        assert.equal(auth.asked.length, before + 1, "the second viewer's checks were not forwarded");

        // Refused: the publisher's credentials may not read; a wrong password.
        for (const [u, pw] of [["pub", "pubpw"], ["view", "wrong"]]) {
          const r = await play(server.port, `rtsp://127.0.0.1:${server.port}/ext/cam`, {
            Authorization: basic(u, pw),
          }, pub);
          assert.deepEqual(r.statuses, [401], `${u}:${pw}`);
          assert.deepEqual(r.describe.headers.getAll("WWW-Authenticate"), ['Basic realm="dm-live"']);
        }
        assert.equal(await sum(server, "authFailures"), 2, "refused credentials count as failures");

        // The auth server goes away: what is cached still works, anything else is 503, not 401.
        await auth.server.shutdown();
        const cached = await play(server.port, `rtsp://127.0.0.1:${server.port}/ext/cam`, {
          Authorization: basic("view", "viewpw"),
        }, pub);
        assert.deepEqual(cached.statuses, [200, 200, 200]);
        const down = await play(server.port, `rtsp://127.0.0.1:${server.port}/ext/cam`, {
          Authorization: basic("view2", "pw"),
        }, pub);
        assert.deepEqual(down.statuses, [503]);
        assert.equal(
          await sum(server, "authFailures"),
          2,
          "a failure of the auth server is not the client's",
        );

        // A reload applies: auth.http off, the default path is open again; on again, the cache is new.
        const url = `rtsp://127.0.0.1:${server.port}/ext/cam`;
        server.reload(withOverrides(config, { "auth.http.url": "" }));
        await server.stats();
        assert.deepEqual((await play(server.port, url, {}, pub)).statuses, [200, 200, 200]);
        server.reload(config);
        await server.stats();
        const uncached = await play(server.port, url, { Authorization: basic("view", "viewpw") }, pub);
        assert.deepEqual(uncached.statuses, [503], "the answers cached before the reloads are gone");
      } finally {
        pub.client.close();
      }
    });
  } finally {
    await auth.server.shutdown().catch(() => {});
  }
});

Deno.test("auth.http: a path's internal users are checked first, never forwarded; others go to the server", async () => {
  const auth = startAuthServer();
  try {
    await withServer({
      "auth.http.url": auth.url,
      paths: {
        "ext/cam": { publish: { users: [{ user: "cam", pass: "campw" }] }, read: {} },
        "~^.*$": {},
      },
    }, async (server) => {
      const wrong = await publish(server.port, "ext/cam", { Authorization: basic("cam", "nope") });
      assert.equal(wrong.status, 401);
      assert.equal(auth.asked.length, 0, "an internal user's wrong password is not forwarded");
      const p = await publish(server.port, "ext/cam", { Authorization: basic("cam", "campw") });
      assert.equal(p.status, 200);
      assert.equal(auth.asked.length, 0);
      p.pub!.client.close();
      // The HTTP server's own publisher gets in too.
      const ext = await publish(server.port, "ext/other", { Authorization: basic("pub", "pubpw") });
      assert.equal(ext.status, 200);
      assert.equal(auth.asked.length, 1);
      ext.pub!.client.close();
    });
  } finally {
    await auth.server.shutdown();
  }
});

Deno.test("auth.http and auth.jwt unreachable: 503, never 401", async () => {
  const port = closedPort();
  await withServer({
    "auth.http.url": `http://127.0.0.1:${port}/auth`,
    "auth.jwt.jwksUrl": `http://127.0.0.1:${port}/jwks.json`,
    "auth.http.timeoutMs": 1000,
    "auth.jwt.timeoutMs": 1000,
  }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "cam");
    try {
      const r = await c.request("DESCRIBE", c.url, { Authorization: basic("view", "viewpw") });
      assert.equal(r.status, 503);
      const token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
      const j = await c.request("DESCRIBE", `${c.url}?jwt=${token}`);
      assert.equal(j.status, 503);
      assert.equal(await sum(server, "authFailures"), 0);
    } finally {
      c.close();
    }
  });
});

/** Keys, a JWKS server for the first, and tokens signed by either. */
async function startIssuer() {
  const good = await generateKeyPair("RS256");
  const other = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(good.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    fetches++;
    return Response.json({ keys: [jwk] });
  });
  const sign = (claims: JWTPayload, o: { exp?: number | string; key?: SigningKey } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuedAt()
      .setExpirationTime(o.exp ?? "5m").sign(o.key ?? good.privateKey);
  return {
    server,
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    sign,
    otherKey: other.privateKey,
    fetches: () => fetches,
  };
}

Deno.test("auth.jwt: a token as Basic password or ?jwt= query lets in what its claim allows", async () => {
  const idp = await startIssuer();
  try {
    await withServer({ "auth.jwt.jwksUrl": idp.url }, async (server) => {
      const pubToken = await idp.sign({
        sub: "camera",
        mediamtx_permissions: [{ action: "publish", path: "jwt/cam" }],
      });
      const readToken = await idp.sign({
        sub: "viewer",
        mediamtx_permissions: [{ action: "read", path: "~^jwt/" }],
      });
      // Without a token: 401 offering Basic.
      const none = await publish(server.port, "jwt/cam", {});
      assert.equal(none.status, 401);
      assert.deepEqual(none.response.headers.getAll("WWW-Authenticate"), ['Basic realm="dm-live"']);
      // The read token cannot publish: valid, but not permitted (403, no failure).
      assert.equal(
        (await publish(server.port, "jwt/cam", { Authorization: basic("x", readToken) })).status,
        403,
      );
      const p = await publish(server.port, "jwt/cam", { Authorization: basic("any", pubToken) });
      assert.equal(p.status, 200);
      const pub = p.pub!;
      try {
        await pub.sendFrames(5, 5);
        const url = `rtsp://127.0.0.1:${server.port}/jwt/cam`;
        const asPassword = await play(server.port, url, { Authorization: basic("viewer", readToken) }, pub);
        assert.deepEqual(asPassword.statuses, [200, 200, 200]);
        assert.ok(asPassword.frames);
        // In the query: SETUP goes to the Content-Base the DESCRIBE answered, ?jwt=.../trackID=0.
        const inQuery = await play(server.port, `${url}?jwt=${readToken}`, {}, pub);
        assert.deepEqual(inQuery.statuses, [200, 200, 200]);
        assert.ok(inQuery.frames);
        assert.equal(await sum(server, "authFailures"), 0);

        // The publish token may not read; a token for another path neither.
        assert.deepEqual((await play(server.port, `${url}?jwt=${pubToken}`, {}, pub)).statuses, [403]);
        const elsewhere = await idp.sign({ mediamtx_permissions: [{ action: "read", path: "jwt/other" }] });
        assert.deepEqual((await play(server.port, `${url}?jwt=${elsewhere}`, {}, pub)).statuses, [403]);
        assert.equal(
          await sum(server, "authFailures"),
          0,
          "a valid token without the permission is no guess",
        );

        // Expired, signed by another key, without exp: 401, counted.
        const expired = await idp.sign({ mediamtx_permissions: [{ action: "read" }] }, {
          exp: Math.floor(Date.now() / 1000) - 10,
        });
        const forged = await idp.sign({ mediamtx_permissions: [{ action: "read" }] }, { key: idp.otherKey });
        for (const [what, t] of [["expired", expired], ["another key", forged]]) {
          const r = await play(server.port, `${url}?jwt=${t}`, {}, pub);
          assert.deepEqual(r.statuses, [401], what);
          const b = await play(server.port, url, { Authorization: basic("u", t) }, pub);
          assert.deepEqual(b.statuses, [401], `${what}, as password`);
        }
        assert.equal(await sum(server, "authFailures"), 4);
        assert.ok(
          idp.fetches() <= 2,
          `the JWKS is fetched once per worker, not per request (${idp.fetches()})`,
        );
      } finally {
        pub.client.close();
      }
    });
  } finally {
    await idp.server.shutdown();
  }
});

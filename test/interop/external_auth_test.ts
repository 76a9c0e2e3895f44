/**
 * External auth with real clients: ffmpeg publishes and ffprobe plays with `rtsp://user:pass@`
 * checked by an HTTP auth server (Deno.serve here), and with a JWT in `?jwt=` against a JWKS this
 * test serves for a key it makes (the token as the password is test/server's: ffmpeg keeps 127
 * characters of user:password, fewer than a token has).
 */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { ffmpegPublisher, ffprobeFrames, interopTest } from "./clients.ts";
import { serverWithPublisher } from "./published_server.ts";

interface Question {
  user: string;
  password: string;
  ip: string;
  action: string;
  path: string;
  protocol: string;
}

/** dm-live with `auth` settings (YAML lines) and ffmpeg publishing cams/front to `publishTo(url)`. */
async function serverWith(auth: string, publishTo: (url: string) => string) {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/dm-live.yaml`;
  await Deno.writeTextFile(file, `auth:\n${auth}\npaths:\n  "~^cams/":\n    read: {}\n`);
  const s = await serverWithPublisher("cams/front", (url) => ffmpegPublisher(publishTo(url)), [
    "--config",
    file,
  ]);
  return {
    server: s.server,
    url: s.server.url("cams/front"),
    at: (cred: string) => s.server.url("cams/front").replace("rtsp://", `rtsp://${cred}@`),
    async stop() {
      await s.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interopTest("auth.http: ffmpeg publishes and ffprobe plays with rtsp://user:pass@ the auth server allows", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const asked: Question[] = [];
  const auth = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const q = await req.json() as Question;
    asked.push(q);
    const ok = (q.action === "publish" && q.user === "cam" && q.password === "c4m p@ss") ||
      (q.action === "read" && q.user === "view" && q.password === "watch");
    return new Response(null, { status: ok ? 200 : q.user === "" ? 401 : 403 });
  });
  try {
    const s = await serverWith(
      `  http:\n    url: http://127.0.0.1:${auth.addr.port}/auth`,
      (url) => url.replace("rtsp://", "rtsp://cam:c4m%20p%40ss@"),
    );
    try {
      assert.match(s.server.log, /\[path cams\/front\] ANNOUNCE: [^\n]* \(user 'cam'\)/);
      assert.ok(
        asked.some((q) => q.user === "cam" && q.action === "publish" && q.path === "cams/front"),
        JSON.stringify(asked),
      );
      const good = await ffprobeFrames(s.at("view:watch"), "tcp", 5);
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.lines[0], "1,I");
      assert.match(s.server.log, /\[path cams\/front\] PLAY: [^\n]* \(user 'view'\)/);
      const read = asked.filter((q) => q.action === "read" && q.user === "view");
      assert.deepEqual(read[0], {
        user: "view",
        password: "watch",
        ip: "127.0.0.1",
        action: "read",
        path: "cams/front",
        protocol: "rtsp",
      });

      const bad = await ffprobeFrames(s.at("view:wrong"), "tcp", 5);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /401 Unauthorized/);
      const none = await ffprobeFrames(s.url, "tcp", 5);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /401 Unauthorized/);
    } finally {
      await s.stop();
    }
  } finally {
    await auth.shutdown();
  }
});

interopTest("auth.jwt: ffmpeg publishes and ffprobe plays with a token in ?jwt=; another path's gets 403", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const jwks = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ keys: [jwk] }),
  );
  const sign = (perms: { action: string; path?: string }[]) =>
    new SignJWT({ mediamtx_permissions: perms }).setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setSubject("ops").setExpirationTime("10m").sign(privateKey);
  try {
    const pubToken = await sign([{ action: "publish", path: "cams/front" }]);
    const s = await serverWith(
      `  jwt:\n    jwksUrl: http://127.0.0.1:${jwks.addr.port}/jwks.json`,
      (url) => `${url}?jwt=${pubToken}`,
    );
    try {
      assert.match(s.server.log, /\[path cams\/front\] ANNOUNCE: [^\n]* \(user 'ops'\)/);
      const readToken = await sign([{ action: "read", path: "~^cams/" }]);
      const good = await ffprobeFrames(`${s.url}?jwt=${readToken}`, "tcp", 5);
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.lines[0], "1,I");
      assert.match(s.server.log, /\[path cams\/front\] PLAY: [^\n]* \(user 'ops'\)/);

      const elsewhere = await sign([{ action: "read", path: "cams/back" }]);
      const other = await ffprobeFrames(`${s.url}?jwt=${elsewhere}`, "tcp", 5);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /403 Forbidden/);
      // A token is a credential: the log shows none.
      for (const t of [pubToken, readToken, elsewhere]) assert.equal(s.server.log.includes(t), false);
      assert.match(s.server.log, /jwt=\(token\)/);
    } finally {
      await s.stop();
    }
  } finally {
    await jwks.shutdown();
  }
});

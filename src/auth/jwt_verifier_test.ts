/** The jose adapter against a JWKS served here, with keys this test makes. */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { JoseTokenVerifier } from "./jwt_verifier.ts";
import { DEFAULT_AUTH_SETTINGS, type JwtAuthSettings } from "./permission.ts";

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { privateKey, jwk };
}

async function withJwks(
  answer: (req: Request) => Response,
  fn: (url: string, s: (over?: Partial<JwtAuthSettings>) => JwtAuthSettings) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, answer);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/jwks.json`;
    await fn(url, (over = {}) => ({ ...DEFAULT_AUTH_SETTINGS.jwt, jwksUrl: url, ...over }));
  } finally {
    await server.shutdown();
  }
}

function sign(key: CryptoKey, kid: string, claims: JWTPayload, exp: string | number = "5m") {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid }).setIssuedAt().setExpirationTime(exp)
    .sign(key);
}

Deno.test("JoseTokenVerifier: a token of a JWKS key verifies; expired, foreign or exp-less ones do not", async () => {
  const good = await keyPair("k1");
  const other = await keyPair("k2");
  let fetches = 0;
  await withJwks(() => {
    fetches++;
    return Response.json({ keys: [good.jwk] });
  }, async (_url, s) => {
    const v = new JoseTokenVerifier(s({ cooldownMs: 60_000 }));
    const perms = { mediamtx_permissions: [{ action: "read", path: "cam" }] };
    const ok = await v.verify(await sign(good.privateKey, "k1", { sub: "u", ...perms }));
    assert.equal(ok.ok, true);
    assert.deepEqual(
      (ok as { claims: Record<string, unknown> }).claims.mediamtx_permissions,
      perms.mediamtx_permissions,
    );

    const expired = await v.verify(
      await sign(good.privateKey, "k1", perms, Math.floor(Date.now() / 1000) - 60),
    );
    assert.deepEqual(expired, { ok: false, unavailable: false, reason: "invalid token: expired" });

    // Signed by a key the JWKS lacks: under its kid (no key matches) or under the good key's kid.
    const foreign = await v.verify(await sign(other.privateKey, "k2", perms));
    assert.deepEqual(foreign, {
      ok: false,
      unavailable: false,
      reason: "invalid token: signed by no key of the JWKS",
    });
    const forged = await v.verify(await sign(other.privateKey, "k1", perms));
    assert.deepEqual(forged, {
      ok: false,
      unavailable: false,
      reason: "invalid token: signature does not verify",
    });

    const noExp = await new SignJWT(perms).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(
      good.privateKey,
    );
    const r = await v.verify(noExp);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /claim 'exp' missing/);
    assert.equal((await v.verify("eyJhbGciOiJub25lIn0.eyJ9.x")).ok, false);
    assert.equal(fetches, 1, "the JWKS is fetched once, the unknown kid within the cooldown fetches nothing");
  });
});

Deno.test("JoseTokenVerifier: issuer and audience are checked when set", async () => {
  const k = await keyPair("k1");
  await withJwks(() => Response.json({ keys: [k.jwk] }), async (_url, s) => {
    const v = new JoseTokenVerifier(s({ issuer: "https://idp", audience: "dm-live" }));
    const token = (iss: string, aud: string) =>
      new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(iss).setAudience(aud)
        .setExpirationTime("1m").sign(k.privateKey);
    assert.equal((await v.verify(await token("https://idp", "dm-live"))).ok, true);
    assert.match(JSON.stringify(await v.verify(await token("https://evil", "dm-live"))), /claim 'iss'/);
    assert.match(JSON.stringify(await v.verify(await token("https://idp", "other"))), /claim 'aud'/);
  });
});

Deno.test("JoseTokenVerifier: a JWKS that cannot be had is unavailable, not the token's fault", async () => {
  const k = await keyPair("k1");
  const token = await sign(k.privateKey, "k1", {});
  await withJwks(() => new Response("down", { status: 500 }), async (_url, s) => {
    const r = await new JoseTokenVerifier(s()).verify(token);
    assert.equal(r.ok, false);
    assert.equal((r as { unavailable: boolean }).unavailable, true);
    assert.match((r as { reason: string }).reason, /could not be had: Expected 200 OK/);
  });
  await withJwks(() => new Response("not json"), async (_url, s) => {
    const r = await new JoseTokenVerifier(s()).verify(token);
    assert.equal((r as { unavailable: boolean }).unavailable, true);
  });
  // Nothing listens any more.
  let closedUrl = "";
  await withJwks(() => new Response(), (url) => {
    closedUrl = url;
    return Promise.resolve();
  });
  const r = await new JoseTokenVerifier({ ...DEFAULT_AUTH_SETTINGS.jwt, jwksUrl: closedUrl }).verify(token);
  assert.equal((r as { unavailable: boolean }).unavailable, true);
});

import assert from "node:assert/strict";
import { claimsPermit, jwtFromQuery, looksLikeJwt } from "./jwt_permissions.ts";

const KEY = "mediamtx_permissions";
const claims = (perms: unknown) => ({ sub: "u", [KEY]: perms });

Deno.test("claimsPermit(): an exact path allows its action there only", () => {
  const c = claims([{ action: "read", path: "cams/front" }]);
  assert.equal(claimsPermit(c, KEY, "read", "cams/front"), true);
  assert.equal(claimsPermit(c, KEY, "publish", "cams/front"), false);
  assert.equal(claimsPermit(c, KEY, "read", "cams/front2"), false);
  assert.equal(claimsPermit(c, KEY, "read", "cams"), false);
  assert.equal(claimsPermit(c, KEY, "read", "/cams/front"), false);
});

Deno.test("claimsPermit(): an empty or absent path is every path (MediaMTX); ~ is an unanchored regex", () => {
  assert.equal(claimsPermit(claims([{ action: "publish", path: "" }]), KEY, "publish", "any/thing"), true);
  assert.equal(claimsPermit(claims([{ action: "publish" }]), KEY, "publish", "x"), true);
  assert.equal(claimsPermit(claims([{ action: "publish" }]), KEY, "read", "x"), false);
  const re = claims([{ action: "read", path: "~^cams/(front|back)$" }]);
  assert.equal(claimsPermit(re, KEY, "read", "cams/front"), true);
  assert.equal(claimsPermit(re, KEY, "read", "cams/side"), false);
  assert.equal(claimsPermit(claims([{ action: "read", path: "~cams" }]), KEY, "read", "old/cams/1"), true);
  // An expression that does not compile allows nothing, and does not throw.
  assert.equal(claimsPermit(claims([{ action: "read", path: "~(" }]), KEY, "read", "("), false);
});

Deno.test("claimsPermit(): anything but a list of {action, path} allows nothing", () => {
  for (const bad of [undefined, null, "read", { action: "read" }, [null, "read", 5, ["read"]]]) {
    assert.equal(claimsPermit(claims(bad), KEY, "read", "p"), false, JSON.stringify(bad));
  }
  assert.equal(claimsPermit(claims([{ action: "read", path: 5 }]), KEY, "read", "5"), false);
  assert.equal(claimsPermit(claims([{ action: "api" }, { action: "READ" }]), KEY, "read", "p"), false);
  // Another claim name, as auth.jwt.claimKey sets.
  assert.equal(claimsPermit({ perms: [{ action: "read" }] }, "perms", "read", "p"), true);
  assert.equal(claimsPermit({ perms: [{ action: "read" }] }, KEY, "read", "p"), false);
});

Deno.test("looksLikeJwt(): three base64url parts with a JSON header; passwords are not", () => {
  assert.equal(looksLikeJwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_"), true);
  for (const s of ["secret", "a.b.c", "eyJ.x", "eyJhbGc.eyJz.sig.extra", "eyJa.b c.d", ""]) {
    assert.equal(looksLikeJwt(s), false, s);
  }
});

Deno.test("jwtFromQuery(): the jwt= parameter, cut at ffmpeg's appended track control", () => {
  assert.equal(jwtFromQuery("jwt=eyJa.b.c"), "eyJa.b.c");
  assert.equal(jwtFromQuery("x=1&jwt=eyJa.b.c&y=2"), "eyJa.b.c");
  assert.equal(jwtFromQuery("jwt=eyJa.b.c/trackID=0"), "eyJa.b.c");
  assert.equal(jwtFromQuery("jwt=eyJa%2Eb.c"), "eyJa.b.c");
  assert.equal(jwtFromQuery(""), null);
  assert.equal(jwtFromQuery("jwt="), null);
  assert.equal(jwtFromQuery("token=eyJa.b.c"), null);
  assert.equal(jwtFromQuery("xjwt=eyJa.b.c"), null);
  assert.equal(jwtFromQuery("jwt=%E0%A4%A"), null);
});

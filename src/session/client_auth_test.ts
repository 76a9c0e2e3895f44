import assert from "node:assert/strict";
import { newAuthShared } from "../auth/auth_shared.ts";
import { Authenticator, NonceCounter } from "../auth/authenticator.ts";
import { type AuthSettings, DEFAULT_AUTH_SETTINGS, type Permission } from "../auth/permission.ts";
import { ClientAuth } from "./client_auth.ts";

const URI = "rtsp://cam:554/Streaming/Channels/101";
const PERM: Permission = { users: [{ user: "admin", pass: "s3cret" }], ips: [] };

/** dm-live's own server-side check, as the camera the client talks to. */
function camera(over: Partial<AuthSettings>) {
  const auth = new Authenticator({ ...DEFAULT_AUTH_SETTINGS, ...over }, newAuthShared());
  const counter = new NonceCounter();
  let now = 1_700_000_000_000;
  return {
    ask(client: ClientAuth, method = "DESCRIBE", advanceMs = 0) {
      now += advanceMs;
      const authorization = client.authorization(method, URI);
      return auth.check({ method, uri: URI, authorization, peerIp: "192.0.2.1", nowMs: now }, PERM, counter);
    },
  };
}

Deno.test("ClientAuth answers each kind of challenge so the server lets it in", async (t) => {
  const cases: [string, Partial<AuthSettings>, RegExp][] = [
    ["Basic only", { methods: ["basic"] }, /^Basic /],
    [
      "Digest MD5 with qop",
      { methods: ["digest"], digestAlgorithms: ["MD5"] },
      /algorithm=MD5, qop=auth, nc=0/,
    ],
    [
      "Digest SHA-256 and MD5 offered: takes SHA-256",
      { methods: ["digest"], digestAlgorithms: ["SHA-256", "MD5"] },
      /algorithm=SHA-256/,
    ],
    ["Basic and Digest offered: takes Digest", { methods: ["basic", "digest"] }, /^Digest /],
  ];
  for (const [name, over, form] of cases) {
    await t.step(name, () => {
      const cam = camera(over);
      const c = new ClientAuth("admin", "s3cret");
      const first = cam.ask(c);
      assert.equal(first.ok, false, "no credentials before a challenge");
      if (first.ok) return;
      assert.equal(c.challenged(first.challenges), null);
      assert.match(c.authorization("OPTIONS", URI)!, form);
      const second = cam.ask(c);
      assert.equal(second.ok, true, JSON.stringify(second));
      // Later requests of the session reuse the challenge (nc counts up with qop).
      assert.equal(cam.ask(c, "SETUP").ok, true);
      assert.equal(cam.ask(c, "PLAY").ok, true);
    });
  }
});

Deno.test("ClientAuth gives up on refused credentials and on missing ones, retries a stale nonce", () => {
  const cam = camera({ methods: ["digest"], nonceTtlMs: 1000 });
  const wrong = new ClientAuth("admin", "nope");
  const r1 = cam.ask(wrong);
  assert.ok(!r1.ok);
  assert.equal(wrong.challenged(r1.challenges), null);
  const r2 = cam.ask(wrong);
  assert.ok(!r2.ok);
  assert.equal(wrong.challenged(r2.challenges), "credentials refused");

  const none = new ClientAuth("", "");
  const r3 = cam.ask(none);
  assert.ok(!r3.ok);
  assert.equal(none.challenged(r3.challenges), "no credentials");

  const good = new ClientAuth("admin", "s3cret");
  const r4 = cam.ask(good);
  assert.ok(!r4.ok);
  good.challenged(r4.challenges);
  assert.equal(cam.ask(good).ok, true);
  good.accepted();
  const old = cam.ask(good, "GET_PARAMETER", 5000);
  assert.ok(!old.ok && old.stale, "the nonce expired");
  assert.equal(good.challenged(old.challenges), null, "stale: answered again with the new nonce");
  assert.equal(cam.ask(good, "GET_PARAMETER").ok, true);
});

Deno.test("ClientAuth finds no usable challenge in unknown schemes", () => {
  assert.equal(
    new ClientAuth("a", "b").challenged(["Negotiate abc", 'Bearer realm="x"']),
    "no usable challenge",
  );
});

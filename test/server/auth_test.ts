/**
 * Authentication and path permissions against a running server, with a raw client that computes
 * its own answers (RFC 2617 / 7616), so the server is checked against the RFCs rather than itself.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { RtspTestClient } from "../support/rtsp_client.ts";
import type { RtspResponse } from "../../src/rtsp/response.ts";
import type { ServerHandle } from "../../src/cluster/cluster.ts";
import { withOverrides } from "../../src/config.ts";

const anyone = { users: [], ips: [] };
const viewer = { users: [{ user: "view", pass: "pw" }], ips: [] };

/** `secure` needs view:pw to read; `open` needs nothing; other paths have no entry. */
const PATHS = {
  secure: { publish: anyone, read: viewer },
  open: { publish: anyone, read: anyone },
};

const h = (alg: string, s: string) =>
  createHash(alg === "SHA-256" ? "sha256" : "md5").update(s).digest("hex");

/** The parameters of a `Digest ...` challenge. */
function params(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of challenge.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) out[m[1]] = m[2] ?? m[3];
  return out;
}

function challenges(r: RtspResponse): string[] {
  return r.headers.getAll("WWW-Authenticate");
}

interface DigestOpts {
  user?: string;
  pass?: string;
  realm?: string;
  nc?: number;
  qop?: boolean;
  algorithm?: "MD5" | "SHA-256";
}

function digestHeader(challenge: string, method: string, uri: string, o: DigestOpts = {}): string {
  const p = params(challenge);
  const alg = o.algorithm ?? "MD5";
  const user = o.user ?? "view";
  const realm = o.realm ?? p.realm;
  const ha1 = h(alg, `${user}:${realm}:${o.pass ?? "pw"}`);
  const ha2 = h(alg, `${method}:${uri}`);
  if (o.qop === false) {
    const response = h(alg, `${ha1}:${p.nonce}:${ha2}`);
    return `Digest username="${user}", realm="${realm}", nonce="${p.nonce}", uri="${uri}", response="${response}"`;
  }
  const nc = (o.nc ?? 1).toString(16).padStart(8, "0");
  const cnonce = "0a4f113b";
  const response = h(alg, `${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${realm}", nonce="${p.nonce}", uri="${uri}", ` +
    `algorithm=${alg}, response="${response}", qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

async function withSecureServer(
  extra: Record<string, unknown>,
  fn: (server: ServerHandle) => Promise<void>,
): Promise<void> {
  // These tests answer in both Digest forms; the RFC 2069 form is off by default (security_test.ts).
  await withServer({ paths: PATHS, "auth.allowRfc2069": true, ...extra }, async (server) => {
    const pub = await startPublisher(server.port, "secure");
    try {
      await pub.sendFrames(2, 5);
      await fn(server);
    } finally {
      pub.close();
    }
  });
}

async function sum(server: ServerHandle, key: "authFailures" | "authRefused"): Promise<number> {
  return (await server.stats()).reduce((n, r) => n + r[key], 0);
}

Deno.test("a read-protected path: 401 with Basic then Digest MD5 challenges; each scheme's right answer is let in", async () => {
  await withSecureServer({}, async (server) => {
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const first = await c.request("DESCRIBE", c.url);
      assert.equal(first.status, 401);
      const ch = challenges(first);
      assert.equal(ch.length, 2);
      assert.match(ch[0], /^Basic realm="dm-live"$/);
      assert.match(ch[1], /^Digest realm="dm-live", nonce="[^"]+", algorithm=MD5, qop="auth"/);
      assert.equal(await sum(server, "authFailures"), 0, "a request without credentials is no failure");

      assert.equal((await c.request("DESCRIBE", c.url, { Authorization: basic("view", "pw") })).status, 200);
      const d = await c.request("DESCRIBE", c.url, { Authorization: digestHeader(ch[1], "DESCRIBE", c.url) });
      assert.equal(d.status, 200);
      assert.match(new TextDecoder().decode(d.body), /m=video/);
      // RFC 2069 form (no qop), as GStreamer answers.
      const d2 = await c.request("DESCRIBE", c.url, {
        Authorization: digestHeader(ch[1], "DESCRIBE", c.url, { qop: false }),
      });
      assert.equal(d2.status, 200);
      // The session's SETUP asks again (a client may skip DESCRIBE) and PLAY needs nothing more.
      const track = `${c.url}/trackID=0`;
      const s = await c.request("SETUP", track, {
        Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
        Authorization: digestHeader(ch[1], "SETUP", track, { nc: 2 }),
      });
      assert.equal(s.status, 200);
      assert.equal((await c.request("PLAY", `${c.url}/`)).status, 200);
      assert.equal(await sum(server, "authFailures"), 0);
    } finally {
      c.close();
    }
  });
});

Deno.test("wrong password, unknown user, wrong realm and a replayed nonce count are refused and counted", async () => {
  await withSecureServer({}, async (server) => {
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const ch = challenges(await c.request("DESCRIBE", c.url))[1];
      const tries: [string, string][] = [
        ["basic, wrong password", basic("view", "nope")],
        ["basic, unknown user", basic("who", "pw")],
        ["digest, wrong password", digestHeader(ch, "DESCRIBE", c.url, { pass: "nope", nc: 1 })],
        ["digest, wrong realm", digestHeader(ch, "DESCRIBE", c.url, { realm: "other", nc: 2 })],
      ];
      for (const [what, auth] of tries) {
        const r = await c.request("DESCRIBE", c.url, { Authorization: auth });
        assert.equal(r.status, 401, what);
        assert.equal(challenges(r).length, 2, `${what}: challenges again`);
      }
      assert.equal(await sum(server, "authFailures"), 4);
      assert.equal(
        (await c.request("DESCRIBE", c.url, {
          Authorization: digestHeader(ch, "DESCRIBE", c.url, { nc: 5 }),
        })).status,
        200,
      );
      const replay = await c.request("DESCRIBE", c.url, {
        Authorization: digestHeader(ch, "DESCRIBE", c.url, { nc: 5 }),
      });
      assert.equal(replay.status, 401, "the same nonce count twice");
      assert.equal(await sum(server, "authFailures"), 5);
    } finally {
      c.close();
    }
  });
});

/** One request from a chosen source address (node:net can bind it; Deno.connect cannot). */
async function statusFrom(localAddress: string, port: number, method: string, url: string, auth: string) {
  const sock = net.connect({ host: "127.0.0.1", port, localAddress });
  try {
    const head = await new Promise<string>((resolve, reject) => {
      let got = "";
      sock.on("error", reject);
      sock.on("data", (d: Uint8Array) => {
        got += new TextDecoder().decode(d);
        if (got.includes("\r\n\r\n")) resolve(got);
      });
      sock.write(`${method} ${url} RTSP/1.0\r\nCSeq: 1\r\nAuthorization: ${auth}\r\n\r\n`);
    });
    return Number(head.split(" ")[1]);
  } finally {
    sock.destroy();
  }
}

Deno.test("a nonce works only from the address it was issued to", async () => {
  await withSecureServer({ "rtsp.address": "0.0.0.0" }, async (server) => {
    const a = await RtspTestClient.connect(server.port, "secure");
    try {
      const ch = challenges(await a.request("DESCRIBE", a.url))[1];
      const auth = digestHeader(ch, "DESCRIBE", a.url, { qop: false });
      assert.equal(await statusFrom("127.0.0.2", server.port, "DESCRIBE", a.url, auth), 401);
      assert.equal(await statusFrom("127.0.0.1", server.port, "DESCRIBE", a.url, auth), 200);
    } finally {
      a.close();
    }
  });
});

Deno.test("an expired nonce gets stale=TRUE and is no failure", async () => {
  await withSecureServer({ "auth.nonceTtlMs": 1000 }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const ch = challenges(await c.request("DESCRIBE", c.url))[1];
      await new Promise((r) => setTimeout(r, 1200));
      const r = await c.request("DESCRIBE", c.url, { Authorization: digestHeader(ch, "DESCRIBE", c.url) });
      assert.equal(r.status, 401);
      const fresh = challenges(r)[1];
      assert.match(fresh, /stale=TRUE/i);
      assert.equal(await sum(server, "authFailures"), 0);
      const ok = await c.request("DESCRIBE", c.url, {
        Authorization: digestHeader(fresh, "DESCRIBE", c.url),
      });
      assert.equal(ok.status, 200);
    } finally {
      c.close();
    }
  });
});

Deno.test("SHA-256 is offered before MD5 when enabled and its answer is accepted", async () => {
  await withSecureServer({ "auth.digestAlgorithms": ["SHA-256", "MD5"] }, async (server) => {
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const ch = challenges(await c.request("DESCRIBE", c.url));
      assert.equal(ch.length, 3);
      assert.match(ch[1], /algorithm=SHA-256/);
      assert.match(ch[2], /algorithm=MD5/, "MD5 last: FFmpeg keeps the last Digest challenge");
      const r = await c.request("DESCRIBE", c.url, {
        Authorization: digestHeader(ch[1], "DESCRIBE", c.url, { algorithm: "SHA-256" }),
      });
      assert.equal(r.status, 200);
    } finally {
      c.close();
    }
  });
});

Deno.test("digest only: Basic answers are refused; hashed secrets let the right password in", async () => {
  const sha = btoa(String.fromCharCode(...createHash("sha256").update("pw").digest()));
  const paths = {
    a: {
      publish: anyone,
      read: { users: [{ user: "view", ha1: [`MD5:${h("MD5", "view:dm-live:pw")}`] }], ips: [] },
    },
    b: { publish: anyone, read: { users: [{ user: "view", pass: `sha256:${sha}` }], ips: [] } },
  };
  await withServer({ paths }, async (server) => {
    const pa = await startPublisher(server.port, "a");
    const pb = await startPublisher(server.port, "b");
    const c = await RtspTestClient.connect(server.port, "a");
    try {
      const ch = challenges(await c.request("DESCRIBE", c.url))[1];
      assert.equal(
        (await c.request("DESCRIBE", c.url, { Authorization: digestHeader(ch, "DESCRIBE", c.url) }))
          .status,
        200,
        "ha1 secret with Digest",
      );
      const urlB = `rtsp://127.0.0.1:${server.port}/b`;
      assert.equal((await c.request("DESCRIBE", urlB, { Authorization: basic("view", "pw") })).status, 200);
      assert.equal((await c.request("DESCRIBE", urlB, { Authorization: basic("view", "pW") })).status, 401);
    } finally {
      c.close();
      pa.close();
      pb.close();
    }
  });
  await withServer({ paths: PATHS, "auth.methods": ["digest"] }, async (server) => {
    const pub = await startPublisher(server.port, "secure");
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const first = await c.request("DESCRIBE", c.url);
      assert.deepEqual(challenges(first).map((x) => x.split(" ")[0]), ["Digest"]);
      assert.equal((await c.request("DESCRIBE", c.url, { Authorization: basic("view", "pw") })).status, 401);
    } finally {
      c.close();
      pub.close();
    }
  });
});

Deno.test("after maxFailures an address gets 403 even with the right password, for the window", async () => {
  await withSecureServer({ "auth.maxFailures": 3, "auth.failureWindowMs": 2000 }, async (server) => {
    // Failures on separate connections: the limit is per address, across workers.
    for (let i = 0; i < 3; i++) {
      const c = await RtspTestClient.connect(server.port, "secure");
      assert.equal((await c.request("DESCRIBE", c.url, { Authorization: basic("view", "x") })).status, 401);
      c.close();
    }
    const c = await RtspTestClient.connect(server.port, "secure");
    try {
      const r = await c.request("DESCRIBE", c.url, { Authorization: basic("view", "pw") });
      assert.equal(r.status, 403);
      assert.equal(challenges(r).length, 0);
      assert.equal(await sum(server, "authFailures"), 3);
      assert.equal(await sum(server, "authRefused"), 1);
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await c.request("DESCRIBE", c.url, { Authorization: basic("view", "pw") })).status, 200);
    } finally {
      c.close();
    }
  });
});

Deno.test("IP allow-lists, publish credentials, and paths no entry matches", async () => {
  const paths = {
    lan: { publish: anyone, read: { users: [], ips: ["127.0.0.2/32", "10.0.0.0/8"] } },
    lo: { publish: anyone, read: { users: [], ips: ["::1", "127.0.0.0/8"] } },
    cam: { publish: { users: [{ user: "cam", pass: "pub" }], ips: [] }, read: anyone },
  };
  await withServer({ paths, "rtsp.address": "0.0.0.0" }, async (server) => {
    const pub = await startPublisher(server.port, "lan");
    const pub2 = await startPublisher(server.port, "lo");
    const a = await RtspTestClient.connect(server.port, "lan");
    const b = await RtspTestClient.connect(server.port, "lo");
    try {
      assert.equal((await a.request("DESCRIBE", a.url)).status, 403, "127.0.0.1 is not in lan's list");
      assert.equal((await b.request("DESCRIBE", b.url)).status, 200, "127.0.0.1 is in lo's list");
      assert.equal(await statusFrom("127.0.0.2", server.port, "DESCRIBE", a.url, "Basic eDp4"), 200);
      assert.equal((await a.request("DESCRIBE", `rtsp://127.0.0.1:${server.port}/elsewhere`)).status, 404);

      const sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n" +
        "a=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";
      const camUrl = `rtsp://127.0.0.1:${server.port}/cam`;
      const no = await a.request("ANNOUNCE", camUrl, { "Content-Type": "application/sdp" }, sdp);
      assert.equal(no.status, 401);
      const yes = await a.request("ANNOUNCE", camUrl, {
        "Content-Type": "application/sdp",
        Authorization: basic("cam", "pub"),
      }, sdp);
      assert.equal(yes.status, 200);
      const nowhere = await b.request("ANNOUNCE", `rtsp://127.0.0.1:${server.port}/nowhere`, {
        "Content-Type": "application/sdp",
      }, sdp);
      assert.equal(nowhere.status, 404);
    } finally {
      a.close();
      b.close();
      pub.close();
      pub2.close();
    }
  });
});

Deno.test("a reload changes who gets in next; a session already playing keeps playing", async () => {
  await withServer({ paths: { secure: { publish: anyone, read: anyone } } }, async (server, config) => {
    const pub = await startPublisher(server.port, "secure");
    const a = await RtspTestClient.connect(server.port, "secure");
    const b = await RtspTestClient.connect(server.port, "secure");
    try {
      await pub.sendFrames(2, 5);
      assert.equal((await a.request("DESCRIBE", a.url)).status, 200);
      const track = `${a.url}/trackID=0`;
      assert.equal(
        (await a.request("SETUP", track, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" })).status,
        200,
      );
      assert.equal((await a.request("PLAY", `${a.url}/`)).status, 200);

      server.reload(withOverrides(config, { paths: PATHS }));
      // Each worker takes its messages in order: once all have answered a stats request posted
      // after the reload, all have applied it.
      await server.stats();
      assert.equal((await b.request("DESCRIBE", b.url)).status, 401, "new sessions need credentials now");
      assert.equal((await b.request("DESCRIBE", b.url, { Authorization: basic("view", "pw") })).status, 200);

      const before = a.frames.length;
      await pub.sendFrames(2, 5);
      assert.ok(await a.waitFrames((f) => f.length > before), "the running viewer still receives");
      assert.ok(!a.closed);
    } finally {
      a.close();
      b.close();
      pub.close();
    }
  });
});

import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { AV_SDP } from "../sdp/testdata/av_sdp.ts";
import type { MainToWorker } from "./messages.ts";
import { sameCodecs, StreamDirectory } from "./stream_directory.ts";

/** A directory with two workers whose messages are kept. */
function setup(graceMs: number) {
  const dir = new StreamDirectory(new Logger("error"), () => graceMs);
  const got: [number, MainToWorker][] = [];
  for (const index of [0, 1]) dir.addWorker({ index, post: (m) => got.push([index, m]) });
  /** Claims and publishes `path` from worker w as session s; returns the publishResult. */
  const publish = (w: number, s: string, sdp = AV_SDP) => {
    dir.handle(w, { type: "claim", id: 1, path: "cam", sessionId: s });
    const claim = got.findLast(([to, m]) => to === w && m.type === "claimResult");
    assert.ok(claim && claim[1].type === "claimResult" && claim[1].ok, `claim by ${s}`);
    dir.handle(w, { type: "publish", id: 2, path: "cam", sessionId: s, sdp, tracks: 2 });
    for (const i of [0, 1]) dir.handle(i, { type: "streamAck", streamId: dir.streams()[0]?.streamId ?? 0 });
    const r = got.findLast(([to, m]) => to === w && m.type === "publishResult");
    return r![1] as Extract<MainToWorker, { type: "publishResult" }>;
  };
  const removed = () => got.filter(([to, m]) => to === 1 && m.type === "streamRemoved").length;
  return { dir, publish, removed };
}

Deno.test("StreamDirectory: a publisher with the same codecs continues the waiting stream, on any worker", () => {
  const { dir, publish, removed } = setup(10_000);
  const first = publish(0, "a");
  assert.equal(first.continued, undefined);
  const sab = dir.streams()[0].sab;
  dir.handle(0, { type: "release", path: "cam", sessionId: "a" });
  assert.equal(removed(), 0, "kept for the grace period");
  assert.equal(dir.streams().length, 1);
  const second = publish(1, "b");
  assert.equal(second.streamId, first.streamId);
  assert.equal(second.continued?.sab, sab);
  assert.equal(dir.streams()[0].worker, 1);
  assert.equal(dir.streams()[0].sessionId, "b");
  dir.close();
});

Deno.test("StreamDirectory: other codecs end the waiting stream; no grace period ends it at once", () => {
  const { dir, publish, removed } = setup(10_000);
  const first = publish(0, "a");
  dir.handle(0, { type: "release", path: "cam", sessionId: "a" });
  const audioOnly = "v=0\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=control:streamid=0\r\n";
  const second = publish(1, "b", audioOnly);
  assert.equal(removed(), 1);
  assert.notEqual(second.streamId, first.streamId);
  assert.equal(second.continued, undefined);
  dir.close();

  const z = setup(0);
  z.publish(0, "a");
  z.dir.handle(0, { type: "release", path: "cam", sessionId: "a" });
  assert.equal(z.removed(), 1);
  assert.equal(z.dir.streams().length, 0);
});

Deno.test("StreamDirectory: the grace period ends the stream; a dead worker's stream waits like any other", async () => {
  const { dir, publish, removed } = setup(50);
  publish(0, "a");
  dir.removeWorker(0);
  assert.equal(removed(), 0);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(removed(), 1);
  assert.equal(dir.streams().length, 0);
  // The path is free again.
  assert.equal(publish(1, "b").continued, undefined);
  dir.close();
});

Deno.test("sameCodecs() compares media, encoding and clock rate per track, not payload types", () => {
  assert.ok(sameCodecs(AV_SDP, AV_SDP.replaceAll("96", "100")));
  assert.ok(!sameCodecs(AV_SDP, AV_SDP.replace("MPEG4-GENERIC/44100/2", "MPEG4-GENERIC/48000/2")));
  assert.ok(!sameCodecs(AV_SDP, "v=0\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"));
  assert.ok(!sameCodecs(AV_SDP, "not an sdp"));
});

Deno.test("StreamDirectory: limits.maxStreams and maxStreamsPerAddress refuse new paths with limit set; sources are never refused", () => {
  const limits = { maxStreams: 3, maxStreamsPerAddress: 2 };
  const dir = new StreamDirectory(new Logger("error"), () => 0, () => limits);
  const got: MainToWorker[] = [];
  dir.addWorker({ index: 0, post: (m) => got.push(m) });
  let id = 0;
  const claim = (path: string, peer?: string) => {
    dir.handle(0, { type: "claim", id: ++id, path, sessionId: `s-${path}`, peer });
    const r = got.findLast((m) => m.type === "claimResult" && m.id === id);
    assert.ok(r && r.type === "claimResult");
    return r;
  };
  assert.equal(claim("a", "10.0.0.1").ok, true);
  assert.equal(claim("b", "10.0.0.1").ok, true);
  const third = claim("c", "10.0.0.1");
  assert.equal(third.ok, false);
  assert.equal(third.limit, true);
  assert.match(third.reason!, /maxStreamsPerAddress \(2\)/);
  assert.equal(claim("c", "10.0.0.2").ok, true, "another address");
  const fourth = claim("d", "10.0.0.3");
  assert.equal(fourth.limit, true);
  assert.match(fourth.reason!, /maxStreams \(3\)/);
  assert.equal(claim("d").ok, true, "a configured source is not refused");
  // A claim already held is answered again (a retried ANNOUNCE of the same session).
  assert.equal(claim("a", "10.0.0.1").ok, true);
  // Releasing a path frees its place; a reload's new limits apply at the next claim.
  dir.handle(0, { type: "release", path: "b", sessionId: "s-b" });
  dir.handle(0, { type: "release", path: "d", sessionId: "s-d" });
  assert.equal(claim("e", "10.0.0.1").ok, true);
  limits.maxStreams = 0;
  limits.maxStreamsPerAddress = 0;
  assert.equal(claim("f", "10.0.0.1").ok, true, "0: no bound");
});

Deno.test("StreamDirectory: limits.maxStreamsPerAddress counts an IPv6 /64 as one address, as the other per-address limits", () => {
  const dir = new StreamDirectory(
    new Logger("error"),
    () => 0,
    () => ({ maxStreams: 0, maxStreamsPerAddress: 2 }),
  );
  const got: MainToWorker[] = [];
  dir.addWorker({ index: 0, post: (m) => got.push(m) });
  let id = 0;
  const claim = (path: string, peer: string) => {
    dir.handle(0, { type: "claim", id: ++id, path, sessionId: `s-${path}`, peer });
    const r = got.findLast((m) => m.type === "claimResult" && m.id === id);
    assert.ok(r && r.type === "claimResult");
    return r;
  };
  assert.equal(claim("a", "2001:db8:1:2::1").ok, true);
  assert.equal(claim("b", "2001:db8:1:2:ffff::9").ok, true, "another address of the /64");
  const third = claim("c", "2001:db8:1:2::3");
  assert.equal(third.ok, false, "a third address of the same /64 is past the bound");
  assert.equal(third.limit, true);
  assert.match(third.reason!, /maxStreamsPerAddress \(2\) reached by 2001:db8:1:2::\/64/);
  assert.equal(claim("c", "2001:db8:1:3::1").ok, true, "the next /64 is another address");
  assert.equal(claim("d", "10.0.0.1").ok, true);
  assert.equal(claim("e", "::ffff:10.0.0.1").ok, true, "IPv4-mapped is its IPv4 address");
  assert.equal(claim("f", "10.0.0.1").ok, false);
  dir.close();
});

Deno.test("StreamDirectory in a cluster: a claim waits for ownership; refused ones are undone; an edge claims without", async () => {
  const asked: string[] = [];
  const released: string[] = [];
  const ownedHere: string[] = [];
  let answer: { ok: true } | { ok: false; reason: string; unavailable: boolean } = { ok: true };
  const dir = new StreamDirectory(new Logger("error"), () => 10_000, undefined, {
    acquire: (p) => {
      asked.push(p);
      return Promise.resolve(answer);
    },
    release: (p) => released.push(p),
    owned: (p) => ownedHere.push(p),
  });
  const got: MainToWorker[] = [];
  dir.addWorker({ index: 0, post: (m) => got.push(m) });
  const claim = async (id: number, path: string, s: string, edge = false) => {
    dir.handle(0, { type: "claim", id, path, sessionId: s, edge });
    await new Promise((r) => setTimeout(r, 0));
    return got.findLast((m) => m.type === "claimResult" && m.id === id) as Extract<
      MainToWorker,
      { type: "claimResult" }
    >;
  };
  assert.equal((await claim(1, "a", "s1")).ok, true);
  assert.deepEqual(asked, ["a"]);
  assert.deepEqual(ownedHere, ["a"]);

  answer = { ok: false, reason: "path 'b' is published on node n2", unavailable: false };
  const refused = await claim(2, "b", "s2");
  assert.equal(refused.ok, false);
  assert.equal(refused.reason, "path 'b' is published on node n2");
  answer = { ok: false, reason: "etcd down", unavailable: true };
  assert.equal((await claim(3, "b", "s3")).unavailable, true, "the refusal undid the claim: asked again");

  // An edge pull relays another node's stream: no ownership asked.
  const before = asked.length;
  assert.equal((await claim(4, "c", "edge1", true)).ok, true);
  assert.equal(asked.length, before);
  // The edge pull ends (its stream waits for the next pull); a local publisher must own the path.
  dir.handle(0, {
    type: "publish",
    id: 5,
    path: "c",
    sessionId: "edge1",
    sdp: AV_SDP,
    tracks: 2,
  });
  dir.handle(0, { type: "streamAck", streamId: dir.streams()[0].streamId });
  dir.handle(0, { type: "release", path: "c", sessionId: "edge1" });
  answer = { ok: true };
  assert.equal((await claim(6, "c", "pub")).ok, true);
  assert.equal(asked.at(-1), "c");

  // The owned path's claim ends: given up.
  dir.handle(0, { type: "release", path: "a", sessionId: "s1" });
  assert.deepEqual(released, ["a"]);
  dir.close();
});

Deno.test("StreamDirectory: its observer hears of a stream before the workers, of its readiness once all acked, and of its end with why", () => {
  const heard: string[] = [];
  const got: string[] = [];
  const dir = new StreamDirectory(new Logger("error"), () => 0, undefined, null, {
    published: (s, by) =>
      heard.push(`published ${s.path} ${s.streamId} ${by.kind} ${by.peer} (${got.length} posted)`),
    ready: (s) => heard.push(`ready ${s.streamId}`),
    removed: (s, why) => heard.push(`removed ${s.streamId}: ${why}`),
  });
  for (const index of [0, 1]) dir.addWorker({ index, post: (m) => got.push(`${index} ${m.type}`) });
  dir.handle(0, { type: "claim", id: 1, path: "cam", sessionId: "a", peer: "10.0.0.9" });
  dir.handle(0, { type: "publish", id: 2, path: "cam", sessionId: "a", sdp: AV_SDP, tracks: 2 });
  dir.handle(0, { type: "streamAck", streamId: 1 });
  assert.deepEqual(heard, ["published cam 1 publisher 10.0.0.9 (1 posted)"], "before any streamAdded");
  dir.handle(1, { type: "streamAck", streamId: 1 });
  assert.deepEqual(heard.slice(1), ["ready 1"]);
  dir.handle(0, { type: "release", path: "cam", sessionId: "a" });
  assert.deepEqual(heard.slice(2), ["removed 1: publisher left"]);

  // A source's stream (no peer) that ends before every worker knew it: published and removed, never ready.
  dir.handle(1, { type: "claim", id: 3, path: "src", sessionId: "b" });
  dir.handle(1, { type: "publish", id: 4, path: "src", sessionId: "b", sdp: AV_SDP, tracks: 2 });
  dir.removeWorker(1);
  assert.deepEqual(heard.slice(3), ["published src 2 source null (7 posted)", "removed 2: worker 1 ended"]);
  dir.close();
});

Deno.test("StreamDirectory in a cluster: a claim that comes while the holder's ownership is asked waits for the answer", async () => {
  let answer!: (r: { ok: true } | { ok: false; reason: string; unavailable: boolean }) => void;
  const dir = new StreamDirectory(new Logger("error"), () => 10_000, undefined, {
    acquire: () => new Promise((r) => answer = r),
    release: () => {},
  });
  const got: MainToWorker[] = [];
  dir.addWorker({ index: 0, post: (m) => got.push(m) });
  const result = (id: number) =>
    got.find((m) => m.type === "claimResult" && m.id === id) as
      | Extract<MainToWorker, { type: "claimResult" }>
      | undefined;
  // An edge pull relays the stream, then loses its connection: the stream waits for its next pull.
  dir.handle(0, { type: "claim", id: 1, path: "p", sessionId: "edge1", edge: true });
  dir.handle(0, {
    type: "publish",
    id: 2,
    path: "p",
    sessionId: "edge1",
    sdp: AV_SDP,
    tracks: 2,
  });
  dir.handle(0, { type: "streamAck", streamId: dir.streams()[0].streamId });
  dir.handle(0, { type: "release", path: "p", sessionId: "edge1" });
  // A publisher tries this node (the owner elsewhere is alive): its claim waits for etcd...
  dir.handle(0, { type: "claim", id: 3, path: "p", sessionId: "pub" });
  // ...and the edge's retry comes meanwhile: not refused, it waits too.
  dir.handle(0, { type: "claim", id: 4, path: "p", sessionId: "edge2", edge: true });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(result(3), undefined);
  assert.equal(result(4), undefined, "the edge's claim waits for the publisher's answer");
  answer({ ok: false, reason: "path 'p' is published on node n2", unavailable: false });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(result(3)?.ok, false, "the publisher is refused");
  assert.equal(result(4)?.ok, true, "the edge's retry continues the stream");
  dir.close();
});

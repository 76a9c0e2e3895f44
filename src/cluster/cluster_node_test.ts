import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { MemoryStore } from "../testing/memory_store.ts";
import { ClusterNode } from "./cluster_node.ts";
import { placeOf } from "./placement.ts";

const log = new Logger("error");

async function node(store: MemoryStore, name: string, changed = () => {}) {
  const n = new ClusterNode(
    store,
    { name, advertise: `rtsp://${name}:8554`, prefix: "/t/", leaseTtlMs: 5000 },
    log,
    changed,
  );
  await n.start();
  return n;
}

Deno.test("ClusterNode: members see each other, one owner per path, the second is told who has it", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  const b = await node(store, "b");
  assert.ok(a.synced && b.synced);
  assert.deepEqual(a.members().map((m) => m.name).sort(), ["a", "b"]);
  assert.deepEqual(b.members().map((m) => m.name).sort(), ["a", "b"]);

  assert.deepEqual(await a.acquire("live/x"), { ok: true });
  const second = await b.acquire("live/x");
  assert.equal(second.ok, false);
  assert.ok(!second.ok && !second.unavailable && second.owner === "a", JSON.stringify(second));
  assert.deepEqual(b.ownerOf("live/x"), { node: "a", advertise: "rtsp://a:8554" });
  // Taken again by its owner (a publisher reconnecting there): still ok.
  assert.deepEqual(await a.acquire("live/x"), { ok: true });

  a.release("live/x");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(b.ownerOf("live/x"), undefined);
  assert.deepEqual(await b.acquire("live/x"), { ok: true });
  assert.equal(a.ownerOf("live/x")?.node, "b");
  await a.stop();
  await b.stop();
});

Deno.test("ClusterNode: a released path whose key another node took since is left alone (fencing)", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  const b = await node(store, "b");
  assert.deepEqual(await a.acquire("p"), { ok: true });
  // a's lease expires (etcd away from a): its key goes, b takes the path.
  const aLease = store.leases()[0];
  store.expire(aLease);
  assert.deepEqual(await b.acquire("p"), { ok: true });
  const taken = store.get("/t/streams/p")!;
  a.release("p"); // a's stream ends late: its token no longer matches
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(store.get("/t/streams/p"), taken);
  await a.stop();
  await b.stop();
});

Deno.test("ClusterNode: a dead node's entry and paths vanish with its lease; the next in hash order pulls", async () => {
  const store = new MemoryStore();
  let changes = 0;
  const nodes = [await node(store, "n1", () => changes++), await node(store, "n2"), await node(store, "n3")];
  const n1 = nodes[0];
  const path = Array.from({ length: 50 }, (_, i) => `cam/${i}`).find((p) =>
    placeOf(p, ["n1", "n2", "n3"]) === "n2"
  )!;
  assert.equal(n1.pullerOf(path)?.node, "n2");
  assert.deepEqual(await nodes[1].acquire(path), { ok: true });
  const before = changes;
  const n2Lease = store.leases()[1];
  store.expire(n2Lease);
  assert.ok(changes > before, "a change is reported");
  assert.deepEqual(n1.members().map((m) => m.name).sort(), ["n1", "n3"]);
  assert.equal(n1.ownerOf(path), undefined);
  assert.equal(n1.pullerOf(path)?.node, placeOf(path, ["n1", "n3"]));
  for (const n of nodes) await n.stop();
});

Deno.test("ClusterNode: the owner keeps a source when a node joins that would win its hash", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  // A path "a" owns although "z" would win it: ownership beats placement.
  const path = Array.from({ length: 200 }, (_, i) => `s/${i}`).find((p) => placeOf(p, ["a", "z"]) === "z")!;
  assert.deepEqual(await a.acquire(path), { ok: true });
  const z = await node(store, "z");
  assert.equal(z.pullerOf(path)?.node, "a");
  assert.equal(a.pullerOf(path)?.node, "a");
  await a.stop();
  await z.stop();
});

Deno.test("ClusterNode: etcd away: unsynced, lookups refused as unavailable; back: lease and paths put back", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  assert.deepEqual(await a.acquire("keep"), { ok: true });
  store.outage();
  assert.equal(a.synced, false);
  const r = await a.acquire("new");
  assert.ok(!r.ok && r.unavailable, JSON.stringify(r));
  // The outage outlived the lease: etcd dropped it and its keys.
  store.expire(store.leases()[0]);
  store.recover();
  // The node joins again after its retry delay and puts its path back.
  for (let i = 0; i < 100 && !(a.synced && store.get("/t/streams/keep")); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(a.synced, "synced again");
  assert.equal(JSON.parse(store.get("/t/streams/keep")!.value).node, "a");
  assert.ok(store.get("/t/nodes/a"));
  await a.stop();
  assert.equal(store.get("/t/nodes/a"), undefined, "a clean leave revokes the lease: its keys go at once");
});

Deno.test("ClusterNode: a lease given up on while etcd kept it: its paths move to the new lease and outlive the old", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  assert.deepEqual(await a.acquire("keep"), { ok: true });
  const old = store.leases()[0];
  const token = store.get("/t/streams/keep")!.createRevision;
  // Keep-alives failed past the TTL, but etcd (restarted meanwhile) renewed the lease.
  store.loseOnClient(old);
  for (let i = 0; i < 100 && store.leases().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 100 && !a.synced; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(a.synced, "joined again");
  // The old lease expires at last: nothing of a's may go with it.
  store.expire(old);
  const kept = store.get("/t/streams/keep");
  assert.ok(kept, "the path's key moved to the new lease");
  assert.equal(kept.createRevision, token, "with its fencing token");
  assert.ok(store.get("/t/nodes/a"), "the entry moved too");
  await a.stop();
});

Deno.test("ClusterNode: a malformed entry from another writer is ignored, not trusted", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  await store.put("/t/nodes/evil", "not json");
  await store.put("/t/streams/p", JSON.stringify({ node: 5 }));
  assert.deepEqual(a.members().map((m) => m.name), ["a"]);
  assert.equal(a.ownerOf("p"), undefined);
  await a.stop();
});

Deno.test("ClusterNode: a watch that cannot resume (etcd compacted past it) is set up again from a fresh read", async () => {
  const store = new MemoryStore();
  const a = await node(store, "a");
  const b = await node(store, "b");
  store.failWatches("etcdserver: mvcc: required revision has been compacted");
  assert.equal(b.synced, false);
  for (let i = 0; i < 100 && !b.synced; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(b.synced, "synced again after reading the keys anew");
  assert.deepEqual(await a.acquire("p"), { ok: true });
  assert.equal(b.ownerOf("p")?.node, "a", "the new watch delivers");
  await a.stop();
  await b.stop();
});

Deno.test("ClusterNode: a join that fails half-way goes on where it stopped (the entry, then each watch)", async () => {
  for (const step of ["put", "watchPrefix", "getPrefix"] as const) {
    const store = new MemoryStore();
    store.failNext(step);
    const a = await node(store, "a");
    assert.equal(a.synced, false, `${step} failed: not synced yet`);
    for (let i = 0; i < 100 && !a.synced; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(a.synced, `${step}: synced after the retry`);
    assert.ok(store.get("/t/nodes/a"), `${step}: the node's entry is written`);
    const b = await node(store, "b");
    assert.deepEqual(a.members().map((m) => m.name).sort(), ["a", "b"], `${step}: both watches deliver`);
    assert.deepEqual(await b.acquire("p"), { ok: true });
    assert.equal(a.ownerOf("p")?.node, "b");
    await a.stop();
    await b.stop();
  }
});

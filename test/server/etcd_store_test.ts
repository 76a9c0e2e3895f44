/** The cluster's etcd adapter against a real etcd: fencing, paged prefix reads, watches across an outage, a lost lease. */
import assert from "node:assert/strict";
import { startEtcdCluster } from "../support/etcd_cluster.ts";
import { EtcdStore } from "../../src/etcd/etcd_store.ts";
import type { WatchEvent } from "../../src/etcd/store.ts";
import { until } from "../support/proc.ts";

// The etcd3 client's watch manager leaves its reconnect timer behind a closed client.
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "EtcdStore: create-if-absent tells who has the key; moving to another lease and delete are fenced by the create revision",
  ...opts,
  fn: async () => {
    const etcd = await startEtcdCluster(1);
    const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 2000 });
    try {
      const lost: string[] = [];
      const lease = await store.grantLease(2000, (why) => lost.push(why));
      const first = await store.createIfAbsent("/t/streams/p", "a", lease);
      assert.equal(first.created, true);
      const second = await store.createIfAbsent("/t/streams/p", "b", lease);
      assert.ok(!second.created && second.current?.value === "a", JSON.stringify(second));
      assert.equal(first.created && second.current?.createRevision, first.createRevision);
      // Moved to another lease, fenced the same way: the create revision stays, the old lease's
      // revocation leaves it.
      const token = first.created ? first.createRevision : "";
      const other = await store.grantLease(2000, (why) => lost.push(why));
      assert.equal(await store.putIfCreatedAt("/t/streams/p", "a2", "1", other), false, "another revision");
      assert.equal(await store.putIfCreatedAt("/t/streams/p", "a2", token, other), true);
      await lease.revoke();
      const moved = (await store.getPrefix("/t/")).kvs;
      assert.deepEqual(moved.map((kv) => [kv.value, kv.createRevision]), [["a2", token]]);
      assert.equal(await store.deleteIfCreatedAt("/t/streams/p", "1"), false, "another revision: kept");
      assert.equal(
        await store.deleteIfCreatedAt("/t/streams/p", first.created ? first.createRevision : ""),
        true,
      );
      assert.deepEqual((await store.getPrefix("/t/")).kvs, []);
      await other.revoke();
      assert.deepEqual(lost, []);
    } finally {
      store.close();
      await etcd.stop();
    }
  },
});

Deno.test({
  name: "EtcdStore: a prefix read in pages sees every key at one revision; a watch from it misses nothing",
  ...opts,
  fn: async () => {
    const etcd = await startEtcdCluster(1);
    const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 2000, pageKeys: 7 });
    try {
      for (let i = 0; i < 40; i++) await store.put(`/t/streams/cam/${String(i).padStart(2, "0")}`, `v${i}`);
      await store.put("/t/streamsX", "outside the prefix");
      const snap = await store.getPrefix("/t/streams/");
      assert.equal(snap.kvs.length, 40);
      assert.deepEqual(snap.kvs.map((kv) => kv.value), Array.from({ length: 40 }, (_, i) => `v${i}`));
      const events: WatchEvent[] = [];
      const states: boolean[] = [];
      // Written after the read, before the watch starts: delivered all the same.
      await store.put("/t/streams/late", "x");
      const w = await store.watchPrefix("/t/streams/", snap.revision, {
        event: (e) => events.push(e),
        state: (up) => states.push(up),
      });
      await until(() => events.length >= 1, 5000, "the late put");
      const late = events[0];
      assert.ok(
        late.type === "put" && late.kv.key === "/t/streams/late" && late.kv.value === "x",
        JSON.stringify(late),
      );
      // The only member killed and started again: the watch says so, comes back and delivers what
      // was written meanwhile.
      await etcd.members[0].kill();
      await until(() => states.includes(false), 10_000, "the watch to report the outage");
      await etcd.members[0].start();
      await etcd.ready();
      for (let i = 0;; i++) {
        try {
          await store.put("/t/streams/after", "y");
          break;
        } catch (e) {
          // Expected right after a restart: the client's circuit breaker is still open for a while.
          if (i > 40) throw e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await until(
        () => events.some((e) => e.type === "put" && e.kv.value === "y"),
        15_000,
        "the put after the outage",
      );
      assert.equal(states.at(-1), true, "the watch is back");
      await w.close();
    } finally {
      store.close();
      await etcd.stop();
    }
  },
});

Deno.test({
  name: "EtcdStore: a lease etcd could not hear from for its TTL is reported lost",
  ...opts,
  fn: async () => {
    const etcd = await startEtcdCluster(1);
    const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 1000 });
    try {
      const lost: string[] = [];
      const lease = await store.grantLease(2000, (why) => lost.push(why));
      await store.put("/t/nodes/n", "v", lease);
      await etcd.members[0].kill();
      await until(() => lost.length > 0, 15_000, "the lease to be reported lost");
      assert.equal(lost.length, 1, "once");
    } finally {
      store.close();
      await etcd.stop();
    }
  },
});

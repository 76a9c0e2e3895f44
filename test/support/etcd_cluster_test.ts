/** The etcd test cluster itself: one cluster of 3, replication, a member lost and back. */
import assert from "node:assert/strict";
import { etcdCall, etcdGet, etcdPut, healthProblem, startEtcdCluster } from "./etcd_cluster.ts";

Deno.test("etcd cluster: 3 members replicate, survive losing one, and the lost one rejoins", async () => {
  const etcd = await startEtcdCluster(3);
  try {
    const [a, b, c] = etcd.members;
    assert.deepEqual(etcd.endpoints, [a.clientUrl, b.clientUrl, c.clientUrl]);
    assert.deepEqual(new Set(etcd.endpoints).size, 3);
    assert(etcd.members.every((m) => m.running));

    // One cluster of three, not three of one.
    const list = await etcdCall(a.clientUrl, "cluster/member/list", {});
    const names = (list.members as { name: string }[]).map((m) => m.name).sort();
    assert.deepEqual(names, ["etcd0", "etcd1", "etcd2"]);

    await etcdPut(a.clientUrl, "/test/one", "written to etcd0");
    assert.deepEqual(await etcdGet(b.clientUrl, "/test/one"), "written to etcd0");
    assert.deepEqual(await etcdGet(c.clientUrl, "/test/missing"), null);

    assert(c.pid !== null && c.pid > 0);
    await c.kill();
    assert(!c.running);
    assert.equal(c.pid, null);
    assert((await healthProblem(c.clientUrl)) !== null, "a killed member still answers /health");
    await etcd.ready(); // the two left (a quorum) are healthy
    await etcdPut(b.clientUrl, "/test/two", "written while etcd2 was down");
    assert.deepEqual(await etcdGet(a.clientUrl, "/test/two"), "written while etcd2 was down");

    await c.start();
    assert(c.running);
    await etcd.ready();
    // Linearizable first (waits until it has caught up), then its own copy.
    assert.deepEqual(await etcdGet(c.clientUrl, "/test/two"), "written while etcd2 was down");
    assert.deepEqual(await etcdGet(c.clientUrl, "/test/one", { serializable: true }), "written to etcd0");
    assert.deepEqual(
      await etcdGet(c.clientUrl, "/test/two", { serializable: true }),
      "written while etcd2 was down",
    );
    await etcdPut(c.clientUrl, "/test/three", "written to the rejoined etcd2");
    assert.deepEqual(await etcdGet(a.clientUrl, "/test/three"), "written to the rejoined etcd2");

    // A graceful stop, for the API.
    await b.stop();
    assert(!b.running);
  } finally {
    await etcd.stop();
  }
  assert(etcd.members.every((m) => !m.running));
  let dirGone = false;
  try {
    await Deno.stat(etcd.dir);
  } catch (e) {
    dirGone = e instanceof Deno.errors.NotFound;
  }
  assert(dirGone, `${etcd.dir} was not removed`);
});

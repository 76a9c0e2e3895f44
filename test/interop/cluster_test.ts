/**
 * Three dm-live nodes on a real 3-member etcd cluster, on loopback addresses: any node serves any
 * path, a source is pulled once for the cluster, and the faults the cluster is built for (a node
 * killed, an etcd member killed, all of etcd away) cost viewers a pause, not their sessions.
 */
import assert from "node:assert/strict";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd_cluster.ts";
import { type ClusterMember, describeStatus, OrderedViewer, startNodes } from "../support/cluster_nodes.ts";
import { Camera } from "../support/camera.ts";
import {
  ffmpegDecode,
  ffmpegDecoder,
  ffmpegPublisher,
  ffprobeFrames,
  gstDecode,
  interopTest,
  Proc,
  until,
} from "./clients.ts";

async function stopAll(nodes: ClusterMember[], etcd: EtcdCluster | null, extra: { kill(): void }[] = []) {
  for (const p of extra) p.kill();
  await Promise.all(nodes.map((n) => n.server.stop().catch(() => {})));
  await etcd?.stop();
}

/** Waits until every viewer received `more` packets beyond what it had. */
async function flowing(viewers: OrderedViewer[], more: number, what: string, timeoutMs = 20_000) {
  const from = viewers.map((v) => v.total);
  await until(() => viewers.every((v, i) => v.total >= from[i] + more), timeoutMs, what);
}

interopTest(
  "cluster: published on node A, played on B and C by ffprobe, ffmpeg, GStreamer and 50 raw viewers; a second publisher on C is refused",
  ["ffmpeg", "ffprobe", "gst-launch-1.0"],
  async () => {
    const etcd = await startEtcdCluster(3);
    const nodes = await startNodes(etcd.endpoints, ["a", "b", "c"]);
    const [a, b, c] = nodes;
    const pub = ffmpegPublisher(a.url("live/cam"));
    const viewers: OrderedViewer[] = [];
    try {
      await a.server.waitLog(/\[path live\/cam\] RECORD: publishing stream/, 20_000);
      await until(
        async () => (await c.cluster()).owners.some((o) => o.path === "live/cam" && o.node === "a"),
        10_000,
        "C to see A own live/cam",
      );
      for (const n of [b, c]) {
        const probe = await ffprobeFrames(n.url("live/cam"), "tcp", 10);
        assert.equal(probe.code, 0, probe.stderr);
        assert.match(probe.lines[0], /^1,I/, `${n.name}: first frame a keyframe: ${probe.lines.slice(0, 3)}`);
      }
      const ff = await ffmpegDecode(c.url("live/cam"), 3);
      assert.equal(ff.code, 0, ff.stderr);
      assert.equal(ff.stderr.trim(), "", "ffmpeg on C decodes with no error lines");
      const gst = await gstDecode(b.url("live/cam"), "tcp", (r) => r.video > 30 && r.audio > 10);
      assert.deepEqual(gst.problems, [], "no GStreamer errors or warnings on B");
      assert.ok(
        gst.video > 30 && gst.audio > 10,
        `decoded ${gst.video} video and ${gst.audio} audio buffers`,
      );

      for (let i = 0; i < 50; i++) {
        const n = i % 2 === 0 ? b : c;
        viewers.push(await OrderedViewer.play(n.host, n.server.port, "live/cam"));
      }
      await flowing(viewers, 150, "50 raw viewers to get 150 packets each");
      for (const v of viewers) assert.deepEqual(v.breaks, [], "every packet, in order");
      // One edge pull per node for all of its viewers.
      for (const n of [b, c]) {
        const edges = (await n.cluster()).edges.filter((e) => e.path === "live/cam");
        assert.deepEqual(edges.map((e) => [e.from, e.state]), [["a", "playing"]], `${n.name}'s edge pulls`);
        const metrics = await (await fetch(`${await n.api()}/metrics`)).text();
        for (
          const line of [
            "dm_live_cluster_synced 1",
            "dm_live_cluster_members 3",
            "dm_live_cluster_edge_pulls 1",
          ]
        ) {
          assert.ok(metrics.split("\n").includes(line), `${n.name}'s /metrics has ${line}`);
        }
      }
      const owner = await (await fetch(`${await a.api()}/metrics`)).text();
      assert.ok(owner.includes("dm_live_cluster_owned_streams 1"), "A owns one stream");

      const second = new Proc("ffmpeg", [
        "-hide_banner",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=10",
        "-t",
        "3",
        "-c:v",
        "libx264",
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        c.url("live/cam"),
      ]);
      const st = await second.wait(20_000);
      assert.notEqual(st.code, 0, "the second publisher is refused");
      await c.server.waitLog(
        /ANNOUNCE rtsp:\/\/[^ ]+\/live\/cam: 406 path 'live\/cam' is published on another node/,
      );
      // Refused on a node that does not relay it either: the owner's name is in the answer.
      await flowing(viewers, 30, "the viewers to go on after the refusal");
      for (const v of viewers) assert.deepEqual(v.breaks, []);
    } finally {
      for (const v of viewers) v.close();
      await stopAll(nodes, etcd, [pub]);
    }
  },
);

interopTest(
  "cluster: a camera source is pulled once for the whole cluster while viewers on all three nodes watch",
  ["ffprobe"],
  async () => {
    const cam = await Camera.start();
    const etcd = await startEtcdCluster(3);
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      file,
      `paths:\n  cams/front: ${
        JSON.stringify({ source: cam.url(), sourceTransport: "tcp" })
      }\n  "~^.*$": {}\n`,
    );
    const nodes = await startNodes(etcd.endpoints, ["a", "b", "c"], () => ["--config", file]);
    try {
      await until(
        async () => (await nodes[0].cluster()).owners.some((o) => o.path === "cams/front"),
        20_000,
        "one node to own cams/front",
      );
      const owner = (await nodes[0].cluster()).owners.find((o) => o.path === "cams/front")!.node;
      const probes = await Promise.all(nodes.map((n) => ffprobeFrames(n.url("cams/front"), "tcp", 10)));
      for (const [i, p] of probes.entries()) {
        assert.equal(p.code, 0, `${nodes[i].name}: ${p.stderr}`);
        assert.match(p.lines[0], /^1,I/, `${nodes[i].name}: first frame a keyframe`);
      }
      assert.equal(cam.connections, 1, "one connection to the camera for the cluster");
      const pullers = nodes.filter((n) =>
        /\[source cams\/front\] playing rtsp:\/\/127\.0\.0\.1/.test(n.server.log)
      );
      assert.deepEqual(
        pullers.map((n) => n.name),
        [owner],
        "the owner pulls the camera; the others pull the owner",
      );
    } finally {
      await stopAll(nodes, etcd);
      await cam.stop();
      await Deno.remove(file);
    }
  },
);

interopTest(
  "cluster faults: node A killed (publisher moves to B), an etcd member killed, all etcd stopped and back",
  ["ffmpeg"],
  async () => {
    const etcd = await startEtcdCluster(3);
    const nodes = await startNodes(etcd.endpoints, ["a", "b", "c"]);
    const [a, b, c] = nodes;
    let pub = ffmpegPublisher(a.url("live/cam"));
    const procs: Proc[] = [pub];
    const viewers: OrderedViewer[] = [];
    try {
      await a.server.waitLog(/\[path live\/cam\] RECORD: publishing stream/, 20_000);
      await until(
        async () => (await b.cluster()).owners.some((o) => o.path === "live/cam"),
        10_000,
        "B to see the owner",
      );
      for (const n of [b, b, c, c]) viewers.push(await OrderedViewer.play(n.host, n.server.port, "live/cam"));
      const decoders = [b, c].map((n) => ffmpegDecoder(n.url("live/cam"), 25));
      procs.push(...decoders);
      await flowing(viewers, 100, "the viewers to play");

      // 1. SIGKILL node A; the publisher comes back on B, refused until A's lease expires.
      a.server.proc.kill();
      pub.kill();
      for (let i = 0;; i++) {
        pub = ffmpegPublisher(b.url("live/cam"));
        procs.push(pub);
        const early = await Promise.race([
          pub.done.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 1500)),
        ]);
        if (!early) break;
        assert.ok(i < 30, `B never took the publisher: ${pub.stderr}\n${b.server.log.slice(-3000)}`);
      }
      await b.server.waitLog(/\[path live\/cam\] stream \d+ continues with a new publisher/, 20_000);
      await flowing(viewers, 100, "the viewers to receive again after the switch");
      for (const v of viewers) assert.equal(v.client.closed, false, "the viewers kept their sessions");
      const after = await c.cluster();
      assert.ok(
        after.owners.some((o) => o.path === "live/cam" && o.node === "b"),
        JSON.stringify(after.owners),
      );
      assert.ok(!after.members.some((m) => m.name === "a"), "A left the members");

      // 2. One etcd member killed: nothing changes.
      await etcd.members[0].kill();
      await flowing(viewers, 60, "the viewers to go on with an etcd member down");
      await until(
        async () => (await Promise.all([b, c].map((n) => n.cluster()))).every((s) => s.synced),
        15_000,
        "B and C synced",
      );
      const otherPub = ffmpegPublisher(b.url("live/other"));
      procs.push(otherPub);
      await b.server.waitLog(/\[path live\/other\] RECORD: publishing stream/, 20_000);
      await until(
        async () => (await describeStatus(c.host, c.server.port, "live/other")) === 200,
        15_000,
        "live/other on C",
      );

      // 3. All of etcd away: flowing streams go on, new lookups get 503; then back.
      await etcd.members[1].stop();
      await etcd.members[2].stop();
      await until(async () => !(await c.cluster()).synced, 30_000, "C to notice etcd is away");
      await flowing(viewers, 60, "the viewers to go on without etcd");
      assert.equal(
        await describeStatus(c.host, c.server.port, "live/nowhere"),
        503,
        "a new lookup without etcd",
      );
      await c.server.waitLog(/DESCRIBE [^ ]+live\/nowhere: 503 /);
      for (const m of etcd.members) await m.start();
      await etcd.ready();
      await until(
        async () =>
          (await Promise.all([b, c].map((n) => n.cluster()))).every((s) =>
            s.synced && s.members.length === 2
          ),
        30_000,
        "B and C synced again",
      );
      assert.equal(
        await describeStatus(c.host, c.server.port, "live/nowhere"),
        404,
        "no node has it: 404 again",
      );
      // The owner map comes on its own watch, so it may follow the member map by an event.
      await until(
        async () => (await c.cluster()).owners.some((o) => o.path === "live/cam" && o.node === "b"),
        15_000,
        "B's paths put back, seen from C",
      );
      await flowing(viewers, 60, "the viewers to go on after etcd came back");
      for (const v of viewers) assert.equal(v.client.closed, false);
      for (const [i, d] of decoders.entries()) {
        const st = await d.wait(40_000);
        const on = ["B", "C"][i];
        assert.equal(st.code, 0, `${on}: ${d.stderr}`);
        assert.equal(
          d.stderr.trim().split("\n").slice(0, 3).join("\n"),
          "",
          `ffmpeg on ${on} decodes across the switch with no error lines`,
        );
      }
      for (const v of viewers) assert.deepEqual(v.breaks, [], "every packet in order across the switch");
    } finally {
      for (const v of viewers) v.close();
      await stopAll(nodes, etcd, procs);
    }
  },
);

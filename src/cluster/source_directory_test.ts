import assert from "node:assert/strict";
import { DEFAULT_CONFIG, withOverrides } from "../config.ts";
import { Logger } from "../log/logger.ts";
import type { MainToWorker } from "./messages.ts";
import { SourceDirectory } from "./source_directory.ts";

function config(paths: Record<string, unknown>) {
  return withOverrides(DEFAULT_CONFIG, { paths });
}

function directory(paths: Record<string, unknown>, workers = 2) {
  const sent: [number, MainToWorker][] = [];
  let wake: (() => void) | null = null;
  const d = new SourceDirectory(new Logger("error"), config(paths), workers, (w, m) => {
    sent.push([w, m]);
    wake?.();
  });
  for (let w = 0; w < workers; w++) d.workerReady(w);
  /** Waits (bounded only against a hang) until a message of this type arrived. */
  const next = async (type: string) => {
    while (!sent.some(([, m]) => m.type === type)) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 5000);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return sent.find(([, m]) => m.type === type)!;
  };
  return { d, sent, next };
}

Deno.test("SourceDirectory starts always-on sources once, on one worker, and restarts them for a replaced worker", () => {
  const { d, sent } = directory({
    "cams/a": { source: "rtsp://10.0.0.1/a" },
    "cams/b": { source: "rtsp://10.0.0.2/b" },
  });
  d.configure(
    config({ "cams/a": { source: "rtsp://10.0.0.1/a" }, "cams/b": { source: "rtsp://10.0.0.2/b" } }),
  );
  const starts = sent.filter(([, m]) => m.type === "sourceStart");
  assert.deepEqual(starts.map(([, m]) => m.type === "sourceStart" && m.path).sort(), ["cams/a", "cams/b"]);
  d.configure(
    config({ "cams/a": { source: "rtsp://10.0.0.1/a" }, "cams/b": { source: "rtsp://10.0.0.2/b" } }),
  );
  assert.equal(
    sent.filter(([, m]) => m.type === "sourceStart").length,
    2,
    "a reload with the same sources starts nothing",
  );
  const [w] = starts.find(([, m]) => m.type === "sourceStart" && m.path === "cams/a")!;
  d.workerGone(w);
  d.workerReady(w);
  assert.equal(sent.filter(([x, m]) => x === w && m.type === "sourceStart" && m.path === "cams/a").length, 2);
  d.stopAll();
});

Deno.test("SourceDirectory: a reload that changes or removes a source stops its pull", () => {
  const { d, sent } = directory({ "cams/a": { source: "rtsp://10.0.0.1/a" } });
  d.configure(config({ "cams/a": { source: "rtsp://10.0.0.1/a" } }));
  d.configure(config({ "cams/a": { source: "rtsp://10.0.0.1/a2" } }));
  assert.deepEqual(sent.map(([, m]) => m.type), ["sourceStart", "sourceStop", "sourceStart"]);
  d.configure(config({ "~^.*$": {} }));
  assert.deepEqual(sent.map(([, m]) => m.type).slice(3), ["sourceStop"]);
  d.stopAll();
});

Deno.test("SourceDirectory: an on-demand pattern source starts at the first ask, with the pattern's groups, and stops when nobody watches", async () => {
  const paths = {
    "~^relay/(.+)$": {
      source: "rtsp://up:8554/$1",
      sourceOnDemandCloseAfterMs: 50,
      sourceOnDemandStartTimeoutMs: 100,
    },
  };
  const { d, sent, next } = directory(paths);
  d.configure(config(paths));
  assert.equal(sent.length, 0, "nothing pulled before a viewer asks");
  d.demand(0, "relay/cam7");
  d.demand(1, "relay/cam7");
  const starts = sent.filter(([, m]) => m.type === "sourceStart");
  assert.equal(starts.length, 1, "one pull for every ask");
  const m = starts[0][1];
  assert.ok(m.type === "sourceStart" && m.source.url === "rtsp://up:8554/cam7" && m.source.onDemand);
  d.readers(0, "relay/cam7", 1);
  d.readers(1, "relay/cam7", 3);
  d.readers(0, "relay/cam7", 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!sent.some(([, x]) => x.type === "sourceStop"), "a worker still has viewers");
  d.readers(1, "relay/cam7", 0);
  const [, stop] = await next("sourceStop");
  assert.ok(stop.type === "sourceStop" && /no viewer for 50 ms/.test(stop.reason));
  d.demand(0, "nothing/here");
  assert.equal(
    sent.filter(([, x]) => x.type === "sourceStart").length,
    1,
    "a path without a source starts nothing",
  );
  d.stopAll();
});

/** A cluster view the test moves by hand. */
function clusterView(name: string) {
  const owners = new Map<string, { node: string; advertise: string }>();
  const view = {
    name,
    synced: true,
    puller: undefined as string | undefined,
    pullerOf: (p: string) =>
      owners.get(p) ??
        (view.puller === undefined
          ? undefined
          : { node: view.puller, advertise: `rtsp://${view.puller}:8554` }),
    ownerOf: (p: string) => owners.get(p),
  };
  return { view, owners };
}

function clusterDirectory(paths: Record<string, unknown>, name = "me") {
  const { view, owners } = clusterView(name);
  const sent: [number, MainToWorker][] = [];
  const cfg = withOverrides(DEFAULT_CONFIG, { paths, "cluster.etcd": ["http://127.0.0.1:2379"] });
  const d = new SourceDirectory(new Logger("error"), cfg, 2, (w, m) => sent.push([w, m]), view);
  d.workerReady(0);
  d.workerReady(1);
  const of = (type: string) => sent.filter(([, m]) => m.type === type).map(([, m]) => m);
  return { d, view, owners, sent, of, cfg };
}

Deno.test("SourceDirectory in a cluster: an always-on source starts only on the node that pulls it", () => {
  const { d, view, of, cfg } = clusterDirectory({ "cams/a": { source: "rtsp://10.0.0.1/a" } });
  view.puller = "other";
  d.configure(cfg);
  assert.equal(of("sourceStart").length, 0, "another node pulls it");
  // A viewer here: an edge pull from the puller, marked with this node's name.
  d.demand(0, "cams/a");
  const [start] = of("sourceStart") as Extract<MainToWorker, { type: "sourceStart" }>[];
  assert.equal(start.source.url, "rtsp://other:8554/cams/a");
  assert.equal(start.edge, "me");
  assert.equal(start.source.transport, "tcp");
  // The puller dies and this node is next: the edge stops, the source starts here.
  view.puller = "me";
  d.rebalance();
  const starts = of("sourceStart") as Extract<MainToWorker, { type: "sourceStart" }>[];
  assert.equal(starts.length, 2);
  assert.equal(starts[1].source.url, "rtsp://10.0.0.1/a");
  assert.equal(starts[1].edge, undefined);
  assert.equal(of("sourceStop").length, 1);
  d.stopAll();
});

Deno.test("SourceDirectory in a cluster: edge pulls follow the owner; unknown paths 404, etcd away 503", () => {
  const { d, view, owners, of } = clusterDirectory({ "~^.*$": {} });
  d.demand(1, "live/x");
  assert.deepEqual(of("demandResult").map((m) => m.type === "demandResult" && m.status), [404]);
  owners.set("live/x", { node: "n2", advertise: "rtsp://n2:8554" });
  d.demand(1, "live/x");
  d.demand(0, "live/x");
  const starts = () => of("sourceStart") as Extract<MainToWorker, { type: "sourceStart" }>[];
  assert.equal(starts().length, 1, "one edge pull for all the node's viewers");
  assert.equal(starts()[0].source.url, "rtsp://n2:8554/live/x");
  // The owner dies; a publisher reconnects to n3: the edge pull moves there.
  owners.delete("live/x");
  d.rebalance();
  assert.equal(starts().length, 1, "no owner yet: the pull retries where it was");
  owners.set("live/x", { node: "n3", advertise: "rtsp://n3:8554" });
  d.rebalance();
  assert.equal(starts().length, 2);
  assert.equal(starts()[1].source.url, "rtsp://n3:8554/live/x");
  // A request from another node's edge never starts one here (no loops).
  owners.set("live/y", { node: "n2", advertise: "rtsp://n2:8554" });
  d.demand(0, "live/y", true);
  assert.equal(starts().length, 2);
  // A local publisher took the path: the edge pull stops.
  d.ownedHere("live/x");
  assert.equal(of("sourceStop").length, 1);
  view.synced = false;
  d.demand(0, "live/z");
  assert.deepEqual(of("demandResult").map((m) => m.type === "demandResult" && m.status), [404, 503]);
  d.stopAll();
});

import assert from "node:assert/strict";
import {
  findCycles,
  folderOf,
  type ImportGraph,
  importGraph,
  projectModules,
  rankOf,
  violations,
} from "./import_graph.ts";

const graph = (edges: Record<string, string[]>): ImportGraph =>
  new Map(Object.entries(edges).map(([a, b]) => [a, new Set(b)]));

Deno.test("findCycles() finds every strongly connected group, and only those", () => {
  const g = graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"], e: ["e"], f: [] });
  assert.deepEqual(findCycles(g), [["a", "b", "c"], ["e"]]);
  assert.deepEqual(findCycles(graph({ a: ["b"], b: [], c: ["a", "b"] })), []);
});

Deno.test("rankOf() takes the longest prefix; folderOf() groups by folder", () => {
  assert.equal(rankOf("src/rtsp/url.ts"), 0);
  assert.equal(rankOf("src/session/viewer_session.ts"), 5);
  assert.equal(rankOf("src/config_load.ts"), 3);
  assert.equal(rankOf("src/nowhere.ts"), undefined);
  assert.equal(folderOf("src/session/a.ts"), "src/session/");
  assert.equal(folderOf("src/config.ts"), "src/config");
  assert.equal(folderOf("main.ts"), "main.ts");
});

Deno.test("violations() names cycles, folder cycles, upward and forbidden arrows, and tests imported by the server", () => {
  const v = violations(graph({
    "src/ring/a.ts": ["src/session/b.ts", "src/rtsp/url.ts"],
    "src/session/b.ts": ["src/ring/a.ts"],
    "src/stream/c.ts": ["src/stream/c_test.ts"],
    "src/stream/c_test.ts": ["test/support/x.ts", "src/stream/c.ts"],
    "src/rtp/d.ts": ["src/rtp/e.ts"],
    "src/rtp/e.ts": [],
  }));
  assert.deepEqual(v.sort(), [
    "folder cycle: src/ring/ -> src/session/",
    "import cycle: src/ring/a.ts -> src/session/b.ts",
    "import cycle: src/stream/c.ts -> src/stream/c_test.ts",
    "src/ring/a.ts imports src/rtsp/url.ts: src/ring/ never imports src/rtsp/",
    "src/stream/c.ts imports test code src/stream/c_test.ts",
    "src/stream/c_test.ts imports test/support/x.ts: src/ never imports test/ or bench/",
    "upward arrow: src/ring/a.ts (rank 1) imports src/session/b.ts (rank 5)",
  ]);
});

Deno.test("the import graph of main.ts, src/ and workers/ has no cycle and no upward arrow", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const modules = await projectModules(root);
  const g = await importGraph(root, modules);
  assert.ok(g.has("main.ts") && g.has("workers/rtsp_worker.ts") && g.has("src/session/rtsp_connection.ts"));
  assert.ok(g.get("main.ts")!.size > 0, "Deno's graph has main.ts's imports");
  assert.deepEqual(violations(g), []);
});

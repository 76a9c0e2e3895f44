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

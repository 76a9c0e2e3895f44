import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { RECORD_DEFAULTS } from "../paths/path_config.ts";
import { Recorder, type RecordFile, type RecordFs } from "./recorder.ts";

/** Files in memory; `failWrites` makes writes throw (a full disk), `failOpen` opening. */
function memoryFs() {
  const files = new Map<string, { data: number[]; closed: boolean }>();
  const dirs: string[] = [];
  const fs = {
    files,
    dirs,
    failWrites: false,
    failOpen: false,
    mkdir(dir: string) {
      dirs.push(dir);
      return Promise.resolve();
    },
    open(name: string): Promise<RecordFile> {
      if (fs.failOpen) return Promise.reject(new Error("permission denied"));
      if (files.has(name)) return Promise.reject(new Error("exists"));
      const f = { data: [] as number[], closed: false };
      files.set(name, f);
      return Promise.resolve({
        write(b: Uint8Array) {
          if (fs.failWrites) return Promise.reject(new Error("no space left on device"));
          f.data.push(...b);
          return Promise.resolve();
        },
        close() {
          f.closed = true;
          return Promise.resolve();
        },
      });
    },
  } satisfies RecordFs & Record<string, unknown>;
  return fs;
}

const lines: string[] = [];
const log = new Logger("debug", "", (_level, l) => lines.push(l));
const INIT = new Uint8Array([0xaa]);
const frag = (n: number) => new Uint8Array([n]);
const T0 = new Date(2026, 11, 3, 10, 0, 0).getTime();

function recorder(fs: RecordFs, over: Partial<ConstructorParameters<typeof Recorder>[0]> = {}) {
  let now = T0;
  const r = new Recorder({
    path: "cams/a",
    config: { ...RECORD_DEFAULTS, path: "/rec/%path/%H-%M-%S", segmentDurationMs: 2000 },
    log,
    fs,
    now: () => now,
    ...over,
  });
  return { r, tick: (ms: number) => now += ms };
}

Deno.test("Recorder: init then fragments; a new file at the first keyframe past the segment duration", async () => {
  const fs = memoryFs();
  const { r } = recorder(fs);
  r.fragment(frag(0), 0, true, T0); // before any init: nothing to write yet
  r.setInit(INIT);
  r.fragment(frag(1), 0, false, T0); // a file starts at a keyframe only
  for (let i = 2; i < 12; i++) r.fragment(frag(i), (i - 2) * 0.5, i % 2 === 0, T0 + (i - 2) * 500);
  await r.close();
  const names = [...fs.files.keys()];
  assert.deepEqual(names, [
    "/rec/cams/a/10-00-00.mp4",
    "/rec/cams/a/10-00-02.mp4",
    "/rec/cams/a/10-00-04.mp4",
  ]);
  assert.deepEqual(fs.files.get(names[0])!.data, [0xaa, 2, 3, 4, 5]);
  assert.deepEqual(fs.files.get(names[1])!.data, [0xaa, 6, 7, 8, 9]);
  assert.deepEqual(fs.files.get(names[2])!.data, [0xaa, 10, 11]);
  assert.ok([...fs.files.values()].every((f) => f.closed), "every file finished");
  assert.equal(r.counters.files, 3);
  assert.equal(r.counters.fragments, 10);
  assert.equal(r.counters.fragmentsDropped, 1);
});

Deno.test("Recorder: a new init starts a new file", async () => {
  const fs = memoryFs();
  const { r } = recorder(fs);
  r.setInit(INIT);
  r.fragment(frag(1), 0, true, T0);
  r.setInit(new Uint8Array([0xbb]));
  r.fragment(frag(2), 0.5, true, T0 + 1000);
  await r.close();
  assert.deepEqual([...fs.files.values()].map((f) => f.data), [[0xaa, 1], [0xbb, 2]]);
});

Deno.test("Recorder: a full disk is an error and a log line; the next file is tried after the retry delay", async () => {
  const fs = memoryFs();
  const { r, tick } = recorder(fs, { retryMs: 5000 });
  lines.length = 0;
  r.setInit(INIT);
  r.fragment(frag(1), 0, true, T0);
  await new Promise((res) => setTimeout(res, 0));
  fs.failWrites = true;
  r.fragment(frag(2), 0.5, false, T0 + 500);
  r.fragment(frag(3), 1, false, T0 + 1000);
  await new Promise((res) => setTimeout(res, 0));
  fs.failWrites = false;
  r.fragment(frag(4), 1.5, true, T0 + 1500); // within the retry delay: dropped
  tick(6000);
  r.fragment(frag(5), 2, false, T0 + 2000); // not a keyframe: dropped
  r.fragment(frag(6), 2.5, true, T0 + 7500);
  await r.close();
  assert.equal(r.counters.errors, 1);
  assert.ok(
    lines.some((l) =>
      /\[path cams\/a\] recording: cannot write .*no space left on device; relaying goes on/.test(l)
    ),
  );
  const data = [...fs.files.values()].map((f) => f.data);
  assert.deepEqual(data, [[0xaa, 1], [0xaa, 6]]);
  assert.equal(r.counters.fragmentsDropped, 4);
});

Deno.test("Recorder: a directory that cannot be written: logged, counted, nothing thrown", async () => {
  const fs = memoryFs();
  fs.failOpen = true;
  const { r } = recorder(fs);
  lines.length = 0;
  r.setInit(INIT);
  r.fragment(frag(1), 0, true, T0);
  r.fragment(frag(2), 0.5, true, T0 + 500);
  await r.close();
  assert.equal(r.counters.errors, 1);
  assert.equal(fs.files.size, 0);
  assert.ok(lines.some((l) => /cannot create \/rec\/cams\/a\/10-00-00\.mp4: permission denied/.test(l)));
});

Deno.test("Recorder: a disk that falls behind drops fragments up to the next keyframe, bounded", async () => {
  const fs = memoryFs();
  const { r } = recorder(fs, { maxQueuedBytes: 3 });
  r.setInit(INIT);
  // Nothing has run yet: init + 2 fragments fill the 3 bytes; the next ones wait for a keyframe.
  r.fragment(frag(1), 0, true, T0);
  r.fragment(frag(2), 0.5, false, T0 + 500);
  r.fragment(frag(3), 1, false, T0 + 1000);
  await new Promise((res) => setTimeout(res, 0));
  r.fragment(frag(4), 1.5, false, T0 + 1500);
  r.fragment(frag(5), 1.8, true, T0 + 1800);
  await r.close();
  assert.deepEqual([...fs.files.values()].map((f) => f.data), [[0xaa, 1, 2, 5]]);
  assert.equal(r.counters.fragmentsDropped, 2);
});

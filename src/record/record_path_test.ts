import assert from "node:assert/strict";
import { recordFileName, recordRoot } from "./record_path.ts";

Deno.test("recordFileName(): path, local time and microseconds; the path never climbs out", () => {
  const ms = new Date(2026, 11, 3, 9, 5, 7, 42).getTime();
  const tpl = "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f";
  assert.equal(
    recordFileName(tpl, "cams/front", ms + 0.017),
    "./recordings/cams/front/2026-12-03_09-05-07-042017.mp4",
  );
  assert.equal(recordFileName("/r/%path_%%", "a", ms), "/r/a_%.mp4");
  assert.equal(recordFileName("/r/%path/x", "../../etc/./p", ms), "/r/_/_/etc/_/p/x.mp4");
  assert.equal(recordFileName("/r/%path", "a\x1b[31m/\x00b", ms), "/r/a_[31m/_b.mp4");
  assert.equal(recordFileName("/r/%path", "//", ms), "/r/_.mp4");
});

Deno.test("recordRoot(): the directory before the first field", () => {
  assert.equal(recordRoot("./recordings/%path/%Y"), "./recordings");
  assert.equal(recordRoot("/var/rec/cam-%path"), "/var/rec");
  assert.equal(recordRoot("%path/%Y"), ".");
  assert.equal(recordRoot("/%path"), "/");
});

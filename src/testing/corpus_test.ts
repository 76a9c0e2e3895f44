import assert from "node:assert/strict";
import { CORPUS_ROOT, corpusDir, inputHash, readCorpus, saveToCorpus } from "./corpus.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("inputHash() is 64-bit FNV-1a", () => {
  // Reference values of FNV-1a 64 (draft-eastlake-fnv).
  assert.equal(inputHash(new Uint8Array()), "cbf29ce484222325");
  assert.equal(inputHash(enc("a")), "af63dc4c8601ec8c");
  assert.equal(inputHash(enc("foobar")), "85944171f73967e8");
});

Deno.test("corpusDir() points under test/fixtures/fuzz/ and takes only plain names", () => {
  assert.ok(corpusDir("request").href.endsWith("/test/fixtures/fuzz/request/"));
  assert.ok(CORPUS_ROOT.href.endsWith("/test/fixtures/fuzz/"));
  assert.throws(() => corpusDir("../x"), RangeError);
  assert.throws(() => corpusDir(""), RangeError);
});

Deno.test("saveToCorpus() and readCorpus() keep bytes exactly, sorted by name", () => {
  const root = new URL(`file://${Deno.makeTempDirSync()}/`);
  try {
    const dir = corpusDir("x", root);
    const binary = Uint8Array.of(0, 0xff, 0x0d, 0x0a, 0x80);
    const file = saveToCorpus(dir, binary);
    assert.ok(file.href.endsWith(`/x/crash-${inputHash(binary)}`));
    assert.equal(saveToCorpus(dir, binary).href, file.href, "the same input keeps its file");
    Deno.writeFileSync(new URL("a_seed", dir), enc("seed"));
    Deno.writeFileSync(new URL(".hidden", dir), enc("skip"));
    assert.deepEqual(readCorpus(dir), [
      { name: "a_seed", bytes: enc("seed") },
      { name: `crash-${inputHash(binary)}`, bytes: binary },
    ]);
    assert.throws(() => readCorpus(corpusDir("missing", root)), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

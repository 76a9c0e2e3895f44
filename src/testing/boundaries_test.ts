import assert from "node:assert/strict";

const SRC = new URL("../", import.meta.url);
const TESTING = new URL("./", import.meta.url);
const TEST_DIR = new URL("../../test/", import.meta.url);
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

function* sourceFiles(dir: URL): Generator<URL> {
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) yield* sourceFiles(new URL(`${e.name}/`, dir));
    else if (e.isFile && e.name.endsWith(".ts")) yield new URL(e.name, dir);
  }
}

Deno.test("src/ never imports test/, and only tests (*_test.ts and testdata/) import src/testing/", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    // testdata/ holds tests' helpers, as import_graph.ts counts them: test code, never the server's.
    const isTest = file.pathname.endsWith("_test.ts") || file.pathname.includes("/testdata/") ||
      file.href.startsWith(TESTING.href);
    for (const m of Deno.readTextFileSync(file).matchAll(IMPORT_RE)) {
      const target = new URL(m[1] as string, file).href;
      const name = file.href.slice(SRC.href.length);
      if (target.startsWith(TEST_DIR.href)) wrong.push(`${name} imports ${m[1]}`);
      if (!isTest && target.startsWith(TESTING.href)) wrong.push(`${name} imports ${m[1]}`);
    }
  }
  assert.deepEqual(wrong, []);
});

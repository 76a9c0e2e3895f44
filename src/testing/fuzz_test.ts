import assert from "node:assert/strict";
import { corpusDir, inputHash, readCorpus } from "./corpus.ts";
import {
  assertRoundTrip,
  fuzzSteps,
  type FuzzTarget,
  parseOrRefuse,
  readsOnlyItsBytes,
  REFUSED,
} from "./fuzz.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A context whose steps run inline, so a failing step is a rejected promise here, not a failed test. */
function inlineContext(names: string[]): Deno.TestContext {
  const step = async (name: string, fn: () => unknown) => {
    names.push(name);
    await fn();
    return true;
  };
  return { step } as unknown as Deno.TestContext;
}

async function withTempRoot(fn: (root: URL) => Promise<void>): Promise<void> {
  const root = new URL(`file://${Deno.makeTempDirSync()}/`);
  try {
    Deno.mkdirSync(corpusDir("toy", root));
    Deno.writeFileSync(new URL("seed_a", corpusDir("toy", root)), enc("x=1"));
    await fn(root);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

function target(root: URL, check: (input: Uint8Array) => void, extra: Partial<FuzzTarget> = {}): FuzzTarget {
  return {
    corpus: "toy",
    label: "parseToy()",
    seeds: [enc("y=22"), enc("z=333")],
    check,
    count: 300,
    seed: 1,
    kind: "text",
    root,
    ...extra,
  };
}

Deno.test("fuzzSteps() replays the corpus, then checks `count` mutated inputs", async () => {
  await withTempRoot(async (root) => {
    const names: string[] = [];
    const seen: string[] = [];
    await fuzzSteps(inlineContext(names), target(root, (b) => void seen.push(dec(b))));
    assert.equal(names.length, 2);
    assert.match(names[0] as string, /^replays .*toy\/ \(1 inputs\)$/);
    assert.equal(names[1], "300 mutations of 3 inputs (seed 1)");
    assert.equal(seen[0], "x=1", "the corpus comes first");
    assert.equal(seen.length, 301);
  });
});

Deno.test("fuzzSteps() saves a failing mutated input to the corpus before failing, and replays it", async () => {
  await withTempRoot(async (root) => {
    const check = (b: Uint8Array) => assert.ok(!dec(b).includes("\n"), "no line breaks");
    await assert.rejects(
      () => fuzzSteps(inlineContext([]), target(root, check)),
      /parseToy\(\) failed on mutation \d+ \(seed 1\), saved as .*toy\/crash-[0-9a-f]{16}: .*no line breaks/,
    );
    const saved = readCorpus(corpusDir("toy", root)).filter((e) => e.name.startsWith("crash-"));
    assert.equal(saved.length, 1);
    assert.ok(dec(saved[0]!.bytes).includes("\n"));
    await assert.rejects(
      () => fuzzSteps(inlineContext([]), target(root, check, { count: 0 })),
      /parseToy\(\) failed on .*toy\/crash-[0-9a-f]{16}: .*no line breaks/,
    );
  });
});

Deno.test("fuzzSteps() watchdog saves an input that does not return and fails the step", async () => {
  await withTempRoot(async (root) => {
    const slow = (b: Uint8Array) => {
      if (dec(b) !== "x=1") return;
      const until = performance.now() + 400;
      while (performance.now() < until) { /* a parser stuck on this input */ }
    };
    await assert.rejects(
      () => fuzzSteps(inlineContext([]), target(root, slow, { hangMs: 100, killOnHang: false })),
      new RegExp(
        `parseToy\\(\\) did not return for 100 ms; input saved as .*toy/hang-${inputHash(enc("x=1"))}`,
      ),
    );
    const files = readCorpus(corpusDir("toy", root)).map((e) => e.name);
    assert.ok(files.includes(`hang-${inputHash(enc("x=1"))}`), files.join());
  });
});

Deno.test("parseOrRefuse() tells the declared refusal from any other exception", () => {
  const isRange = (e: unknown) => e instanceof RangeError;
  assert.equal(parseOrRefuse(() => 5, isRange), 5);
  assert.equal(parseOrRefuse(() => undefined, isRange), undefined);
  assert.equal(
    parseOrRefuse(() => {
      throw new RangeError("no");
    }, isRange),
    REFUSED,
  );
  assert.throws(() =>
    parseOrRefuse(() => {
      throw new TypeError("boom");
    }, isRange), /outside its convention: TypeError: boom/);
});

Deno.test("assertRoundTrip() checks reparse and the canonical fixpoint", () => {
  assert.equal(assertRoundTrip(7, String, Number), "7");
  assert.throws(() => assertRoundTrip(0.1 + 0.2, (n) => n.toFixed(1), Number), /reparsed value differs/);
  // Equal values, but a serializer whose output drifts is not canonical.
  let calls = 0;
  assert.throws(() => assertRoundTrip(1, (n) => `${n}${"+".repeat(calls++)}`, parseInt), /fixpoint/);
  assert.doesNotThrow(() => assertRoundTrip({ a: [1] }, JSON.stringify, JSON.parse));
});

Deno.test("readsOnlyItsBytes() catches a reader that looks past `end` or writes its buffer", () => {
  const input = Uint8Array.of(1, 2, 3);
  assert.equal(readsOnlyItsBytes(input, (b, s, e) => b[e - 1]! + b[s]!), 4);
  assert.throws(() => readsOnlyItsBytes(input, (b, _s, e) => b[e] ?? -1), /outside \[start, end\)/);
  assert.throws(() => readsOnlyItsBytes(input, (b, s) => b[s - 1] ?? -1), /outside \[start, end\)/);
  assert.throws(() => readsOnlyItsBytes(input, (b, s) => (b[s] = 9)), /changed its input/);
});

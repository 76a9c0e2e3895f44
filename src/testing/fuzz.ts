/**
 * The fuzz step every wire parser's test runs (STYLE §3.4): replay the saved corpus, then mutate the
 * golden inputs and the corpus with a fixed-seed Prng for a bounded count. `check` asserts the
 * parser's convention (refused with its declared error or sentinel, or a value that round-trips);
 * any other exception fails. A failing mutated input is written into the corpus before the step
 * fails, and a watchdog worker saves an input the parser never returns from.
 *
 * Test-only: imported by `*_test.ts` files, never by a server module.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CORPUS_ROOT, corpusDir, inputHash, readCorpus, saveToCorpus } from "./corpus.ts";
import { type InputKind, mutator } from "./mutate.ts";
import { Prng } from "./prng.ts";
import { WATCH } from "./_watch_layout.ts";

/** What one parser's fuzz step runs on. */
export interface FuzzTarget {
  /** Corpus directory under test/fixtures/fuzz/, e.g. `request`. */
  corpus: string;
  /** The parser as messages name it, e.g. `parseRequest()`. */
  label: string;
  /** Golden inputs the mutations start from; the corpus files are added to them. */
  seeds: readonly Uint8Array[];
  /** Returns when the parser kept its convention on `input`; throws (an assertion) otherwise. */
  check: (input: Uint8Array) => void;
  /** Mutated inputs to check; FUZZ_SCALE multiplies it. */
  count: number;
  /** Prng seed; with the iteration in a failure message it replays the input. FUZZ_SEED overrides it. */
  seed: number;
  kind: InputKind;
  /** Extra tokens for the text mutators (the parser's keywords). */
  dictionary?: readonly string[];
  /** Mutated inputs are cut to this many bytes (default 8192). */
  maxBytes?: number;
  /** Most mutations stacked on one input (default 4). */
  maxMutations?: number;
  /** One input taking this long counts as a hang (default 5000 ms). */
  hangMs?: number;
  /** End the process when a hung input still has not returned after 3 × hangMs (default true). */
  killOnHang?: boolean;
  /** Where corpora live (default test/fixtures/fuzz/); the harness's own tests use a temp dir. */
  root?: URL;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function relative(dir: URL): string {
  const path = decodeURIComponent(dir.pathname);
  const root = decodeURIComponent(new URL("../../../", CORPUS_ROOT).pathname);
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** Hands the watchdog each input before it is checked; `hung()` tells whether it saved one. */
interface Watchdog {
  watch(input: Uint8Array): void;
  hung(): boolean;
  stop(): void;
}

/** Starts the worker that notices an input the parser never returns from (see _watchdog_worker.ts). */
async function startWatchdog(target: FuzzTarget, dir: URL, capacity: number): Promise<Watchdog> {
  const sab = new SharedArrayBuffer(WATCH.HEADER_WORDS * 4 + capacity);
  const words = new Int32Array(sab, 0, WATCH.HEADER_WORDS);
  const data = new Uint8Array(sab, WATCH.HEADER_WORDS * 4);
  const worker = new Worker(new URL("./_watchdog_worker.ts", import.meta.url), { type: "module" });
  const stop = () => {
    Atomics.store(words, WATCH.DONE, 1);
    Atomics.notify(words, WATCH.DONE);
    worker.terminate();
  };
  try {
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => reject(new Error(`fuzz watchdog failed to start: ${e.message}`));
    });
    worker.postMessage({
      sab,
      dir: dir.href,
      label: target.label,
      hangMs: target.hangMs ?? 5000,
      kill: target.killOnHang ?? true,
    });
    await ready;
  } catch (e) {
    stop();
    throw e;
  }
  return {
    watch(input) {
      const n = Math.min(input.length, capacity);
      data.set(input.subarray(0, n));
      Atomics.store(words, WATCH.LENGTH, n);
      Atomics.add(words, WATCH.SEQ, 1);
    },
    hung: () => Atomics.load(words, WATCH.HUNG) !== 0,
    stop,
  };
}

/** `FUZZ_SEED` and `FUZZ_SCALE` from the environment, for exploring beyond the fixed runs. */
function exploration(): { seed?: number; scale: number } {
  let seed: string | undefined;
  let scale: string | undefined;
  try {
    seed = Deno.env.get("FUZZ_SEED");
    scale = Deno.env.get("FUZZ_SCALE");
  } catch {
    // No env permission: the fixed runs.
  }
  return {
    seed: seed === undefined || seed === "" ? undefined : Number(seed),
    scale: scale === undefined || scale === "" ? 1 : Math.max(0, Number(scale)),
  };
}

/**
 * Two steps: `replays <corpus dir>` checks every saved input, then `<count> mutations` checks
 * mutated golden and corpus inputs, saving the first failing one to the corpus before failing.
 */
export async function fuzzSteps(t: Deno.TestContext, target: FuzzTarget): Promise<void> {
  const dir = corpusDir(target.corpus, target.root);
  const corpus = readCorpus(dir);
  const pool = [...target.seeds, ...corpus.map((e) => e.bytes)];
  assert.ok(pool.length > 0, `${target.label}: no golden inputs and an empty corpus`);
  const maxBytes = target.maxBytes ?? 8192;
  const capacity = Math.max(maxBytes, ...pool.map((p) => p.length));
  const hangMessage = (bytes: Uint8Array) =>
    `${target.label} did not return for ${target.hangMs ?? 5000} ms; input saved as ${relative(dir)}hang-${
      inputHash(bytes)
    }`;
  // The fixed seed and count unless FUZZ_SEED / FUZZ_SCALE ask for another run (then say so).
  const explore = exploration();
  const seed = explore.seed ?? target.seed;
  const count = Math.round(target.count * explore.scale);
  const dog = await startWatchdog(target, dir, capacity);
  try {
    await t.step(`replays ${relative(dir)} (${corpus.length} inputs)`, () => {
      for (const entry of corpus) {
        dog.watch(entry.bytes);
        try {
          target.check(entry.bytes.slice());
        } catch (e) {
          throw new Error(`${target.label} failed on ${relative(dir)}${entry.name}: ${describe(e)}`, {
            cause: e,
          });
        }
        if (dog.hung()) throw new Error(hangMessage(entry.bytes));
      }
    });

    await t.step(`${count} mutations of ${pool.length} inputs (seed ${seed})`, () => {
      const rng = new Prng(seed);
      const mutate = mutator({
        kind: target.kind,
        dictionary: target.dictionary,
        maxBytes,
        maxMutations: target.maxMutations,
      });
      for (let i = 0; i < count; i++) {
        const input = mutate(rng, rng.pick(pool), pool);
        dog.watch(input);
        // The check gets its own copy: a parser that writes into its input must not hide the bytes.
        try {
          target.check(input.slice());
        } catch (e) {
          const saved = saveToCorpus(dir, input);
          throw new Error(
            `${target.label} failed on mutation ${i} (seed ${seed}), saved as ${relative(saved)}: ` +
              describe(e),
            { cause: e },
          );
        }
        if (dog.hung()) throw new Error(hangMessage(input));
      }
    });
  } finally {
    dog.stop();
  }
}

/** Marks an input the parser refused in its declared way. */
export const REFUSED: unique symbol = Symbol("refused");

/**
 * The value of `parse()`, or REFUSED when it threw an error `refused` accepts (the parser's
 * "cannot parse" convention); any other exception is rethrown as a convention failure.
 */
export function parseOrRefuse<T>(parse: () => T, refused: (e: unknown) => boolean): T | typeof REFUSED {
  try {
    return parse();
  } catch (e) {
    if (refused(e)) return REFUSED;
    throw new Error(`threw outside its convention: ${describe(e)}`, { cause: e });
  }
}

/**
 * Asserts that `value` serializes, reparses to the same value (compared through `view`), and that
 * the reparsed value serializes to the same canonical form; returns that form.
 */
export function assertRoundTrip<V, S>(
  value: V,
  serialize: (v: V) => S,
  parse: (s: S) => V,
  view: (v: V) => unknown = (v) => v,
): S {
  const canonical = serialize(value);
  const again = parse(canonical);
  assert.deepStrictEqual(view(again), view(value), "serialized and reparsed value differs");
  assert.deepStrictEqual(serialize(again), canonical, "canonical form is not a fixpoint");
  return canonical;
}

/**
 * Runs a binary reader on the input alone and embedded in buffers of 0x00 and 0xff guard bytes;
 * asserts the results agree (a reader that looks outside [start, end) sees the guards) and the
 * buffer is unchanged. `read` must return offsets relative to `start`. Returns the result.
 */
export function readsOnlyItsBytes<R>(
  input: Uint8Array,
  read: (buf: Uint8Array, start: number, end: number) => R,
): R {
  const alone = input.slice();
  const result = read(alone, 0, alone.length);
  assert.deepStrictEqual(alone, input, "the reader changed its input");
  for (const [before, fill] of [[3, 0x00], [7, 0xff]] as const) {
    const buf = new Uint8Array(before + input.length + 5).fill(fill);
    buf.set(input, before);
    const copy = buf.slice();
    assert.deepStrictEqual(
      read(buf, before, before + input.length),
      result,
      `result depends on bytes outside [start, end) (guard 0x${fill.toString(16)})`,
    );
    assert.deepStrictEqual(buf, copy, "the reader changed its buffer");
  }
  return result;
}

/**
 * For a binary trio `xBytes(v)`, `writeX(v, buf, offset) → n`, `parseX(buf, start, end)` (STYLE §3.2):
 * writes `value` at an offset inside a guarded buffer, asserts it wrote exactly xBytes(v) bytes and
 * nothing outside them, then that the bytes read back to the same value canonically. Returns them.
 */
export function assertWrittenRoundTrip<V>(
  value: V,
  size: (v: V) => number,
  write: (v: V, buf: Uint8Array, offset: number) => number,
  read: (buf: Uint8Array, start: number, end: number) => V | null,
): Uint8Array {
  const n = size(value);
  const guarded = new Uint8Array(n + 8).fill(0xee);
  assert.equal(write(value, guarded, 3), n, "writer's count differs from its size function");
  assert.ok(
    guarded.subarray(0, 3).every((b) => b === 0xee) && guarded.subarray(3 + n).every((b) => b === 0xee),
  );
  const serialize = (v: V) => {
    const out = new Uint8Array(size(v));
    write(v, out, 0);
    return out;
  };
  const bytes = assertRoundTrip(value, serialize, (b) => read(b, 0, b.length) as V);
  assert.deepStrictEqual(guarded.subarray(3, 3 + n), bytes, "bytes depend on the offset");
  return bytes;
}

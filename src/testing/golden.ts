/**
 * Golden case tables (STYLE §3.3): one `{ name, input, parsed, canonical }` list feeds the parse
 * test, the serialize test and the fuzz step's seeds, one `t.step(name)` per case.
 *
 * Test-only: imported by `*_test.ts` files, never by a server module.
 *
 * @module
 */
import assert from "node:assert/strict";

/** One golden case; `canonical` is what the serializer writes for `parsed`, absent without one. */
export interface GoldenCase<Input, Parsed, Canonical = Input> {
  readonly name: string;
  readonly input: Input;
  readonly parsed: Parsed;
  readonly canonical?: Canonical;
}

/** One step per case: `parse(input)` deep-equals `parsed`. */
export async function goldenParseSteps<I, P>(
  t: Deno.TestContext,
  cases: readonly GoldenCase<I, P, unknown>[],
  parse: (input: I) => P,
): Promise<void> {
  for (const c of cases) await t.step(c.name, () => assert.deepStrictEqual(parse(c.input), c.parsed));
}

/**
 * One step per case with a canonical form: `serialize(parsed)` deep-equals `canonical`, and the
 * canonical form parses back to `parsed`.
 */
export async function goldenSerializeSteps<I, P, C>(
  t: Deno.TestContext,
  cases: readonly GoldenCase<I, P, C>[],
  serialize: (parsed: P) => C,
  parse: (canonical: C) => P,
): Promise<void> {
  for (const c of cases) {
    if (c.canonical === undefined) continue;
    const canonical = c.canonical;
    await t.step(c.name, () => {
      assert.deepStrictEqual(serialize(c.parsed), canonical);
      assert.deepStrictEqual(parse(canonical), c.parsed);
    });
  }
}

const encoder = new TextEncoder();

/** Fuzz seeds from a case table: the bytes `pick` names per case (strings as UTF-8), duplicates dropped. */
export function goldenSeeds<T>(
  cases: readonly T[],
  pick: (c: T) => readonly (string | Uint8Array | undefined)[],
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const c of cases) {
    for (const x of pick(c)) {
      if (x === undefined) continue;
      const bytes = typeof x === "string" ? encoder.encode(x) : x;
      const key = bytes.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(bytes);
    }
  }
  return out;
}

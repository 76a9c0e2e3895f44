import assert from "node:assert/strict";
import { type GoldenCase, goldenParseSteps, goldenSeeds, goldenSerializeSteps } from "./golden.ts";

const cases: GoldenCase<string, number, string>[] = [
  { name: "plain", input: "12", parsed: 12, canonical: "12" },
  { name: "padded", input: " 007 ", parsed: 7, canonical: "7" },
  { name: "no canonical form", input: "3", parsed: 3 },
];

Deno.test("goldenParseSteps() and goldenSerializeSteps() run one step per case", async (t) => {
  const names: string[] = [];
  const spy = { step: (name: string, fn: () => void) => (names.push(name), fn(), Promise.resolve(true)) };
  const ctx = spy as unknown as Deno.TestContext;
  await goldenParseSteps(ctx, cases, (s) => Number(s.trim()));
  await goldenSerializeSteps(ctx, cases, String, Number);
  assert.deepEqual(names, ["plain", "padded", "no canonical form", "plain", "padded"]);
  await t.step("a wrong parse fails its step", async () => {
    await assert.rejects(() => goldenParseSteps(ctx, cases, () => 0));
  });
  await t.step("a non-canonical serializer fails its step", async () => {
    await assert.rejects(() => goldenSerializeSteps(ctx, cases, (n) => `+${n}`, Number));
  });
});

Deno.test("goldenSeeds() encodes inputs and canonical forms once each", () => {
  const seeds = goldenSeeds(cases, (c) => [c.input, c.canonical]);
  assert.deepEqual(seeds.map((s) => new TextDecoder().decode(s)), ["12", " 007 ", "7", "3"]);
});

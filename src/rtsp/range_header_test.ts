import assert from "node:assert/strict";
import { RtspError, RtspParseError } from "./errors.ts";
import { type NptRange, parseRangeHeader, serializeRangeHeader } from "./range_header.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases: { name: string; input: string; parsed: NptRange; canonical: string }[] = [
  { name: "now-", input: "npt=now-", parsed: { start: "now" }, canonical: "npt=now-" },
  { name: "0-", input: "npt=0-", parsed: { start: 0 }, canonical: "npt=0.000-" },
  { name: "0.000-", input: "npt=0.000-", parsed: { start: 0 }, canonical: "npt=0.000-" },
  { name: "1.5-10", input: "npt=1.5-10", parsed: { start: 1.5, end: 10 }, canonical: "npt=1.500-10.000" },
  { name: "trailing dot", input: "npt=5.-", parsed: { start: 5 }, canonical: "npt=5.000-" },
  {
    name: "hh:mm:ss forms",
    input: "npt=0:00:01.5-1:02:03",
    parsed: { start: 1.5, end: 3723 },
    canonical: "npt=1.500-3723.000",
  },
  { name: "no start", input: "npt=-20", parsed: { start: 0, end: 20 }, canonical: "npt=0.000-20.000" },
  {
    name: "spaces and case",
    input: " NPT = 2 - 4 ",
    parsed: { start: 2, end: 4 },
    canonical: "npt=2.000-4.000",
  },
  {
    name: "time parameter ignored",
    input: "npt=0-;time=19970123T153600Z",
    parsed: { start: 0 },
    canonical: "npt=0.000-",
  },
  {
    name: "now with end",
    input: "npt=now-30",
    parsed: { start: "now", end: 30 },
    canonical: "npt=now-30.000",
  },
];

Deno.test("parseRangeHeader() parses the golden cases", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(parseRangeHeader(c.input), c.parsed));
});

Deno.test("serializeRangeHeader() writes the golden cases canonically", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(serializeRangeHeader(c.parsed), c.canonical);
      assert.deepEqual(parseRangeHeader(c.canonical), c.parsed);
    });
  }
});

Deno.test("parseRangeHeader() returns undefined for other units", () => {
  for (const input of ["smpte=10:07:00-10:07:33:05.01", "clock=19961108T142300Z-", "", "npt"]) {
    assert.equal(parseRangeHeader(input), undefined, input);
  }
});

Deno.test("parseRangeHeader() rejects malformed npt with 457", () => {
  for (const input of ["npt=", "npt=abc-", "npt=1-x", "npt=5", "npt=10-5", "npt=-", "npt=0:61:00-"]) {
    assert.throws(() => parseRangeHeader(input), (e) => e instanceof RtspError && e.status === 457, input);
  }
});

/**
 * parseRangeHeader()'s convention: refuse with RtspParseError 457, undefined for another unit, or a
 * range whose canonical form round-trips. The canonical form has millisecond precision, so the
 * round trip is checked from the first canonical value, which is within half a millisecond.
 */
function checkRange(input: Uint8Array): void {
  const text = new TextDecoder().decode(input);
  const refused = (e: unknown) => e instanceof RtspParseError && e.status === 457;
  const value = parseOrRefuse(() => parseRangeHeader(text), refused);
  if (value === REFUSED || value === undefined) return;
  const canonical = parseRangeHeader(serializeRangeHeader(value));
  assert.ok(canonical !== undefined);
  for (const k of ["start", "end"] as const) {
    const a: number | "now" | undefined = value[k];
    const b: number | "now" | undefined = canonical[k];
    if (typeof a === "number" && typeof b === "number") assert.ok(Math.abs(a - b) <= 0.0005 * (1 + a), k);
    else assert.equal(a, b, k);
  }
  assertRoundTrip(canonical, serializeRangeHeader, (s) => parseRangeHeader(s) as NptRange);
}

Deno.test("parseRangeHeader() fuzz: corpus and mutated values refuse with 457 or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "range_header",
    label: "parseRangeHeader()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: checkRange,
    count: 3000,
    seed: 457,
    kind: "text",
    dictionary: ["npt=", "now", "-", ":", ".", "smpte=", ";time="],
  });
});

import assert from "node:assert/strict";
import { RtspError, RtspParseError } from "./errors.ts";
import { parseSessionHeader, serializeSessionHeader } from "./session_header.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const cases = [
  { name: "id only", input: "12345678", parsed: { id: "12345678" }, canonical: "12345678" },
  {
    name: "id with timeout",
    input: "A1b2C3d4;timeout=55",
    parsed: { id: "A1b2C3d4", timeoutSec: 55 },
    canonical: "A1b2C3d4;timeout=55",
  },
  {
    name: "spaces and upper-case parameter",
    input: "  abc ; Timeout = 60 ",
    parsed: { id: "abc", timeoutSec: 60 },
    canonical: "abc;timeout=60",
  },
  { name: "unknown parameter ignored", input: "abc;foo=bar", parsed: { id: "abc" }, canonical: "abc" },
  { name: "bad timeout ignored", input: "abc;timeout=x", parsed: { id: "abc" }, canonical: "abc" },
] as const;

Deno.test("parseSessionHeader() parses the golden cases", async (t) => {
  for (const c of cases) await t.step(c.name, () => assert.deepEqual(parseSessionHeader(c.input), c.parsed));
});

Deno.test("serializeSessionHeader() writes the golden cases canonically", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const p: { id: string; timeoutSec?: number } = c.parsed;
      assert.equal(serializeSessionHeader(p.id, p.timeoutSec), c.canonical);
    });
  }
});

Deno.test("parseSessionHeader() rejects an empty id with 400", () => {
  for (const input of ["", "  ", ";timeout=60", "a b"]) {
    assert.throws(() => parseSessionHeader(input), (e) => e instanceof RtspError && e.status === 400, input);
  }
});

/** parseSessionHeader()'s convention: refuse with RtspParseError 400, or a value that round-trips. */
function checkSession(input: Uint8Array): void {
  const text = new TextDecoder().decode(input);
  const refused = (e: unknown) => e instanceof RtspParseError && e.status === 400;
  const value = parseOrRefuse(() => parseSessionHeader(text), refused);
  if (value === REFUSED) return;
  assertRoundTrip(value, (v) => serializeSessionHeader(v.id, v.timeoutSec), parseSessionHeader);
}

Deno.test("parseSessionHeader() fuzz: corpus and mutated values refuse with 400 or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "session_header",
    label: "parseSessionHeader()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: checkSession,
    count: 3000,
    seed: 37,
    kind: "text",
    dictionary: [";timeout=", ";timeout=60", " "],
  });
});

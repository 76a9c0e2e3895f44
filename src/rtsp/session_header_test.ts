import assert from "node:assert/strict";
import { RtspError } from "./errors.ts";
import { parseSessionHeader, serializeSessionHeader } from "./session_header.ts";

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

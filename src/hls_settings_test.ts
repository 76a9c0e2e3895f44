import assert from "node:assert/strict";
import { DEFAULT_HLS_SETTINGS, type HlsSettings, hlsSettingsProblems } from "./hls_settings.ts";
import { HlsStreamStore } from "./hls/hls_stream_store.ts";

Deno.test("hlsSettingsProblems() passes the defaults, which make a store", () => {
  assert.deepEqual(hlsSettingsProblems(DEFAULT_HLS_SETTINGS), []);
  const store = new HlsStreamStore(DEFAULT_HLS_SETTINGS);
  assert.equal(store.targetDuration, 1);
  assert.equal(store.partTarget, 0.2);
});

Deno.test("hlsSettingsProblems() names the key of each cross-key problem", async (t) => {
  const cases: [string, Partial<HlsSettings>, RegExp][] = [
    ["parts too short", { partDurationMs: 10 }, /'hls.partDurationMs' must be at least 20/],
    [
      "parts longer than segments",
      { partDurationMs: 1500 },
      /'hls.partDurationMs' \(1500\) must be at most 'hls.segmentDurationMs'/,
    ],
    ["segments too long", { segmentDurationMs: 61_000 }, /'hls.segmentDurationMs' must be at most 60000/],
    [
      "a window under three segments",
      { segmentCount: 2 },
      /'hls.segmentCount' must be an integer of at least 3/,
    ],
    [
      "a byte bound under 1 MiB",
      { maxBytesPerStream: 1000 },
      /'hls.maxBytesPerStream' must be at least 1 MiB/,
    ],
    ["an origin with a line break", { allowOrigin: "a\r\nb" }, /'hls.allowOrigin'/],
  ];
  for (const [name, change, message] of cases) {
    await t.step(name, () => {
      const problems = hlsSettingsProblems({ ...DEFAULT_HLS_SETTINGS, ...change });
      assert.equal(problems.length, 1, problems.join("; "));
      assert.match(problems[0]!, message);
    });
  }
});

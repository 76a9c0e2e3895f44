import assert from "node:assert/strict";
import { ConfigError, DEFAULT_CONFIG, DEFAULT_CONFIG_YAML, parseConfig, withOverrides } from "./config.ts";

Deno.test("dm-live.yaml says exactly the built-in defaults", () => {
  assert.deepEqual(parseConfig(DEFAULT_CONFIG_YAML), DEFAULT_CONFIG);
});

Deno.test("parseConfig() fills in defaults for omitted keys", () => {
  const c = parseConfig("rtsp:\n  port: 9000\n");
  assert.equal(c.rtsp.port, 9000);
  assert.equal(c.rtsp.address, DEFAULT_CONFIG.rtsp.address);
  assert.deepEqual(c.ring, DEFAULT_CONFIG.ring);
});

const BAD: [string, string, string][] = [
  ["unknown top key", "colour: red\n", "unknown key 'colour'"],
  ["unknown nested key", "ring:\n  size: 4\n", "unknown key 'ring.size'"],
  ["ring not a power of two", "ring:\n  bytes: 1000000\n", "'ring.bytes' must be a power of two"],
  ["port out of range", "rtsp:\n  port: 70000\n", "'rtsp.port' must be an integer from 0 to 65535"],
  ["string for a number", "workers: two\n", "'workers' must be an integer"],
  ["bad log level", "log:\n  level: loud\n", "'log.level' must be one of debug, info, warn, error"],
  ["section not a mapping", "ring: 5\n", "'ring.' must be a mapping"],
  [
    "drop below skip",
    "viewer:\n  skipLagPercent: 60\n  dropLagPercent: 50\n",
    "'viewer.dropLagPercent' must be",
  ],
  ["odd UDP port base", "udp:\n  portBase: 8001\n", "'udp.portBase' must be even"],
  [
    "reorder buffer too large",
    "udp:\n  reorderPackets: 5000\n",
    "'udp.reorderPackets' must be an integer from 1 to 1024",
  ],
  ["broken yaml", "rtsp: [\n", "invalid YAML"],
];

for (const [name, yaml, message] of BAD) {
  Deno.test(`parseConfig() refuses ${name}`, () => {
    assert.throws(
      () => parseConfig(yaml),
      (e: unknown) => e instanceof ConfigError && e.message.includes(message),
    );
  });
}

Deno.test("withOverrides() applies dotted keys and validates them", () => {
  const c = withOverrides(DEFAULT_CONFIG, { "rtsp.port": 0, workers: 3 });
  assert.equal(c.rtsp.port, 0);
  assert.equal(c.workers, 3);
  assert.throws(() => withOverrides(c, { "ring.bytes": 3 }), ConfigError);
});

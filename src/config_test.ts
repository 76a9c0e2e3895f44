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
  ["unknown top key", "colour: red\n", "line 1: unknown key 'colour'"],
  ["unknown nested key", "ring:\n  size: 4\n", "line 2: unknown key 'ring.size'"],
  ["ring not a power of two", "ring:\n  bytes: 1000000\n", "line 2: 'ring.bytes' must be a power of two"],
  [
    "port out of range",
    "# c\nrtsp:\n  address: 0.0.0.0\n  port: 70000\n",
    "line 4: 'rtsp.port' must be an integer from 0 to 65535",
  ],
  ["string for a number", "workers: two\n", "line 1: 'workers' must be an integer"],
  ["bad log level", "log:\n  level: loud\n", "'log.level' must be one of debug, info, warn, error"],
  ["section not a mapping", "ring: 5\n", "line 1: 'ring' must be a mapping"],
  ["duplicate key", "rtsp:\n  port: 1\n  port: 2\n", "line 3: invalid YAML: Map keys must be unique"],
  ["bad auth method", "auth:\n  methods: [basic, ntlm]\n", "line 2: 'auth.methods' must be a non-empty list"],
  ["empty auth methods", "auth:\n  methods: []\n", "'auth.methods' must be a non-empty list"],
  ["bad digest algorithm", "auth:\n  digestAlgorithms: [SHA-1]\n", "'auth.digestAlgorithms' must be"],
  ["paths not a mapping", "paths: [a, b]\n", "line 1: 'paths' must be a mapping"],
  ["empty paths", "paths: {}\n", "'paths' must be a mapping"],
  ["bad path pattern", 'paths:\n  a: {}\n  "~(": {}\n', "line 3: 'paths.~(': invalid regular expression"],
  ["path with a leading slash", "paths:\n  /live: {}\n", "line 2: 'paths./live': a path name has no leading"],
  [
    "unknown key in a path entry",
    "paths:\n  live:\n    write: {}\n",
    "line 3: unknown key 'paths.live.write'",
  ],
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
  ["broken yaml", "rtsp: [\n", "line 2: invalid YAML"],
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

Deno.test("parseConfig() reads paths in file order with permissions defaulting to anyone", () => {
  const c = parseConfig(
    "paths:\n  cams/front:\n    publish:\n      users: [{user: cam, pass: x}]\n      ips: [10.0.0.0/8]\n" +
      '  "~^pub/":\n    read: {}\n',
  );
  assert.deepEqual(Object.keys(c.paths), ["cams/front", "~^pub/"]);
  assert.deepEqual(c.paths["cams/front"].publish, {
    users: [{ user: "cam", pass: "x" }],
    ips: ["10.0.0.0/8"],
  });
  assert.deepEqual(c.paths["cams/front"].read, { users: [], ips: [] });
  assert.deepEqual(c.paths["~^pub/"].publish, { users: [], ips: [] });
});

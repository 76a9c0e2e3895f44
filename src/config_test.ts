import assert from "node:assert/strict";
import {
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_CONFIG_YAML,
  parseConfig,
  tlsOn,
  validateConfig,
  withOverrides,
  workerCount,
  workerShare,
} from "./config.ts";
import { RECORD_DEFAULTS } from "./paths/path_config.ts";

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
  ["api users not a list", "api:\n  users: ops\n", "line 2: 'api.users' must be a list"],
  [
    "api user without a pass",
    "api:\n  users:\n    - user: ops\n",
    "line 3: 'api.users[0]' needs 'pass' (the password, or \"sha256:\"",
  ],
  [
    "api user with Digest secrets only",
    'api:\n  users:\n    - user: ops\n      ha1: ["MD5:a40b91c26a7eb2c7b6de07628f3ba187"]\n',
    "line 4: 'api.users[0].ha1': the API takes HTTP Basic only, which cannot check Digest secrets; give 'pass'",
  ],
  [
    "api user with a pass and Digest secrets",
    'api:\n  users: [{user: ops, pass: pw, ha1: ["MD5:a40b91c26a7eb2c7b6de07628f3ba187"]}]\n',
    "'api.users[0].ha1': the API takes HTTP Basic only",
  ],
  [
    "api user with a malformed sha256: pass",
    'api:\n  users: [{user: ops, pass: "sha256:abc"}]\n',
    `line 2: 'api.users[0].pass' must be "sha256:" then the base64 of a 32-byte SHA-256 hash`,
  ],
  [
    "api user listed twice",
    "api:\n  users: [{user: ops, pass: a}, {user: ops, pass: b}]\n",
    "'api.users[1].user' repeats user 'ops'",
  ],
  [
    "api user with an unknown key",
    "api:\n  users: [{user: ops, password: a}]\n",
    "unknown key 'api.users[0].password'",
  ],
  [
    "api ips not an address",
    "api:\n  ips: [localhost]\n",
    `line 2: 'api.ips[0]' must be an IPv4 or IPv6 address or CIDR`,
  ],
  [
    "api ips with host bits",
    "api:\n  ips: [10.1.0.0/8]\n",
    "'api.ips[0]' has bits set after the prefix: write 10.0.0.0/8",
  ],
];

for (const [name, yaml, message] of BAD) {
  Deno.test(`parseConfig() refuses ${name}`, () => {
    assert.throws(
      () => parseConfig(yaml),
      (e: unknown) => e instanceof ConfigError && e.message.includes(message),
    );
  });
}

Deno.test("parseConfig() reads api.users (plain and sha256: pass) and api.ips; empty by default", () => {
  assert.deepEqual(DEFAULT_CONFIG.api.users, []);
  assert.deepEqual(DEFAULT_CONFIG.api.ips, []);
  const c = parseConfig(
    "api:\n  address: 0.0.0.0\n  users:\n    - {user: ops, pass: pw}\n" +
      '    - {user: prom, pass: "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="}\n' +
      "  ips: [10.0.0.0/8, ::1]\n",
  );
  assert.deepEqual(c.api.users, [
    { user: "ops", pass: "pw" },
    { user: "prom", pass: "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" },
  ]);
  assert.deepEqual(c.api.ips, ["10.0.0.0/8", "::1"]);
  assert.deepEqual(withOverrides(c, {}).api, c.api, "a validated config validates again (reload)");
  assert.deepEqual(parseConfig("api:\n  users:\n  ips:\n").api.users, [], "left empty: none");
});

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

Deno.test("paths entries with a source: defaults, patterns on demand, and errors by line", async (t) => {
  await t.step("defaults", () => {
    const c = parseConfig("paths:\n  cams/a:\n    source: rtsp://u:p@10.0.0.1/s\n");
    assert.deepEqual(c.paths["cams/a"].source, {
      url: "rtsp://u:p@10.0.0.1/s",
      transport: "auto",
      onDemand: false,
      onDemandStartTimeoutMs: 10000,
      onDemandCloseAfterMs: 10000,
      readTimeoutMs: 10000,
      retryMinMs: 1000,
      retryMaxMs: 30000,
    });
  });
  await t.step("a pattern's source is on demand and may use its groups", () => {
    const c = parseConfig('paths:\n  "~^relay/(.+)$":\n    source: rtsp://up:8554/$1\n');
    assert.equal(c.paths["~^relay/(.+)$"].source?.onDemand, true);
  });
  await t.step("a validated config validates again (reload, overrides)", () => {
    const c = parseConfig("paths:\n  a:\n    source: rtsp://h/x\n    sourceTransport: tcp\n");
    assert.deepEqual(withOverrides(c, {}).paths.a.source, c.paths.a.source);
  });
  const errors: [string, string, RegExp][] = [
    [
      "not rtsp",
      "paths:\n  a:\n    source: http://h/x\n",
      /line 3: 'paths\.a\.source' must be an rtsp:\/\/ \(or rtsph:\/\/, tunnelled through HTTP\) URL/,
    ],
    [
      "groups in an exact name",
      "paths:\n  a:\n    source: rtsp://h/$1\n",
      /line 3: .* only a ~pattern entry has/,
    ],
    [
      "a key without source",
      "paths:\n  a:\n    sourceOnDemand: true\n",
      /line 3: 'paths\.a\.sourceOnDemand' needs 'paths\.a\.source'/,
    ],
    [
      "bad transport",
      "paths:\n  a:\n    source: rtsp://h/x\n    sourceTransport: quic\n",
      /line 4: 'paths\.a\.sourceTransport' must be one of auto, tcp, udp/,
    ],
    [
      "pattern not on demand",
      'paths:\n  "~x":\n    source: rtsp://h/x\n    sourceOnDemand: false\n',
      /line 4: .* cannot be false in a ~pattern entry/,
    ],
    [
      "max below min",
      "paths:\n  a:\n    source: rtsp://h/x\n    sourceRetryMinMs: 5000\n    sourceRetryMaxMs: 1000\n",
      /line 5: .*must be at least/,
    ],
    ["unknown key", "paths:\n  a:\n    sourceUrl: rtsp://h/x\n", /line 3: unknown key 'paths\.a\.sourceUrl'/],
  ];
  for (const [name, yaml, re] of errors) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("rtsp.tls: off by default, both files or neither, a port of its own, errors by line", async (t) => {
  assert.deepEqual(DEFAULT_CONFIG.rtsp.tls, { cert: "", key: "", port: 8322 });
  assert.equal(tlsOn(DEFAULT_CONFIG), false);
  const on = parseConfig("rtsp:\n  tls:\n    cert: /etc/dm-live/cert.pem\n    key: /etc/dm-live/key.pem\n");
  assert.deepEqual(on.rtsp.tls, { cert: "/etc/dm-live/cert.pem", key: "/etc/dm-live/key.pem", port: 8322 });
  assert.equal(tlsOn(on), true);
  assert.equal(
    withOverrides(DEFAULT_CONFIG, { "rtsp.tls.cert": "c.pem", "rtsp.tls.key": "k.pem" }).rtsp.tls.key,
    "k.pem",
  );
  // The same port as the plain listener is fine while RTSPS is off.
  assert.equal(withOverrides(DEFAULT_CONFIG, { "rtsp.tls.port": 8554 }).rtsp.tls.port, 8554);
  const errors: [string, string, RegExp][] = [
    [
      "cert without key",
      "rtsp:\n  tls:\n    cert: c.pem\n",
      /line 3: 'rtsp\.tls\.cert' and 'rtsp\.tls\.key' go together: .*only 'rtsp\.tls\.cert'/,
    ],
    ["key without cert", "rtsp:\n  tls:\n    key: k.pem\n", /line 3: .*go together: .*only 'rtsp\.tls\.key'/],
    [
      "the plain port",
      "rtsp:\n  port: 9000\n  tls:\n    cert: c.pem\n    key: k.pem\n    port: 9000\n",
      /line 6: 'rtsp\.tls\.port' 9000 is also 'rtsp\.port': RTSPS needs a port of its own/,
    ],
    [
      "the tunnel port",
      "rtsp:\n  tunnelPort: 8080\n  tls:\n    cert: c.pem\n    key: k.pem\n    port: 8080\n",
      /line 6: .* is also 'rtsp\.tunnelPort'/,
    ],
    [
      "port 0",
      "rtsp:\n  tls:\n    port: 0\n",
      /line 3: 'rtsp\.tls\.port' must be an integer from 1 to 65535/,
    ],
    ["cert not a string", "rtsp:\n  tls:\n    cert: 5\n", /line 3: 'rtsp\.tls\.cert' must be a file name/],
    [
      "unknown key",
      "rtsp:\n  tls:\n    certificate: c.pem\n",
      /line 3: unknown key 'rtsp\.tls\.certificate'/,
    ],
  ];
  for (const [name, yaml, re] of errors) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("workerCount and workerShare: a bound over all workers, each worker's share rounded up; 0 stays 0", () => {
  const three = withOverrides(DEFAULT_CONFIG, { workers: 3 });
  assert.equal(workerCount(three), 3);
  assert.equal(workerShare(three, 1000), 334);
  assert.equal(workerShare(three, 1), 1);
  assert.equal(workerShare(three, 0), 0);
  const auto = withOverrides(DEFAULT_CONFIG, { workers: 0 });
  assert.equal(workerCount(auto), Math.max(1, navigator.hardwareConcurrency || 1));
});

Deno.test("hooks: off by default, an http(s) URL, bounds checked by line", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(DEFAULT_CONFIG.hooks, {
      url: "",
      timeoutMs: 5000,
      maxQueue: 1000,
      retryMinMs: 500,
      retryMaxMs: 30000,
      maxRetries: 5,
    });
    const c = parseConfig("hooks:\n  url: https://ops.example/dm-live?token=x\n  maxRetries: 0\n");
    assert.equal(c.hooks.url, "https://ops.example/dm-live?token=x");
    assert.equal(c.hooks.maxRetries, 0);
    assert.equal(withOverrides(c, { "hooks.url": "" }).hooks.url, "");
  });
  const errors: [string, string, RegExp][] = [
    [
      "not http",
      "hooks:\n  url: ftp://h/x\n",
      /line 2: 'hooks\.url' must be an http:\/\/ or https:\/\/ URL, or "" \(off\)/,
    ],
    ["not a URL", "hooks:\n  url: localhost:8080\n", /line 2: 'hooks\.url' must be an http:\/\//],
    ["empty queue", "hooks:\n  maxQueue: 0\n", /line 2: 'hooks\.maxQueue' must be an integer from 1/],
    ["tiny timeout", "hooks:\n  timeoutMs: 5\n", /'hooks\.timeoutMs' must be an integer from 100/],
    [
      "max below min",
      "hooks:\n  retryMinMs: 5000\n  retryMaxMs: 1000\n",
      /line 3: 'hooks\.retryMaxMs' must be at least 'hooks\.retryMinMs'/,
    ],
    ["unknown key", "hooks:\n  urls: []\n", /line 2: unknown key 'hooks\.urls'/],
  ];
  for (const [name, yaml, re] of errors) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("auth.http and auth.jwt: off by default, URLs and bounds checked by line, basic needed", async (t) => {
  await t.step("defaults and values", () => {
    assert.deepEqual(DEFAULT_CONFIG.auth.http, {
      url: "",
      timeoutMs: 5000,
      cacheMs: 60000,
      denyCacheMs: 5000,
      cacheMaxEntries: 10000,
      maxPending: 100,
    });
    assert.equal(DEFAULT_CONFIG.auth.jwt.jwksUrl, "");
    assert.equal(DEFAULT_CONFIG.auth.jwt.claimKey, "mediamtx_permissions");
    const c = parseConfig(
      "auth:\n  http:\n    url: http://127.0.0.1:9000/auth\n    cacheMs: 0\n" +
        "  jwt:\n    jwksUrl: https://idp.example/jwks.json\n    claimKey: perms\n    audience: dm-live\n",
    );
    assert.equal(c.auth.http.url, "http://127.0.0.1:9000/auth");
    assert.equal(c.auth.http.cacheMs, 0);
    assert.equal(c.auth.http.maxPending, 100);
    assert.equal(c.auth.jwt.jwksUrl, "https://idp.example/jwks.json");
    assert.equal(c.auth.jwt.claimKey, "perms");
    assert.equal(c.auth.jwt.audience, "dm-live");
    assert.equal(c.auth.jwt.issuer, "");
    // Settable one key at a time, as from DM_LIVE_AUTH_HTTP_URL or --set.
    assert.equal(
      withOverrides(DEFAULT_CONFIG, { "auth.http.url": "https://a.example/x" }).auth.http.url,
      "https://a.example/x",
    );
  });
  const errors: [string, string, RegExp][] = [
    [
      "http url not http",
      "auth:\n  http:\n    url: ftp://h/x\n",
      /line 3: 'auth\.http\.url' must be an http:\/\/ or https:\/\/ URL, or "" \(off\)/,
    ],
    [
      "jwks url not a URL",
      "auth:\n  jwt:\n    jwksUrl: idp/jwks\n",
      /line 3: 'auth\.jwt\.jwksUrl' must be an http/,
    ],
    [
      "no cache room",
      "auth:\n  http:\n    cacheMaxEntries: 0\n",
      /line 3: 'auth\.http\.cacheMaxEntries' must be an integer from 1/,
    ],
    [
      "no pending",
      "auth:\n  http:\n    maxPending: 0\n",
      /'auth\.http\.maxPending' must be an integer from 1/,
    ],
    [
      "tiny timeout",
      "auth:\n  http:\n    timeoutMs: 1\n",
      /'auth\.http\.timeoutMs' must be an integer from 100/,
    ],
    [
      "empty claim key",
      "auth:\n  jwt:\n    claimKey: ''\n",
      /'auth\.jwt\.claimKey' must be a non-empty string/,
    ],
    ["issuer not a string", "auth:\n  jwt:\n    issuer: 5\n", /'auth\.jwt\.issuer' must be a string/],
    ["unknown key", "auth:\n  http:\n    address: x\n", /line 3: unknown key 'auth\.http\.address'/],
    [
      "digest only with http",
      "auth:\n  methods: [digest]\n  http:\n    url: http://127.0.0.1:1/a\n",
      /line 2: 'auth\.methods' must include basic when auth\.http\.url is set/,
    ],
    [
      "digest only with jwt",
      "auth:\n  methods: [digest]\n  jwt:\n    jwksUrl: http://127.0.0.1:1/j\n",
      /'auth\.methods' must include basic when auth\.jwt\.jwksUrl is set/,
    ],
  ];
  for (const [name, yaml, re] of errors) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("paths entries with runOnReady: restart by default, none when empty, errors by line", async (t) => {
  await t.step("defaults", () => {
    const c = parseConfig(
      "paths:\n  cams/a:\n    runOnReady: ffmpeg -i $RTSP_URL -f null -\n  cams/b:\n    runOnReady: ''\n" +
        "  cams/c:\n    runOnReady: x\n    runOnReadyRestart: false\n",
    );
    assert.deepEqual(c.paths["cams/a"].runOnReady, {
      command: "ffmpeg -i $RTSP_URL -f null -",
      restart: true,
    });
    assert.equal(c.paths["cams/b"].runOnReady, undefined, '"" runs nothing');
    assert.deepEqual(c.paths["cams/c"].runOnReady, { command: "x", restart: false });
    assert.equal("runOnReady" in DEFAULT_CONFIG.paths["~^.*$"], false);
  });
  await t.step("a validated config validates again (reload, overrides)", () => {
    const c = parseConfig("paths:\n  a:\n    runOnReady: x\n    runOnReadyRestart: false\n");
    assert.deepEqual(withOverrides(c, {}).paths.a.runOnReady, c.paths.a.runOnReady);
  });
  const errors: [string, string, RegExp][] = [
    [
      "restart without a command",
      "paths:\n  a:\n    runOnReadyRestart: false\n",
      /line 3: 'paths\.a\.runOnReadyRestart' needs 'paths\.a\.runOnReady'/,
    ],
    [
      "not a string",
      "paths:\n  a:\n    runOnReady: [ffmpeg, -i]\n",
      /line 3: 'paths\.a\.runOnReady' must be a shell command/,
    ],
    [
      "restart not a boolean",
      "paths:\n  a:\n    runOnReady: x\n    runOnReadyRestart: always\n",
      /line 4: 'paths\.a\.runOnReadyRestart' must be true or false/,
    ],
    [
      "unknown key",
      "paths:\n  a:\n    runOnRead: x\n",
      /line 3: unknown key 'paths\.a\.runOnRead' \(.*runOnReady/,
    ],
  ];
  for (const [name, yaml, re] of errors) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("paths entries with record: defaults, their own keys, off unless record is true, errors by line", async (t) => {
  const c = parseConfig(
    "paths:\n  cams/a:\n    record: true\n  cams/b:\n    record: true\n    recordPath: /data/%path/%Y\n" +
      "    recordSegmentDurationMs: 60000\n    recordDeleteAfterMs: 0\n  cams/c:\n    recordPath: /x/%path\n",
  );
  assert.deepEqual(c.paths["cams/a"].record, RECORD_DEFAULTS);
  assert.deepEqual(c.paths["cams/b"].record, {
    ...RECORD_DEFAULTS,
    path: "/data/%path/%Y",
    segmentDurationMs: 60000,
    deleteAfterMs: 0,
  });
  assert.equal(c.paths["cams/c"].record, undefined, "keys without record: true record nothing");
  // A reload re-validates the validated form.
  assert.deepEqual(validateConfig(c).paths["cams/b"].record, c.paths["cams/b"].record);
  for (
    const [name, yaml, re] of [
      ["record not a boolean", "paths:\n  a:\n    record: yes please\n", /^line 3: 'paths\.a\.record'/],
      [
        "a template without %path",
        "paths:\n  a:\n    record: true\n    recordPath: /x/y\n",
        /^line 4: .*%path/,
      ],
      [
        "files shorter than fragments",
        "paths:\n  a:\n    recordPartDurationMs: 5000\n    recordSegmentDurationMs: 2000\n",
        /^line 4: 'paths\.a\.recordSegmentDurationMs' must be at least/,
      ],
    ] as const
  ) {
    await t.step(
      name,
      () => assert.throws(() => parseConfig(yaml), (e) => e instanceof ConfigError && re.test(e.message)),
    );
  }
});

Deno.test("hls: on by default on 8888; parts longer than segments are refused by line", () => {
  const c = parseConfig("hls:\n  port: 9888\n");
  assert.deepEqual(c.hls, { ...DEFAULT_CONFIG.hls, port: 9888 });
  assert.equal(DEFAULT_CONFIG.hls.enabled, true);
  assert.equal(DEFAULT_CONFIG.hls.port, 8888);
  assert.throws(
    () => parseConfig("hls:\n  segmentDurationMs: 1000\n  partDurationMs: 2000\n"),
    (e) =>
      e instanceof ConfigError && /^line 3: 'hls\.partDurationMs' \(2000\) must be at most/.test(e.message),
  );
});

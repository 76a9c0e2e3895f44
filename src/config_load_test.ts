import assert from "node:assert/strict";
import { ConfigError } from "./config.ts";
import { envOverrides, loadConfig, parseValueFor, settableKeys } from "./config_load.ts";

Deno.test("envOverrides() maps DM_LIVE_ names to dotted keys with the key's type", () => {
  assert.deepEqual(
    envOverrides({
      DM_LIVE_RTSP_PORT: "9000",
      DM_LIVE_UDP_PORTBASE: "0",
      DM_LIVE_UDP_BATCHSENDS: "false",
      DM_LIVE_AUTH_METHODS: "digest, basic",
      DM_LIVE_LOG_FORMAT: "json",
      PATH: "/usr/bin",
    }),
    {
      "rtsp.port": 9000,
      "udp.portBase": 0,
      "udp.batchSends": false,
      "auth.methods": ["digest", "basic"],
      "log.format": "json",
    },
  );
});

Deno.test("envOverrides() refuses an unknown DM_LIVE_ variable by name", () => {
  assert.throws(
    () => envOverrides({ DM_LIVE_RTSP_PROT: "1" }),
    (e: unknown) =>
      e instanceof ConfigError && e.message === "unknown environment variable DM_LIVE_RTSP_PROT",
  );
});

Deno.test("settableKeys() lists leaf keys but not paths", () => {
  const keys = settableKeys();
  assert.ok(keys.includes("viewer.mergeWindowMs"));
  assert.ok(keys.includes("auth.digestAlgorithms"));
  assert.ok(!keys.some((k) => k.startsWith("paths")));
});

Deno.test("envOverrides(): DM_LIVE_API_IPS is a comma-separated list of addresses", () => {
  assert.deepEqual(envOverrides({ DM_LIVE_API_IPS: "10.0.0.0/8, ::1" }), {
    "api.ips": ["10.0.0.0/8", "::1"],
  });
});

Deno.test("parseValueFor() leaves text it cannot convert for validation to name", () => {
  assert.equal(parseValueFor("rtsp.port", "80x"), "80x");
  assert.equal(parseValueFor("udp.batchSends", "yes"), "yes");
  assert.equal(parseValueFor("rtsp.address", "::"), "::");
});

Deno.test("loadConfig(): file, then environment, then command line; errors name the file and line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/dm-live.yaml`;
    await Deno.writeTextFile(file, "rtsp:\n  port: 1000\n  address: 127.0.0.1\nworkers: 1\n");
    const c = await loadConfig({
      file,
      env: { DM_LIVE_RTSP_PORT: "2000", DM_LIVE_WORKERS: "2" },
      overrides: { "rtsp.port": 3000 },
    });
    assert.equal(c.rtsp.port, 3000);
    assert.equal(c.workers, 2);
    assert.equal(c.rtsp.address, "127.0.0.1");

    await Deno.writeTextFile(file, "rtsp:\n  port: 1000\n  adress: 127.0.0.1\n");
    await assert.rejects(
      () => loadConfig({ file, overrides: {} }),
      (e: unknown) => e instanceof ConfigError && e.message === `${file}: line 3: unknown key 'rtsp.adress'`,
    );
    await assert.rejects(
      () => loadConfig({ file: `${dir}/none.yaml`, overrides: {} }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${dir}/none.yaml: cannot read`),
    );
    await assert.rejects(
      () => loadConfig({ overrides: {}, env: { DM_LIVE_RTSP_PORT: "http" } }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith("environment: 'rtsp.port' must be"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

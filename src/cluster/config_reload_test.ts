import assert from "node:assert/strict";
import { DEFAULT_CONFIG, withOverrides } from "../config.ts";
import { planReload } from "./config_reload.ts";

Deno.test("planReload() applies live keys and keeps restart-only sections at their running values", () => {
  const running = withOverrides(DEFAULT_CONFIG, { "rtsp.port": 0, workers: 2 });
  const loaded = withOverrides(DEFAULT_CONFIG, {
    "rtsp.port": 9000,
    workers: 2,
    "udp.portBase": 7000,
    "ring.bytes": 1 << 20,
    "api.debug": true,
    sessionTimeoutMs: 5000,
    "log.level": "debug",
    "viewer.mergeWindowMs": 10,
  });
  const plan = planReload(running, loaded);
  assert.deepEqual(plan.applied.sort(), ["log.level", "sessionTimeoutMs", "viewer.mergeWindowMs"]);
  assert.deepEqual(plan.needRestart.sort(), ["api.debug", "ring.bytes", "rtsp.port", "udp.portBase"]);
  assert.equal(plan.config.rtsp.port, 0);
  assert.equal(plan.config.udp.portBase, running.udp.portBase);
  assert.equal(plan.config.ring.bytes, running.ring.bytes);
  assert.equal(plan.config.api.debug, false);
  assert.equal(plan.config.sessionTimeoutMs, 5000);
  assert.equal(plan.config.log.level, "debug");
  assert.equal(plan.config.viewer.mergeWindowMs, 10);
});

Deno.test("planReload() of an unchanged config changes nothing", () => {
  const c = withOverrides(DEFAULT_CONFIG, {});
  const plan = planReload(c, structuredClone(c));
  assert.deepEqual(plan.applied, []);
  assert.deepEqual(plan.needRestart, []);
  assert.deepEqual(plan.config, c);
});

Deno.test("planReload() names keys that appear or vanish, and compares lists whole", () => {
  const running = { ...withOverrides(DEFAULT_CONFIG, {}), extra: { list: [1, 2] } };
  const loaded = { ...withOverrides(DEFAULT_CONFIG, {}), extra: { list: [1, 3] }, added: { x: 1 } };
  const plan = planReload(running, loaded);
  assert.deepEqual(plan.applied.sort(), ["added", "extra.list"], "a new section is named whole");
});

Deno.test("planReload() applies api.users and api.ips (read per request) and keeps the rest of api", () => {
  const running = withOverrides(DEFAULT_CONFIG, {});
  const users = [{ user: "ops", pass: "pw" }];
  const loaded = withOverrides(DEFAULT_CONFIG, {
    "api.users": users,
    "api.ips": ["10.0.0.0/8"],
    "api.port": 1,
  });
  const plan = planReload(running, loaded);
  assert.deepEqual(plan.applied, ["api.ips", "api.users"]);
  assert.deepEqual(plan.needRestart, ["api.port"]);
  assert.deepEqual(plan.config.api, { ...running.api, users, ips: ["10.0.0.0/8"] });
});

Deno.test("planReload() applies rtsp.tls.cert and key while RTSPS stays on; turning it on or off, or its port, needs a restart", () => {
  const on = { "rtsp.tls.cert": "/etc/a.pem", "rtsp.tls.key": "/etc/a.key" };
  const running = withOverrides(DEFAULT_CONFIG, on);
  const moved = withOverrides(DEFAULT_CONFIG, {
    "rtsp.tls.cert": "/etc/b.pem",
    "rtsp.tls.key": "/etc/b.key",
    "rtsp.tls.port": 9322,
  });
  let plan = planReload(running, moved);
  assert.deepEqual(plan.applied, ["rtsp.tls.cert", "rtsp.tls.key"]);
  assert.deepEqual(plan.needRestart, ["rtsp.tls.port"]);
  assert.deepEqual(plan.config.rtsp, {
    ...running.rtsp,
    tls: { cert: "/etc/b.pem", key: "/etc/b.key", port: 8322 },
  });

  plan = planReload(running, withOverrides(DEFAULT_CONFIG, {}));
  assert.deepEqual(plan.applied, [], "turning RTSPS off closes a port: a restart");
  assert.deepEqual(plan.needRestart, ["rtsp.tls.cert", "rtsp.tls.key"]);
  assert.deepEqual(plan.config.rtsp, running.rtsp);

  plan = planReload(withOverrides(DEFAULT_CONFIG, {}), running);
  assert.deepEqual(plan.needRestart, ["rtsp.tls.cert", "rtsp.tls.key"], "turning it on opens one");
  assert.equal(plan.config.rtsp.tls.cert, "");
});

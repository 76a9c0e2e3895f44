import assert from "node:assert/strict";
import type { PathConfig } from "./path_config.ts";
import { PathRules } from "./path_rules.ts";
import { pathNameError } from "./path_config.ts";

const entry = (user: string): PathConfig => ({
  publish: { users: [{ user, pass: "x" }], ips: [] },
  read: { users: [], ips: [] },
});

Deno.test("PathRules: an exact name wins over an earlier pattern; patterns go in file order", () => {
  const rules = new PathRules({
    "~^cams/": entry("pattern1"),
    "~^cams/back": entry("pattern2"),
    "cams/front": entry("exact"),
  });
  assert.equal(rules.match("cams/front")?.name, "cams/front");
  assert.equal(rules.match("cams/front")?.config.publish.users[0].user, "exact");
  assert.equal(rules.match("cams/back")?.name, "~^cams/");
  assert.equal(rules.match("live/x"), null);
});

Deno.test("PathRules: patterns are unanchored unless the expression anchors them", () => {
  const rules = new PathRules({ "~cam[0-9]+$": entry("a") });
  assert.equal(rules.match("site/cam12")?.name, "~cam[0-9]+$");
  assert.equal(rules.match("site/cam12/sub"), null);
});

Deno.test("pathNameError() explains each unusable name", () => {
  assert.equal(pathNameError("live/cam1"), null);
  assert.equal(pathNameError("~^live/.*$"), null);
  assert.match(pathNameError("~(")!, /invalid regular expression/);
  assert.match(pathNameError("~")!, /needs an expression/);
  assert.match(pathNameError("/live")!, /leading or trailing/);
  assert.match(pathNameError("live cam")!, /spaces/);
  assert.match(pathNameError("")!, /empty/);
});

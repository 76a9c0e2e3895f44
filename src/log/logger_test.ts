import assert from "node:assert/strict";
import { Logger, type LogLevel } from "./logger.ts";

Deno.test("Logger.setLevel() reaches the children made before and after it, and the root", () => {
  const lines: [LogLevel, string][] = [];
  const root = new Logger("info", "w0", (level, line) => lines.push([level, line]));
  const kept = root.child("conn 1.2.3.4:5");
  kept.debug("hidden");
  assert.equal(lines.length, 0);
  root.setLevel("debug");
  kept.debug("shown");
  root.child("later").debug("shown too");
  assert.deepEqual(lines.map(([l, s]) => [l, s.replace(/^\S+ /, "")]), [
    ["debug", "DBG w0 [conn 1.2.3.4:5] shown"],
    ["debug", "DBG w0 [later] shown too"],
  ]);
  kept.setLevel("error");
  root.warn("hidden");
  assert.equal(lines.length, 2, "one family, one level");
});

Deno.test("Logger writes one line per event: text escapes newlines, json keeps them in the string", () => {
  const lines: string[] = [];
  const sink = (_: LogLevel, line: string) => lines.push(line);
  new Logger("info", "w1", sink).error("uncaught: Error: boom\n    at f (x.ts:1:1)");
  new Logger("info", "w1", sink, true).error("uncaught: Error: boom\n    at f (x.ts:1:1)");
  assert.ok(lines.every((l) => !l.includes("\n")));
  assert.match(lines[0], / ERR w1 uncaught: Error: boom\\n {4}at f/);
  const o = JSON.parse(lines[1]);
  assert.deepEqual([o.level, o.who, o.msg], ["error", "w1", "uncaught: Error: boom\n    at f (x.ts:1:1)"]);
});

Deno.test("Logger's text lines write out every control character and Unicode line break a peer could send", () => {
  const lines: string[] = [];
  const log = new Logger("info", "w0", (_, line) => lines.push(line));
  log.child("path live/\r\x1b[2Jfake\x00").warn("DESCRIBE x\u2028y\x7f\x9b\tz");
  assert.match(lines[0], / WRN w0 \[path live\/\\r\\x1b\[2Jfake\\x00\] DESCRIBE x\\u2028y\\x7f\\x9b\\tz$/);
  // deno-lint-ignore no-control-regex -- control characters are what this matches
  assert.doesNotMatch(lines[0], /[\x00-\x1f\x7f-\x9f\u2028\u2029]/);
});

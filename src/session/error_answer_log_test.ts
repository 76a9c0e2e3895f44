import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import {
  ErrorAnswerLog,
  LINES_PER_ADDRESS,
  LINES_PER_WORKER,
  SUMMARIES_PER_FLUSH,
} from "./error_answer_log.ts";

function setup() {
  const lines: string[] = [];
  const errors = new ErrorAnswerLog(new Logger("info", "", (_level, line) => lines.push(line)), false);
  return { lines, errors };
}

Deno.test("ErrorAnswerLog: a burst of error answers to one address gets its first lines, then one summary naming the address and the count", () => {
  const { lines, errors } = setup();
  let allowed = 0;
  for (let i = 0; i < 500; i++) if (errors.allow("10.0.0.1", i)) allowed++;
  assert.equal(allowed, LINES_PER_ADDRESS);
  assert.ok(errors.allow("10.0.0.2", 600), "another address has lines of its own");
  errors.flush(9_000);
  assert.deepEqual(lines, [], "no summary before the window ends");
  errors.flush(10_000);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /WRN 490 more error answers to 10\.0\.0\.1 in the last 10 s/);
  // The window begins again: lines again, and no summary for an address that stayed under the bound.
  assert.ok(errors.allow("10.0.0.1", 10_001));
  errors.flush(30_000);
  assert.equal(lines.length, 1);
  assert.equal(errors.size, 0, "ended windows are forgotten");
});

Deno.test("ErrorAnswerLog: many addresses are bounded per worker; a flush names at most SUMMARIES_PER_FLUSH and sums the rest", () => {
  const { lines, errors } = setup();
  let allowed = 0;
  for (let a = 0; a < 100; a++) {
    for (let i = 0; i < 20; i++) if (errors.allow(`10.0.1.${a}`, a)) allowed++;
  }
  assert.equal(allowed, LINES_PER_WORKER);
  errors.flush(20_000);
  assert.equal(lines.length, SUMMARIES_PER_FLUSH + 1);
  assert.match(lines[0], /10 more error answers to 10\.0\.1\.0 in/);
  assert.match(lines.at(-1)!, /more error answers to 80 other addresses in the last 10 s/);
  // Every answer is counted: lines written plus the counts summed.
  const counted = lines.reduce((n, l) => n + Number(/ (\d+) more/.exec(l)![1]), 0);
  assert.equal(allowed + counted, 100 * 20);
});

Deno.test("ErrorAnswerLog: an address's window that ended is summarised at its next error answer", () => {
  const { lines, errors } = setup();
  for (let i = 0; i < 15; i++) errors.allow("2001:db8::/64", 0);
  assert.ok(errors.allow("2001:db8::/64", 10_500));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /5 more error answers to 2001:db8::\/64 in the last 10 s/);
});

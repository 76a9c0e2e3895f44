import assert from "node:assert/strict";
import { boundedUser, hookEvent } from "./hook_event.ts";

Deno.test("hookEvent: event, time, node, path first, then the body's fields", () => {
  const e = hookEvent(
    { event: "publish.stop", path: "a", streamId: 3, reason: "r" },
    Date.UTC(2026, 0, 2),
    "n1",
  );
  assert.deepEqual(Object.keys(e), ["event", "time", "node", "path", "streamId", "reason"]);
  assert.equal(e.time, "2026-01-02T00:00:00.000Z");
  assert.deepEqual(
    Object.keys(hookEvent({ event: "publish.stop", path: "a", streamId: 3, reason: "r" }, 0)),
    [
      "event",
      "time",
      "path",
      "streamId",
      "reason",
    ],
  );
});

Deno.test("boundedUser: none stays null, a long name is cut at 128 characters", () => {
  assert.equal(boundedUser(undefined), null);
  assert.equal(boundedUser("ops"), "ops");
  assert.equal(boundedUser("x".repeat(1000)), "x".repeat(128));
});

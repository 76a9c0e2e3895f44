import assert from "node:assert/strict";
import { SERVER_V8_FLAGS } from "./v8_flags.ts";

Deno.test("deno.json starts and compiles the server with SERVER_V8_FLAGS", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))) as {
    tasks: Record<string, string>;
  };
  for (const name of ["start", "compile", "compile:linux-x86_64", "compile:linux-aarch64", "compile:check"]) {
    assert.ok(tasks[name].includes(`-P=server ${SERVER_V8_FLAGS} `), `task ${name}: ${tasks[name]}`);
  }
});

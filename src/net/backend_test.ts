import assert from "node:assert/strict";
import { chooseBackend } from "./backend.ts";

const granted = () => true;
const denied = () => false;

Deno.test("auto picks FFI on Linux x86_64 and aarch64 with --allow-ffi", () => {
  assert.equal(chooseBackend("auto", "linux", "x86_64", granted), "ffi");
  assert.equal(chooseBackend("auto", "linux", "aarch64", granted), "ffi");
  assert.equal(chooseBackend("auto", "linux", "aarch64", denied), "deno");
});

Deno.test("auto falls back to Deno sockets off Linux and on an arch without a libc layout", () => {
  assert.equal(chooseBackend("auto", "darwin", "aarch64", granted), "deno");
  assert.equal(chooseBackend("auto", "windows", "x86_64", granted), "deno");
  assert.equal(chooseBackend("auto", "linux", "riscv64", granted), "deno");
});

Deno.test("an explicit backend is taken as asked, without asking for the permission", () => {
  const never = () => assert.fail("permission asked");
  assert.equal(chooseBackend("deno", "linux", "x86_64", never), "deno");
  assert.equal(chooseBackend("ffi", "linux", "riscv64", never), "ffi");
});

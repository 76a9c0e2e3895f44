import type { Config } from "../config.ts";

/** `auto` is the FFI path on Linux when --allow-ffi is granted, Deno's TCP API otherwise. */
export function resolveBackend(backend: Config["net"]["backend"]): "deno" | "ffi" {
  if (backend !== "auto") return backend;
  const ffi = Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  return ffi ? "ffi" : "deno";
}

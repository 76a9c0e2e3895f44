/** Which socket backend a worker uses: `net.backend` as configured, resolved for this process. */
export type NetBackend = "auto" | "deno" | "ffi";

/** `auto` is the FFI path on Linux when --allow-ffi is granted, Deno's TCP API otherwise. */
export function resolveBackend(backend: NetBackend): "deno" | "ffi" {
  if (backend !== "auto") return backend;
  const ffi = Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  return ffi ? "ffi" : "deno";
}

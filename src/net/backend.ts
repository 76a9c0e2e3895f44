import { isFfiArch } from "./libc_layout.ts";

/** Which socket backend a worker uses: `net.backend` as configured, resolved for this process. */
export type NetBackend = "auto" | "deno" | "ffi";

/**
 * `auto` is the FFI path on Linux, on an architecture whose libc layout is known (libc_layout.ts),
 * when --allow-ffi is granted; Deno's TCP API otherwise. An explicit `ffi` is taken as asked: on a
 * machine without the FFI path the workers fail to start, saying why.
 */
export function resolveBackend(backend: NetBackend): "deno" | "ffi" {
  return chooseBackend(
    backend,
    Deno.build.os,
    Deno.build.arch,
    () => Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  );
}

/** resolveBackend() for a given machine (ffiGranted is asked only when it matters). */
export function chooseBackend(
  backend: NetBackend,
  os: string,
  arch: string,
  ffiGranted: () => boolean,
): "deno" | "ffi" {
  if (backend !== "auto") return backend;
  return os === "linux" && isFfiArch(arch) && ffiGranted() ? "ffi" : "deno";
}

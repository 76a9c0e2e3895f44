/**
 * Gives an idle ring's pages back to the system: `madvise(MADV_DONTNEED)` on the whole pages of its
 * buffer (Linux, through FFI). The buffer stays allocated and valid; its pages read as zeros from
 * then on and count in no process's resident memory until written again. main.ts's ring pool does
 * this to every ring it pools or lets go (ring_pool.ts): a pooled ring costs address space only,
 * and a dropped one's memory is back at once, not when every worker's GC has let go of it.
 *
 * Without FFI (no --allow-ffi, another OS) it does nothing and says so (false): the pool still
 * works, with its rings resident.
 *
 * @module
 */
import { addressOf, libc, LINUX } from "../net/libc.ts";

let available: boolean | null = null;
let pageSize = 4096;

/** Whether pages can be given back here (asked once). */
export function canReleasePages(): boolean {
  if (available === null) {
    try {
      pageSize = Number(libc().sysconf(LINUX._SC_PAGESIZE));
      available = pageSize > 0;
    } catch {
      available = false;
    }
  }
  return available;
}

/**
 * Gives back the pages that lie wholly inside `sab` (the header's partial first page stays); true
 * when it did. No one may read the buffer's bytes expecting its old contents afterwards.
 */
export function releasePages(sab: SharedArrayBuffer): boolean {
  if (!canReleasePages()) return false;
  const base = addressOf(new Uint8Array(sab));
  const start = Math.ceil(base / pageSize) * pageSize;
  const end = Math.floor((base + sab.byteLength) / pageSize) * pageSize;
  if (end <= start) return true;
  return libc().madvise(BigInt(start), BigInt(end - start), LINUX.MADV_DONTNEED) === 0;
}

// Asked at load, not at a ring's first release: libc is open before any request (or test) uses
// it, so a test's resource sanitizer never sees a library opened during the test.
canReleasePages();

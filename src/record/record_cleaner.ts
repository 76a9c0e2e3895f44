/**
 * Deletes recordings older than their entry's `recordDeleteAfterMs`: a walk of each template's
 * root directory (record_path.ts) for `.mp4` files whose last change is older, once a minute. A
 * file still being written changes with every fragment, so it is never old enough.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** One root to clean and the age past which its files go. */
export interface CleanRule {
  root: string;
  maxAgeMs: number;
}

/** Walks `rule.root`; returns the files deleted. Errors (a root not there yet) are not failures. */
export async function cleanRecordings(rule: CleanRule, nowMs: number, log: Logger): Promise<number> {
  let deleted = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 16) return;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) {
        await walk(p, depth + 1);
        continue;
      }
      if (!e.isFile || !e.name.endsWith(".mp4")) continue;
      try {
        const st = await Deno.stat(p);
        if (st.mtime !== null && nowMs - st.mtime.getTime() > rule.maxAgeMs) {
          await Deno.remove(p);
          deleted++;
          log.info(`recording deleted (older than ${rule.maxAgeMs} ms): ${p}`);
        }
      } catch (err) {
        log.warn(`recording ${p} could not be deleted: ${(err as Error).message}`);
      }
    }
  };
  await walk(rule.root, 0);
  return deleted;
}

/**
 * The `paths:` entries of the config, compiled for lookup: an exact name wins over patterns; `~regex`
 * patterns are tried in file order. A path no entry matches may be neither published nor read.
 */
import type { PathConfig } from "./path_config.ts";

/** The entry that applies to a path, with the key it was configured under (for log lines). */
export interface PathMatch {
  name: string;
  config: PathConfig;
  /** The pattern's capture groups ($1.. of a source URL); empty for exact names. */
  groups: string[];
}

export class PathRules {
  readonly #exact = new Map<string, PathConfig>();
  readonly #patterns: { name: string; re: RegExp; config: PathConfig }[] = [];

  /** `paths` as validated by the config module (names already checked by pathNameError). */
  constructor(paths: Readonly<Record<string, PathConfig>>) {
    for (const [name, config] of Object.entries(paths)) {
      if (name.startsWith("~")) this.#patterns.push({ name, re: new RegExp(name.slice(1)), config });
      else this.#exact.set(name, config);
    }
  }

  /** The entry for `path` (no leading or trailing slash), or null when none matches. */
  match(path: string): PathMatch | null {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return { name: path, config: exact, groups: [] };
    for (const p of this.#patterns) {
      const m = p.re.exec(path);
      if (m !== null) return { name: p.name, config: p.config, groups: m.slice(1).map((g) => g ?? "") };
    }
    return null;
  }
}

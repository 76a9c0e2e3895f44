/**
 * What a `paths:` entry of the config says (who may publish, who may read), and which names an
 * entry may have. The config module validates entries with these; path_rules.ts looks them up.
 */
import type { Permission } from "../auth/permission.ts";

/** Who may publish and who may read the paths an entry matches. */
export interface PathConfig {
  publish: Permission;
  read: Permission;
}

/** Why a `paths:` key cannot be used, or null. */
export function pathNameError(name: string): string | null {
  if (name.startsWith("~")) {
    try {
      new RegExp(name.slice(1));
    } catch (e) {
      return `invalid regular expression: ${(e as Error).message}`;
    }
    return name.length === 1 ? "a pattern needs an expression after ~" : null;
  }
  if (name === "") return "a path name cannot be empty";
  if (name.startsWith("/") || name.endsWith("/")) {
    return "a path name has no leading or trailing '/' (rtsp://host:port/live/cam1 is 'live/cam1')";
  }
  for (const ch of name) {
    if (ch.charCodeAt(0) <= 0x20 || ch === "\x7f" || ch === "?" || ch === "#") {
      return "a path name cannot hold spaces, control characters, '?' or '#'";
    }
  }
  return null;
}

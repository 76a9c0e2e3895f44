/**
 * Recording file names from the `recordPath` template: `%path` (the stream's path, its `/`s making
 * directories), `%Y %m %d %H %M %S` (local time of the file's first frame), `%f` (its microseconds,
 * six digits), `%%` (a `%`); ".mp4" is added. A path never climbs out of the template's directory:
 * `.` and `..` segments and control characters are replaced.
 *
 * @module
 */

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The path as a run of directory names that stays where it is put. */
function safePath(path: string): string {
  return path.split("/").filter((s) => s !== "").map((s) =>
    // deno-lint-ignore no-control-regex
    s === "." || s === ".." ? "_" : s.replace(/[\x00-\x1f\x7f\\]/g, "_")
  ).join("/") || "_";
}

/** The file for a stream of `path` whose first frame is at `unixMs` (fractions give the µs). */
export function recordFileName(template: string, path: string, unixMs: number): string {
  const t = new Date(Math.floor(unixMs));
  const f = pad(Math.floor(((unixMs % 1000) + 1000) % 1000 * 1000), 6);
  const name = template.replace(/%(path|[YmdHMSf%])/g, (_, k: string) => {
    switch (k) {
      case "path":
        return safePath(path);
      case "Y":
        return String(t.getFullYear());
      case "m":
        return pad(t.getMonth() + 1);
      case "d":
        return pad(t.getDate());
      case "H":
        return pad(t.getHours());
      case "M":
        return pad(t.getMinutes());
      case "S":
        return pad(t.getSeconds());
      case "f":
        return f;
      default:
        return "%";
    }
  });
  return `${name}.mp4`;
}

/**
 * The directory the template's files all lie under (the part before its first `%`, cut at its last
 * `/`): where old files are looked for. "." for a template that starts with a field.
 */
export function recordRoot(template: string): string {
  const fixed = template.split("%")[0];
  const slash = fixed.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : fixed.slice(0, slash);
}

/** Byte helpers for the fMP4 unit tests: hex tables and boxes picked out of a tree. Test-only. */
import { type Box, readBoxes } from "../box_reader.ts";

/** Bytes from hex; spaces and `|` (field separators in the tables) are ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s|]/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`Not hex: ${text}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Lower-case hex of bytes, no separators. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The box at `path` ("moov/trak/tkhd"; the first of each type) in `bytes`, or throws. */
export function boxAt(bytes: Uint8Array, path: string): Box {
  let level: readonly Box[] | undefined = readBoxes(bytes);
  let box: Box | undefined;
  for (const type of path.split("/")) {
    box = level?.find((b) => b.type === type);
    if (box === undefined) throw new Error(`No box at ${path} (missing ${type})`);
    level = box.children;
  }
  return box!;
}

/** The bytes of the box at `path`, header included. */
export function boxBytes(bytes: Uint8Array, path: string): Uint8Array {
  const b = boxAt(bytes, path);
  return bytes.subarray(b.start, b.end);
}

/** Every box's path in tree order ("moov", "moov/mvhd", ...): the layout at a glance. */
export function boxPaths(boxes: readonly Box[], prefix = ""): string[] {
  return boxes.flatMap((b) => [`${prefix}${b.type}`, ...boxPaths(b.children ?? [], `${prefix}${b.type}/`)]);
}

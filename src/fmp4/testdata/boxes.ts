/** Box helpers for the fMP4 unit tests: boxes picked out of a tree, and its fuzz check. Test-only. */
import assert from "node:assert/strict";
import { type Box, Fmp4ParseError, readBoxes } from "../box_reader.ts";
import { parseOrRefuse, REFUSED } from "../../testing/fuzz.ts";

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

/** What the fMP4 readers refuse input with. */
export const isFmp4ParseError = (e: unknown): boolean => e instanceof Fmp4ParseError;

/** readBoxes()'s promise on any input: Fmp4ParseError, or every box inside its parent, children in order. */
export function checkBoxTree(input: Uint8Array): void {
  const boxes = parseOrRefuse(() => readBoxes(input), isFmp4ParseError);
  if (boxes !== REFUSED) checkTree(boxes, 0, input.length);
}

function checkTree(boxes: readonly Box[], start: number, end: number): void {
  let at = start;
  for (const b of boxes) {
    assert.ok(
      b.start >= at && b.bodyStart > b.start && b.end >= b.bodyStart && b.end <= end,
      `box ${b.type} in bounds`,
    );
    at = b.end;
    if (b.children !== undefined) checkTree(b.children, b.bodyStart, b.end);
  }
}

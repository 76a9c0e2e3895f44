/** Hex for the media tests' byte tables (test-only). */

/** Bytes from hex; white space and `|` (field separators in the tables) are ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s|]/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`Not hex: ${text}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Lower-case hex of bytes, no separators. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

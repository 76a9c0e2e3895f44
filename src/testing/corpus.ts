/**
 * Fuzz corpora on disk: `test/fixtures/fuzz/<parser>/`, one file per input, read and written as
 * raw bytes. The seeds are real-client inputs; every input that ever failed a parser is saved
 * next to them and replayed by the same test on every run.
 *
 * Test-only: imported by `*_test.ts` files and by the rest of src/testing, never by a server module.
 * Nothing under test/ is imported: the files are read at run time.
 *
 * @module
 */

/** `test/fixtures/fuzz/`, found from this file so tests work from any working directory. */
export const CORPUS_ROOT: URL = new URL("../../test/fixtures/fuzz/", import.meta.url);

/** One saved input. */
export interface CorpusEntry {
  name: string;
  bytes: Uint8Array;
}

/** The directory of one parser's corpus. */
export function corpusDir(name: string, root: URL = CORPUS_ROOT): URL {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new RangeError(`Corpus name ${JSON.stringify(name)} is not [a-z0-9_]+`);
  }
  return new URL(`${name}/`, root);
}

/** Every file of a corpus, sorted by name (dot files skipped); throws NotFound for a missing directory. */
export function readCorpus(dir: URL): CorpusEntry[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) if (e.isFile && !e.name.startsWith(".")) names.push(e.name);
  names.sort();
  return names.map((name) => ({ name, bytes: Deno.readFileSync(new URL(name, dir)) }));
}

/** 64-bit FNV-1a of the bytes as 16 hex digits: a stable file name for an input. */
export function inputHash(bytes: Uint8Array): string {
  // Two 32-bit halves of the 64-bit state; the prime 0x100000001b3 is 2^40 + 0x1b3.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ (bytes[i] as number)) >>> 0;
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x1_0000_0000);
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = loMul >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/**
 * Writes a failing input as `<prefix>-<hash>` into the corpus (creating it) and returns the file;
 * saving the same input again rewrites the same file.
 */
export function saveToCorpus(dir: URL, bytes: Uint8Array, prefix = "crash"): URL {
  Deno.mkdirSync(dir, { recursive: true });
  const file = new URL(`${prefix}-${inputHash(bytes)}`, dir);
  Deno.writeFileSync(file, bytes);
  return file;
}

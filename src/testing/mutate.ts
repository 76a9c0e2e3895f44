/**
 * Mutators for the fuzz steps: each takes an input and returns a changed copy, driven only by the
 * Prng so a run replays exactly. Text inputs get line- and number-aware mutations (duplicated
 * header lines, boundary numbers, protocol tokens); binary inputs get big-endian boundary fields.
 *
 * Test-only: imported by `*_test.ts` files and by the rest of src/testing, never by a server module.
 * Over 300 lines on purpose: a flat list of small mutators that one table selects from.
 *
 * @module
 */
import type { Prng } from "./prng.ts";

/** Which family of mutators applies: `text` for RTSP/SDP/header text, `binary` for packets. */
export type InputKind = "text" | "binary";

/** Knobs for {@link mutator}. */
export interface MutateOptions {
  kind: InputKind;
  /** Extra tokens inserted by the text mutators, e.g. the parser's own keywords. */
  dictionary?: readonly string[];
  /** Most mutations stacked on one input (at least one is applied). */
  maxMutations?: number;
  /** Outputs are cut to this many bytes. */
  maxBytes?: number;
}

type Mutation = (
  rng: Prng,
  input: Uint8Array,
  pool: readonly Uint8Array[],
  dict: readonly Uint8Array[],
) => Uint8Array;

const encoder = new TextEncoder();

/** Bytes parsers branch on: delimiters, line ends, `$`, sign bits, the extremes. */
const INTERESTING_BYTES = [
  0x00,
  0x01,
  0x09,
  0x0a,
  0x0d,
  0x20,
  0x22,
  0x23,
  0x24,
  0x25,
  0x2c,
  0x2d,
  0x2f,
  0x30,
  0x39,
  0x3a,
  0x3b,
  0x3d,
  0x3f,
  0x40,
  0x5b,
  0x5c,
  0x5d,
  0x7f,
  0x80,
  0xc3,
  0xff,
] as const;

/** Numbers at the edges of the fields parsers read: ports, seq, uint32, safe integers, overflow. */
export const BOUNDARY_NUMBERS = [
  "0",
  "1",
  "-1",
  "00",
  "007",
  "255",
  "256",
  "999",
  "1000",
  "65535",
  "65536",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9007199254740993",
  "99999999999999999999",
  "1e309",
  "0x10",
  "1.5",
  "",
] as const;

/** Protocol tokens worth inserting into any RTSP/SDP/header text. */
const TEXT_TOKENS = [
  "\r\n",
  "\n",
  "\r",
  "\r\n\r\n",
  ": ",
  ":",
  ";",
  ",",
  "=",
  '"',
  " ",
  "\t",
  "\\",
  "%",
  "%00",
  "%zz",
  "%F0%9F%98%80",
  "\u{1F600}",
  "\u00e9",
  "\u00a0",
  "\u2028",
  "\0",
  "Content-Length: ",
  "CSeq: ",
  "RTSP/1.0",
  "rtsp://",
  "[::1]",
  "@",
  "?",
  "#",
  "/",
  "-",
  ".",
] as const;

const BOUNDARY_WORDS = [
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xffffffff,
] as const;

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function randomBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  return out;
}

const flipBit: Mutation = (rng, input) => {
  if (input.length === 0) return input;
  const out = input.slice();
  out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
};

const setByte: Mutation = (rng, input) => {
  if (input.length === 0) return randomBytes(rng, 1);
  const out = input.slice();
  out[rng.int(out.length)] = rng.chance(0.6) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  return out;
};

const insertBytes: Mutation = (rng, input) => {
  const at = rng.int(input.length + 1);
  return concat(input.subarray(0, at), randomBytes(rng, 1 + rng.int(8)), input.subarray(at));
};

const deleteRange: Mutation = (rng, input) => {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const n = 1 + rng.int(Math.min(16, input.length - at));
  return concat(input.subarray(0, at), input.subarray(at + n));
};

const truncate: Mutation = (rng, input) => input.slice(0, rng.int(input.length + 1));

const duplicateRange: Mutation = (rng, input) => {
  if (input.length === 0) return input;
  const from = rng.int(input.length);
  const n = 1 + rng.int(Math.min(64, input.length - from));
  const at = rng.int(input.length + 1);
  return concat(input.subarray(0, at), input.subarray(from, from + n), input.subarray(at));
};

const splice: Mutation = (rng, input, pool) => {
  const other = rng.pick(pool);
  return concat(input.subarray(0, rng.int(input.length + 1)), other.subarray(rng.int(other.length + 1)));
};

/** [start, end) of every line, the LF included, plus the unterminated tail if any. */
function lines(input: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] === 0x0a) {
      out.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < input.length) out.push([start, input.length]);
  return out;
}

const duplicateLine: Mutation = (rng, input) => {
  const ls = lines(input);
  if (ls.length === 0) return input;
  const [s, e] = rng.pick(ls);
  // Right after itself (a repeated header) or at another line boundary (a header moved around).
  const at = rng.chance(0.5) ? e : rng.pick(ls)[0];
  return concat(input.subarray(0, at), input.subarray(s, e), input.subarray(at));
};

const deleteLine: Mutation = (rng, input) => {
  const ls = lines(input);
  if (ls.length === 0) return input;
  const [s, e] = rng.pick(ls);
  return concat(input.subarray(0, s), input.subarray(e));
};

const swapLines: Mutation = (rng, input) => {
  const ls = lines(input);
  if (ls.length < 2) return input;
  const i = rng.int(ls.length - 1);
  const [a0, a1] = ls[i] as [number, number];
  const [b0, b1] = ls[i + 1 + rng.int(ls.length - i - 1)] as [number, number];
  return concat(
    input.subarray(0, a0),
    input.subarray(b0, b1),
    input.subarray(a1, b0),
    input.subarray(a0, a1),
    input.subarray(b1),
  );
};

const boundaryNumber: Mutation = (rng, input) => {
  const runs: [number, number][] = [];
  for (let i = 0; i < input.length;) {
    if (input[i]! >= 0x30 && input[i]! <= 0x39) {
      let j = i;
      while (j < input.length && input[j]! >= 0x30 && input[j]! <= 0x39) j++;
      runs.push([i, j]);
      i = j;
    } else i++;
  }
  const number = encoder.encode(rng.pick(BOUNDARY_NUMBERS));
  if (runs.length === 0) {
    const at = rng.int(input.length + 1);
    return concat(input.subarray(0, at), number, input.subarray(at));
  }
  const [s, e] = rng.pick(runs);
  return concat(input.subarray(0, s), number, input.subarray(e));
};

const quoteRange: Mutation = (rng, input) => {
  // Quoted strings are where header parsers disagree with their serializers (`a="x,y"`, `a=" x"`).
  const a = rng.int(input.length + 1);
  const b = a + rng.int(Math.min(24, input.length - a) + 1);
  const quote = Uint8Array.of(0x22);
  return concat(input.subarray(0, a), quote, input.subarray(a, b), quote, input.subarray(b));
};

const insertToken: Mutation = (rng, input, _pool, dict) => {
  const at = rng.int(input.length + 1);
  return concat(input.subarray(0, at), rng.pick(dict), input.subarray(at));
};

const boundaryField: Mutation = (rng, input) => {
  if (input.length === 0) return input;
  const width = rng.pick([1, 2, 4] as const);
  const at = rng.int(input.length);
  let value: number = rng.pick(BOUNDARY_WORDS);
  if (rng.chance(0.3)) {
    // Nudge the field that is there by ±1..4, the classic off-by-one on lengths and counts.
    let current = 0;
    for (let k = 0; k < width; k++) current = current * 256 + (input[at + k] ?? 0);
    value = current + (rng.chance(0.5) ? 1 : -1) * (1 + rng.int(4));
  }
  const out = input.slice();
  for (let k = width - 1; k >= 0; k--) {
    if (at + k < out.length) out[at + k] = value & 0xff;
    value = Math.floor(value / 256);
  }
  return out;
};

const appendBytes: Mutation = (rng, input) => concat(input, randomBytes(rng, 1 + rng.int(32)));

const COMMON: readonly Mutation[] = [
  flipBit,
  setByte,
  insertBytes,
  deleteRange,
  truncate,
  duplicateRange,
  splice,
];
const TEXT: readonly Mutation[] = [
  ...COMMON,
  duplicateLine,
  duplicateLine,
  deleteLine,
  swapLines,
  boundaryNumber,
  boundaryNumber,
  insertToken,
  insertToken,
  quoteRange,
];
const BINARY: readonly Mutation[] = [...COMMON, boundaryField, boundaryField, appendBytes];

/** Makes a copy of `input` with 1..maxMutations mutations stacked, cut to maxBytes; `pool` feeds splices. */
export type MutateFn = (rng: Prng, input: Uint8Array, pool: readonly Uint8Array[]) => Uint8Array;

/**
 * A mutation function for one kind of input. `pool` (the golden inputs and the corpus) feeds the
 * splice mutator; `input` itself is never changed and every result is a fresh buffer.
 */
export function mutator(options: MutateOptions): MutateFn {
  const mutations = options.kind === "text" ? TEXT : BINARY;
  const dict = [...TEXT_TOKENS, ...(options.dictionary ?? [])].map((t) => encoder.encode(t));
  const maxBytes = options.maxBytes ?? 8192;
  const maxMutations = options.maxMutations ?? 4;
  return (rng, input, pool) => {
    const rounds = 1 + rng.int(maxMutations);
    let out = input;
    for (let i = 0; i < rounds; i++) {
      out = rng.pick(mutations)(rng, out, pool.length > 0 ? pool : [input], dict);
    }
    if (out.length > maxBytes) return out.slice(0, maxBytes);
    return out === input ? input.slice() : out;
  };
}

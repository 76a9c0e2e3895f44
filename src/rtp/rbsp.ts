/**
 * Raw byte sequence payloads (H.264 §7.3.1 / §7.4.1, H.265 §7.3.1.1 / §7.4.2): emulation prevention
 * and the Exp-Golomb bit reader every parameter-set and slice-header parser in this folder reads with.
 *
 * Inside a NAL unit an encoder writes 00 00 03 wherever the RBSP holds 00 00 followed by 00, 01,
 * 02 or 03, so that no start code (00 00 01) appears in the payload; a decoder drops every 03 that
 * follows two zero bytes. A parser therefore reads the RBSP, never the NAL unit's bytes.
 *
 * ```
 * ue(v): [M zeros] 1 [M bits INFO]   value = 2^M - 1 + INFO        (H.264 §9.1)
 * se(v): ue k ->  0, 1, -1, 2, -2, …  value = (-1)^(k+1) * ceil(k/2) (H.264 §9.1.1)
 * ```
 *
 * @module
 */

/**
 * What every parser built on {@link BitReader} throws: the bits ran out, or a field holds a value the
 * spec forbids. A SyntaxError, the codec-bytes convention of docs/wire-parsers.md.
 */
export class RbspError extends SyntaxError {
  override name = "RbspError";
}

/** Longest Exp-Golomb prefix read: 31 zeros gives values up to 2^32 - 2, every field's range. */
const MAX_GOLOMB_ZEROS = 31;

/**
 * The RBSP of `nal[start, end)`: every 03 after two zero bytes dropped. Returns a view of `nal` when
 * there is nothing to drop, else a copy; allocates only then.
 */
export function removeEmulationPrevention(nal: Uint8Array, start = 0, end = nal.length): Uint8Array {
  let first = -1;
  for (let i = start + 2; i < end; i++) {
    if (nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) {
      first = i;
      break;
    }
  }
  if (first < 0) return nal.subarray(start, end);
  const out = new Uint8Array(end - start);
  const n = removeEmulationPreventionInto(nal, start, end, out);
  return out.subarray(0, n);
}

/**
 * Writes the RBSP of `src[start, end)` into `out`, stopping when `out` is full; returns the bytes
 * written. Reading only a slice header's first bytes this way keeps per-frame work bounded.
 */
export function removeEmulationPreventionInto(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  // hot path: no allocation
  let n = 0;
  let zeros = 0;
  for (let i = start; i < end && n < out.length; i++) {
    const b = src[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return n;
}

/**
 * The NAL unit payload for an RBSP: 03 inserted after every two zero bytes followed by 00..03, and
 * after a final 00 00 (H.264 §7.4.1). Inverse of {@link removeEmulationPrevention}; allocates.
 */
export function addEmulationPrevention(rbsp: Uint8Array): Uint8Array {
  let extra = 0;
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      extra++;
      zeros = 0;
    }
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (zeros >= 2) extra++;
  if (extra === 0) return rbsp.slice();
  const out = new Uint8Array(rbsp.length + extra);
  let n = 0;
  zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out[n++] = 3;
      zeros = 0;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (zeros >= 2) out[n++] = 3;
  return out;
}

/** MSB-first reader of an RBSP's bits; every read past the end throws {@link RbspError}. */
export class BitReader {
  #buf: Uint8Array;
  #pos: number;
  #end: number;

  /** Reads `buf[start, end)`, an RBSP (emulation prevention already removed). */
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start * 8;
    this.#end = end * 8;
  }

  /** Points the reader at other bytes, so a per-frame caller reuses one reader. */
  reset(buf: Uint8Array, start = 0, end = buf.length): this {
    this.#buf = buf;
    this.#pos = start * 8;
    this.#end = end * 8;
    return this;
  }

  /** Bits not read yet. */
  get bitsLeft(): number {
    return this.#end - this.#pos;
  }

  /** u(n), n in 0..32: an unsigned n-bit field. */
  u(n: number): number {
    // hot path: no allocation. Multiplying instead of shifting keeps 32-bit fields unsigned.
    if (n > this.#end - this.#pos) throw new RbspError(`RBSP ends inside a ${n}-bit field`);
    let value = 0;
    for (let i = 0; i < n; i++) {
      const p = this.#pos++;
      value = value * 2 + ((this.#buf[p >>> 3] >> (7 - (p & 7))) & 1);
    }
    return value;
  }

  /** u(1) as a boolean. */
  flag(): boolean {
    return this.u(1) === 1;
  }

  /** Skips n bits. */
  skip(n: number): void {
    if (n > this.#end - this.#pos) throw new RbspError(`RBSP ends inside ${n} skipped bits`);
    this.#pos += n;
  }

  /** ue(v): unsigned Exp-Golomb, 0..2^32-2. */
  ue(): number {
    // hot path: no allocation
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > MAX_GOLOMB_ZEROS) throw new RbspError("Exp-Golomb code longer than 32 bits");
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v): signed Exp-Golomb, -(2^31-1)..2^31-1. */
  se(): number {
    const k = this.ue();
    // 0 - x, not -x: se() of 0 is +0, which deepStrictEqual tells from -0.
    return k % 2 === 1 ? (k + 1) / 2 : 0 - k / 2;
  }

  /** ue(v) that must lie in [0, max]; names the field when it does not. */
  ueMax(max: number, field: string): number {
    const v = this.ue();
    if (v > max) throw new RbspError(`${field} is ${v}, above its maximum ${max}`);
    return v;
  }

  /** se(v) that must lie in [min, max]. */
  seRange(min: number, max: number, field: string): number {
    const v = this.se();
    if (v < min || v > max) throw new RbspError(`${field} is ${v}, outside ${min}..${max}`);
    return v;
  }
}

/** MSB-first writer of RBSP bits: the reader's counterpart, for building parameter sets; allocates. */
export class BitWriter {
  #bytes: number[] = [];
  #cur = 0;
  #bits = 0;

  /** u(n), n in 0..32. */
  u(n: number, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** n) {
      throw new RangeError(`${value} does not fit ${n} bits`);
    }
    for (let i = n - 1; i >= 0; i--) {
      this.#cur = (this.#cur << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.#bits === 8) {
        this.#bytes.push(this.#cur);
        this.#cur = 0;
        this.#bits = 0;
      }
    }
    return this;
  }

  /** u(1) from a boolean. */
  flag(value: boolean): this {
    return this.u(1, value ? 1 : 0);
  }

  /** ue(v), 0..2^32-2. */
  ue(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 2 ** 32 - 2) {
      throw new RangeError(`${value} is not a ue(v) value`);
    }
    const zeros = Math.floor(Math.log2(value + 1));
    return this.u(zeros, 0).u(zeros + 1, value + 1);
  }

  /** se(v). */
  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** rbsp_trailing_bits (a stop bit, then zeros to the byte boundary) and the RBSP's bytes. */
  finish(): Uint8Array {
    this.u(1, 1);
    while (this.#bits !== 0) this.u(1, 0);
    return Uint8Array.from(this.#bytes);
  }
}

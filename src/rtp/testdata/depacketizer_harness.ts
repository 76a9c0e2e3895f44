/**
 * What the depacketizer tests share (test-only): packet builders, a run that collects units and
 * counters, the golden packets written back by the paired packetizer, the fuzz input format
 * (packets behind 16-bit lengths) and the fuzz check every depacketizer is held to.
 */
import assert from "node:assert/strict";
import type { AccessUnit } from "../access_unit.ts";
import type { AccessUnitCallback, Depacketizer, DepacketizerCounters } from "../depacketizer.ts";
import { buildRtpPacket } from "../rtp_header.ts";
import { fuzzSteps } from "../../testing/fuzz.ts";
import { type GoldenCase, goldenSeeds } from "../../testing/golden.ts";

export const SSRC = 0x1234abcd;
export const PT = 96;

/** An RTP packet of payload type 96 and SSRC {@link SSRC}. */
export function rtp(
  seq: number,
  ts: number,
  marker: boolean,
  payload: Uint8Array,
  padding = 0,
): Uint8Array {
  return buildRtpPacket({
    payloadType: PT,
    sequence: seq & 0xffff,
    timestamp: ts,
    ssrc: SSRC,
    marker,
    payload,
    padding,
  });
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return new Uint8Array(out);
}

/** A depacketizer as the tests build it: its counters and frame buffer size visible. */
export interface TestDepacketizer extends Depacketizer {
  readonly bufferBytes?: number;
}

/** Counters that say something went wrong: every non-zero one but packets and units. */
export type DropCounts = Partial<Omit<DepacketizerCounters, "packets" | "units">>;

export function dropCounts(c: Readonly<DepacketizerCounters>): DropCounts {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (k !== "packets" && k !== "units" && v !== 0) out[k] = v;
  return out as DropCounts;
}

/** What a run gives: the units delivered and the drop counters. */
export interface Depacketized {
  units: AccessUnit[];
  drops: DropCounts;
}

/** Plain copies of units, so deepStrictEqual compares bytes, not the buffers they are views of. */
export function plain(units: readonly AccessUnit[]): AccessUnit[] {
  return units.map((u) => ({ pts: u.pts, units: u.units.map((n) => Uint8Array.from(n)), random: u.random }));
}

/** Pushes each packet (one at a time, from its own buffer) and returns what came out. */
export function depacketize(
  make: (onUnit: AccessUnitCallback) => TestDepacketizer,
  packets: readonly Uint8Array[],
): Depacketized {
  const units: AccessUnit[] = [];
  const d = make((au) => units.push(au));
  for (const p of packets) d.push(p);
  assert.equal(d.counters.packets, packets.length);
  assert.equal(d.counters.units, units.length);
  return { units: plain(units), drops: dropCounts(d.counters) };
}

/** `data` in `n` nearly equal parts, the last one shorter (an FU's fragments). */
export function parts(data: Uint8Array, n: number): Uint8Array[] {
  const step = Math.ceil(data.length / n);
  return Array.from({ length: n }, (_, i) => data.subarray(i * step, (i + 1) * step));
}

/** A golden depacketizer case: packets in, units and drops out; `canonical`, the packetizer options. */
export type PacketCase<I extends { packets: Uint8Array[] }, O> = GoldenCase<I, Depacketized, O>;

/**
 * One step per case with packetizer options: `packetize(case, options)` writes exactly the case's
 * packets for its units, so each table checks the depacketizer and the packetizer paired with it.
 */
export async function goldenPacketizeSteps<I extends { packets: Uint8Array[] }, O>(
  t: Deno.TestContext,
  cases: readonly PacketCase<I, O>[],
  packetize: (c: PacketCase<I, O>, options: O) => Uint8Array[],
): Promise<void> {
  for (const c of cases) {
    if (c.canonical === undefined) continue;
    const options = c.canonical;
    await t.step(c.name, () => assert.deepStrictEqual(packetize(c, options), c.input.packets));
  }
}

/** Fuzz input: each packet behind its 16-bit length. */
export function joinPackets(packets: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(packets.reduce((n, p) => n + 2 + p.length, 0));
  let at = 0;
  for (const p of packets) {
    out[at] = p.length >> 8;
    out[at + 1] = p.length;
    out.set(p, at + 2);
    at += 2 + p.length;
  }
  return out;
}

/** The packets of a fuzz input; a length past the end takes what is left. */
export function splitPackets(input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 2 <= input.length) {
    const n = Math.min((input[at] << 8) | input[at + 1], input.length - at - 2);
    out.push(input.slice(at + 2, at + 2 + n));
    at += 2 + n;
  }
  return out;
}

/** Bounds the fuzz check holds a depacketizer to. */
export interface FuzzBounds {
  maxFrameBytes: number;
  /** Video: NAL units per frame. */
  maxUnits?: number;
  /** Audio: one unit per AU, always random. */
  audio?: boolean;
  /** Video: what a slice and an AUD are, for the frame checks. */
  video?: { isSlice: (nal: Uint8Array) => boolean; isAud: (nal: Uint8Array) => boolean };
}

/**
 * The depacketizers' fuzz convention: push() never throws; every unit is non-empty and within the
 * bounds; the counters add up; video frames hold a slice and no AUD, and the first one, and the first
 * after any loss or drop, is random; the frame buffer stays within maxFrameBytes; the result is the same
 * when the packets sit between guard bytes of a larger buffer (nothing outside [start, end) is read,
 * nothing is written), and stays the same when that buffer is overwritten afterwards (units are copies).
 */
export function checkDepacketizer(
  input: Uint8Array,
  make: (onUnit: AccessUnitCallback) => TestDepacketizer,
  bounds: FuzzBounds,
): void {
  const packets = splitPackets(input);
  const alone: AccessUnit[] = [];
  let troubleSeen = 0;
  const trouble = (c: Readonly<DepacketizerCounters>) =>
    c.framesDropped + c.packetsLost + c.packetsOutOfOrder;
  const a: TestDepacketizer = make((au) => {
    alone.push(au);
    const video = bounds.video;
    if (video === undefined) return;
    assert.ok(au.units.some(video.isSlice), "a video frame without a slice");
    assert.ok(!au.units.some(video.isAud), "an AUD was delivered");
    const now = trouble(a.counters);
    assert.ok(
      au.random || (alone.length > 1 && now === troubleSeen),
      "a frame without a reference delivered",
    );
    troubleSeen = now;
  });
  for (const p of packets) {
    a.push(p);
    if (a.bufferBytes !== undefined) {
      assert.ok(a.bufferBytes <= bounds.maxFrameBytes, "frame buffer over the bound");
    }
  }
  const c = a.counters;
  assert.equal(c.packets, packets.length);
  assert.equal(c.units, alone.length);
  for (const v of Object.values(c)) assert.ok(Number.isSafeInteger(v) && v >= 0);
  assert.equal(
    c.framesDropped,
    c.framesDamaged + c.framesTooLarge + c.framesTooManyUnits + c.framesBeforeRandom,
    "framesDropped is not the sum of its reasons",
  );
  for (const au of alone) {
    assert.ok(Number.isSafeInteger(au.pts), `pts ${au.pts}`);
    assert.ok(au.units.length >= 1);
    let total = 0;
    for (const u of au.units) {
      assert.ok(u.length >= 1, "empty unit");
      total += u.length;
    }
    assert.ok(total <= bounds.maxFrameBytes, `frame of ${total} bytes`);
    if (bounds.maxUnits !== undefined) assert.ok(au.units.length <= bounds.maxUnits);
    if (bounds.audio) assert.ok(au.units.length === 1 && au.random);
  }

  // The same packets at offsets in one buffer, 0xff guards between them.
  const guard = 5;
  const big = new Uint8Array(packets.reduce((n, p) => n + p.length + guard, guard)).fill(0xff);
  const spans: [number, number][] = [];
  let at = guard;
  for (const p of packets) {
    big.set(p, at);
    spans.push([at, at + p.length]);
    at += p.length + guard;
  }
  const before = big.slice();
  const inPlace: AccessUnit[] = [];
  const b = make((au) => inPlace.push(au));
  for (const [s, e] of spans) b.push(big, s, e);
  assert.deepStrictEqual(big, before, "push() wrote into its input");
  const expected = plain(alone);
  assert.deepStrictEqual(plain(inPlace), expected, "result depends on bytes outside the packet");
  assert.deepStrictEqual(b.counters, a.counters);
  big.fill(0xaa);
  assert.deepStrictEqual(plain(inPlace), expected, "a unit is a view into the input, not a copy");
}

/** The fuzz step of a depacketizer whose input is a packet list alone: the golden lists as seeds. */
export async function depacketizerFuzzSteps(t: Deno.TestContext, target: {
  /** The class, as the label says: `H264Depacketizer`. */
  name: string;
  /** test/fixtures/fuzz/<corpus>/. */
  corpus: string;
  cases: readonly PacketCase<{ packets: Uint8Array[] }, unknown>[];
  make: (onUnit: AccessUnitCallback) => TestDepacketizer;
  bounds: FuzzBounds;
  count: number;
  seed: number;
  maxBytes: number;
}): Promise<void> {
  await fuzzSteps(t, {
    corpus: target.corpus,
    label: `${target.name}.push()`,
    seeds: goldenSeeds(target.cases, (c) => [joinPackets(c.input.packets)]),
    check: (input) => checkDepacketizer(input, target.make, target.bounds),
    count: target.count,
    seed: target.seed,
    kind: "binary",
    maxBytes: target.maxBytes,
  });
}

import assert from "node:assert/strict";
import { parseFragment } from "../fmp4/fragment.ts";
import { Fragmenter, type FragmentOut } from "./fragmenter.ts";

const VIDEO = { id: 1, video: true, timescale: 90_000 };
const AUDIO = { id: 2, video: false, timescale: 48_000 };
const FRAME = 3000; // 30 fps at 90 kHz
const AAC = 1024;

function collect(tracks = [VIDEO, AUDIO], part = 0.2) {
  const out: FragmentOut[] = [];
  return { out, f: new Fragmenter(tracks, part, (x) => out.push(x)) };
}

const nal = (n: number) => [new Uint8Array([0x65, n & 0xff])];

Deno.test("Fragmenter: 30 fps video cut into 200 ms parts, a new one at every keyframe", () => {
  const { out, f } = collect([VIDEO]);
  for (let i = 0; i < 70; i++) {
    f.push(0, { dts: 1000 + i * FRAME, pts: 1000 + i * FRAME, units: nal(i), sync: i % 30 === 0 });
  }
  f.flush();
  const frames = out.map((o) => parseFragment(o.bytes).tracks[0].samples.length);
  assert.deepEqual(frames, [...Array(11).fill(6), 4]);
  assert.deepEqual(out.map((o) => o.independent), out.map((_, i) => i % 5 === 0));
  for (const [i, o] of out.entries()) {
    const t = parseFragment(o.bytes).tracks[0];
    assert.equal(t.baseDecodeTime, 1000 + i * 6 * FRAME, "each part starts where the last ended");
    assert.equal(o.start, t.baseDecodeTime / 90_000);
    assert.ok(o.duration <= 0.2 + 1e-9, `part ${i}: ${o.duration} s`);
    assert.equal(t.samples[0].sync, i % 5 === 0);
  }
});

Deno.test("Fragmenter: a keyframe ends the part early; B-frame offsets are kept", () => {
  const { out, f } = collect([VIDEO]);
  // Decode order I P B B P..., pts ahead of dts by two frames for reordered ones.
  const key = new Set([0, 8]);
  for (let i = 0; i < 12; i++) {
    const dts = i * FRAME;
    f.push(0, { dts, pts: dts + (i % 3 === 1 ? 2 * FRAME : FRAME), units: nal(i), sync: key.has(i) });
  }
  f.flush();
  const runs = out.map((o) => parseFragment(o.bytes).tracks[0].samples.length);
  assert.deepEqual(runs, [6, 2, 4], "cut at 6 frames, then at the keyframe of frame 8");
  const cto = out.flatMap((o) => parseFragment(o.bytes).tracks[0].samples.map((s) => s.compositionOffset));
  assert.deepEqual(cto, Array.from({ length: 12 }, (_, i) => i % 3 === 1 ? 2 * FRAME : FRAME));
  assert.deepEqual(out.map((o) => o.independent), [true, false, true]);
});

Deno.test("Fragmenter: audio before the first keyframe is left out; audio goes with the part it decodes in", () => {
  const { out, f } = collect();
  // Audio starts 100 ms before the first keyframe; a P frame before it is dropped too.
  f.push(0, { dts: 0, pts: 0, units: nal(0), sync: false });
  let a = 0;
  const audioUntil = (sec: number) => {
    while (a * AAC < (sec + 0.1) * 48_000) {
      f.push(1, { dts: a * AAC, pts: a * AAC, units: [new Uint8Array([a & 0xff])], sync: true });
      a++;
    }
  };
  for (let i = 0; i < 12; i++) {
    const sec = 0.1 + i / 30;
    audioUntil(sec - 0.1);
    f.push(0, { dts: Math.round(sec * 90_000), pts: Math.round(sec * 90_000), units: nal(i), sync: i === 0 });
  }
  audioUntil(0.5);
  f.flush();
  assert.equal(f.framesBeforeStart, 1 + Math.ceil(0.1 * 48_000 / AAC), "the P frame and the early audio");
  const parts = out.map((o) => parseFragment(o.bytes));
  assert.equal(parts.length, 2);
  const cut = 0.1 + 6 / 30;
  const audio0 = parts[0].tracks.find((t) => t.trackId === 2)!;
  assert.ok(audio0.baseDecodeTime / 48_000 >= 0.1, "no audio before the keyframe");
  const last = audio0.baseDecodeTime + audio0.samples.reduce((n, s) => n + s.duration, 0);
  assert.ok(last / 48_000 >= cut - AAC / 48_000 && (last - AAC) / 48_000 < cut, "audio up to the cut");
  const audio1 = parts[1].tracks.find((t) => t.trackId === 2)!;
  assert.equal(audio1.baseDecodeTime, last, "the next part's audio starts where the first's ended");
});

Deno.test("Fragmenter: an audio-only stream is cut by duration, every part independent", () => {
  const { out, f } = collect([AUDIO], 0.2);
  for (let i = 0; i < 30; i++) {
    f.push(0, { dts: i * AAC, pts: i * AAC, units: [new Uint8Array(4)], sync: true });
  }
  f.flush();
  const counts = out.map((o) => parseFragment(o.bytes).tracks[0].samples.length);
  // 9 frames = 192 ms; a 10th would pass 200 ms.
  assert.deepEqual(counts, [9, 9, 9, 3]);
  assert.ok(out.every((o) => o.independent));
  assert.deepEqual(out.map((o) => Math.round(o.start * 48_000)), [0, 9 * AAC, 18 * AAC, 27 * AAC]);
});

Deno.test("Fragmenter: a decode time that does not move on still gets a duration of one tick", () => {
  const { out, f } = collect([VIDEO]);
  f.push(0, { dts: 0, pts: 0, units: nal(0), sync: true });
  f.push(0, { dts: 0, pts: 0, units: nal(1), sync: false });
  f.push(0, { dts: FRAME, pts: FRAME, units: nal(2), sync: false });
  f.flush();
  const s = parseFragment(out[0].bytes).tracks[0].samples;
  assert.deepEqual(s.map((x) => x.duration), [1, FRAME - 1, FRAME - 1]);
});

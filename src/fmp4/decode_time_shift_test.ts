import assert from "node:assert/strict";
import { parseFragment, serializeFragment } from "./fragment.ts";
import { firstDecodeTimes, shiftDecodeTimes } from "./decode_time_shift.ts";

const sample = (n: number) => ({ duration: 3000, sync: n === 0, data: new Uint8Array([n]) });

Deno.test("shiftDecodeTimes(): each track's tfdt moves by its own amount; samples stay as they are", () => {
  const bytes = serializeFragment({
    sequenceNumber: 7,
    tracks: [
      { trackId: 1, baseDecodeTime: 2 ** 33 + 90_000, samples: [sample(0), sample(1)] },
      { trackId: 2, baseDecodeTime: 48_000, samples: [sample(2)] },
    ],
  });
  const first = firstDecodeTimes(bytes);
  assert.deepEqual([...first], [[1, 2 ** 33 + 90_000], [2, 48_000]]);
  shiftDecodeTimes(bytes, new Map([[1, 2 ** 33], [2, 50_000]]));
  const f = parseFragment(bytes);
  assert.deepEqual(f.tracks.map((t) => t.baseDecodeTime), [90_000, 0], "below 0 is put at 0");
  assert.deepEqual(f.tracks.map((t) => t.samples.map((s) => s.data[0])), [[0, 1], [2]]);
});

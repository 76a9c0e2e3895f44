import assert from "node:assert/strict";
import {
  blockingQuery,
  firstVariantUri,
  newestStamp,
  parseClientPlaylist,
  PartTracker,
  startPartIndex,
} from "./hls_playlist.ts";
import { STAMP_MAGIC } from "./stamped_publisher.ts";

/** A playlist as dm-live writes one (docs/hls.md): a complete segment with its parts, then the open one. */
function playlist(o: { seq: number; openParts: number; endList?: boolean }): string {
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:6",
    "#EXT-X-TARGETDURATION:1",
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,HOLD-BACK=3",
    "#EXT-X-PART-INF:PART-TARGET=0.2",
    `#EXT-X-MEDIA-SEQUENCE:${o.seq}`,
    '#EXT-X-MAP:URI="init.mp4"',
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:55.000Z",
    "#EXTINF:1,",
    `seg_k3x9_${o.seq}.m4s`,
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:44:56.000Z",
  ];
  for (let i = 0; i < 5; i++) {
    lines.push(`#EXT-X-PART:DURATION=0.2,URI="part_k3x9_${10 + i}.m4s"${i === 0 ? ",INDEPENDENT=YES" : ""}`);
  }
  lines.push("#EXTINF:1,", `seg_k3x9_${o.seq + 1}.m4s`);
  for (let i = 0; i < o.openParts; i++) {
    lines.push(`#EXT-X-PART:DURATION=0.2,URI="part_k3x9_${15 + i}.m4s"${i === 0 ? ",INDEPENDENT=YES" : ""}`);
  }
  if (o.endList) lines.push("#EXT-X-ENDLIST");
  else lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_k3x9_${15 + o.openParts}.m4s"`);
  return lines.join("\n") + "\n";
}

Deno.test("hls_playlist: the variant's URI from a multivariant playlist", () => {
  const text =
    '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=965875,CODECS="avc1.4d401f,mp4a.40.2"\n' +
    "stream.m3u8?jwt=x\n";
  assert.deepEqual(firstVariantUri(text), "stream.m3u8?jwt=x");
});

Deno.test("hls_playlist: parts get their segment, index and date; the next part is the open segment's next", () => {
  const pl = parseClientPlaylist(playlist({ seq: 4, openParts: 2 }));
  assert.deepEqual(pl.mediaSequence, 4);
  assert.deepEqual(pl.partTargetS, 0.2);
  assert.deepEqual(pl.partHoldBackS, 0.6);
  assert.deepEqual(pl.canBlockReload, true);
  assert.deepEqual(pl.mapUri, "init.mp4");
  assert.deepEqual(pl.preloadHint, "part_k3x9_17.m4s");
  assert.deepEqual(pl.parts.map((p) => [p.msn, p.index, p.uri]), [
    [5, 0, "part_k3x9_10.m4s"],
    [5, 1, "part_k3x9_11.m4s"],
    [5, 2, "part_k3x9_12.m4s"],
    [5, 3, "part_k3x9_13.m4s"],
    [5, 4, "part_k3x9_14.m4s"],
    [6, 0, "part_k3x9_15.m4s"],
    [6, 1, "part_k3x9_16.m4s"],
  ]);
  // Segment 5's date, then each part after the ones before it; segment 6 starts where 5 ends.
  const t = Date.parse("2026-12-03T14:44:56.000Z");
  assert.deepEqual(pl.parts.map((p) => Math.round(p.startMs - t)), [0, 200, 400, 600, 800, 1000, 1200]);
  assert.deepEqual(blockingQuery(pl), "_HLS_msn=6&_HLS_part=2");
});

Deno.test("hls_playlist: with the open segment still empty the next part is its part 0", () => {
  const pl = parseClientPlaylist(playlist({ seq: 4, openParts: 0 }));
  assert.deepEqual(pl.next, { msn: 6, part: 0 });
});

Deno.test("hls_playlist: the start is PART-HOLD-BACK before the end, back to its segment's independent part", () => {
  // 7 parts: 0.6 s before the end is segment 5's part 4, not independent: its part 0 (as hls.js).
  assert.deepEqual(startPartIndex(parseClientPlaylist(playlist({ seq: 4, openParts: 2 }))), 0);
  // 3 open parts: the first, independent, starts exactly 0.6 s before the end.
  assert.deepEqual(startPartIndex(parseClientPlaylist(playlist({ seq: 4, openParts: 3 }))), 5);
  // No open part: 0.6 s back is segment 5's part 2, back to its part 0.
  assert.deepEqual(startPartIndex(parseClientPlaylist(playlist({ seq: 4, openParts: 0 }))), 0);
});

Deno.test("hls_playlist: the tracker hands out each part once, in order, and counts jumps", () => {
  const tracker = new PartTracker();
  const first = parseClientPlaylist(playlist({ seq: 4, openParts: 3 }));
  assert.deepEqual(tracker.startAt(first, startPartIndex(first)).map((p) => p.uri), [
    "part_k3x9_15.m4s",
    "part_k3x9_16.m4s",
    "part_k3x9_17.m4s",
  ]);
  // The blocking reload's answer lists one more part.
  const more = parseClientPlaylist(playlist({ seq: 4, openParts: 4 }));
  assert.deepEqual(tracker.take(more).map((p) => p.uri), ["part_k3x9_18.m4s"]);
  assert.deepEqual(tracker.take(more), []);
  assert.deepEqual(tracker.jumps, 0);
  // The playlist moved on by three segments: segment 6's last parts and 7 were never listed to it.
  const later = parseClientPlaylist(playlist({ seq: 7, openParts: 1 }));
  assert.deepEqual(tracker.take(later).map((p) => [p.msn, p.index]), [
    [8, 0],
    [8, 1],
    [8, 2],
    [8, 3],
    [8, 4],
    [
      9,
      0,
    ],
  ]);
  assert.deepEqual(tracker.jumps, 1);
});

Deno.test("hls_playlist: a segment's last part, then the next segment's first, is no jump", () => {
  const tracker = new PartTracker();
  tracker.startAt(parseClientPlaylist(playlist({ seq: 4, openParts: 0 })), 0);
  assert.deepEqual([tracker.last?.msn, tracker.last?.index], [5, 4]);
  // The open segment 6 got its first part (the media sequence moved on by one meanwhile, too).
  const next = parseClientPlaylist(
    playlist({ seq: 5, openParts: 0 }).replace(
      "#EXT-X-PRELOAD",
      '#EXT-X-PART:DURATION=0.2,URI="part_k3x9_20.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD',
    ),
  );
  const fresh = tracker.take(next);
  assert.deepEqual(fresh.map((p) => [p.msn, p.index]), [[6, 0], [6, 1], [6, 2], [6, 3], [6, 4], [7, 0]]);
  assert.deepEqual(tracker.jumps, 0);
});

Deno.test("hls_playlist: the newest stamp in a part is the last one in its bytes", () => {
  const b = new Uint8Array(200);
  const v = new DataView(b.buffer);
  v.setUint32(20, STAMP_MAGIC);
  v.setFloat64(24, 1000.5);
  v.setUint32(120, STAMP_MAGIC);
  v.setFloat64(124, 2000.25);
  assert.deepEqual(newestStamp(b, STAMP_MAGIC), 2000.25);
  assert.deepEqual(newestStamp(new Uint8Array(50), STAMP_MAGIC), NaN);
});

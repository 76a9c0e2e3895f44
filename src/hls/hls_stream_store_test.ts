import assert from "node:assert/strict";
import { HlsBlockTimeoutError, HlsTooFarAheadError } from "./hls_errors.ts";
import { type HlsStoreOptions, HlsStreamStore, type HlsWaitResult } from "./hls_stream_store.ts";
import { parseMediaPlaylist, parseMultivariantPlaylist, serializeMultivariantPlaylist } from "./playlist.ts";
import { mediaPlaylistProblems } from "./playlist_rules.ts";
import { FakeClock, PartMaker, settle, T0 } from "./testdata/hls_fixtures.ts";
import { Prng } from "../testing/prng.ts";

const INIT = new Uint8Array(50);
const INFO = { codecs: "avc1.64001f,mp4a.40.2", width: 1280, height: 720, frameRate: 30 };

function newStore(options: HlsStoreOptions = {}) {
  const clock = new FakeClock();
  const store = new HlsStreamStore({ id: "t", clock, ...options });
  store.setInit(INIT, INFO);
  const parts = new PartMaker();
  /** Pushes one part per letter: I independent, P not, each `duration` long. */
  const push = (pattern: string, duration = 0.2) => {
    for (const c of pattern) store.pushPart(parts.make(duration, c === "I"));
  };
  return { store, clock, push };
}

const uris = (ps: { uri: string }[]) => ps.map((p) => p.uri);

Deno.test("HlsStreamStore numbers segments and parts and ends a segment at an independent part", async (t) => {
  await t.step("the first independent part after the segment target starts the next segment", () => {
    const { store, push } = newStore();
    push("IPPPP");
    let pl = store.mediaPlaylist();
    assert.equal(pl.segments.length, 0, "a segment is complete only when the next one starts");
    assert.deepEqual(uris(pl.openSegment!.parts), [
      "part_t_0.m4s",
      "part_t_1.m4s",
      "part_t_2.m4s",
      "part_t_3.m4s",
      "part_t_4.m4s",
    ]);
    push("I");
    pl = store.mediaPlaylist();
    assert.equal(pl.mediaSequence, 0);
    assert.deepEqual(pl.segments.map((s) => [s.uri, s.duration, s.parts.length]), [["seg_t_0.m4s", 1, 5]]);
    assert.deepEqual(pl.segments[0]!.programDateTime, new Date(T0));
    assert.deepEqual(uris(pl.openSegment!.parts), ["part_t_5.m4s"]);
    assert.deepEqual(pl.openSegment!.programDateTime, new Date(T0 + 1000));
    assert.deepEqual(pl.preloadHint, { type: "PART", uri: "part_t_6.m4s" });
    assert.equal(store.nextPartSeq, 6);
  });

  await t.step("an independent part before the target does not end the segment", () => {
    const { store, push } = newStore({ targetDurationS: 2 });
    push("IPPIPPPPI");
    assert.deepEqual(store.mediaPlaylist().segments.map((s) => [s.duration, s.parts.length]), [[1.6, 8]]);
    assert.deepEqual(store.mediaPlaylist().segments[0]!.parts.map((p) => p.independent), [
      true,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  await t.step("a GOP longer than the target duration is cut at a non-independent part", () => {
    // TARGETDURATION 1: a segment may reach 1.499 s (rounds to 1); the 8th part would make 1.6.
    const { store, push } = newStore();
    push("IPPPPPPP" + "PPIPP" + "I");
    const pl = store.mediaPlaylist();
    assert.deepEqual(pl.segments.map((s) => [s.duration, s.parts.length]), [[1.4, 7], [1.2, 6]]);
    assert.equal(pl.segments[1]!.parts[0]!.independent, false);
    assert.equal(store.counters.forcedCuts, 1);
    assert.deepEqual(mediaPlaylistProblems(pl), []);
  });

  await t.step("parts before the stream's first independent one are dropped", () => {
    const { store, push } = newStore();
    push("PPIP");
    assert.equal(store.counters.leadingPartsDropped, 2);
    assert.deepEqual(uris(store.mediaPlaylist().openSegment!.parts), ["part_t_0.m4s", "part_t_1.m4s"]);
    assert.equal(store.mediaPlaylist().openSegment!.parts[0]!.independent, true);
  });

  await t.step("a segment's body is its parts' bytes, the same arrays, in order", () => {
    const { store, push } = newStore();
    push("IPPPPI");
    const body = store.segment(0)!;
    assert.equal(body.byteLength, 500);
    assert.deepEqual(body.chunks, [0, 1, 2, 3, 4].map((n) => store.part(n)));
    assert.ok(body.chunks.every((c, i) => c === store.part(i)));
    assert.equal(store.segment(1), undefined, "the open segment has no body yet");
    assert.ok(store.isOpenSegment(1));
  });
});

Deno.test("HlsStreamStore keeps a window of segments, and the ones that left it for their availability", async (t) => {
  await t.step("segmentCount segments are listed; an older one stays fetchable, then goes", () => {
    const { store, push } = newStore({ segmentCount: 3 });
    push("IPPPP".repeat(4) + "I");
    let pl = store.mediaPlaylist();
    assert.equal(pl.mediaSequence, 1);
    assert.deepEqual(pl.segments.map((s) => s.uri), ["seg_t_1.m4s", "seg_t_2.m4s", "seg_t_3.m4s"]);
    assert.ok(
      store.segment(0) !== undefined && store.part(0) !== undefined,
      "left the playlist at media time 4 s",
    );
    // Availability: the segment (1 s) plus the playlist it was in (4 s), from 4 s: until 9 s.
    push("PPPP" + "IPPPP".repeat(3) + "IPPP");
    assert.ok(store.segment(0) !== undefined, "media time 8.8 s");
    push("P");
    assert.equal(store.segment(0), undefined, "media time 9 s");
    assert.equal(store.part(0), undefined);
    pl = store.mediaPlaylist();
    assert.deepEqual(pl.segments.map((s) => s.uri), ["seg_t_5.m4s", "seg_t_6.m4s", "seg_t_7.m4s"]);
    assert.deepEqual(mediaPlaylistProblems(pl), []);
  });

  await t.step("EXT-X-PART tags go once more than three target durations from the end", () => {
    const { store, push } = newStore();
    push("IPPPP".repeat(5) + "I");
    const pl = store.mediaPlaylist();
    assert.deepEqual(pl.segments.map((s) => s.parts.length), [0, 0, 5, 5, 5]);
  });

  await t.step("the playlist never gets shorter than three target durations", () => {
    const { store, push } = newStore({ segmentCount: 1, targetDurationS: 2 });
    push("IPPPP".repeat(8) + "I");
    const pl = store.mediaPlaylist();
    assert.deepEqual(
      pl.segments.map((s) => s.duration),
      [1, 1, 1, 1, 1, 1],
      "6 s = three target durations of 2 s",
    );
    assert.equal(pl.mediaSequence, 2);
  });

  await t.step("the byte bound drops the oldest segments first, listed ones too", () => {
    const { store, push } = newStore({ maxBytesPerStream: 1600 });
    push("IPPPP".repeat(6) + "I");
    assert.ok(store.byteLength <= 1600, `${store.byteLength} bytes held`);
    assert.equal(store.byteLength, 50 + 2 * 500 + 100, "init + the two newest segments + the open part");
    const pl = store.mediaPlaylist();
    assert.equal(pl.mediaSequence, 4);
    assert.deepEqual(pl.segments.map((s) => s.uri), ["seg_t_4.m4s", "seg_t_5.m4s"]);
    assert.equal(store.counters.evictedForBytes, 4);
    assert.equal(store.segment(3), undefined);
  });
});

Deno.test("HlsStreamStore raises PART-TARGET for a longer part instead of writing one above it", () => {
  const { store, push } = newStore();
  push("IP");
  push("P", 0.2505);
  assert.equal(store.partTarget, 0.251);
  assert.equal(store.counters.partTargetRaised, 1);
  const pl = store.mediaPlaylist();
  assert.equal(pl.partTarget, 0.251);
  assert.equal(pl.serverControl!.partHoldBack, 0.753);
  assert.deepEqual(mediaPlaylistProblems(pl), []);
});

Deno.test("HlsStreamStore writes playlists that keep the LL-HLS rules and parse back, over a varied stream", () => {
  const rng = new Prng(8216);
  const { store, push } = newStore({ segmentCount: 4 });
  let gopLeft = 0;
  for (let i = 0; i < 400; i++) {
    // GOPs of 1 to 12 parts (up to 2.4 s), parts of 0.17 to 0.2 s (the muxer keeps them >= 85%).
    const independent = gopLeft === 0;
    gopLeft = independent ? rng.int(12) : gopLeft - 1;
    push(independent ? "I" : "P", (170 + rng.int(31)) / 1000);
    const pl = store.mediaPlaylist();
    assert.deepEqual(mediaPlaylistProblems(pl), [], `after part ${i}`);
    assert.deepEqual(parseMediaPlaylist(store.mediaPlaylistText()), pl);
    // One encoding per version, shared by every answer until the next part.
    const bytes = store.mediaPlaylistBytes();
    assert.equal(new TextDecoder().decode(bytes), store.mediaPlaylistText());
    assert.equal(store.mediaPlaylistBytes(), bytes);
    assert.ok(pl.segments.length <= 6);
  }
  assert.ok(store.counters.forcedCuts > 0, "some GOPs were longer than the target duration");
  assert.ok(store.counters.segments > 40, `${store.counters.segments} segments`);
});

Deno.test("HlsStreamStore.waitFor() answers blocking playlist reloads (rfc8216bis §6.2.5.2)", async (t) => {
  await t.step("resolves at once for what is there, and in order as parts come", async () => {
    const { store, push } = newStore();
    push("IP");
    assert.ok(store.has(0, 1) && !store.has(0, 2) && !store.has(0));
    assert.equal(await store.waitFor(0, 1), "ready");
    const events: string[] = [];
    const log = (name: string) => (r: HlsWaitResult) => void events.push(`${name} ${r}`);
    store.waitFor(1, 0).then(log("msn 1 part 0"));
    store.waitFor(0, 3).then(log("msn 0 part 3"));
    store.waitFor(0).then(log("segment 0"));
    store.waitFor(0, 2).then(log("msn 0 part 2"));
    store.waitFor(0, 2).then(log("msn 0 part 2 again"));
    await settle();
    assert.deepEqual(events, []);
    push("P");
    await settle();
    assert.deepEqual(events, ["msn 0 part 2 ready", "msn 0 part 2 again ready"]);
    push("PP");
    await settle();
    assert.deepEqual(events.slice(2), ["msn 0 part 3 ready"]);
    push("I");
    await settle();
    assert.deepEqual(events.slice(3), ["msn 1 part 0 ready", "segment 0 ready"]);
  });

  await t.step("a part index past a complete segment's last means part 0 of the next", async () => {
    const { store, push } = newStore();
    push("IPPPP");
    const events: string[] = [];
    store.waitFor(0, 5).then((r) => void events.push(r));
    push("P");
    await settle();
    assert.deepEqual(events, ["ready"], "segment 0 got a sixth part");
    store.waitFor(0, 9).then((r) => void events.push(`rolled ${r}`));
    push("P");
    await settle();
    assert.deepEqual(events, ["ready"]);
    push("I");
    await settle();
    assert.deepEqual(events, ["ready", "rolled ready"], "segment 1's part 0 answers part 9 of segment 0");
  });

  await t.step("a segment or part no longer held is ready at once", async () => {
    const { store, push } = newStore({ segmentCount: 3, maxBytesPerStream: 1600 });
    push("IPPPP".repeat(6) + "I");
    assert.equal(store.segment(0), undefined);
    assert.equal(await store.waitFor(0, 0), "ready");
    assert.equal(await store.waitFor(1), "ready");
  });

  await t.step(
    "more than two segments ahead, or past the Advance Part Limit, is refused at once",
    async () => {
      const { store, push } = newStore();
      await assert.rejects(
        store.waitFor(2),
        HlsTooFarAheadError,
        "before any segment, msn 0 and 1 may be asked for",
      );
      push("IPPPPI");
      // Last complete segment: 0. Open: 1 with one part. PART-TARGET 0.2 s: 15 parts ahead at most.
      await assert.rejects(store.waitFor(3), HlsTooFarAheadError);
      await assert.rejects(store.waitFor(1, 16), HlsTooFarAheadError);
      await assert.rejects(store.waitFor(2, 15), HlsTooFarAheadError);
      const ok = [store.waitFor(2), store.waitFor(1, 15), store.waitFor(2, 14)];
      store.close();
      assert.deepEqual(await Promise.all(ok), ["ended", "ended", "ended"]);
    },
  );

  await t.step("a wait longer than three target durations is refused with HlsBlockTimeoutError", async () => {
    const { store, push, clock } = newStore();
    push("I");
    const wait = store.waitFor(0, 1);
    clock.advance(2999);
    await settle();
    assert.equal(clock.timers.size, 1);
    clock.advance(1);
    await assert.rejects(wait, HlsBlockTimeoutError);
    push("P");
    assert.equal(clock.timers.size, 0);
  });

  await t.step("an aborted wait rejects with the signal's reason and leaves no timer", async () => {
    const { store, push, clock } = newStore();
    push("I");
    const ac = new AbortController();
    const wait = store.waitFor(0, 1, ac.signal);
    ac.abort(new Error("player left"));
    await assert.rejects(wait, /player left/);
    assert.equal(clock.timers.size, 0);
    await assert.rejects(store.waitFor(0, 1, ac.signal), /player left/);
  });

  await t.step("close() settles every wait: ready when it came, ended when it never will", async () => {
    const { store, push, clock } = newStore();
    push("IPP");
    const events: string[] = [];
    store.waitFor(0).then((r) => void events.push(`segment 0 ${r}`));
    store.waitFor(1, 0).then((r) => void events.push(`msn 1 part 0 ${r}`));
    store.waitForPart(3).then((r) => void events.push(`part 3 ${r}`));
    store.close();
    await settle();
    assert.deepEqual(events, ["segment 0 ready", "msn 1 part 0 ended", "part 3 ended"]);
    assert.equal(clock.timers.size, 0);
    // Directives are ignored once the playlist has EXT-X-ENDLIST.
    assert.equal(await store.waitFor(9, 9), "ended");
  });

  await t.step("waitForPart() resolves when the hinted part is pushed", async () => {
    const { store, push } = newStore();
    push("IP");
    const events: string[] = [];
    store.waitForPart(store.nextPartSeq).then((r) => void events.push(r));
    await settle();
    assert.deepEqual(events, []);
    push("P");
    await settle();
    assert.deepEqual(events, ["ready"]);
    assert.ok(store.part(2) !== undefined);
  });
});

Deno.test("HlsStreamStore.close() ends the playlist", () => {
  const { store, push } = newStore();
  push("IPPPPIPP");
  store.close();
  const pl = store.mediaPlaylist();
  assert.equal(pl.endList, true);
  assert.equal(pl.preloadHint, undefined);
  assert.equal(pl.openSegment, undefined);
  assert.deepEqual(pl.segments.map((s) => s.duration), [1, 0.6]);
  assert.deepEqual(mediaPlaylistProblems(pl), []);
  assert.match(store.mediaPlaylistText(), /#EXT-X-ENDLIST\n$/);
  assert.throws(() => push("I"), /closed/);
  store.close();
});

Deno.test("HlsStreamStore refuses misuse", async (t) => {
  await t.step("a part before the init section", () => {
    const store = new HlsStreamStore({ id: "t" });
    assert.throws(() => store.pushPart(new PartMaker().make(0.2, true)), /before the init section/);
  });
  await t.step("a second init section after the first part", () => {
    const { store, push } = newStore();
    store.setInit(new Uint8Array(60), INFO);
    assert.equal(store.byteLength, 60);
    push("I");
    assert.throws(() => store.setInit(INIT, INFO), /after the first part/);
  });
  await t.step("parts with no duration, longer than the target duration, or without a date", () => {
    const { store } = newStore();
    const p = new PartMaker().make(0.2, true);
    assert.throws(() => store.pushPart({ ...p, duration: 0 }), RangeError);
    assert.throws(() => store.pushPart({ ...p, duration: 1.5 }), RangeError);
    assert.throws(() => store.pushPart({ ...p, programDateTime: new Date(NaN) }), RangeError);
  });
  await t.step("durations that do not nest, and a bad id", () => {
    assert.throws(() => new HlsStreamStore({ partDurationMs: 1200 }), RangeError);
    assert.throws(() => new HlsStreamStore({ segmentDurationMs: 2000, targetDurationS: 1 }), RangeError);
    assert.throws(() => new HlsStreamStore({ id: "A/B" }), RangeError);
  });
  await t.step("a negative or fractional position", async () => {
    const { store } = newStore();
    await assert.rejects(store.waitFor(-1), RangeError);
    await assert.rejects(store.waitFor(0, 0.5), RangeError);
  });
});

Deno.test("HlsStreamStore.multivariantPlaylist() describes the one variant", async (t) => {
  await t.step("bandwidth measured from the complete segments: peak and average", () => {
    const { store, push } = newStore();
    assert.equal(store.multivariantPlaylist()!.variants[0]!.bandwidth, 0);
    push("IPPPP");
    push("IPPPPPPPPP", 0.1);
    push("I");
    const text = serializeMultivariantPlaylist(store.multivariantPlaylist()!);
    assert.equal(
      text,
      "#EXTM3U\n#EXT-X-VERSION:6\n" +
        '#EXT-X-STREAM-INF:BANDWIDTH=8000,AVERAGE-BANDWIDTH=6000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000\n' +
        "stream.m3u8\n",
    );
    assert.deepEqual(parseMultivariantPlaylist(text), store.multivariantPlaylist());
  });
  await t.step("a given bandwidth, a URI with a query, no resolution for audio", () => {
    const store = new HlsStreamStore({ id: "t" });
    assert.equal(store.multivariantPlaylist(), undefined);
    store.setInit(INIT, { codecs: "mp4a.40.2", bandwidth: 128_000 });
    assert.deepEqual(store.multivariantPlaylist("stream.m3u8?jwt=x"), {
      version: 6,
      independentSegments: false,
      variants: [{ bandwidth: 128_000, codecs: "mp4a.40.2", uri: "stream.m3u8?jwt=x" }],
    });
  });
});

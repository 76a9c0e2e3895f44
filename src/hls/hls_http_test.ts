import assert from "node:assert/strict";
import { handleHlsRequest, type HlsHttpContext } from "./hls_http.ts";
import { RawResponse } from "../net/http_listener.ts";
import { HlsStreamStore } from "./hls_stream_store.ts";
import { parseMediaPlaylist, parseMultivariantPlaylist } from "./playlist.ts";
import { FakeClock, PartMaker, settle } from "./testdata/hls_fixtures.ts";

const INIT = new Uint8Array([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70]);
const BASE = "http://127.0.0.1:8888";

function setup(options: { prefix?: string; allowOrigin?: string; rawBodies?: boolean } = {}) {
  const clock = new FakeClock();
  const store = new HlsStreamStore({ id: "t", clock });
  store.setInit(INIT, { codecs: "avc1.64001f", width: 640, height: 360 });
  const parts = new PartMaker();
  const push = (pattern: string) => {
    for (const c of pattern) store.pushPart(parts.make(0.2, c === "I", 10));
  };
  const asked: string[] = [];
  const ctx: HlsHttpContext = {
    ...options,
    getStore: (path) => {
      asked.push(path);
      if (path === "live/cam" || path === "my cam") return Promise.resolve(store);
      if (path === "secret") {
        return Promise.resolve(
          new Response("no", { status: 401, headers: { "WWW-Authenticate": 'Basic realm="x"' } }),
        );
      }
      return Promise.resolve(new Response("no stream", { status: 404 }));
    },
  };
  const get = (path: string, init: RequestInit = {}) => handleHlsRequest(new Request(BASE + path, init), ctx);
  return { store, clock, push, asked, get };
}

/** A response promise and whether it has settled yet. */
function track(p: Promise<Response>) {
  const t = { done: false, response: p };
  p.then(() => t.done = true, () => t.done = true);
  return t;
}

const text = (r: Response) => r.text();
const bytes = async (r: Response) => new Uint8Array(await r.arrayBuffer());

Deno.test("handleHlsRequest() serves each resource with its type, caching and CORS headers", async (t) => {
  const { store, push, get } = setup();
  push("IPPPPIP");

  await t.step("index.m3u8: the multivariant playlist, revalidated", async () => {
    const r = await get("/live/cam/index.m3u8");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("Content-Type"), "application/vnd.apple.mpegurl");
    assert.equal(r.headers.get("Cache-Control"), "no-cache");
    assert.equal(r.headers.get("Access-Control-Allow-Origin"), "*");
    assert.equal(r.headers.get("Access-Control-Expose-Headers"), "Age, Content-Length, Content-Type, Date");
    const pl = parseMultivariantPlaylist(await text(r));
    assert.deepEqual(pl.variants.map((v) => [v.uri, v.codecs, v.resolution]), [
      ["stream.m3u8", "avc1.64001f", { width: 640, height: 360 }],
    ]);
  });

  await t.step("stream.m3u8: the media playlist, revalidated", async () => {
    const r = await get("/live/cam/stream.m3u8");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("Content-Type"), "application/vnd.apple.mpegurl");
    assert.equal(r.headers.get("Cache-Control"), "no-cache");
    const body = await text(r);
    assert.equal(body, store.mediaPlaylistText());
    assert.equal(r.headers.get("Content-Length"), String(new TextEncoder().encode(body).length));
  });

  await t.step("init.mp4: the init section as video/mp4", async () => {
    const r = await get("/live/cam/init.mp4");
    assert.equal(r.headers.get("Content-Type"), "video/mp4");
    assert.equal(r.headers.get("Cache-Control"), "no-cache");
    assert.deepEqual(await bytes(r), INIT);
  });

  await t.step("a segment: its parts' bytes as one video/iso.segment body, immutable", async () => {
    const r = await get("/live/cam/seg_t_0.m4s");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("Content-Type"), "video/iso.segment");
    assert.equal(r.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
    assert.equal(r.headers.get("Content-Length"), "50");
    const expected = new Uint8Array(50);
    for (let i = 0; i < 5; i++) expected.set(store.part(i)!, i * 10);
    assert.deepEqual(await bytes(r), expected);
  });

  await t.step("a part", async () => {
    const r = await get("/live/cam/part_t_6.m4s");
    assert.equal(r.headers.get("Content-Type"), "video/iso.segment");
    assert.deepEqual(await bytes(r), store.part(6));
  });

  await t.step("HEAD: the same headers, no body", async () => {
    for (const name of ["index.m3u8", "stream.m3u8", "init.mp4", "seg_t_0.m4s", "part_t_1.m4s"]) {
      const got = await get(`/live/cam/${name}`);
      const head = await get(`/live/cam/${name}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.body, null);
      assert.deepEqual([...head.headers], [...got.headers], name);
      await got.body?.cancel();
    }
  });
});

Deno.test("handleHlsRequest() with rawBodies answers RawResponses of the store's own bytes, the same as without", async () => {
  const { store, push, get } = setup();
  push("IPPPPIP");
  const raw = setup({ rawBodies: true });
  raw.push("IPPPPIP");
  for (
    const name of ["index.m3u8", "stream.m3u8", "init.mp4", "seg_t_0.m4s", "part_t_1.m4s", "nothing.txt"]
  ) {
    const plain = await get(`/live/cam/${name}`);
    const r = await raw.get(`/live/cam/${name}`);
    assert.ok(!(plain instanceof RawResponse) && r instanceof RawResponse, name);
    assert.equal(r.status, plain.status, name);
    assert.deepEqual([...r.headers], [...plain.headers], name);
    assert.deepEqual(await bytes(r), await bytes(plain), name);
  }
  // Not copied: the part's body is the store's part, the playlist's the store's one encoding.
  assert.equal(((await raw.get("/live/cam/part_t_1.m4s")) as RawResponse).chunks[0], raw.store.part(1));
  assert.equal(
    ((await raw.get("/live/cam/stream.m3u8")) as RawResponse).chunks[0],
    raw.store.mediaPlaylistBytes(),
  );
  assert.ok(store.part(1) !== undefined);
});

Deno.test("handleHlsRequest() routes by the last path component", async (t) => {
  await t.step("a path with slashes and escapes is decoded for getStore", async () => {
    const { push, asked, get } = setup();
    push("IPPPPI");
    assert.equal((await get("/live/cam/stream.m3u8")).status, 200);
    assert.equal((await get("/my%20cam/stream.m3u8")).status, 200);
    assert.deepEqual(asked, ["live/cam", "my cam"]);
    assert.equal((await get("/my%zzcam/stream.m3u8")).status, 400);
  });

  await t.step("a prefix", async () => {
    const { push, get } = setup({ prefix: "/hls" });
    push("IPPPPI");
    assert.equal((await get("/hls/live/cam/stream.m3u8")).status, 200);
    assert.equal((await get("/live/cam/stream.m3u8")).status, 404);
  });

  await t.step("404 without asking getStore: unknown names, no path, non-canonical numbers", async () => {
    const { asked, get } = setup();
    for (
      const p of [
        "/live/cam/index.html",
        "/index.m3u8",
        "/live/cam/",
        "/live/cam/seg_t_01.m4s",
        "/live/cam/part_T_1.m4s",
      ]
    ) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers.get("Access-Control-Allow-Origin"), "*");
    }
    assert.deepEqual(asked, []);
  });

  await t.step("404 for another store's names, expired parts and parts not hinted", async () => {
    const { store, push, get } = setup();
    push("IPPPPI");
    assert.equal((await get("/live/cam/seg_x_0.m4s")).status, 404);
    assert.equal((await get("/live/cam/part_x_0.m4s")).status, 404);
    assert.equal((await get(`/live/cam/part_t_${store.nextPartSeq + 1}.m4s`)).status, 404);
    assert.equal((await get("/live/cam/seg_t_7.m4s")).status, 404);
  });

  await t.step("getStore's own answer is passed on, with CORS headers added", async () => {
    const { get } = setup();
    const r = await get("/secret/stream.m3u8");
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("WWW-Authenticate"), 'Basic realm="x"');
    assert.equal(r.headers.get("Access-Control-Allow-Origin"), "*");
    assert.equal(await r.text(), "no");
    assert.equal((await get("/other/index.m3u8")).status, 404);
  });
});

Deno.test("handleHlsRequest() answers other methods and CORS preflights", async (t) => {
  await t.step("405 with Allow for POST, PUT, DELETE", async () => {
    const { asked, get } = setup();
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await get("/live/cam/stream.m3u8", { method });
      assert.equal(r.status, 405);
      assert.equal(r.headers.get("Allow"), "GET, HEAD, OPTIONS");
    }
    assert.deepEqual(asked, []);
  });

  await t.step("OPTIONS: 204 with the allowed methods and the asked-for headers", async () => {
    const { get } = setup();
    const r = await get("/live/cam/stream.m3u8", {
      method: "OPTIONS",
      headers: { Origin: "https://player.example", "Access-Control-Request-Headers": "authorization, range" },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("Access-Control-Allow-Origin"), "*");
    assert.equal(r.headers.get("Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    assert.equal(r.headers.get("Access-Control-Allow-Headers"), "authorization, range");
    assert.equal(r.headers.get("Access-Control-Max-Age"), "86400");
  });

  await t.step("one allowed origin is sent as is, with Vary: Origin", async () => {
    const { push, get } = setup({ allowOrigin: "https://player.example" });
    push("IPPPPI");
    const r = await get("/live/cam/stream.m3u8");
    assert.equal(r.headers.get("Access-Control-Allow-Origin"), "https://player.example");
    assert.equal(r.headers.get("Vary"), "Origin");
    await r.body?.cancel();
  });
});

Deno.test("handleHlsRequest() refuses bad delivery directives with 400 (rfc8216bis §6.2.5.2)", async (t) => {
  const { push, asked, get } = setup();
  push("IPPPPIP");
  const bad: [string, RegExp][] = [
    ["_HLS_part=1", /_HLS_part without _HLS_msn/],
    ["_HLS_msn=abc", /decimal-integer/],
    ["_HLS_msn=-1", /decimal-integer/],
    ["_HLS_msn=1&_HLS_part=1.5", /decimal-integer/],
    ["_HLS_msn=1&_HLS_msn=2", /more than once/],
  ];
  for (const [query, message] of bad) {
    await t.step(`${query}: refused before the store is looked up`, async () => {
      const r = await get(`/live/cam/stream.m3u8?${query}`);
      assert.equal(r.status, 400);
      assert.match(await r.text(), message);
    });
  }
  assert.deepEqual(asked, []);
  await t.step("more than two segments ahead, or past the Advance Part Limit", async () => {
    // Last complete segment 0; open segment 1 has two parts; limit 15 parts.
    assert.equal((await get("/live/cam/stream.m3u8?_HLS_msn=3")).status, 400);
    assert.equal((await get("/live/cam/stream.m3u8?_HLS_msn=1&_HLS_part=17")).status, 400);
  });
  await t.step("_HLS_skip is ignored: no CAN-SKIP-UNTIL is advertised", async () => {
    const r = await get("/live/cam/stream.m3u8?_HLS_skip=YES");
    assert.equal(r.status, 200);
    const pl = parseMediaPlaylist(await r.text());
    assert.equal(pl.skippedSegments, undefined);
    assert.equal(pl.serverControl?.canSkipUntil, undefined);
  });
});

Deno.test("handleHlsRequest() holds blocking requests until their part is pushed", async (t) => {
  await t.step("a playlist reload is answered by the push that adds the part", async () => {
    const { store, push, get } = setup();
    push("IPPPPIP");
    const events: string[] = [];
    const next = track(get("/live/cam/stream.m3u8?_HLS_msn=1&_HLS_part=2"));
    next.response.then(() => void events.push("answered"));
    await settle();
    assert.equal(next.done, false);
    events.push("push part 2 of segment 1");
    push("P");
    await settle();
    assert.deepEqual(events, ["push part 2 of segment 1", "answered"]);
    const r = await next.response;
    assert.equal(r.status, 200);
    // The same answer holds for every later request of that part: caches may share it briefly.
    assert.equal(r.headers.get("Cache-Control"), "public, max-age=3");
    const pl = parseMediaPlaylist(await r.text());
    assert.equal(pl.openSegment!.parts.at(-1)!.uri, "part_t_7.m4s");
    assert.equal(pl.preloadHint!.uri, `part_t_${store.nextPartSeq}.m4s`);
  });

  await t.step(
    "the next segment's part 0 answers a request past the last part of a finished segment",
    async () => {
      const { push, get } = setup();
      push("IPPPP");
      const next = track(get("/live/cam/stream.m3u8?_HLS_msn=0&_HLS_part=5"));
      await settle();
      assert.equal(next.done, false);
      push("I");
      const pl = parseMediaPlaylist(await (await next.response).text());
      assert.deepEqual(pl.segments.map((s) => s.uri), ["seg_t_0.m4s"]);
    },
  );

  await t.step("the preload-hinted part is answered once it is complete", async () => {
    const { store, push, get } = setup();
    push("IPP");
    const hinted = track(get(`/live/cam/part_t_${store.nextPartSeq}.m4s`));
    await settle();
    assert.equal(hinted.done, false);
    push("P");
    const r = await hinted.response;
    assert.equal(r.status, 200);
    assert.deepEqual(await bytes(r), store.part(3));
  });

  await t.step("the open segment is answered once complete", async () => {
    const { push, get } = setup();
    push("IPPPPIPP");
    const seg = track(get("/live/cam/seg_t_1.m4s"));
    await settle();
    assert.equal(seg.done, false);
    push("PPPI");
    const r = await seg.response;
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("Content-Length"), "60");
    await r.body?.cancel();
  });

  await t.step("the first playlist and the multivariant playlist wait for a complete segment", async () => {
    const { push, get } = setup();
    const media = track(get("/live/cam/stream.m3u8"));
    const multi = track(get("/live/cam/index.m3u8"));
    push("IPPPP");
    await settle();
    assert.equal(media.done || multi.done, false);
    push("I");
    assert.equal(parseMediaPlaylist(await (await media.response).text()).segments.length, 1);
    assert.equal((await multi.response).status, 200);
  });

  await t.step("503 once the wait passes three target durations", async () => {
    const { clock, push, get } = setup();
    push("IP");
    const next = track(get("/live/cam/stream.m3u8?_HLS_msn=0&_HLS_part=2"));
    await settle();
    clock.advance(2999);
    await settle();
    assert.equal(next.done, false);
    clock.advance(1);
    const r = await next.response;
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("Access-Control-Allow-Origin"), "*");
    await r.body?.cancel();
  });

  await t.step("a player that goes away ends its wait", async () => {
    const { clock, push, get } = setup();
    push("IP");
    const ac = new AbortController();
    const next = get("/live/cam/stream.m3u8?_HLS_msn=0&_HLS_part=2", { signal: ac.signal });
    await settle();
    ac.abort();
    assert.equal((await next).status, 499);
    assert.equal(clock.timers.size, 0);
  });

  await t.step(
    "close() answers the waits: the final playlist, 404 for the part that never came",
    async () => {
      const { store, push, get } = setup();
      push("IPPPPIP");
      const reload = track(get("/live/cam/stream.m3u8?_HLS_msn=1&_HLS_part=2"));
      const hinted = track(get(`/live/cam/part_t_${store.nextPartSeq}.m4s`));
      await settle();
      store.close();
      const pl = parseMediaPlaylist(await (await reload.response).text());
      assert.equal(pl.endList, true);
      assert.equal((await hinted.response).status, 404);
      const later = await get("/live/cam/stream.m3u8?_HLS_msn=99&_HLS_part=99");
      assert.equal(later.status, 200, "directives are ignored once the playlist has EXT-X-ENDLIST");
      assert.equal(later.headers.get("Cache-Control"), "no-cache");
      await later.body?.cancel();
    },
  );
});

Deno.test("handleHlsRequest() passes the request's query on to the URIs it names, without _HLS_ directives", async () => {
  const { push, get } = setup();
  push("IPPPPIP");
  const multi = parseMultivariantPlaylist(await (await get("/live/cam/index.m3u8?jwt=a.b.c")).text());
  assert.equal(multi.variants[0]!.uri, "stream.m3u8?jwt=a.b.c");
  const media = parseMediaPlaylist(await (await get("/live/cam/stream.m3u8?jwt=a.b.c&_HLS_msn=0")).text());
  const all = [
    media.map!,
    ...media.segments.flatMap((s) => [s.uri, ...s.parts.map((p) => p.uri)]),
    ...media.openSegment!.parts.map((p) => p.uri),
    media.preloadHint!.uri,
  ];
  assert.ok(all.length > 5 && all.every((u) => u.endsWith("?jwt=a.b.c")), all.join(" "));
  assert.equal((await get("/live/cam/seg_t_0.m4s?jwt=a.b.c")).status, 200);
});

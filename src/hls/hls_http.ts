/**
 * LL-HLS over HTTP for one path prefix, as a pure handler: a Request in, a Response out, the
 * stream's store found through the glue's `getStore`. Routing is by the last path component
 * (hls_names.ts), so stream paths may contain slashes (`/live/cam/stream.m3u8` is `live/cam`).
 *
 * Answers: 200 with the resource; 204 for a CORS preflight; 400 for bad delivery directives
 * (rfc8216bis §6.2.5.2); 404 for unknown names, other stores' names and parts or segments no
 * longer held; 405 for other methods; 503 when a blocking request times out. What getStore
 * returns as a Response (401, 404, 503, ...) is passed on with the CORS headers added.
 *
 * @module
 */
import { HlsRequestError } from "./hls_errors.ts";
import { type HlsResource, MEDIA_PLAYLIST_NAME, parseResourceName } from "./hls_names.ts";
import type { HlsStreamStore } from "./hls_stream_store.ts";
import { type MediaPlaylist, serializeMediaPlaylist, serializeMultivariantPlaylist } from "./playlist.ts";
import { RawResponse } from "../net/http_listener.ts";

/** What the handler needs from the glue. */
export interface HlsHttpContext {
  /** Where the handler's URLs start; default "/" (`/live/cam/index.m3u8`). */
  prefix?: string;
  /**
   * The store of `path` (percent-decoded, without the prefix and the file name), or the Response
   * to answer instead (auth, no such stream). The glue may start muxing here and resolve once the
   * first segment is ready.
   */
  getStore(path: string, req: Request): Promise<HlsStreamStore | Response>;
  /** Access-Control-Allow-Origin; default "*". */
  allowOrigin?: string;
  /**
   * Answer with RawResponse: bodies that net/http_listener.ts writes from the store's bytes with
   * no copy. Default false: ordinary Responses, which any server (Deno.serve) can send.
   */
  rawBodies?: boolean;
}

export const PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl";
export const INIT_CONTENT_TYPE = "video/mp4";
export const SEGMENT_CONTENT_TYPE = "video/iso.segment";

/** Names never reused (hls_names.ts), so parts and segments may be cached for good. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** A playlist without directives changes with every part; init.mp4's name outlives one store. */
const REVALIDATE = "no-cache";
const ALLOWED_METHODS = "GET, HEAD, OPTIONS";
/** Headers a player's script may read: `Age` tells hls.js how stale a cached playlist is. */
const EXPOSED_HEADERS = "Age, Content-Length, Content-Type, Date";
/** nginx's "client closed request": the answer no one receives when the player gave up. */
const CLIENT_CLOSED = 499;

const encoder = new TextEncoder();

/** Answers one HLS request; never throws for bad input (a 4xx/5xx Response instead). */
export async function handleHlsRequest(req: Request, ctx: HlsHttpContext): Promise<Response> {
  const res = await answer(req, ctx);
  return ctx.rawBodies === true || !(res instanceof RawResponse) ? res : ordinary(res);
}

/** The same answer as a Response whose body Deno itself holds (a copy of the chunks). */
function ordinary(res: RawResponse): Response {
  const init = { status: res.status, headers: res.headers };
  const chunks = res.chunks;
  if (chunks.length === 0) return new Response(null, init);
  if (chunks.length === 1) return new Response(chunks[0] as Uint8Array<ArrayBuffer>, init);
  return new Response(res.body, init);
}

async function answer(req: Request, ctx: HlsHttpContext): Promise<Response> {
  const cors = corsHeaders(ctx.allowOrigin ?? "*");
  try {
    if (req.method === "OPTIONS") return preflight(req, cors);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return plain(req, cors, 405, "Method Not Allowed", { Allow: ALLOWED_METHODS });
    }
    const url = new URL(req.url);
    const target = route(url.pathname, ctx.prefix ?? "/");
    if (target === "bad") return plain(req, cors, 400, "Bad percent-encoding in the path");
    if (target === undefined) return plain(req, cors, 404, "Not Found");
    const { path, resource } = target;
    let directives: Directives | undefined;
    if (resource.kind === "media") {
      const d = parseDirectives(url.searchParams);
      if (typeof d === "string") return plain(req, cors, 400, d);
      directives = d;
    }
    const store = await ctx.getStore(path, req);
    if (store instanceof Response) return withCors(req, store, cors);
    const query = passOnQuery(url.searchParams);
    switch (resource.kind) {
      case "multivariant":
        return await multivariant(req, store, cors, query);
      case "media":
        return await media(req, store, cors, directives!, query);
      case "init":
        return await init(req, store, cors);
      case "segment":
        return await segment(req, store, cors, resource);
      case "part":
        return await part(req, store, cors, resource);
    }
  } catch (e) {
    if (e instanceof HlsRequestError) return plain(req, cors, e.status, e.message);
    if (req.signal.aborted) return plain(req, cors, CLIENT_CLOSED, "Client closed the request");
    throw e;
  }
}

/** Splits `<prefix><path>/<name>` into the decoded path and the resource, "bad" for bad escapes. */
function route(
  pathname: string,
  prefix: string,
): { path: string; resource: HlsResource } | "bad" | undefined {
  const base = prefix.endsWith("/") ? prefix : prefix + "/";
  if (!pathname.startsWith(base)) return undefined;
  const rest = pathname.slice(base.length);
  const slash = rest.lastIndexOf("/");
  if (slash <= 0) return undefined;
  const resource = parseResourceName(rest.slice(slash + 1));
  if (resource === undefined) return undefined;
  try {
    return { path: decodeURIComponent(rest.slice(0, slash)), resource };
  } catch {
    return "bad";
  }
}

interface Directives {
  msn?: number;
  part?: number;
}

const DECIMAL_INTEGER = /^[0-9]{1,15}$/;

/**
 * `_HLS_msn` and `_HLS_part` (rfc8216bis §6.2.5.2): decimal-integers, each at most once, part
 * only with msn (a MUST: 400). `_HLS_skip` is ignored: this server advertises no CAN-SKIP-UNTIL,
 * so a full playlist is the right answer to it (§6.2.5.1). Returns the reason for a 400.
 */
function parseDirectives(q: URLSearchParams): Directives | string {
  const out: Directives = {};
  for (const [name, key] of [["_HLS_msn", "msn"], ["_HLS_part", "part"]] as const) {
    const all = q.getAll(name);
    if (all.length === 0) continue;
    if (all.length > 1) return `${name} given more than once`;
    if (!DECIMAL_INTEGER.test(all[0]!)) return `${name} must be a decimal-integer, got "${all[0]}"`;
    out[key] = Number(all[0]);
  }
  if (out.part !== undefined && out.msn === undefined) return "_HLS_part without _HLS_msn";
  return out;
}

/** The request's query minus the `_HLS_` directives, passed on to every URI a playlist names (a token). */
function passOnQuery(q: URLSearchParams): string {
  const kept = new URLSearchParams();
  for (const [k, v] of q) if (!k.startsWith("_HLS_")) kept.append(k, v);
  const s = kept.toString();
  return s === "" ? "" : "?" + s;
}

/**
 * Waits only when it must: reading req.signal at all makes Deno.serve warn about its legacy abort
 * (the signal also fires after a successful response, harmless here: a settled wait has let go).
 */
async function ready(req: Request, store: HlsStreamStore, msn: number, part?: number): Promise<void> {
  if (!store.has(msn, part)) await store.waitFor(msn, part, req.signal);
}

async function multivariant(req: Request, store: HlsStreamStore, cors: Headers, query: string) {
  await ready(req, store, 0);
  const pl = store.multivariantPlaylist(MEDIA_PLAYLIST_NAME + query);
  if (pl === undefined) return plain(req, cors, 503, "Stream not ready");
  return playlist(req, cors, serializeMultivariantPlaylist(pl), REVALIDATE);
}

async function media(req: Request, store: HlsStreamStore, cors: Headers, d: Directives, query: string) {
  // Without directives, the first answer still waits for a complete segment to list.
  await ready(req, store, d.msn ?? 0, d.part);
  // Without a query to carry on, every player gets the store's one encoding of this version.
  const body = query === ""
    ? store.mediaPlaylistBytes()
    : encoder.encode(serializeMediaPlaylist(withQuery(store.mediaPlaylist(), query)));
  // An answer to a blocking request stays true (it holds that part or later), so caches may share
  // it between the players asking for the same part; a plain reload must go to the origin.
  const cache = d.msn === undefined || store.ended
    ? REVALIDATE
    : `public, max-age=${3 * store.targetDuration}`;
  return bytes(req, cors, PLAYLIST_CONTENT_TYPE, cache, [body], body.length);
}

async function init(req: Request, store: HlsStreamStore, cors: Headers) {
  if (store.init === undefined) await ready(req, store, 0);
  const i = store.init;
  if (i === undefined) return plain(req, cors, 503, "Stream not ready");
  return bytes(req, cors, INIT_CONTENT_TYPE, REVALIDATE, [i.bytes], i.bytes.length);
}

async function segment(
  req: Request,
  store: HlsStreamStore,
  cors: Headers,
  r: { streamId: string; msn: number },
) {
  if (r.streamId !== store.id) return plain(req, cors, 404, "Not Found");
  if (store.segment(r.msn) === undefined && store.isOpenSegment(r.msn)) await ready(req, store, r.msn);
  const s = store.segment(r.msn);
  if (s === undefined) return plain(req, cors, 404, "Not Found");
  return bytes(req, cors, SEGMENT_CONTENT_TYPE, IMMUTABLE, s.chunks, s.byteLength);
}

async function part(
  req: Request,
  store: HlsStreamStore,
  cors: Headers,
  r: { streamId: string; seq: number },
) {
  if (r.streamId !== store.id) return plain(req, cors, 404, "Not Found");
  // The hinted part is requested before it exists; the answer waits until it is complete (§6.2.6).
  if (store.part(r.seq) === undefined && r.seq === store.nextPartSeq) {
    await store.waitForPart(r.seq, req.signal);
  }
  const p = store.part(r.seq);
  if (p === undefined) return plain(req, cors, 404, "Not Found");
  return bytes(req, cors, SEGMENT_CONTENT_TYPE, IMMUTABLE, [p], p.length);
}

/** The playlist with `query` after every URI it names. */
function withQuery(pl: MediaPlaylist, query: string): MediaPlaylist {
  const q = (p: { duration: number; uri: string; independent: boolean }) => ({ ...p, uri: p.uri + query });
  const out: MediaPlaylist = {
    ...pl,
    segments: pl.segments.map((s) => ({ ...s, uri: s.uri + query, parts: s.parts.map(q) })),
  };
  if (pl.map !== undefined) out.map = pl.map + query;
  if (pl.openSegment !== undefined) {
    out.openSegment = { ...pl.openSegment, parts: pl.openSegment.parts.map(q) };
  }
  if (pl.preloadHint !== undefined) out.preloadHint = { ...pl.preloadHint, uri: pl.preloadHint.uri + query };
  return out;
}

function corsHeaders(origin: string): Headers {
  const h = new Headers({
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Expose-Headers": EXPOSED_HEADERS,
  });
  if (origin !== "*") h.set("Vary", "Origin");
  return h;
}

function preflight(req: Request, cors: Headers): Response {
  const h = new Headers(cors);
  h.set("Access-Control-Allow-Methods", ALLOWED_METHODS);
  h.set("Access-Control-Max-Age", "86400");
  // Echoed, since a wildcard does not cover Authorization (Fetch standard).
  const asked = req.headers.get("Access-Control-Request-Headers");
  if (asked !== null && /^[A-Za-z0-9!#$%&'*+.^_`|~, -]*$/.test(asked)) {
    h.set("Access-Control-Allow-Headers", asked);
    h.append("Vary", "Access-Control-Request-Headers");
  }
  return new Response(null, { status: 204, headers: h });
}

function playlist(req: Request, cors: Headers, text: string, cache: string): Response {
  const body = encoder.encode(text);
  return bytes(req, cors, PLAYLIST_CONTENT_TYPE, cache, [body], body.length);
}

/**
 * A body from chunks without joining or copying them (the listener writes them as they are:
 * RawResponse); HEAD gets the headers only.
 */
function bytes(
  req: Request,
  cors: Headers,
  type: string,
  cache: string,
  chunks: readonly Uint8Array[],
  length: number,
): Response {
  const h = new Headers(cors);
  h.set("Content-Type", type);
  h.set("Cache-Control", cache);
  h.set("Content-Length", String(length));
  return new RawResponse(req.method === "HEAD" ? [] : chunks, { status: 200, headers: h });
}

function plain(
  req: Request,
  cors: Headers,
  status: number,
  text: string,
  extra: Record<string, string> = {},
) {
  const h = new Headers(cors);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  h.set("Content-Type", "text/plain; charset=utf-8");
  h.set("Cache-Control", "no-store");
  const body = encoder.encode(text + "\n");
  h.set("Content-Length", String(body.length));
  return new RawResponse(req.method === "HEAD" ? [] : [body], { status, headers: h });
}

/** The glue's own answer with the CORS headers it lacks, so a player's script can read its status. */
function withCors(req: Request, res: Response, cors: Headers): Response {
  const h = new Headers(res.headers);
  for (const [k, v] of cors) if (!h.has(k)) h.set(k, v);
  return new Response(req.method === "HEAD" ? null : res.body, {
    status: res.status,
    statusText: res.statusText,
    headers: h,
  });
}

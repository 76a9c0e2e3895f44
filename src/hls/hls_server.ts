/**
 * The HLS port (`hls.port`, 8888): the page (`/` lists the streams, `/<path>/` plays one), the
 * player script (hls.js, served from the executable: no CDN), `/streams.json` for the page, and
 * every path's LL-HLS playlists, init section, parts and segments (hls_http.ts), after the path's
 * read permission (Basic or Digest with the paths' users, `?jwt=` with auth.jwt; the failure
 * limiter counts these failures with RTSP's).
 *
 * @module
 */
import pageHtml from "./page/index.html" with { type: "text" };
import pageJs from "./page/page.js" with { type: "text" };
import hlsJs from "hls.js/dist/hls.min.js" with { type: "text" };
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import type { PathAccess, Requester } from "../access/path_access.ts";
import { handleHlsRequest } from "./hls_http.ts";
import { HttpListener, RawResponse } from "../net/http_listener.ts";
import { addressGroup } from "../auth/ip_address.ts";
import type { HlsMuxers } from "./hls_muxers.ts";

/** One stream as the page lists it. */
export interface StreamListing {
  path: string;
  codecs: string[];
  width?: number;
  height?: number;
  /** RTSP viewers over all workers, and HLS players (addresses that fetched it in the last 10 s). */
  viewers: number;
}

export interface HlsServerOptions {
  config: () => Config;
  muxers: HlsMuxers;
  access: PathAccess;
  /** The streams for /streams.json (those the asker may read are listed). */
  listing: () => Promise<StreamListing[]>;
  log: Logger;
}

export interface HlsServerHandle {
  readonly port: number;
  /** Its connections and what it refused, for /metrics. */
  readonly listener: HttpListener;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const PAGE_HTML = encoder.encode(pageHtml);
/** Encoded once: hls.min.js is 500 KiB, a copy of which each page load would make twice. */
const STATIC: Record<string, [Uint8Array, string]> = {
  "/": [PAGE_HTML, "text/html; charset=utf-8"],
  "/page.js": [encoder.encode(pageJs), "text/javascript; charset=utf-8"],
  "/hls.min.js": [encoder.encode(hlsJs), "text/javascript; charset=utf-8"],
};

/**
 * Starts listening; throws when the port cannot be had. The connections are bounded as RTSP's
 * are: limits.handshakeTimeoutMs for a connection's first request head, limits.requestTimeoutMs
 * for the next ones, sessionTimeoutMs idle between them, limits.maxHeaderBlockBytes per head,
 * limits.maxConnectionsPerAddress per address and hls.maxConnections in all.
 */
export function startHlsServer(o: HlsServerOptions): HlsServerHandle {
  const s = o.config().hls;
  const listener = new HttpListener(
    s.address,
    s.port,
    () => {
      const c = o.config();
      const l = c.limits;
      return {
        maxConnections: c.hls.maxConnections,
        maxConnectionsPerAddress: l.maxConnectionsPerAddress,
        firstHeadTimeoutMs: l.handshakeTimeoutMs,
        headTimeoutMs: l.requestTimeoutMs,
        idleTimeoutMs: c.sessionTimeoutMs,
        maxHeadBytes: l.maxHeaderBlockBytes,
      };
    },
    addressGroup,
    o.log,
  );
  listener.serve((req, peerIp) => handle(o, req, peerIp));
  o.log.info(`HLS: http://${s.address}:${listener.port}/ (LL-HLS, the page)`);
  return {
    port: listener.port,
    listener,
    close: () => {
      listener.close();
      return Promise.resolve();
    },
  };
}

/** Requests being answered now, over hls.maxPendingRequests answered 503. */
let pending = 0;
/** When a refusal at the bound was last logged (one line per 10 s). */
let refusedLoggedAt = -Infinity;
let refusedSince = 0;

async function handle(o: HlsServerOptions, req: Request, peerIp: string): Promise<Response> {
  const max = o.config().hls.maxPendingRequests;
  if (pending >= max) {
    refusedSince++;
    if (performance.now() - refusedLoggedAt > 10_000) {
      refusedLoggedAt = performance.now();
      o.log.warn(`HLS: ${max} requests pending (hls.maxPendingRequests): ${refusedSince} refused with 503`);
      refusedSince = 0;
    }
    return new Response("too many requests pending\n", { status: 503, headers: { "Retry-After": "1" } });
  }
  pending++;
  try {
    return await answer(o, req, peerIp);
  } finally {
    pending--;
  }
}

async function answer(o: HlsServerOptions, req: Request, peerIp: string): Promise<Response> {
  const url = new URL(req.url);
  const config = o.config();
  const allowOrigin = config.hls.allowOrigin;
  const fixed = STATIC[url.pathname];
  if (fixed !== undefined && (req.method === "GET" || req.method === "HEAD")) {
    return staticFile(req, fixed[0], fixed[1]);
  }
  // Browsers ask for it on every page; there is none.
  if (url.pathname === "/favicon.ico") return new Response(null, { status: 204 });
  if (url.pathname === "/streams.json" && req.method === "GET") {
    const who: Requester = { peerHost: peerIp, nonceCounter: null };
    const visible: StreamListing[] = [];
    for (const s of await o.listing()) {
      // Only paths the asker may read (without credentials: open paths; with them, theirs).
      const r = await o.access.check(config, who, request(req, url), s.path, "read");
      if (r.ok) visible.push(s);
    }
    return Response.json({ streams: visible }, {
      headers: { "Cache-Control": "no-cache", "Access-Control-Allow-Origin": allowOrigin },
    });
  }
  // "/<path>/": the page, which plays the path.
  if (url.pathname.endsWith("/") && (req.method === "GET" || req.method === "HEAD")) {
    return staticFile(req, PAGE_HTML, "text/html; charset=utf-8");
  }
  const who: Requester = { peerHost: peerIp, nonceCounter: null };
  return await handleHlsRequest(req, {
    allowOrigin,
    rawBodies: true,
    getStore: async (path) => {
      const r = await o.access.check(config, who, request(req, url), path, "read");
      if (!r.ok) {
        if (!r.routine) {
          o.log.warn(`HLS: ${req.method} ${url.pathname} from ${peerIp}: ${r.status} ${r.message}`);
        }
        const headers = new Headers({ "Content-Type": "text/plain; charset=utf-8" });
        for (const c of r.challenges) headers.append("WWW-Authenticate", c);
        return new Response(`${r.status === 404 ? "not found" : r.message}\n`, { status: r.status, headers });
      }
      return await o.muxers.store(path, peerIp);
    },
  });
}

function staticFile(req: Request, bytes: Uint8Array, type: string): Response {
  return new RawResponse(req.method === "HEAD" ? [] : [bytes], {
    headers: { "Content-Type": type, "Cache-Control": "no-cache", "Content-Length": String(bytes.length) },
  });
}

function request(req: Request, url: URL) {
  return {
    method: req.method,
    uri: url.pathname + url.search,
    authorization: req.headers.get("Authorization") ?? undefined,
    query: url.search.replace(/^\?/, ""),
    protocol: "hls",
  };
}

import type { NonceCounter } from "../auth/authenticator.ts";
import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { parseSessionHeader } from "../rtsp/session_header.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
import { AccessControl, type Action } from "./access_control.ts";
import type { RtspSession } from "./rtsp_session.ts";
import type { SessionHost } from "./session_host.ts";
import { type SourceConfig, sourceUrlFor } from "../paths/path_config.ts";

/** The connection as request handlers see it: a session host that carries at most one session. */
export interface RequestConnection extends SessionHost {
  readonly peer: string;
  /** An RTSPS connection: its media stays inside TLS (no UDP transport, docs/protocol.md §27). */
  readonly encrypted: boolean;
  session: RtspSession | null;
  /** Digest nonce counts this connection has used (replay check); made by the first Digest answer. */
  nonceCounter: NonceCounter | null;
  /** The path this connection last DESCRIBEd: a first SETUP resolves against it (docs/protocol.md §2). */
  describedPath: string | null;
}

/** A handler's answer; `after` runs once the response is queued (PLAY starts media after it). */
export interface Reply {
  status?: number;
  headers?: [string, string][];
  body?: Uint8Array;
  after?: () => void;
}

/** The connection's session named by the Session header; 454 for any other id (or none). */
export function requireSession(c: RequestConnection, req: RtspRequest): RtspSession {
  const h = req.headers.get("Session");
  if (h === undefined) {
    throw new RtspError(STATUS_CODE.SessionNotFound, `${req.method} without a Session header`);
  }
  const { id } = parseSessionHeader(h);
  const s = c.session;
  if (s === null || s.id !== id) {
    throw new RtspError(STATUS_CODE.SessionNotFound, `session '${id}' not found`);
  }
  return s;
}

/** The source `path` is pulled from (its URL with the pattern's groups), or undefined. */
export function sourceOf(c: RequestConnection, path: string): SourceConfig | undefined {
  const ctx = c.ctx;
  ctx.access ??= new AccessControl(ctx.authShared, ctx.stats, ctx.hook, ctx.worker, ctx.log);
  const m = ctx.access.entry(ctx.config, path);
  const src = m?.config.source;
  return src === undefined ? undefined : { ...src, url: sourceUrlFor(src.url, m!.groups) };
}

/**
 * Whether `action` on `path` is granted to this request: the user name (or null); throws
 * 404/401/403, or 503 when external auth cannot answer. It may wait for external auth: check
 * `c.closed` after it before making anything of the connection's.
 */
export function allow(
  c: RequestConnection,
  req: RtspRequest,
  path: string,
  action: Action,
): Promise<string | null> {
  const ctx = c.ctx;
  ctx.access ??= new AccessControl(ctx.authShared, ctx.stats, ctx.hook, ctx.worker, ctx.log);
  return ctx.access.checkRtsp(ctx.config, c, req, path, action);
}

/**
 * Who may publish or read a path over RTSP, asked at ANNOUNCE (publish) and at DESCRIBE and a
 * viewer's first SETUP (read): access/path_access.ts decides, this turns a refusal into the RTSP
 * answer. A session keeps what it was granted: permission changes on reload apply to new
 * sessions, never to running ones.
 */
import { type Action, PathAccess, type Requester as PathRequester } from "../access/path_access.ts";
import { parseRtspUrl } from "../rtsp/url.ts";
import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";

export { type Action, loggableUrl } from "../access/path_access.ts";

/** The requester as access control sees it. */
export interface Requester extends PathRequester {
  /** Whether it came over RTSPS (TLS): the HTTP auth server is told protocol "rtsps" then. */
  readonly encrypted?: boolean;
}

export class AccessControl extends PathAccess {
  /**
   * Checks `action` on `path` for this request; returns the user name (null when the path needs
   * none). Throws RtspError: 404 when no `paths` entry matches, 401 with challenges, 403 when the
   * address is not allowed or has failed too often (or a valid token lacks the permission), 503
   * when external auth cannot answer.
   */
  async checkRtsp(
    config: Parameters<PathAccess["check"]>[0],
    who: Requester,
    req: RtspRequest,
    path: string,
    action: Action,
  ): Promise<string | null> {
    const r = await this.check(
      config,
      who,
      {
        method: req.method,
        uri: req.url,
        authorization: req.headers.get("Authorization"),
        query: parseRtspUrl(req.url).query,
        protocol: who.encrypted === true ? "rtsps" : "rtsp",
      },
      path,
      action,
    );
    if (r.ok) return r.user;
    const headers = r.challenges.map((c): [string, string] => ["WWW-Authenticate", c]);
    throw new RtspError(r.status, r.message, headers, r.routine);
  }
}

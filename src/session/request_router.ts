/**
 * One request with a valid CSeq -> its handler: the session it names is looked up (454), the state
 * guard answers a method out of place (455 with `Allow`), then the handler for its role runs.
 * Every refusal is a thrown RtspError; the connection turns it into the response and the log line.
 */
import { RtspError } from "../rtsp/errors.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
import { parseRtspUrl } from "../rtsp/url.ts";
import { PublisherSession } from "./publisher_session.ts";
import { announce, record, setupPublisher } from "./publish_requests.ts";
import { describe, pause, play, setupViewer } from "./play_requests.ts";
import { type Reply, type RequestConnection, requireSession } from "./request_context.ts";
import type { RtspSession } from "./rtsp_session.ts";
import { checkMethod, PUBLIC_METHODS } from "./session_state.ts";
import { checkSameTransport, pickTransport } from "./transport_negotiation.ts";
import { ViewerSession } from "./viewer_session.ts";

// RTSP 1.0 methods dm-live knows but does not serve (405 rather than 501).
const KNOWN_UNSUPPORTED = new Set(["REDIRECT", "PLAY_NOTIFY"]);

/** Dispatches one request; throws RtspError for every refusal. */
export function handleRequest(c: RequestConnection, req: RtspRequest): Promise<Reply> | Reply {
  // RFC 2326 §12.32: dm-live supports no extension options, so any it is required to have fails.
  const required = [...req.headers.getAll("Require"), ...req.headers.getAll("Proxy-Require")].join(", ")
    .trim();
  if (required !== "") {
    return { status: STATUS_CODE.OptionNotSupported, headers: [["Unsupported", required]] };
  }
  switch (req.method) {
    case "OPTIONS":
      if (req.headers.has("Session")) requireSession(c, req);
      return { headers: [["Public", PUBLIC_METHODS.join(", ")]] };
    case "GET_PARAMETER":
    case "SET_PARAMETER":
      // Keep-alives (docs/protocol.md §13): an empty 200 whatever the body asks.
      if (req.headers.has("Session")) requireSession(c, req);
      return {};
    case "DESCRIBE":
      return describe(c, req);
    case "ANNOUNCE":
      checkMethod(c.session?.state ?? "initial", "ANNOUNCE");
      return announce(c, req);
    case "SETUP":
      return setup(c, req);
    case "PLAY":
      return play(guarded(c, req, ViewerSession), req);
    case "RECORD":
      return record(c, guarded(c, req, PublisherSession), req);
    case "PAUSE":
      return pause(guarded(c, req, ViewerSession));
    case "TEARDOWN": {
      const s = requireSession(c, req);
      return {
        after: () => {
          s.log.info("TEARDOWN");
          s.end("TEARDOWN");
          if (c.session === s) c.session = null;
        },
      };
    }
    default:
      if (KNOWN_UNSUPPORTED.has(req.method)) {
        throw new RtspError(STATUS_CODE.MethodNotAllowed, `method ${req.method} is not supported`);
      }
      throw new RtspError(STATUS_CODE.NotImplemented, `unknown method ${req.method}`);
  }
}

/**
 * The session the request names, which the state table lets do this method: 454, then 455. The
 * table holds for both roles, so a session of the other role never passes (PLAY is not valid while
 * recording, RECORD not while ready to play).
 */
function guarded<T extends RtspSession>(
  c: RequestConnection,
  req: RtspRequest,
  role: abstract new (...args: never[]) => T,
): T {
  const s = requireSession(c, req);
  checkMethod(s.state, req.method);
  if (!(s instanceof role)) {
    throw new RtspError(STATUS_CODE.MethodNotValidInThisState, `${req.method} by a ${s.role} session`);
  }
  return s;
}

/** SETUP: adds a track to the connection's session, or makes a viewer session. */
function setup(c: RequestConnection, req: RtspRequest): Reply | Promise<Reply> {
  let s = c.session;
  if (req.headers.has("Session")) s = requireSession(c, req);
  else if (s !== null && s.idSent) {
    // A second SETUP must name the session it adds to.
    throw new RtspError(
      STATUS_CODE.SessionNotFound,
      "SETUP without Session header on a connection that has a session",
    );
  }
  checkMethod(s?.state ?? "initial", "SETUP");
  const t = pickTransport(req, c.ctx.udp, c.peerHost, c.encrypted);
  checkSameTransport(s?.transport ?? null, t.lower);
  const u = parseRtspUrl(req.url);
  if (s instanceof PublisherSession) return setupPublisher(s, req, u, t);
  if (t.mode === "record") {
    throw new RtspError(STATUS_CODE.MethodNotValidInThisState, "SETUP with mode=record before ANNOUNCE");
  }
  return setupViewer(c, req, s as ViewerSession | null, u, t);
}

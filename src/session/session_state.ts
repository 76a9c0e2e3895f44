/**
 * The RTSP session states of a server session, the methods each allows and the transitions between
 * them, in one table (RFC 2326 Appendix A, with the publisher's ANNOUNCE as a state of its own).
 *
 * ```
 *   initial ──ANNOUNCE──► announced ──SETUP──► preRecord ──RECORD──► record
 *      │                                        ▲    │ SETUP
 *      │                                        └────┘
 *      └──SETUP──► prePlay ──PLAY──► play ──PAUSE──► prePlay     (SETUP in prePlay adds a track)
 * ```
 * A connection without a session is `initial`; TEARDOWN (or the connection closing) ends a
 * session in any state.
 *
 * @module
 */
import { RtspError } from "../rtsp/errors.ts";
import { STATUS_CODE } from "../rtsp/status.ts";

export type SessionState = "initial" | "announced" | "preRecord" | "record" | "prePlay" | "play";

/** Methods dm-live answers (RFC 2326 §10), as `Public` lists them (§12.28). */
export const PUBLIC_METHODS = [
  "OPTIONS",
  "DESCRIBE",
  "ANNOUNCE",
  "SETUP",
  "PLAY",
  "RECORD",
  "PAUSE",
  "TEARDOWN",
  "GET_PARAMETER",
  "SET_PARAMETER",
] as const;

export type RtspMethod = typeof PUBLIC_METHODS[number];

/** Keep-alives and questions about the server, valid in every state (docs/protocol.md §13). */
const ANY_TIME = ["OPTIONS", "DESCRIBE", "GET_PARAMETER", "SET_PARAMETER"] as const;

/** The methods valid in each state; anything else is answered 455 with this list in `Allow`. */
export const METHODS_IN_STATE: Readonly<Record<SessionState, readonly RtspMethod[]>> = {
  initial: [...ANY_TIME, "ANNOUNCE", "SETUP"],
  announced: [...ANY_TIME, "SETUP", "TEARDOWN"],
  preRecord: [...ANY_TIME, "SETUP", "RECORD", "TEARDOWN"],
  record: [...ANY_TIME, "TEARDOWN"],
  prePlay: [...ANY_TIME, "SETUP", "PLAY", "PAUSE", "TEARDOWN"],
  // PLAY again is answered and changes nothing (some clients resend it: docs/protocol.md §15).
  play: [...ANY_TIME, "PLAY", "PAUSE", "TEARDOWN"],
};

/** The states each state may move to (staying is not a transition). */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  initial: ["announced", "prePlay"],
  announced: ["preRecord"],
  preRecord: ["record"],
  record: [],
  prePlay: ["play"],
  play: ["prePlay"],
};

/** 455 Method Not Valid in This State, with the methods that are (RFC 2326 §11.3.6, §12.4). */
export class MethodNotValidInStateError extends RtspError {
  readonly state: SessionState;
  constructor(method: string, state: SessionState) {
    super(
      STATUS_CODE.MethodNotValidInThisState,
      `${method} is not valid in state ${state}`,
      [["Allow", METHODS_IN_STATE[state].join(", ")]],
    );
    this.name = "MethodNotValidInStateError";
    this.state = state;
  }
}

/** The guard: throws 455 unless `method` is valid in `state`. */
export function checkMethod(state: SessionState, method: string): void {
  if (!(METHODS_IN_STATE[state] as readonly string[]).includes(method)) {
    throw new MethodNotValidInStateError(method, state);
  }
}

/** Whether a session in `from` may move to `to`. */
export function canEnter(from: SessionState, to: SessionState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

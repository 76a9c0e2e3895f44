/**
 * The events `hooks.url` receives, one JSON POST each: plain data made where the event happens (a
 * worker's session, main.ts's stream directory) and carried to main.ts's one queue (hook_queue.ts).
 * `peer` is always the client's address without its port.
 */

/** Who feeds a published stream: an RTSP publisher (ANNOUNCE/RECORD), a configured source, an edge pull. */
export type PublishKind = "publisher" | "source" | "edge";

/** An event as its producer describes it; `time` and `node` are added when it is queued. */
export type HookEventBody =
  /** A new stream, queued before any worker hears of it: its reads' events come after. */
  | {
    event: "publish.start";
    path: string;
    streamId: number;
    worker: number;
    session: string;
    /** The publisher's address; null for a source or an edge pull. */
    peer: string | null;
    kind: PublishKind;
  }
  /** The stream ended (its publisher left and no other came back within the grace period, ...). */
  | { event: "publish.stop"; path: string; streamId: number; reason: string }
  /** A viewer's first PLAY (a PLAY after PAUSE is no new read). */
  | {
    event: "read.start";
    path: string;
    streamId: number;
    worker: number;
    session: string;
    peer: string;
    transport: "tcp" | "udp";
    user: string | null;
  }
  /** A viewer that had played ended (TEARDOWN, disconnect, timeout, dropped, stream ended). */
  | {
    event: "read.stop";
    path: string;
    streamId: number;
    worker: number;
    session: string;
    peer: string;
    reason: string;
  }
  /** A pulled source (or an edge pull) changed state. */
  | {
    event: "source.state";
    path: string;
    worker: number;
    state: string;
    previous: string;
    /** The source URL without credentials. */
    url: string;
    /** Why the last attempt failed, while it matters (retrying), else null. */
    error: string | null;
    edge: boolean;
  }
  /**
   * A 401 for credentials that were sent and are wrong (unknown user, wrong password, a bad
   * Digest answer: what auth.maxFailures counts); never the first challenge of a request without
   * credentials, nor a stale nonce.
   */
  | {
    event: "auth.failure";
    path: string;
    worker: number;
    peer: string;
    /** The user name the client tried, when its Authorization header names one (at most 128 characters). */
    user: string | null;
    action: "publish" | "read";
    method: string;
    reason: string;
  };

/** What is POSTed: the body with `time` (ISO 8601, when it happened) and, in a cluster, this node's name. */
export type HookEvent = HookEventBody & { time: string; node?: string };

/** The JSON object of one event, its keys in a fixed order: event, time, node (in a cluster), path, the rest. */
export function hookEvent(body: HookEventBody, timeMs: number, node?: string): HookEvent {
  const { event, path, ...rest } = body;
  const head = node === undefined
    ? { event, time: new Date(timeMs).toISOString() }
    : { event, time: new Date(timeMs).toISOString(), node };
  return { ...head, path, ...rest } as HookEvent;
}

/** A user name from an Authorization header, bounded: a hook receiver should not get a megabyte of it. */
export function boundedUser(user: string | undefined): string | null {
  return user === undefined ? null : user.slice(0, 128);
}

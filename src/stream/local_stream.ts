import type { StreamAnnouncement } from "../cluster/messages.ts";
import { StreamWatch } from "../cluster/stream_watch.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { type StreamInfo, streamInfoFromSdp } from "./stream_info.ts";
import { buildViewerSdp } from "./viewer_sdp.ts";

/** A viewer as the fan-out sees it. */
export interface StreamSubscriber {
  /** The writer published: check safety, then start a write if idle. */
  wake(writePos: number): void;
  /** The publisher left. */
  streamEnded(): void;
}

/**
 * A published stream as one worker sees it: the shared ring, the SDP served to viewers, and this
 * worker's viewers of it. The fan-out runs here: one wake per publish (or per merge window) and one
 * pass over the local viewers.
 */
export class LocalStream {
  readonly streamId: number;
  readonly path: string;
  readonly ring: SharedRing;
  readonly info: StreamInfo;
  readonly viewerSdp: string;
  readonly publisherWorker: number;
  readonly #subscribers = new Set<StreamSubscriber>();
  readonly #watch: StreamWatch;
  readonly #mergeWindowMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Duration and end of the last pass over the viewers, for self-clocking. */
  #lastPassMs = 0;
  #lastPassEnd = 0;
  #ended = false;

  constructor(a: StreamAnnouncement, mergeWindowMs: number) {
    this.streamId = a.streamId;
    this.path = a.path;
    this.ring = new SharedRing(a.sab);
    const sd = parseSdp(a.sdp);
    this.info = streamInfoFromSdp(sd);
    this.viewerSdp = buildViewerSdp(sd, a.streamId);
    this.publisherWorker = a.worker;
    this.#mergeWindowMs = mergeWindowMs;
    this.#watch = new StreamWatch(this.ring, this.#onWake);
  }

  get viewerCount(): number {
    return this.#subscribers.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  subscribe(s: StreamSubscriber): void {
    this.#subscribers.add(s);
    if (this.#subscribers.size === 1) this.#watch.start();
  }

  unsubscribe(s: StreamSubscriber): void {
    this.#subscribers.delete(s);
    if (this.#subscribers.size === 0) this.#stopWatching();
  }

  /** The directory removed the stream (or its ring says ended): tell every local viewer. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopWatching();
    for (const s of [...this.#subscribers]) s.streamEnded();
    this.#subscribers.clear();
  }

  #stopWatching(): void {
    this.#watch.stop();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #onWake = (): void => {
    if (this.ring.ended()) {
      // Send what is left; the directory's streamRemoved ends the viewers.
      this.#flush();
      return;
    }
    if (this.#timer !== undefined) return;
    // Self-clocking: the next pass waits as long as the last one took. Idle, that is ~0 and adds
    // no delay; under load each viewer's write carries more packets instead of the worker falling
    // behind with more, smaller writes (synchronous FFI writes have no in-flight write to skip).
    const wait = Math.max(this.#mergeWindowMs, this.#lastPassMs - (performance.now() - this.#lastPassEnd));
    if (wait < 1) this.#flush();
    else this.#timer = setTimeout(this.#flushTimer, wait);
  };

  readonly #flushTimer = (): void => {
    this.#timer = undefined;
    this.#flush();
  };

  #flush(): void {
    const start = performance.now();
    const wp = this.ring.writePos();
    for (const s of this.#subscribers) s.wake(wp);
    this.#lastPassEnd = performance.now();
    this.#lastPassMs = this.#lastPassEnd - start;
  }
}

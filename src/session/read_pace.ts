import { readTick } from "../net/epoll_poller.ts";

/** A stream as the pace sees it (LocalStream). */
export interface PacedStream {
  readonly publisherWorker: number;
  /** This worker's viewers of it that want packets at once. */
  readonly promptViewers: number;
  /** Workers with such viewers, as the stream's current ring counts them (HDR.PROMPT_READERS). */
  readonly ring: { promptReaders(): number };
}

/** What the pace reads of the worker, each time it is asked. */
export interface PaceInputs {
  readonly worker: number;
  /** Every stream this worker knows (the directory's replica). */
  streams(): Iterable<PacedStream>;
  /** RTP routes of UDP publishers and sources on this worker (WorkerUdp.ingestRoutes). */
  udpIngest(): number;
  /** The worker's count of RTSP requests read (WorkerStats.requests). */
  requests(): number;
  readTickMs(): number;
  unwatchedReadTickMs(): number;
  mergeWindowMs(): number;
}

/** After an RTSP request, how long the worker keeps its fast tick: a handshake's next request comes soon. */
const REQUEST_HOLD_MS = 1000;
/**
 * How long an answer stands: the poller asks after every blocking wait too (thousands a second while
 * events are sparse), and the answer walks every stream.
 */
const RECHECK_MS = 5;

/**
 * How often a worker's poller reads while its sockets are busy (EpollPoller's tick): the fast
 * tick (readTick: net.readTickMs, longer while the merge window is open) while anyone waits for
 * what it reads; `net.unwatchedReadTickMs` while no one does. At 20 ffmpeg publishers with no
 * viewers the slower tick took the ingest from 0.76-0.93 to 0.32-0.40 server cores per Gbit/s
 * (README, "Measured"): each tick costs a runtime wake, and a longer one reads more per recv.
 *
 * Someone waits when this worker has viewers that want packets at once (RTSP players: their
 * writes and RTCP come through the same poller), when a stream published here has such viewers on
 * any worker (its ring's PROMPT_READERS), while UDP publishers send here (their datagrams share
 * one socket buffer, which a slow tick could overflow), and for a second after an RTSP request
 * (a viewer's DESCRIBE, SETUP and PLAY each wait one tick at most, the first one at the slow one).
 * HLS muxing and recording read late without harm and do not count. A viewer joining an
 * unwatched stream gets its first packets from the GOP cache at once; the publisher's worker
 * sees the viewer at its next tick and reads on the fast one from then on.
 */
export class ReadPace {
  readonly #in: PaceInputs;
  readonly #recheckMs: number;
  #requests = -1;
  #requestAt = -Infinity;
  #checkedAt = -Infinity;
  #watchedNow = false;

  /** recheckMs: how long one look at the inputs stands (tests: 0). */
  constructor(inputs: PaceInputs, recheckMs = RECHECK_MS) {
    this.#in = inputs;
    this.#recheckMs = recheckMs;
  }

  /** The tick to use now, ms (0: no tick, blocking waits only). */
  tickMs(now = performance.now()): number {
    const i = this.#in;
    const fast = readTick(i.readTickMs(), i.mergeWindowMs());
    const slow = i.unwatchedReadTickMs();
    if (fast === 0 || slow <= fast) return fast;
    if (!(now >= this.#checkedAt && now - this.#checkedAt < this.#recheckMs)) {
      this.#checkedAt = now;
      this.#watchedNow = this.#watched(now);
    }
    return this.#watchedNow ? fast : slow;
  }

  /** Whether anyone waits for what this worker reads (see the class comment). */
  #watched(now: number): boolean {
    const i = this.#in;
    const requests = i.requests();
    if (requests !== this.#requests) {
      // The first look only learns the count: requests before it are not news.
      if (this.#requests !== -1) this.#requestAt = now;
      this.#requests = requests;
    }
    if (now - this.#requestAt < REQUEST_HOLD_MS) return true;
    if (i.udpIngest() > 0) return true;
    const me = i.worker;
    for (const s of i.streams()) {
      if (s.promptViewers > 0) return true;
      if (s.publisherWorker === me && s.ring.promptReaders() > 0) return true;
    }
    return false;
  }
}

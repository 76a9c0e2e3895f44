import type { Logger } from "../log/logger.ts";
import { LocalStream } from "../stream/local_stream.ts";
import type { MergeWindow } from "../stream/merge_window.ts";
import type { MainToWorker, WorkerToMain } from "./messages.ts";
import type { DemandRefusal, DirectoryAnswer, StreamRegistry } from "../session/stream_registry.ts";
import type { RingClass } from "../ring/ring_classes.ts";
import { SharedRing } from "../ring/shared_ring.ts";

/**
 * A worker's replica of the stream directory (updated by main.ts's broadcasts, so DESCRIBE and
 * SETUP look paths up without a round trip) and its requests to the owner.
 */
export class WorkerDirectory implements StreamRegistry {
  readonly #post: (msg: WorkerToMain) => void;
  readonly #byPath = new Map<string, LocalStream>();
  readonly #byId = new Map<number, LocalStream>();
  readonly #pending = new Map<number, (a: DirectoryAnswer) => void>();
  /** ringRequests not answered yet. */
  readonly #ringRequests = new Map<number, (sab: SharedArrayBuffer | null) => void>();
  readonly #log: Logger;
  /** The worker's merge window, shared by its streams' passes. */
  readonly #mergeWindow: Pick<MergeWindow, "ms" | "maxMs">;
  #nextId = 1;

  readonly #afterSlice: () => void;

  /** afterSlice runs after every slice of a fan-out pass (sends batched datagrams). */
  constructor(
    post: (msg: WorkerToMain) => void,
    mergeWindow: Pick<MergeWindow, "ms" | "maxMs">,
    log: Logger,
    afterSlice = () => {},
  ) {
    this.#afterSlice = afterSlice;
    this.#post = post;
    this.#mergeWindow = mergeWindow;
    this.#log = log;
  }

  /** The stream published on a path, if any. */
  get(path: string): LocalStream | undefined {
    return this.#byPath.get(path);
  }

  /** Waiters for a path's stream (demand()), resolved by streamAdded. */
  readonly #waiting = new Map<string, Set<(s: LocalStream | DemandRefusal) => void>>();

  /**
   * Asks main.ts to start the pull of a path (its source, or in a cluster an edge pull), and
   * resolves with its stream once every worker knows it, with main.ts's refusal, or undefined after
   * timeoutMs.
   */
  demand(
    path: string,
    timeoutMs: number,
    fromEdge = false,
  ): Promise<LocalStream | DemandRefusal | undefined> {
    this.#post(fromEdge ? { type: "sourceDemand", path, edge: true } : { type: "sourceDemand", path });
    const now = this.#byPath.get(path);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.#waiting.get(path);
      if (set === undefined) this.#waiting.set(path, set = new Set());
      const done = (s: LocalStream | DemandRefusal | undefined) => {
        clearTimeout(timer);
        set!.delete(done);
        if (set!.size === 0) this.#waiting.delete(path);
        resolve(s);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      set.add(done);
    });
  }

  /** A stream's local viewers went from none to some or back: main.ts stops idle on-demand sources. */
  #readers(s: LocalStream, count: number): void {
    this.#post({ type: "readers", streamId: s.streamId, path: s.path, count });
  }

  streams(): IterableIterator<LocalStream> {
    return this.#byPath.values();
  }

  /** Reserves a path for a publisher (at ANNOUNCE, with its address) or a source (without). */
  claim(path: string, sessionId: string, peer?: string, edge = false): Promise<DirectoryAnswer> {
    return this.#request((id) =>
      edge ? { type: "claim", id, path, sessionId, peer, edge } : { type: "claim", id, path, sessionId, peer }
    );
  }

  /** Frees a claimed path (the publisher left, published or not). */
  release(path: string, sessionId: string): void {
    this.#post({ type: "release", path, sessionId });
  }

  /** Publishes a stream; main.ts makes its first ring and resolves once every worker knows it. */
  publish(path: string, sessionId: string, sdp: string, tracks: number): Promise<DirectoryAnswer> {
    return this.#request((id) => ({ type: "publish", id, path, sessionId, sdp, tracks }));
  }

  /** RingSupply: a ring of class c for the stream, once every worker has it (null: refused). */
  request(streamId: number, c: RingClass): Promise<SharedArrayBuffer | null> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#ringRequests.set(id, resolve);
      this.#post({ type: "ringRequest", id, streamId, dataBytes: c.dataBytes });
    });
  }

  /** RingSupply: the stream's writer (on this worker) moved to ring `ringId`. */
  moved(streamId: number, ringId: number): void {
    this.#post({ type: "ringMoved", streamId, ringId });
  }

  /** RingSupply: a ring granted that the writer will not use. */
  discard(ringId: number): void {
    this.#post({ type: "ringDiscard", ringId });
  }

  /** A ring of a stream is retired here and no reader of this worker is on it. */
  #ringFree(ringId: number): void {
    this.#post({ type: "ringReleased", ringId });
  }

  /** Handles a message from main.ts. */
  handle(msg: MainToWorker): void {
    switch (msg.type) {
      case "claimResult":
      case "publishResult": {
        const resolve = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        resolve?.({
          ok: msg.ok,
          reason: msg.reason,
          limit: msg.type === "claimResult" ? msg.limit : undefined,
          unavailable: msg.type === "claimResult" ? msg.unavailable : undefined,
          streamId: msg.type === "publishResult" ? msg.streamId : undefined,
          ring: msg.type === "publishResult" ? msg.ring : undefined,
          continued: msg.type === "publishResult" ? msg.continued : undefined,
        });
        return;
      }
      case "ringAdded": {
        const s = this.#byId.get(msg.streamId);
        const id = s !== undefined ? s.addRing(msg.sab) : new SharedRing(msg.sab).id;
        this.#post({ type: "ringAck", ringId: id });
        if (s === undefined) this.#ringFree(id);
        return;
      }
      case "ringGrant": {
        const resolve = this.#ringRequests.get(msg.id);
        this.#ringRequests.delete(msg.id);
        resolve?.(msg.ok && msg.sab !== undefined ? msg.sab : null);
        return;
      }
      case "ringRetired": {
        this.#byId.get(msg.streamId)?.retireRing(msg.ringId);
        return;
      }
      case "streamAdded": {
        try {
          const s = new LocalStream(
            msg.stream,
            this.#mergeWindow,
            this.#afterSlice,
            (n) => this.#readers(s, n),
            (ringId) => this.#ringFree(ringId),
          );
          this.#byPath.get(s.path)?.end();
          this.#byPath.set(s.path, s);
          this.#byId.set(s.streamId, s);
          for (const w of [...this.#waiting.get(s.path) ?? []]) w(s);
        } catch (e) {
          this.#log.error(`[path ${msg.stream.path}] cannot open stream ${msg.stream.streamId}: ${e}`);
          this.#ringFree(new SharedRing(msg.stream.sab).id);
        }
        this.#post({ type: "streamAck", streamId: msg.stream.streamId });
        return;
      }
      case "demandResult": {
        const refusal: DemandRefusal = { status: msg.status, reason: msg.reason };
        for (const w of [...this.#waiting.get(msg.path) ?? []]) w(refusal);
        return;
      }
      case "streamRemoved": {
        const s = this.#byId.get(msg.streamId);
        if (!s) return;
        this.#byId.delete(msg.streamId);
        if (this.#byPath.get(s.path) === s) this.#byPath.delete(s.path);
        s.end();
        return;
      }
      default:
        return;
    }
  }

  #request(make: (id: number) => WorkerToMain): Promise<DirectoryAnswer> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#post(make(id));
    });
  }
}

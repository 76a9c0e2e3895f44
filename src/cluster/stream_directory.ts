import { addressGroup } from "../auth/ip_address.ts";
import type { Logger } from "../log/logger.ts";
import type { MainToWorker, StreamAnnouncement, WorkerToMain } from "./messages.ts";
import { parseSdp } from "../sdp/session_description.ts";
import { RingDirectory, type RingSettings } from "./ring_directory.ts";
import { DEFAULT_CONFIG } from "../config.ts";
import { streamInfoFromSdp } from "../stream/stream_info.ts";
import type { PublishKind } from "../hooks/hook_event.ts";

/** Whether a new publisher's SDP has the same tracks (media, encoding, clock rate, in order). */
export function sameCodecs(a: string, b: string): boolean {
  try {
    const ta = streamInfoFromSdp(parseSdp(a)).tracks;
    const tb = streamInfoFromSdp(parseSdp(b)).tracks;
    return ta.length === tb.length &&
      ta.every((t, i) =>
        t.media === tb[i].media && t.encoding.toUpperCase() === tb[i].encoding.toUpperCase() &&
        t.clockRate === tb[i].clockRate
      );
  } catch {
    return false;
  }
}

/** How main.ts reaches one worker. */
export interface WorkerPort {
  readonly index: number;
  post(msg: MainToWorker): void;
}

interface Claim {
  /** The publisher's worker and session; -1 and "" while the stream waits for a new publisher. */
  worker: number;
  sessionId: string;
  /** In a cluster: this node owns the path (ownership.acquire succeeded); an edge pull's claim does not. */
  owned: boolean;
  /** An edge pull's claim: it relays another node's stream, so it needs no ownership. */
  edge: boolean;
  /** The publisher's address (undefined: a configured source). */
  peer?: string;
  stream?: StreamAnnouncement;
  /** Set while `stream` has no publisher: when it left, and the end of its grace period. */
  orphan?: { leftAtMs: number; timer: ReturnType<typeof setTimeout> };
  /**
   * Claims that came while the holder's ownership was being asked of the cluster: answered when it
   * is known (an edge pull retrying while a publisher that will be refused holds the path).
   */
  waiting?: (() => void)[];
}

/**
 * Cluster ownership of paths (cluster_node.ts): a publisher or a pulled source may claim a path only
 * once this node owns it in the cluster; the path is given up when its claim ends.
 */
export interface PathOwnership {
  acquire(path: string): Promise<{ ok: true } | { ok: false; reason: string; unavailable: boolean }>;
  release(path: string): void;
  /** This node owns the path now: an edge pull of it stops (a local publisher or source took over). */
  owned?(path: string): void;
}

/** The stream bounds of the `limits` config section (0: no bound). */
export interface StreamLimits {
  readonly maxStreams: number;
  readonly maxStreamsPerAddress: number;
}

interface PendingPublish {
  worker: number;
  id: number;
  awaiting: Set<number>;
  stream: StreamAnnouncement;
}

/** Who feeds a stream, as hooks tell it: the publisher's address (null for a pull) and its kind. */
export interface StreamOrigin {
  readonly peer: string | null;
  readonly kind: PublishKind;
}

/** What main.ts does as streams come and go (hooks, runOnReady). */
export interface StreamObserver {
  /** A new stream, told before any worker hears of it: whatever a worker says of it comes after. */
  published(s: StreamAnnouncement, by: StreamOrigin): void;
  /** The stream is readable on every worker (its publisher's RECORD is answered now). */
  ready(s: StreamAnnouncement): void;
  /** A published stream ended (ready or not). */
  removed(s: StreamAnnouncement, reason: string): void;
}

/**
 * The one owner of which path is published by whom (mediamtx's pathManager, as messages).
 * A path is claimed at ANNOUNCE, becomes a stream at RECORD once every worker has acknowledged it
 * (so a DESCRIBE on any worker after the publisher's RECORD reply finds it), and is freed when the
 * publisher leaves or its worker dies.
 */
export class StreamDirectory {
  readonly #workers = new Map<number, WorkerPort>();
  readonly #claims = new Map<string, Claim>();
  readonly #pending = new Map<number, PendingPublish>();
  readonly #log: Logger;
  readonly #graceMs: (path: string) => number;
  readonly #limits: () => StreamLimits;
  #nextStreamId = 1;
  /** When the last refusal by a limit was logged, per address: one line per address and 10 s. */
  readonly #refusedLogged = new Map<string, number>();

  /**
   * graceMs: how long a stream whose publisher left waits for another (asked when one leaves);
   * limits: the stream bounds in force (read at each claim, so a reload applies).
   */
  readonly #ownership: PathOwnership | null;
  readonly #observer: StreamObserver | null;
  /** Every stream ring's memory: first rings, moves, the pool (ring_directory.ts). */
  readonly rings: RingDirectory;

  /**
   * rings: the ring section of the config, and what to do with each ring pooled or dropped
   * (give its pages back: ring/ring_memory.ts).
   */
  constructor(
    log: Logger,
    graceMs: (path: string) => number = () => 0,
    limits: () => StreamLimits = () => ({ maxStreams: 0, maxStreamsPerAddress: 0 }),
    ownership: PathOwnership | null = null,
    observer: StreamObserver | null = null,
    rings: { settings: RingSettings; onIdle?: (sab: SharedArrayBuffer) => void } = {
      settings: DEFAULT_CONFIG.ring,
    },
  ) {
    this.#log = log;
    this.#graceMs = graceMs;
    this.#limits = limits;
    this.#ownership = ownership;
    this.#observer = observer;
    this.rings = new RingDirectory(
      rings.settings,
      (w, m) => this.#post(w, m),
      () => this.#workers.keys(),
      log,
      rings.onIdle,
    );
  }

  /** Streams currently published. */
  streams(): StreamAnnouncement[] {
    const out: StreamAnnouncement[] = [];
    for (const c of this.#claims.values()) if (c.stream) out.push(c.stream);
    return out;
  }

  /** Adds a worker and tells it of every stream published so far, and of the rings they may move to. */
  addWorker(port: WorkerPort): void {
    this.#workers.set(port.index, port);
    this.rings.addWorker(port.index);
    for (const s of this.streams()) {
      s.sab = this.rings.current(s.streamId) ?? s.sab;
      port.post({ type: "streamAdded", stream: s });
      for (const sab of this.rings.pendingFor(s.streamId)) {
        port.post({ type: "ringAdded", streamId: s.streamId, sab });
      }
    }
  }

  /** Forgets a worker (it exited); what it published waits for a new publisher like any other. */
  removeWorker(index: number): void {
    this.#workers.delete(index);
    for (const p of this.#pending.values()) {
      p.awaiting.delete(index);
      this.#maybeFinish(p);
    }
    for (const [path, c] of this.#claims) {
      if (c.worker === index) this.#publisherLeft(path, c, `worker ${index} ended`);
    }
    this.rings.removeWorker(index);
  }

  /** Stops every grace period (server shutdown). */
  close(): void {
    for (const c of this.#claims.values()) if (c.orphan) clearTimeout(c.orphan.timer);
  }

  /** Handles one message from worker `from`. */
  handle(from: number, msg: WorkerToMain): void {
    switch (msg.type) {
      case "claim":
        return this.#claim(from, msg.id, msg.path, msg.sessionId, msg.peer, msg.edge === true);
      case "release":
        return this.#release(from, msg.path, msg.sessionId);
      case "publish":
        return this.#publish(from, msg);
      case "unpublish":
        return this.#unpublish(msg.streamId);
      case "streamAck":
        return this.#ack(from, msg.streamId);
      case "ringRequest":
        return this.rings.request(from, msg.id, msg.streamId, msg.dataBytes);
      case "ringAck":
        return this.rings.ack(from, msg.ringId);
      case "ringMoved":
        return this.rings.moved(msg.streamId, msg.ringId);
      case "ringDiscard":
        return this.rings.discard(msg.ringId);
      case "ringReleased":
        return this.rings.released(from, msg.ringId);
      default:
        return;
    }
  }

  #post(worker: number, msg: MainToWorker): void {
    this.#workers.get(worker)?.post(msg);
  }

  #claim(
    from: number,
    id: number,
    path: string,
    sessionId: string,
    peer: string | undefined,
    edge: boolean,
  ): void {
    const c = this.#claims.get(path);
    const refused = peer === undefined ? null : this.#overLimit(path, peer, c === undefined);
    if (refused !== null && !(c && c.worker === from && c.sessionId === sessionId)) {
      this.#post(from, { type: "claimResult", id, ok: false, reason: refused, limit: true });
      return;
    }
    if (c && c.worker === -1) {
      // A stream waiting for its publisher: the new one may continue it (decided at RECORD).
      c.worker = from;
      c.sessionId = sessionId;
      c.peer = peer;
      c.edge = edge;
      this.#grant(from, id, path, c);
      return;
    }
    if (c && c.waiting !== undefined && !(c.worker === from && c.sessionId === sessionId)) {
      // The holder waits for the cluster: decide this claim once its answer is in.
      c.waiting.push(() => this.#claim(from, id, path, sessionId, peer, edge));
      return;
    }
    if (c && !(c.worker === from && c.sessionId === sessionId)) {
      this.#post(from, {
        type: "claimResult",
        id,
        ok: false,
        reason: c.edge
          ? `path '${path}' is published on another node of the cluster`
          : `path '${path}' already has a publisher`,
      });
      return;
    }
    if (c) return this.#post(from, { type: "claimResult", id, ok: true });
    const fresh: Claim = { worker: from, sessionId, peer, owned: false, edge };
    this.#claims.set(path, fresh);
    this.#grant(from, id, path, fresh);
  }

  /**
   * Answers a claim held by its session now: at once on a single node or for an edge pull; in a
   * cluster once this node owns the path, else refused and the claim undone (a stream waiting for
   * its publisher waits on).
   */
  #grant(from: number, id: number, path: string, c: Claim): void {
    const own = this.#ownership;
    if (own === null || c.edge || c.owned) {
      this.#post(from, { type: "claimResult", id, ok: true });
      return;
    }
    const sessionId = c.sessionId;
    const held = () => this.#claims.get(path) === c && c.worker === from && c.sessionId === sessionId;
    c.waiting ??= [];
    own.acquire(path).then((r) => {
      this.#answerOwnership(from, id, path, c, r, held());
      const next = c.waiting ?? [];
      c.waiting = undefined;
      for (const claim of next) claim();
    });
  }

  /** The cluster's answer to the claim `c` of worker `from` (held: by the same session still). */
  #answerOwnership(
    from: number,
    id: number,
    path: string,
    c: Claim,
    r: { ok: true } | { ok: false; reason: string; unavailable: boolean },
    held: boolean,
  ): void {
    const own = this.#ownership!;
    if (r.ok && held) {
      c.owned = true;
      own.owned?.(path);
      this.#post(from, { type: "claimResult", id, ok: true });
      return;
    }
    if (r.ok) {
      // The claimant left while the cluster was asked: nothing of it is left to own.
      if (this.#claims.get(path) !== c) own.release(path);
      else c.owned = true;
      this.#post(from, { type: "claimResult", id, ok: false, reason: "the claim ended" });
      return;
    }
    if (held) {
      if (c.stream !== undefined) {
        c.worker = -1;
        c.sessionId = "";
        c.peer = undefined;
      } else this.#claims.delete(path);
    }
    this.#post(from, { type: "claimResult", id, ok: false, reason: r.reason, unavailable: r.unavailable });
  }

  /**
   * Why a publisher from `peer` may not claim `path` (null: it may): limits.maxStreams counts every
   * path claimed or published, sources included (a new path only: a stream waiting for its
   * publisher is no new stream); maxStreamsPerAddress counts the paths `peer`'s address group
   * publishes (addressGroup: the IPv4 address, or the IPv6 /64, as the other per-address limits).
   */
  #overLimit(path: string, peer: string, newPath: boolean): string | null {
    const { maxStreams, maxStreamsPerAddress } = this.#limits();
    const group = addressGroup(peer);
    let why: string | null = null;
    if (newPath && maxStreams > 0 && this.#claims.size >= maxStreams) {
      why = `limits.maxStreams (${maxStreams}) reached`;
    } else if (maxStreamsPerAddress > 0) {
      let n = 0;
      for (const [p, c] of this.#claims) {
        if (p !== path && c.peer !== undefined && (c.peer === peer || addressGroup(c.peer) === group)) n++;
      }
      if (n >= maxStreamsPerAddress) {
        why = `limits.maxStreamsPerAddress (${maxStreamsPerAddress}) reached by ${group}`;
      }
    }
    if (why !== null) {
      const now = performance.now();
      for (const [k, at] of this.#refusedLogged) if (now - at > 10_000) this.#refusedLogged.delete(k);
      if (!this.#refusedLogged.has(group)) {
        this.#refusedLogged.set(group, now);
        this.#log.warn(`stream refused to ${peer} for path '${path}': ${why}`);
      }
    }
    return why;
  }

  #release(from: number, path: string, sessionId: string): void {
    const c = this.#claims.get(path);
    if (!c || c.worker !== from || c.sessionId !== sessionId) return;
    this.#publisherLeft(path, c, "publisher left");
  }

  /**
   * The claim's publisher is gone. A stream being served waits ingest.reconnectGraceMs for a new
   * publisher, its viewers kept; without a stream (or a grace period) the path is freed at once.
   */
  #publisherLeft(path: string, c: Claim, why: string): void {
    const grace = this.#graceMs(path);
    if (!c.stream || grace <= 0 || c.orphan) {
      // c.orphan: a new publisher claimed the waiting stream and left before RECORD; the wait goes on.
      if (c.orphan && c.stream) {
        c.worker = -1;
        c.sessionId = "";
        return;
      }
      this.#forget(path, c);
      if (c.stream) this.#broadcastRemoved(c.stream, why);
      return;
    }
    const stream = c.stream;
    c.worker = -1;
    c.sessionId = "";
    c.orphan = {
      leftAtMs: Date.now(),
      timer: setTimeout(() => this.#graceEnded(path, c), grace),
    };
    this.#log.info(`[path ${path}] ${why}; stream ${stream.streamId} waits ${grace} ms for a new publisher`);
  }

  #graceEnded(path: string, c: Claim): void {
    if (this.#claims.get(path) !== c || !c.orphan || !c.stream) return;
    this.#log.info(`[path ${path}] no publisher came back within the grace period`);
    c.orphan = undefined;
    const stream = c.stream;
    c.stream = undefined;
    // A publisher that claimed the path but has not reached RECORD publishes afresh.
    if (c.worker === -1) this.#forget(path, c);
    this.#broadcastRemoved(stream, "no publisher came back within the grace period");
  }

  #publish(from: number, msg: Extract<WorkerToMain, { type: "publish" }>): void {
    const c = this.#claims.get(msg.path);
    if (!c || c.worker !== from || c.sessionId !== msg.sessionId) {
      this.#post(from, {
        type: "publishResult",
        id: msg.id,
        ok: false,
        streamId: 0,
        reason: `path '${msg.path}' is not claimed by this session`,
      });
      return;
    }
    if (c.orphan && c.stream) {
      const old = c.stream;
      const { leftAtMs, timer } = c.orphan;
      clearTimeout(timer);
      c.orphan = undefined;
      if (sameCodecs(old.sdp, msg.sdp)) {
        old.worker = from;
        old.sessionId = msg.sessionId;
        old.sab = this.rings.current(old.streamId) ?? old.sab;
        this.#log.info(
          `[path ${msg.path}] stream ${old.streamId} continues with a new publisher on worker ${from}, ` +
            `${Date.now() - leftAtMs} ms after the last one left`,
        );
        this.#post(from, {
          type: "publishResult",
          id: msg.id,
          ok: true,
          streamId: old.streamId,
          continued: { sab: old.sab, leftAtMs },
        });
        return;
      }
      this.#log.info(`[path ${msg.path}] the new publisher's codecs differ: stream ${old.streamId} ends`);
      c.stream = undefined;
      this.#broadcastRemoved(old, "a new publisher's codecs differ");
    }
    const streamId = this.#nextStreamId++;
    const stream: StreamAnnouncement = {
      streamId,
      path: msg.path,
      sdp: msg.sdp,
      sab: this.rings.first(streamId, msg.tracks),
      worker: from,
      sessionId: msg.sessionId,
    };
    c.stream = stream;
    const by: StreamOrigin = {
      peer: c.peer ?? null,
      kind: c.edge ? "edge" : c.peer === undefined ? "source" : "publisher",
    };
    const p: PendingPublish = { worker: from, id: msg.id, awaiting: new Set(this.#workers.keys()), stream };
    this.#observer?.published(stream, by);
    this.#pending.set(stream.streamId, p);
    this.#log.info(`[path ${msg.path}] stream ${stream.streamId} published by worker ${from}`);
    for (const w of this.#workers.values()) w.post({ type: "streamAdded", stream });
    this.#maybeFinish(p);
  }

  #ack(from: number, streamId: number): void {
    const p = this.#pending.get(streamId);
    if (!p) return;
    p.awaiting.delete(from);
    this.#maybeFinish(p);
  }

  #maybeFinish(p: PendingPublish): void {
    if (p.awaiting.size > 0) return;
    this.#pending.delete(p.stream.streamId);
    this.#post(p.worker, {
      type: "publishResult",
      id: p.id,
      ok: true,
      streamId: p.stream.streamId,
      ring: p.stream.sab,
    });
    this.#observer?.ready(p.stream);
  }

  #unpublish(streamId: number): void {
    for (const [path, c] of this.#claims) {
      if (c.stream?.streamId !== streamId) continue;
      if (c.orphan) clearTimeout(c.orphan.timer);
      this.#forget(path, c);
      this.#broadcastRemoved(c.stream, "unpublished");
      return;
    }
  }

  /** The path's claim ends: in a cluster, this node gives the path up. */
  #forget(path: string, c: Claim): void {
    if (this.#claims.get(path) === c) this.#claims.delete(path);
    if (c.owned) {
      c.owned = false;
      this.#ownership?.release(path);
    }
  }

  #broadcastRemoved(s: StreamAnnouncement, why: string): void {
    // Readers that look at the rings themselves (not the message) see the end too.
    this.rings.streamEnded(s.streamId);
    this.#pending.delete(s.streamId);
    this.#log.info(`[path ${s.path}] stream ${s.streamId} removed`);
    for (const w of this.#workers.values()) {
      w.post({ type: "streamRemoved", streamId: s.streamId, path: s.path });
    }
    this.#observer?.removed(s, why);
  }
}

/**
 * main.ts's rings: the one owner of every stream ring's memory (docs/ring.md, "Sizes and moves",
 * "Ended rings and the pool"). It hands a new stream its first ring (the smallest class), a writer
 * that outgrows its ring (or leaves most of it unused) another one, and takes rings back once no
 * worker reads them, into a bounded pool for the next streams.
 *
 * Who holds a ring is known per worker: every worker is told of a ring (streamAdded, ringAdded)
 * and answers ringReleased once it has retired it and none of its readers is on it (its
 * LocalStream keeps the count). A ring is retired when its stream moved off it (ringMoved, or its
 * MOVED_TO word), when it ended, or when a ring granted was not used (ringDiscard). A retired ring
 * every worker has released goes to the pool (or, the pool full, to the garbage collector); a
 * worker that exits releases everything at once.
 *
 * A ring for a move is granted only after every worker has acknowledged it (ringAck): a reader that
 * reaches a ring's MOVED_TO always finds the next ring in its worker.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { HDR, RING_HEADER_WORDS, STATE_ENDED } from "../ring/ring_layout.ts";
import { type RingClass, RingClasses } from "../ring/ring_classes.ts";
import { RingPool } from "../ring/ring_pool.ts";
import { SharedRing } from "../ring/shared_ring.ts";
import type { RingDirectoryReport, RingStreamReport } from "../stats/reports.ts";
import type { MainToWorker } from "./messages.ts";

/** The ring section of the config. */
export interface RingSettings {
  readonly bytes: number;
  readonly slots: number;
  readonly minBytes: number;
  readonly poolBytes: number;
}

type RingState = "current" | "pending" | "retired";

interface RingRecord {
  readonly id: number;
  readonly sab: SharedArrayBuffer;
  readonly ringClass: RingClass;
  readonly streamId: number;
  state: RingState;
  /** Workers told of the ring that have not released it. */
  readonly holders: Set<number>;
}

interface StreamRings {
  readonly trackCount: number;
  current: RingRecord;
  /** Every ring of the stream main.ts still has (current, pending, retired but held). */
  readonly rings: Set<RingRecord>;
  moves: number;
  ended: boolean;
}

interface Grant {
  /** The requester and its request's id (ids are per worker). */
  readonly worker: number;
  readonly id: number;
  readonly ring: RingRecord;
  /** Workers that have not acknowledged ringAdded yet. */
  readonly awaiting: Set<number>;
}

export class RingDirectory {
  readonly classes: RingClasses;
  readonly pool: RingPool;
  readonly #records = new Map<number, RingRecord>();
  readonly #streams = new Map<number, StreamRings>();
  /** Grants waiting for acknowledgements, by ring id (request ids are only unique per worker). */
  readonly #grants = new Map<number, Grant>();
  readonly #post: (worker: number, msg: MainToWorker) => void;
  readonly #workers: () => Iterable<number>;
  readonly #log: Logger;
  #nextId = 1;
  /** Rings made (allocated anew) and moves made, since start. */
  allocated = 0;
  moves = 0;

  /**
   * post: to one worker; workers: those that are told of streams now (the stream directory's);
   * onIdle: each buffer that is pooled or dropped (its pages are given back: ring_memory.ts).
   */
  constructor(
    settings: RingSettings,
    post: (worker: number, msg: MainToWorker) => void,
    workers: () => Iterable<number>,
    log: Logger,
    onIdle: (sab: SharedArrayBuffer) => void = () => {},
  ) {
    this.classes = new RingClasses(settings.minBytes, settings.bytes, settings.slots);
    this.pool = new RingPool(() => settings.poolBytes, onIdle);
    this.#post = post;
    this.#workers = workers;
    this.#log = log;
  }

  /** The first ring of a new stream (the smallest class), told to no one yet: its announcement does. */
  first(streamId: number, trackCount: number): SharedArrayBuffer {
    const rec = this.#make(streamId, this.classes.smallest, trackCount, "current");
    for (const w of this.#workers()) rec.holders.add(w);
    this.#streams.set(streamId, { trackCount, current: rec, rings: new Set([rec]), moves: 0, ended: false });
    return rec.sab;
  }

  /** The stream's current ring, following MOVED_TO words main.ts has not heard of by message yet. */
  current(streamId: number): SharedArrayBuffer | undefined {
    const s = this.#streams.get(streamId);
    if (s === undefined) return undefined;
    this.#follow(s);
    return s.current.sab;
  }

  /** A worker starts (or starts again): it is told of the streams' current and pending rings. */
  addWorker(worker: number): void {
    for (const s of this.#streams.values()) {
      if (s.ended) continue;
      this.#follow(s);
      for (const r of s.rings) if (r.state !== "retired") r.holders.add(worker);
    }
  }

  /** ringAdded for the pending rings of each stream, after the worker's streamAdded. */
  pendingFor(streamId: number): SharedArrayBuffer[] {
    const s = this.#streams.get(streamId);
    if (s === undefined) return [];
    return [...s.rings].filter((r) => r.state === "pending").map((r) => r.sab);
  }

  /** A worker is gone: it holds nothing any more, and acknowledges nothing. */
  removeWorker(worker: number): void {
    for (const r of [...this.#records.values()]) {
      r.holders.delete(worker);
      this.#maybeFree(r);
    }
    for (const g of [...this.#grants.values()]) {
      if (g.worker === worker) {
        this.#grants.delete(g.ring.id);
        this.#discard(g.ring);
        continue;
      }
      g.awaiting.delete(worker);
      this.#maybeGrant(g);
    }
  }

  /** ringRequest: a ring of `dataBytes` for the stream, granted once every worker has it. */
  request(from: number, id: number, streamId: number, dataBytes: number): void {
    const s = this.#streams.get(streamId);
    const c = this.classes.of(dataBytes);
    if (s === undefined || s.ended || c === undefined || c.dataBytes === s.current.ringClass.dataBytes) {
      this.#post(from, { type: "ringGrant", id, ok: false });
      return;
    }
    const rec = this.#make(streamId, c, s.trackCount, "pending");
    s.rings.add(rec);
    const g: Grant = { worker: from, id, ring: rec, awaiting: new Set() };
    this.#grants.set(rec.id, g);
    for (const w of this.#workers()) {
      rec.holders.add(w);
      g.awaiting.add(w);
      this.#post(w, { type: "ringAdded", streamId, sab: rec.sab });
    }
    this.#maybeGrant(g);
  }

  /** ringAck: worker `from` has ring `ringId`. */
  ack(from: number, ringId: number): void {
    const g = this.#grants.get(ringId);
    if (g === undefined) return;
    g.awaiting.delete(from);
    this.#maybeGrant(g);
  }

  /** ringMoved: the stream's writer moved to ring `ringId`. */
  moved(streamId: number, ringId: number): void {
    const s = this.#streams.get(streamId);
    const to = this.#records.get(ringId);
    if (s === undefined || to === undefined || to.streamId !== streamId || to === s.current) return;
    this.#follow(s);
  }

  /** ringDiscard: a ring granted that its writer will not use. */
  discard(ringId: number): void {
    const r = this.#records.get(ringId);
    if (r !== undefined && r.state === "pending") this.#discard(r);
  }

  /** ringReleased: worker `from` no longer has ring `ringId` (retired there, no reader on it). */
  released(from: number, ringId: number): void {
    const r = this.#records.get(ringId);
    if (r === undefined) return;
    r.holders.delete(from);
    this.#maybeFree(r);
  }

  /** The stream ended: every ring of it is marked ended (readers see it) and retired. */
  streamEnded(streamId: number): void {
    const s = this.#streams.get(streamId);
    if (s === undefined || s.ended) return;
    s.ended = true;
    for (const r of s.rings) {
      const header = new Int32Array(r.sab, 0, RING_HEADER_WORDS);
      Atomics.store(header, HDR.STATE, STATE_ENDED);
      Atomics.notify(header, HDR.HEAD);
    }
    for (const r of [...s.rings]) {
      r.state = "retired";
      this.#maybeFree(r);
    }
  }

  /** Every ring's memory as main.ts sees it (/metrics, /v1/rings). */
  report(): RingDirectoryReport {
    let liveRings = 0, liveBytes = 0, retiredRings = 0, retiredBytes = 0;
    for (const r of this.#records.values()) {
      if (r.state === "retired") {
        retiredRings++;
        retiredBytes += r.sab.byteLength;
      } else {
        liveRings++;
        liveBytes += r.sab.byteLength;
      }
    }
    const p = this.pool;
    return {
      liveRings,
      liveBytes,
      retiredRings,
      retiredBytes,
      poolRings: p.rings,
      poolBytes: p.bytes,
      allocated: this.allocated,
      reused: p.counters.reused,
      pooled: p.counters.pooled,
      dropped: p.counters.dropped,
      moves: this.moves,
      classes: this.classes.all.map((c) => c.dataBytes),
      pool: p.classes(),
    };
  }

  /** One stream's ring as the API lists it. */
  streamReport(streamId: number): RingStreamReport | null {
    const s = this.#streams.get(streamId);
    if (s === undefined) return null;
    this.#follow(s);
    const c = s.current.ringClass;
    return { bytes: s.current.sab.byteLength, dataBytes: c.dataBytes, slots: c.slotCount, moves: s.moves };
  }

  /** Server shutdown: the pool lets go of its buffers. */
  close(): void {
    this.pool.clear();
  }

  #make(streamId: number, c: RingClass, trackCount: number, state: RingState): RingRecord {
    const id = this.#nextId++;
    const pooled = this.pool.take(c);
    if (pooled === null) this.allocated++;
    const sab = pooled ?? new SharedArrayBuffer(c.byteLength);
    SharedRing.init(sab, { slotCount: c.slotCount, dataBytes: c.dataBytes, trackCount, id });
    const rec: RingRecord = { id, sab, ringClass: c, streamId, state, holders: new Set() };
    this.#records.set(id, rec);
    return rec;
  }

  /** Takes in the moves the current ring's MOVED_TO says were made (ringMoved may come later). */
  #follow(s: StreamRings): void {
    while (!s.ended) {
      const header = new Int32Array(s.current.sab, 0, RING_HEADER_WORDS);
      const next = this.#records.get(Atomics.load(header, HDR.MOVED_TO));
      if (next === undefined || next.streamId !== s.current.streamId || next.state !== "pending") return;
      const old = s.current;
      old.state = "retired";
      next.state = "current";
      s.current = next;
      s.moves++;
      this.moves++;
      for (const w of this.#workers()) {
        this.#post(w, { type: "ringRetired", streamId: old.streamId, ringId: old.id });
      }
      this.#log.debug(
        `stream ${old.streamId}: ring ${old.id} (${old.ringClass.dataBytes} bytes) -> ring ${next.id} (${next.ringClass.dataBytes} bytes)`,
      );
      this.#maybeFree(old);
    }
  }

  #maybeGrant(g: Grant): void {
    if (g.awaiting.size > 0 || this.#grants.get(g.ring.id) !== g) return;
    this.#grants.delete(g.ring.id);
    const s = this.#streams.get(g.ring.streamId);
    if (s === undefined || s.ended || g.ring.state !== "pending") {
      this.#post(g.worker, { type: "ringGrant", id: g.id, ok: false });
      return;
    }
    this.#post(g.worker, { type: "ringGrant", id: g.id, ok: true, sab: g.ring.sab });
  }

  /** A pending ring that will not be used: retired, and each worker told so. */
  #discard(r: RingRecord): void {
    if (r.state !== "pending") return;
    r.state = "retired";
    for (const w of this.#workers()) {
      this.#post(w, { type: "ringRetired", streamId: r.streamId, ringId: r.id });
    }
    this.#maybeFree(r);
  }

  #maybeFree(r: RingRecord): void {
    if (r.state !== "retired" || r.holders.size > 0 || this.#records.get(r.id) !== r) return;
    this.#records.delete(r.id);
    const s = this.#streams.get(r.streamId);
    if (s !== undefined) {
      s.rings.delete(r);
      if (s.rings.size === 0) this.#streams.delete(r.streamId);
    }
    this.pool.put(r.sab, r.ringClass);
  }
}

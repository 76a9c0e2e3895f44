import type { Logger } from "../log/logger.ts";
import type { MainToWorker, StreamAnnouncement, WorkerToMain } from "./messages.ts";

/** How main.ts reaches one worker. */
export interface WorkerPort {
  readonly index: number;
  post(msg: MainToWorker): void;
}

interface Claim {
  worker: number;
  sessionId: string;
  stream?: StreamAnnouncement;
}

interface PendingPublish {
  worker: number;
  id: number;
  awaiting: Set<number>;
  stream: StreamAnnouncement;
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
  #nextStreamId = 1;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Streams currently published. */
  streams(): StreamAnnouncement[] {
    const out: StreamAnnouncement[] = [];
    for (const c of this.#claims.values()) if (c.stream) out.push(c.stream);
    return out;
  }

  /** Adds a worker and tells it of every stream published so far. */
  addWorker(port: WorkerPort): void {
    this.#workers.set(port.index, port);
    for (const s of this.streams()) port.post({ type: "streamAdded", stream: s });
  }

  /** Forgets a worker (it exited) and frees everything it published. */
  removeWorker(index: number): void {
    this.#workers.delete(index);
    for (const p of this.#pending.values()) {
      p.awaiting.delete(index);
      this.#maybeFinish(p);
    }
    for (const [path, c] of this.#claims) {
      if (c.worker !== index) continue;
      this.#claims.delete(path);
      if (c.stream) this.#broadcastRemoved(c.stream);
    }
  }

  /** Handles one message from worker `from`. */
  handle(from: number, msg: WorkerToMain): void {
    switch (msg.type) {
      case "claim":
        return this.#claim(from, msg.id, msg.path, msg.sessionId);
      case "release":
        return this.#release(from, msg.path, msg.sessionId);
      case "publish":
        return this.#publish(from, msg);
      case "unpublish":
        return this.#unpublish(msg.streamId);
      case "streamAck":
        return this.#ack(from, msg.streamId);
      default:
        return;
    }
  }

  #post(worker: number, msg: MainToWorker): void {
    this.#workers.get(worker)?.post(msg);
  }

  #claim(from: number, id: number, path: string, sessionId: string): void {
    const c = this.#claims.get(path);
    if (c && !(c.worker === from && c.sessionId === sessionId)) {
      this.#post(from, {
        type: "claimResult",
        id,
        ok: false,
        reason: `path '${path}' already has a publisher`,
      });
      return;
    }
    if (!c) this.#claims.set(path, { worker: from, sessionId });
    this.#post(from, { type: "claimResult", id, ok: true });
  }

  #release(from: number, path: string, sessionId: string): void {
    const c = this.#claims.get(path);
    if (!c || c.worker !== from || c.sessionId !== sessionId) return;
    this.#claims.delete(path);
    if (c.stream) this.#broadcastRemoved(c.stream);
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
    const stream: StreamAnnouncement = {
      streamId: this.#nextStreamId++,
      path: msg.path,
      sdp: msg.sdp,
      sab: msg.sab,
      worker: from,
      sessionId: msg.sessionId,
    };
    c.stream = stream;
    const p: PendingPublish = { worker: from, id: msg.id, awaiting: new Set(this.#workers.keys()), stream };
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
    this.#post(p.worker, { type: "publishResult", id: p.id, ok: true, streamId: p.stream.streamId });
  }

  #unpublish(streamId: number): void {
    for (const [path, c] of this.#claims) {
      if (c.stream?.streamId !== streamId) continue;
      this.#claims.delete(path);
      this.#broadcastRemoved(c.stream);
      return;
    }
  }

  #broadcastRemoved(s: StreamAnnouncement): void {
    this.#pending.delete(s.streamId);
    this.#log.info(`[path ${s.path}] stream ${s.streamId} removed`);
    for (const w of this.#workers.values()) {
      w.post({ type: "streamRemoved", streamId: s.streamId, path: s.path });
    }
  }
}

/**
 * One recorded stream's files: the init segment, then each fragment as it is made, appended to a
 * file named by `recordPath` (record_path.ts). A new file starts at the first independent fragment
 * once the file is `recordSegmentDurationMs` long, and when the tracks change (a new init). Each
 * fragment is one whole moof + mdat appended by one write, so a file in progress plays up to its
 * last fragment; each file's times start at 0 (its fragments' decode times moved back by the
 * file's start); a file is finished (closed) at a rotation, when the stream ends and on shutdown.
 *
 * Writing never holds up the caller (the media worker's muxing): writes are queued in order, and
 * past `maxQueuedBytes` fragments are dropped until the next independent one (counted). A failing
 * directory or disk is one log line per file attempt and a counter; the next file is tried
 * `retryMs` later, at an independent fragment. Nothing a viewer receives depends on it.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { RecordConfig } from "../paths/path_config.ts";
import { recordFileName } from "./record_path.ts";
import { parseInitSegment } from "../fmp4/init_segment.ts";
import { shiftDecodeTimes } from "../fmp4/decode_time_shift.ts";

/** The file operations a recorder uses (Deno's, or a test's). */
export interface RecordFs {
  mkdir(dir: string): Promise<void>;
  open(file: string): Promise<RecordFile>;
}

/** An open recording file. */
export interface RecordFile {
  /** Writes all of `bytes` (or throws). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Deno's file system: directories made as needed, files created (never overwritten: `createNew`). */
export const DENO_RECORD_FS: RecordFs = {
  mkdir: (dir) => Deno.mkdir(dir, { recursive: true }),
  async open(file) {
    const f = await Deno.open(file, { write: true, createNew: true });
    return {
      async write(bytes) {
        for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
      },
      close: () => Promise.resolve(f.close()),
    };
  },
};

/** What a recorder did, cumulative. */
export interface RecorderCounters {
  files: number;
  fragments: number;
  bytes: number;
  /** Fragments not written: the queue was full (a slow disk) or no file could be opened. */
  fragmentsDropped: number;
  /** Failures to make a directory, open, write or close a file. */
  errors: number;
}

export interface RecorderOptions {
  /** The stream's path (for the file name and the log). */
  path: string;
  config: RecordConfig;
  log: Logger;
  fs?: RecordFs;
  /** Bytes of fragments waiting for the disk before new ones are dropped. */
  maxQueuedBytes?: number;
  /** After a failure, how long until a new file is tried. */
  retryMs?: number;
  /** Wall clock (ms), for retries. */
  now?: () => number;
}

/** A file of the recording: set once opened; broken after a failure (its later writes are dropped). */
interface FileSlot {
  file: RecordFile | null;
  broken: boolean;
}

const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;
const DEFAULT_RETRY_MS = 10_000;

export class Recorder {
  readonly counters: RecorderCounters = { files: 0, fragments: 0, bytes: 0, fragmentsDropped: 0, errors: 0 };
  readonly #o: Required<RecorderOptions>;
  #init: Uint8Array | null = null;
  /** Track timescales of the init, by track_ID. */
  #timescales = new Map<number, number>();
  /** What each track's decode times lose in the current file (its start, in the track's ticks). */
  #shift = new Map<number, number>();
  /** The current file (opening is queued like the writes), or null between files. */
  #file: FileSlot | null = null;
  #fileName = "";
  /** Stream time (s) where the current file starts. */
  #fileStart = 0;
  /** The write queue's tail, and the bytes in it. */
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  /** Skipping to the next independent fragment (queue full, or a failed file). */
  #skipping = false;
  #retryAt = 0;
  #closed = false;

  constructor(o: RecorderOptions) {
    this.#o = {
      fs: DENO_RECORD_FS,
      maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
      retryMs: DEFAULT_RETRY_MS,
      now: Date.now,
      ...o,
    };
  }

  /** The name of the file being written, "" between files. */
  get fileName(): string {
    return this.#file === null ? "" : this.#fileName;
  }

  /** A new init segment (the first, or the tracks changed): the next fragment starts a new file. */
  setInit(init: Uint8Array): void {
    this.#init = init;
    try {
      this.#timescales = new Map(parseInitSegment(init).tracks.map((t) => [t.id, t.timescale]));
    } catch {
      this.#timescales = new Map(); // not an init the muxer made (tests): times kept as they are
    }
    this.#finishFile();
  }

  /**
   * One fragment (moof + mdat, changed in place: its decode times move to the file's): `start` on
   * the stream's timeline (s), `unixMs` the wall-clock time of its start (for the file name).
   */
  fragment(bytes: Uint8Array, start: number, independent: boolean, unixMs: number): void {
    if (this.#closed || this.#init === null) return;
    if (this.#skipping) {
      if (!independent || this.#o.now() < this.#retryAt) {
        this.counters.fragmentsDropped++;
        return;
      }
      this.#skipping = false;
    }
    if (
      this.#file !== null && independent && start - this.#fileStart >= this.#o.config.segmentDurationMs / 1000
    ) {
      this.#finishFile();
    }
    if (this.#file === null) {
      if (!independent) {
        // A file must start at a keyframe.
        this.counters.fragmentsDropped++;
        return;
      }
      this.#openFile(start, unixMs);
    }
    if (this.#queued + bytes.length > this.#o.maxQueuedBytes) {
      this.counters.fragmentsDropped++;
      this.#skipping = true;
      this.#o.log.warn(
        `[path ${this.#o.path}] recording: the disk is behind by ${this.#queued} bytes; dropping fragments up to the next keyframe`,
      );
      return;
    }
    if (this.#shift.size > 0) shiftDecodeTimes(bytes, this.#shift);
    this.#write(bytes, true);
  }

  /** Ends the recording: the file is finished once its queued writes are done. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#finishFile();
    }
    return this.#queue;
  }

  #openFile(start: number, unixMs: number): void {
    const name = recordFileName(this.#o.config.path, this.#o.path, unixMs);
    this.#fileName = name;
    this.#fileStart = start;
    this.#shift = new Map([...this.#timescales].map(([id, ts]) => [id, Math.round(start * ts)]));
    const fs = this.#o.fs;
    const dir = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ".";
    const slot: FileSlot = { file: null, broken: false };
    this.#file = slot;
    this.#queue = this.#queue.then(async () => {
      try {
        await fs.mkdir(dir);
        slot.file = await fs.open(name);
        this.counters.files++;
        this.#o.log.info(`[path ${this.#o.path}] recording to ${name}`);
      } catch (e) {
        slot.broken = true;
        if (this.#file === slot) this.#file = null;
        this.#failed(`cannot create ${name}`, e);
      }
    });
    this.#write(this.#init!, false);
  }

  #write(bytes: Uint8Array, isFragment: boolean): void {
    const slot = this.#file!;
    this.#queued += bytes.length;
    // Queue order: a file's writes run after its opening and before its closing.
    this.#queue = this.#queue.then(async () => {
      this.#queued -= bytes.length;
      const f = slot.file;
      if (f === null || slot.broken) {
        if (isFragment) this.counters.fragmentsDropped++;
        return;
      }
      try {
        await f.write(bytes);
        this.counters.bytes += bytes.length;
        if (isFragment) this.counters.fragments++;
      } catch (e) {
        slot.broken = true;
        if (this.#file === slot) this.#file = null;
        if (isFragment) this.counters.fragmentsDropped++;
        this.#failed(`cannot write ${this.#fileName}`, e);
        await f.close().catch(() => {});
      }
    });
  }

  #finishFile(): void {
    const slot = this.#file;
    if (slot === null) return;
    this.#file = null;
    const name = this.#fileName;
    this.#queue = this.#queue.then(async () => {
      if (slot.file === null || slot.broken) return;
      try {
        await slot.file.close();
        this.#o.log.debug(`[path ${this.#o.path}] recording finished: ${name}`);
      } catch (e) {
        this.#failed(`cannot finish ${name}`, e);
      }
    });
  }

  #failed(what: string, e: unknown): void {
    this.counters.errors++;
    this.#skipping = true;
    this.#retryAt = this.#o.now() + this.#o.retryMs;
    this.#o.log.error(
      `[path ${this.#o.path}] recording: ${what}: ${
        (e as Error)?.message ?? e
      }; relaying goes on, next file in ${this.#o.retryMs} ms`,
    );
  }
}

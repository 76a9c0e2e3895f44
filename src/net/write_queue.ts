import type { ByteSocket } from "./byte_socket.ts";

/** Where a connection's media bytes come from when no control message is waiting. */
export interface ChunkSource {
  /**
   * The buffer holding the next bytes to send, at [chunkStart, chunkEnd) (borrowed: must stay
   * intact until chunkWritten), or null.
   */
  nextChunk(): Uint8Array | null;
  readonly chunkStart: number;
  readonly chunkEnd: number;
  /** The chunk from the last nextChunk() has been fully handed to the kernel. */
  chunkWritten(): void;
}

/**
 * Ordered writes for one connection: at most one write in flight, short writes continued, RTSP
 * responses sent between media chunks (never inside one). A chunk borrowed from the source stays
 * borrowed until its write settles: at once when the socket takes it synchronously (FFI), when
 * the promise resolves otherwise (Deno reads the view only when the socket drains).
 */
export class WriteQueue {
  readonly #sock: ByteSocket;
  readonly #control: Uint8Array[] = [];
  readonly #maxControlBytes: number;
  readonly #onError: (e: unknown) => void;
  #controlBytes = 0;
  #source: ChunkSource | null = null;
  #cur: Uint8Array | null = null;
  #curFromSource = false;
  /** What is left of the current chunk: #cur[#off..#end). */
  #off = 0;
  #end = 0;
  #closed = false;
  #drained: (() => void) | null = null;
  #kicking = false;
  /** Bytes handed to the kernel so far. */
  bytesWritten = 0;
  /** Socket writes issued so far. */
  writes = 0;

  readonly #totals: { bytesOut: number };

  /** totals.bytesOut adds up what every queue of a worker wrote (for the metrics). */
  constructor(
    sock: ByteSocket,
    maxControlBytes: number,
    onError: (e: unknown) => void,
    totals: { bytesOut: number } = { bytesOut: 0 },
  ) {
    this.#sock = sock;
    this.#maxControlBytes = maxControlBytes;
    this.#onError = onError;
    this.#totals = totals;
  }

  /** Whether a write is in flight. */
  get busy(): boolean {
    return this.#cur !== null;
  }

  set source(s: ChunkSource | null) {
    this.#source = s;
  }

  /** Queues an RTSP message; returns false (and queues nothing) when the peer does not read them. */
  sendControl(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#controlBytes + bytes.length > this.#maxControlBytes) return false;
    this.#control.push(bytes);
    this.#controlBytes += bytes.length;
    this.kick();
    return true;
  }

  /** Calls fn once every queued message and everything the source still has is written. */
  whenDrained(fn: () => void): void {
    this.#drained = fn;
    this.kick();
  }

  /** Writes until nothing is left or a write must wait. */
  // hot path: no allocation when writes complete at once
  kick(): void {
    // Re-entry (a source callback kicking) is folded into the running loop.
    if (this.#kicking) return;
    this.#kicking = true;
    try {
      while (this.#cur === null && !this.#closed) {
        if (!this.#takeNext()) {
          const fn = this.#drained;
          this.#drained = null;
          fn?.();
          return;
        }
        while (this.#cur !== null && !this.#closed) {
          this.writes++;
          const r = this.#sock.write(this.#cur, this.#off, this.#end);
          if (typeof r !== "number") {
            this.#awaitWrite(r);
            return;
          }
          this.#advance(r);
        }
      }
    } catch (e) {
      this.#onFailed(e);
    } finally {
      this.#kicking = false;
    }
  }

  /** Stops writing; a write in flight is abandoned by closing the socket (the caller does). */
  close(): void {
    this.#closed = true;
    this.#control.length = 0;
  }

  #takeNext(): boolean {
    const ctl = this.#control.shift();
    if (ctl !== undefined) {
      this.#controlBytes -= ctl.length;
      this.#cur = ctl;
      this.#curFromSource = false;
      this.#off = 0;
      this.#end = ctl.length;
    } else {
      const src = this.#source;
      const chunk = src === null ? null : src.nextChunk();
      if (chunk === null) return false;
      this.#cur = chunk;
      this.#curFromSource = true;
      this.#off = src!.chunkStart;
      this.#end = src!.chunkEnd;
    }
    return true;
  }

  /** Accounts n written bytes; finishes the chunk when all of it is out. */
  #advance(n: number): void {
    this.#off += n;
    this.bytesWritten += n;
    this.#totals.bytesOut += n;
    if (this.#off < this.#end) return;
    this.#cur = null;
    if (this.#curFromSource) this.#source?.chunkWritten();
  }

  // Made on the first write that has to wait (rare with FFI sockets): a pair of closures per
  // connection is memory per viewer.
  #asyncCallbacks: [(n: number) => void, (e: unknown) => void] | null = null;

  #awaitWrite(r: Promise<number>): void {
    const cb = this.#asyncCallbacks ??= [(n) => this.#onAsyncWritten(n), (e) => this.#onFailed(e)];
    r.then(cb[0], cb[1]);
  }

  #onAsyncWritten(n: number): void {
    if (this.#cur === null || this.#closed) return;
    this.#advance(n);
    if (this.#cur !== null) {
      // A short async write: continue with the rest.
      this.writes++;
      const r = this.#sock.write(this.#cur, this.#off, this.#end);
      if (typeof r === "number") this.#onAsyncWritten(r);
      else this.#awaitWrite(r);
      return;
    }
    this.kick();
  }

  #onFailed(e: unknown): void {
    if (this.#closed) return;
    this.#cur = null;
    this.#closed = true;
    this.#drained = null;
    this.#onError(e);
  }
}

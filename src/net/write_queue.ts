/** Where a connection's media bytes come from when no control message is waiting. */
export interface ChunkSource {
  /** The next bytes to send (borrowed: must stay intact until chunkWritten), or null. */
  nextChunk(): Uint8Array | null;
  /** The chunk from the last nextChunk() has been fully handed to the kernel. */
  chunkWritten(): void;
}

/**
 * Ordered writes for one connection: at most one write in flight, short writes continued, RTSP
 * responses sent between media chunks (never inside one). Deno reads a written view only when the
 * socket drains, so a chunk from the ring stays borrowed until its write settles; nothing here
 * copies it.
 */
export class WriteQueue {
  readonly #conn: Deno.Conn;
  readonly #control: Uint8Array[] = [];
  readonly #maxControlBytes: number;
  readonly #onError: (e: unknown) => void;
  #controlBytes = 0;
  #source: ChunkSource | null = null;
  #cur: Uint8Array | null = null;
  #curFromSource = false;
  #off = 0;
  #closed = false;
  #drained: (() => void) | null = null;
  /** Bytes handed to the kernel so far. */
  bytesWritten = 0;
  /** Socket writes issued so far. */
  writes = 0;

  constructor(conn: Deno.Conn, maxControlBytes: number, onError: (e: unknown) => void) {
    this.#conn = conn;
    this.#maxControlBytes = maxControlBytes;
    this.#onError = onError;
  }

  /** Whether a write is in flight. */
  get busy(): boolean {
    return this.#cur !== null;
  }

  /** Whether the in-flight write is a chunk borrowed from the source. */
  get sourceChunkInFlight(): boolean {
    return this.#cur !== null && this.#curFromSource;
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

  /** Starts the next write if none is in flight. */
  kick(): void {
    if (this.#cur !== null || this.#closed) return;
    let chunk: Uint8Array | null | undefined = this.#control.shift();
    let fromSource = false;
    if (chunk !== undefined) {
      this.#controlBytes -= chunk.length;
    } else if (this.#source !== null) {
      chunk = this.#source.nextChunk();
      fromSource = true;
    }
    if (!chunk) {
      const fn = this.#drained;
      this.#drained = null;
      fn?.();
      return;
    }
    this.#cur = chunk;
    this.#curFromSource = fromSource;
    this.#off = 0;
    this.writes++;
    this.#conn.write(chunk).then(this.#onWritten, this.#onFailed);
  }

  /** Calls fn once every queued message and everything the source still has is written. */
  whenDrained(fn: () => void): void {
    this.#drained = fn;
    this.kick();
  }

  /** Stops writing; a write in flight is abandoned by closing the socket (the caller does). */
  close(): void {
    this.#closed = true;
    this.#control.length = 0;
  }

  readonly #onWritten = (n: number): void => {
    const cur = this.#cur;
    if (cur === null || this.#closed) return;
    this.#off += n;
    this.bytesWritten += n;
    if (this.#off < cur.length) {
      this.writes++;
      this.#conn.write(cur.subarray(this.#off)).then(this.#onWritten, this.#onFailed);
      return;
    }
    this.#cur = null;
    if (this.#curFromSource) this.#source?.chunkWritten();
    this.kick();
  };

  readonly #onFailed = (e: unknown): void => {
    if (this.#closed) return;
    this.#cur = null;
    this.#closed = true;
    this.#drained = null;
    this.#onError(e);
  };
}

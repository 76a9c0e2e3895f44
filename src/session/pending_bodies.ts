/**
 * Bytes of request bodies announced (Content-Length) and not yet complete, per peer address, on
 * one worker: limits.maxPendingBodyBytesPerAddress. Counted from the announced length, before the
 * bytes arrive, so a client that announces and trickles is refused before the buffer grows.
 */
export class PendingBodies {
  readonly #byHost = new Map<string, number>();

  /**
   * Moves one connection's hold on `host` from `from` to `to` bytes. A growing hold that would put
   * the address past `max` (0: no bound) is refused: false, and nothing changes.
   */
  move(host: string, from: number, to: number, max: number): boolean {
    const total = (this.#byHost.get(host) ?? 0) - from + to;
    if (to > from && max > 0 && total > max) return false;
    if (total <= 0) this.#byHost.delete(host);
    else this.#byHost.set(host, total);
    return true;
  }

  /** What the address holds now. */
  held(host: string): number {
    return this.#byHost.get(host) ?? 0;
  }

  /** Addresses holding anything (a bound on the map's size: each is an open connection's). */
  get addresses(): number {
    return this.#byHost.size;
  }
}

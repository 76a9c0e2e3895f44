/**
 * Per-connection Digest nonce counts (RFC 7616 §3.4: the client increments `nc` for each request with
 * the same nonce), so a captured qop=auth answer cannot be replayed on that connection. Across
 * connections, replay is bounded by the nonce's address binding and TTL (nonce.ts).
 */

/** Nonces remembered per connection; a client uses one at a time, plus one after a stale retry. */
const MAX_NONCES = 8;
const NC_RE = /^[0-9A-Fa-f]{1,8}$/;

/** Parses an `nc` value (8 hex digits per RFC 7616 §3.4; 1 to 8 accepted); null when malformed. */
export function parseNonceCount(nc: string): number | null {
  return NC_RE.test(nc) ? parseInt(nc, 16) : null;
}

/** The highest `nc` seen per nonce on one RTSP connection; the caller keeps one per connection. */
export class NonceCounter {
  readonly #last = new Map<string, number>();

  /**
   * Accepts `nc` if it is greater than every count seen with `nonce` on this connection, and
   * remembers it; false for a repeated or lower count (a replay).
   */
  advance(nonce: string, nc: number): boolean {
    const last = this.#last.get(nonce);
    if (last !== undefined && nc <= last) return false;
    // Re-insert so the Map's order is least recently used first, then evict from the front.
    this.#last.delete(nonce);
    this.#last.set(nonce, nc);
    if (this.#last.size > MAX_NONCES) this.#last.delete(this.#last.keys().next().value!);
    return true;
  }
}

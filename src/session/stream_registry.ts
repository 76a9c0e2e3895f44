import type { LocalStream } from "../stream/local_stream.ts";
import type { RingSupply } from "../stream/stream_feed.ts";

/** The directory's answer to a claim or a publish. */
export interface DirectoryAnswer {
  ok: boolean;
  reason?: string;
  /** Claim only: refused by a stream limit (limits.maxStreams, maxStreamsPerAddress). */
  limit?: boolean;
  /** Claim only, in a cluster: who owns the path could not be asked (etcd unreachable). */
  unavailable?: boolean;
  streamId?: number;
  /** Publish only, a new stream: its first ring (main.ts makes every ring). */
  ring?: SharedArrayBuffer;
  /** Publish only: the stream continued (its ring, and when its last publisher left). */
  continued?: { sab: SharedArrayBuffer; leftAtMs: number };
}

/** Why a demanded stream will not come: no node has it (404), the cluster cannot be asked (503). */
export interface DemandRefusal {
  readonly status: 404 | 503;
  readonly reason: string;
}

/**
 * The streams as sessions see them: a lookup of the streams published on any worker, and the
 * requests a publisher makes of the directory's owner (main.ts). The worker's replica of the
 * directory implements it (cluster/worker_directory.ts). It is also where a feed gets rings of
 * other sizes for its stream (RingSupply).
 */
export interface StreamRegistry extends RingSupply {
  /** The stream published on a path, if any. */
  get(path: string): LocalStream | undefined;
  /** Reserves a path for a publisher (at ANNOUNCE). */
  /**
   * `peer`: a publisher's address, counted against limits.maxStreamsPerAddress; none for a source.
   * `edge`: a cluster edge pull, which relays another node's stream and owns nothing.
   */
  claim(path: string, sessionId: string, peer?: string, edge?: boolean): Promise<DirectoryAnswer>;
  /** Frees a claimed path (the publisher left, published or not). */
  release(path: string, sessionId: string): void;
  /**
   * A viewer asks for a path whose stream is pulled from a source, or in a cluster one that another
   * node may have: its pull starts if it is not running; resolves with the stream once published,
   * with the refusal when main.ts knows it will not come, or undefined after timeoutMs. `fromEdge`:
   * the viewer is another node's edge pull (which never starts an edge pull here).
   */
  demand(
    path: string,
    timeoutMs: number,
    fromEdge?: boolean,
  ): Promise<LocalStream | DemandRefusal | undefined>;
  /**
   * Publishes a stream of `tracks` media sections: main.ts makes its first ring and announces it to
   * every worker; resolves once all of them know it (answer.ring), or with the continued stream.
   */
  publish(path: string, sessionId: string, sdp: string, tracks: number): Promise<DirectoryAnswer>;
}

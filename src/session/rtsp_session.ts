import type { Logger } from "../log/logger.ts";
import { parseRtcpCompound, type RtcpPacket } from "../rtcp/compound.ts";
import { canEnter, type SessionState } from "./session_state.ts";
import type { SessionHost } from "./session_host.ts";
import { rtcpRoute, type UdpRouteTarget } from "./udp_ports.ts";
import { udpKey } from "../net/udp_endpoint.ts";

/** Session ids: 16 hex digits, no dashes (they confuse some clients: docs/protocol.md §12). */
export function newSessionId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * One RTSP session of a server connection, in one of two roles fixed at its creation: a publisher
 * (made by ANNOUNCE, publisher_session.ts) or a viewer (made by its first SETUP,
 * viewer_session.ts). This base holds what both have: the state (changed only by enter(), checked
 * against session_state.ts), the path and user, the transport, the UDP routes.
 */
export abstract class RtspSession implements UdpRouteTarget {
  readonly id: string;
  readonly conn: SessionHost;
  #state: SessionState = "initial";
  path: string;
  /** The user the session authenticated as; null when its path needs no credentials. */
  readonly user: string | null;
  readonly advertisedTimeoutSec: number;
  /** When the session was made (Date.now()), for the API's session list. */
  readonly created = Date.now();
  /** Lower transport, fixed by the first SETUP: one per session. */
  transport: "tcp" | "udp" | null = null;
  /** What the session moved over UDP, for the API. */
  udpBytesIn = 0;
  udpBytesOut = 0;
  /** UDP: track -> the client's RTP/RTCP ports. */
  udpClientPorts: Map<number, [number, number]> | null = null;
  #udpRoutes: number[] = [];
  #ended = false;

  constructor(conn: SessionHost, path: string, user: string | null) {
    this.id = newSessionId();
    this.conn = conn;
    this.path = path;
    this.user = user;
    // Advertise less than the real timeout: some clients ping exactly at the deadline (docs/protocol.md §11).
    this.advertisedTimeoutSec = Math.max(1, Math.floor(conn.ctx.config.sessionTimeoutMs / 1000) - 5);
  }

  abstract readonly role: "publish" | "read";

  get state(): SessionState {
    return this.#state;
  }

  /** Moves to `next`; a move the state table does not have is a bug, not a client's mistake. */
  enter(next: SessionState): void {
    if (!canEnter(this.#state, next)) {
      throw new Error(`session state ${this.#state} -> ${next} is not allowed`);
    }
    this.#state = next;
  }

  /** Whether a response has carried the id (from SETUP on), so later ones repeat it (docs/protocol.md §11). */
  get idSent(): boolean {
    return this.#state !== "initial" && this.#state !== "announced";
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Logger whose lines name the peer, the session and the path; built per use, not kept: a session
   * logs a few lines in its life, and a kept logger costs memory per viewer.
   */
  get log(): Logger {
    return this.conn.log.child(`session ${this.id}`).child(`path ${this.path}`);
  }

  /**
   * An interleaved frame from the peer on `channel`: true when it was media taken into a ring
   * (visible at flush()).
   */
  abstract frame(channel: number, buf: Uint8Array, start: number, end: number): boolean;

  /** Makes what frame() took visible (called after each read and before each request). */
  abstract flush(): void;

  /** UdpRouteTarget: a datagram from one of the session's UDP routes. */
  abstract udpDatagram(track: number, buf: Uint8Array, start: number, end: number): void;

  /** Releases everything the session holds; idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#udpRoutes.length > 0) this.conn.ctx.udp?.removeRoutes(this, this.#udpRoutes);
    this.#udpRoutes = [];
    this.released(reason);
  }

  /** What the role releases at end(), once. */
  protected abstract released(reason: string): void;

  /** The peer's RTCP compound packet at buf[start..end), counted; null (and counted) when it is not RTCP. */
  protected parseRtcp(buf: Uint8Array, start: number, end: number): RtcpPacket[] | null {
    const stats = this.conn.ctx.stats;
    const packets = parseRtcpCompound(buf, start, end);
    if (packets === null) stats.rtcpInvalid++;
    else stats.rtcpIn++;
    return packets;
  }

  /**
   * Takes the client's UDP ports of `track` for this session at SETUP (RTP and RTCP), so no other
   * session from the same address can set them up (checkUdpPortsFree).
   */
  reserveUdpPorts(track: number, ports: [number, number]): void {
    const host = this.conn.peerHost;
    this.route(udpKey(host, ports[0]), track);
    this.route(udpKey(host, ports[1]), rtcpRoute(track));
  }

  /** Sends datagrams from `key` (udpKey) to this session as `track` (rtcpRoute(t): RTCP about t). */
  protected route(key: number, track: number): void {
    const udp = this.conn.ctx.udp;
    if (udp === null || key < 0) return;
    if (udp.addRoute(key, { session: this, track })) this.#udpRoutes.push(key);
    else this.log.warn(`UDP source port ${key % 65536} is already used by another session`);
  }
}

import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import { DenoUdpEndpoint } from "../net/deno_udp.ts";
import type { EpollPoller } from "../net/epoll_poller.ts";
import { FfiUdpEndpoint } from "../net/ffi_udp.ts";
import { formatUdpKey, type UdpAddress, type UdpEndpoint } from "../net/udp_endpoint.ts";
import type { WorkerStats } from "../stats/worker_stats.ts";

/** A session that receives datagrams: a UDP publisher's RTP, or RTCP about a track. */
export interface UdpRouteTarget {
  /** A datagram buf[start..end) routed here; `track` as registered (rtcpRoute(t) for RTCP). */
  udpDatagram(track: number, buf: Uint8Array, start: number, end: number): void;
}

/** Where a sender's datagrams go: a publisher's track (RTP), or a session's RTCP about a track. */
export interface UdpRoute {
  readonly session: UdpRouteTarget;
  /** Track of a publisher's RTP; rtcpRoute(track) (negative) for RTCP. */
  readonly track: number;
}

/** The UdpRoute track of RTCP about `track`: -1 - track, negative so it is never taken for RTP. */
export function rtcpRoute(track: number): number {
  return -1 - track;
}

/**
 * One worker's UDP port pair (RTP on portBase + 2w, RTCP on the next) and the routes from senders
 * to sessions. A datagram from an address no session registered is dropped and counted, so
 * nobody can inject packets into a stream.
 */
export class WorkerUdp {
  readonly rtp: UdpEndpoint;
  readonly rtcp: UdpEndpoint;
  readonly #routes = new Map<number, UdpRoute>();
  /**
   * Routes of publishers' (and sources') RTP. While there are any, the worker reads on its fast
   * tick (read_pace.ts): datagrams wait in one shared socket buffer, which a slow tick overflows.
   */
  #ingestRoutes = 0;
  readonly #stats: WorkerStats;
  readonly #log: Logger;
  readonly #address: (host: string, port: number) => UdpAddress;
  #lastIgnoredLog = 0;

  /** Binds both ports; throws (AddrInUse) when either is taken. */
  constructor(config: Config, worker: number, poller: EpollPoller | null, stats: WorkerStats, log: Logger) {
    const base = config.udp.portBase + 2 * worker;
    const host = config.rtsp.address;
    this.#stats = stats;
    this.#log = log;
    if (poller !== null) {
      this.rtp = new FfiUdpEndpoint(host, base, poller, this.#onDatagram, config.udp.batchSends);
      try {
        this.rtcp = new FfiUdpEndpoint(host, base + 1, poller, this.#onDatagram);
      } catch (e) {
        this.rtp.close();
        throw e;
      }
      this.#address = FfiUdpEndpoint.address;
    } else {
      this.rtp = new DenoUdpEndpoint(host, base, this.#onDatagram);
      try {
        this.rtcp = new DenoUdpEndpoint(host, base + 1, this.#onDatagram);
      } catch (e) {
        this.rtp.close();
        throw e;
      }
      this.#address = DenoUdpEndpoint.address;
    }
  }

  /** The server_port pair of this worker. */
  get ports(): [number, number] {
    return [this.rtp.port, this.rtcp.port];
  }

  /** A destination to send to (made once per viewer and track). */
  address(host: string, port: number): UdpAddress {
    return this.#address(host, port);
  }

  /** Routes datagrams from `key` (udpKey) to a session; false when another session has it. */
  addRoute(key: number, route: UdpRoute): boolean {
    const cur = this.#routes.get(key);
    if (cur !== undefined && cur.session !== route.session) return false;
    if (cur !== undefined && cur.track >= 0) this.#ingestRoutes--;
    if (route.track >= 0) this.#ingestRoutes++;
    this.#routes.set(key, route);
    return true;
  }

  /** Routes of RTP into this worker's streams (publishers' and sources' tracks). */
  get ingestRoutes(): number {
    return this.#ingestRoutes;
  }

  /** The session datagrams from `key` go to, if any. */
  owner(key: number): UdpRouteTarget | undefined {
    return this.#routes.get(key)?.session;
  }

  removeRoutes(session: UdpRouteTarget, keys: readonly number[]): void {
    for (const k of keys) {
      const r = this.#routes.get(k);
      if (r?.session !== session) continue;
      if (r.track >= 0) this.#ingestRoutes--;
      this.#routes.delete(k);
    }
  }

  /** Sends what viewers' sends batched (udp.batchSends); kernel drops are counted. */
  flush(): void {
    const dropped = this.rtp.flush();
    if (dropped > 0) this.#stats.udpSendDrops += dropped;
  }

  close(): void {
    this.rtp.close();
    this.rtcp.close();
    this.#routes.clear();
    this.#ingestRoutes = 0;
  }

  // hot path: a Map lookup, then the session's ingest
  readonly #onDatagram = (buf: Uint8Array, start: number, end: number, key: number): void => {
    const r = this.#routes.get(key);
    if (r === undefined) {
      this.#stats.udpIgnored++;
      const now = performance.now();
      if (now - this.#lastIgnoredLog > 10_000) {
        this.#lastIgnoredLog = now;
        this.#log.info(`ignored UDP datagrams from ${formatUdpKey(key)}: no session expects them`);
      }
      return;
    }
    r.session.udpDatagram(r.track, buf, start, end);
  };
}

import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";
import type { WorkerDirectory } from "../cluster/worker_directory.ts";
import type { ViewerCounters } from "./ring_viewer.ts";
import type { RtspConnection } from "./rtsp_connection.ts";
import type { UdpCounters } from "./udp_media.ts";
import type { WorkerUdp } from "./udp_ports.ts";
import type { AuthShared } from "../auth/auth_shared.ts";
import type { AccessControl } from "./access_control.ts";

/** Counters of one worker; summed by main.ts for metrics. */
export interface WorkerStats extends ViewerCounters, UdpCounters {
  connectionsOpen: number;
  connectionsTotal: number;
  connectionsRefused: number;
  requests: number;
  errorResponses: number;
  bytesIn: number;
  /** Bytes written to RTSP connections and UDP datagrams handed to the kernel. */
  bytesOut: number;
  /** Largest lateness of the worker's 100 ms tick since the last report: event-loop lag. */
  loopLagMaxMs: number;
  packetsIn: number;
  invalidPackets: number;
  garbageBytes: number;
  /** UDP datagrams from senders no session expects (spoofed or stale). */
  udpIgnored: number;
  /** Requests refused for bad credentials (401 after a wrong answer; not the first challenge). */
  authFailures: number;
  /** Requests refused by an IP allow-list or the per-address failure limit (403). */
  authRefused: number;
  /** RTCP compound packets received from peers (TCP odd channels, UDP RTCP ports), and those not RTCP. */
  rtcpIn: number;
  rtcpInvalid: number;
  /** RTCP Sender Reports sent to viewers. */
  senderReports: number;
}

/** What every connection of a worker shares. */
export interface WorkerContext {
  readonly worker: number;
  /** Replaced on reload (SIGHUP); read it per request, never keep a section of it. */
  config: Config;
  readonly log: Logger;
  readonly directory: WorkerDirectory;
  readonly stats: WorkerStats;
  /** Open connections; a connection leaves the set when it closes. */
  readonly connections: Set<RtspConnection>;
  /** This worker's UDP ports, or null when UDP is off (udp.portBase 0) or could not bind. */
  readonly udp: WorkerUdp | null;
  /** Nonce key and failure table shared by all workers. */
  readonly authShared: AuthShared;
  /** Path permissions and authentication; made on first use (see access_control.ts). */
  access?: AccessControl;
}

/** Fresh zeroed counters. */
export function newWorkerStats(): WorkerStats {
  return {
    connectionsOpen: 0,
    connectionsTotal: 0,
    connectionsRefused: 0,
    requests: 0,
    errorResponses: 0,
    bytesIn: 0,
    bytesOut: 0,
    loopLagMaxMs: 0,
    packetsIn: 0,
    invalidPackets: 0,
    garbageBytes: 0,
    skips: 0,
    skippedPackets: 0,
    drops: 0,
    udpIgnored: 0,
    authFailures: 0,
    authRefused: 0,
    udpSendDrops: 0,
    udpLost: 0,
    udpReordered: 0,
    udpLate: 0,
    rtcpIn: 0,
    rtcpInvalid: 0,
    senderReports: 0,
  };
}

/** Session ids: 16 hex digits, no dashes (they confuse some clients, RTSP-NOTES 7). */
export function newSessionId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

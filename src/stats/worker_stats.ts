/**
 * One worker's counters: what the worker's parts add to (connections, viewers' sinks, UDP ports,
 * access control) and what main.ts sums over the workers for /metrics. Owned by the worker's
 * runtime; every part gets the same object and only ever increments its own fields.
 */
export interface WorkerStats {
  connectionsOpen: number;
  connectionsTotal: number;
  connectionsRefused: number;
  /** Connections closed at once past limits.maxConnectionsPerSecondPerAddress. */
  connectionsRateRefused: number;
  /** Publishers disconnected past limits.maxPublishKbps. */
  publishersOverBitrate: number;
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
  /** Slow viewers skipped to a newer keyframe, the ring packets they jumped over, viewers dropped. */
  skips: number;
  skippedPackets: number;
  drops: number;
  /** UDP datagrams from senders no session expects (spoofed or stale). */
  udpIgnored: number;
  /** UDP datagrams the kernel refused to send (send buffer full). */
  udpSendDrops: number;
  /** A UDP publisher's packets lost, put back in order, or too late for the reorder buffer. */
  udpLost: number;
  udpReordered: number;
  udpLate: number;
  /** Requests refused for bad credentials (401 after a wrong answer; not the first challenge). */
  authFailures: number;
  /** Requests refused by an IP allow-list or the per-address failure limit (403). */
  authRefused: number;
  /** RTCP compound packets received from peers (TCP odd channels, UDP RTCP ports), and those not RTCP. */
  rtcpIn: number;
  rtcpInvalid: number;
  /** RTCP Sender Reports sent to viewers. */
  senderReports: number;
  /** Pulls of sources started, and those that failed (refused, 401, timeout, lost...). */
  sourceAttempts: number;
  sourceFailures: number;
  /** The FFI poller's rounds: waits on the blocking thread, and ticks on the worker's (net/epoll_poller.ts). */
  pollBlockingWaits: number;
  pollTicks: number;
  /** The poller's tick now (net.readTickMs or net.unwatchedReadTickMs, session/read_pace.ts), 0: not ticking. */
  pollTickMs: number;
}

/** Fresh zeroed counters. */
export function newWorkerStats(): WorkerStats {
  return {
    connectionsOpen: 0,
    connectionsTotal: 0,
    connectionsRefused: 0,
    connectionsRateRefused: 0,
    publishersOverBitrate: 0,
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
    udpSendDrops: 0,
    udpLost: 0,
    udpReordered: 0,
    udpLate: 0,
    authFailures: 0,
    authRefused: 0,
    rtcpIn: 0,
    rtcpInvalid: 0,
    senderReports: 0,
    sourceAttempts: 0,
    sourceFailures: 0,
    pollBlockingWaits: 0,
    pollTicks: 0,
    pollTickMs: 0,
  };
}

/**
 * The Prometheus text exposition (format 0.0.4) of the workers' counters, one series per worker,
 * and of main.ts's own (no worker label). A worker's counters start at 0 again when it is restarted
 * (dm_live_worker_restarts_total says when), which Prometheus' rate() reads as a counter reset.
 */
import type { RingDirectoryReport, WorkerReport } from "../stats/reports.ts";
import type { HookCounters } from "../hooks/hook_queue.ts";
import type { ReadyCounters } from "../cluster/ready_commands.ts";

type Metric = [name: string, type: "counter" | "gauge", help: string, value: (r: WorkerReport) => number];

const METRICS: readonly Metric[] = [
  [
    "dm_live_hls_muxers",
    "gauge",
    "Streams muxed for HLS now (the media worker).",
    (r) => r.media?.hlsMuxers ?? 0,
  ],
  [
    "dm_live_hls_muxers_started_total",
    "counter",
    "HLS muxings started (a first request for a stream).",
    (r) => r.media?.hlsMuxersStarted ?? 0,
  ],
  ["dm_live_hls_parts_total", "counter", "LL-HLS parts made.", (r) => r.media?.hlsParts ?? 0],
  ["dm_live_hls_bytes", "gauge", "Bytes the HLS windows hold.", (r) => r.media?.hlsBytes ?? 0],
  ["dm_live_recordings", "gauge", "Streams being recorded now.", (r) => r.media?.recordings ?? 0],
  ["dm_live_record_files_total", "counter", "Recording files opened.", (r) => r.media?.recordFiles ?? 0],
  ["dm_live_record_bytes_total", "counter", "Bytes written to recordings.", (r) => r.media?.recordBytes ?? 0],
  [
    "dm_live_record_fragments_dropped_total",
    "counter",
    "Recording fragments not written: the disk was behind, or no file could be opened.",
    (r) => r.media?.recordFragmentsDropped ?? 0,
  ],
  [
    "dm_live_record_errors_total",
    "counter",
    "Recording directories, files or writes that failed.",
    (r) => r.media?.recordErrors ?? 0,
  ],
  [
    "dm_live_mux_init_failures_total",
    "counter",
    "Streams whose HLS muxing or recording could not make an init segment (no usable SPS/PPS).",
    (r) => r.media?.muxInitFailures ?? 0,
  ],
  ["dm_live_connections_open", "gauge", "Open RTSP connections.", (r) => r.connectionsOpen],
  ["dm_live_connections_total", "counter", "RTSP connections accepted.", (r) => r.connectionsTotal],
  [
    "dm_live_connections_refused_total",
    "counter",
    "Connections refused at the limit.",
    (r) => r.connectionsRefused,
  ],
  [
    "dm_live_connections_rate_refused_total",
    "counter",
    "Connections closed at once past limits.maxConnectionsPerSecondPerAddress.",
    (r) => r.connectionsRateRefused,
  ],
  [
    "dm_live_publishers_over_bitrate_total",
    "counter",
    "Publishers disconnected past limits.maxPublishKbps.",
    (r) => r.publishersOverBitrate,
  ],
  ["dm_live_viewers", "gauge", "Playing viewer sessions.", (r) => r.viewersPlaying],
  ["dm_live_publishers", "gauge", "Recording publisher sessions.", (r) => r.publishers],
  ["dm_live_requests_total", "counter", "RTSP requests handled.", (r) => r.requests],
  ["dm_live_error_responses_total", "counter", "RTSP error responses sent.", (r) => r.errorResponses],
  [
    "dm_live_bytes_in_total",
    "counter",
    "Bytes received from peers (RTSP connections, and UDP datagrams routed to sessions).",
    (r) => r.bytesIn,
  ],
  [
    "dm_live_bytes_out_total",
    "counter",
    "Bytes sent to viewers (TCP writes, UDP datagrams).",
    (r) => r.bytesOut,
  ],
  [
    "dm_live_event_loop_lag_max_ms",
    "gauge",
    "Largest lateness of a 100 ms timer since the last scrape.",
    (r) => r.loopLagMaxMs,
  ],
  [
    "dm_live_merge_window_ms",
    "gauge",
    "How long the worker's fan-out passes wait to merge writes now (viewer.mergeWindowMs is the most).",
    (r) => r.mergeWindowMs,
  ],
  [
    "dm_live_worker_busy_ratio",
    "gauge",
    "The worker thread's CPU time over wall time in the last second (-1: not measurable here).",
    (r) => r.busy,
  ],
  ["dm_live_packets_in_total", "counter", "RTP packets taken from publishers.", (r) => r.packetsIn],
  ["dm_live_invalid_packets_total", "counter", "Publisher frames that are not RTP.", (r) => r.invalidPackets],
  [
    "dm_live_garbage_bytes_total",
    "counter",
    "Bytes skipped as garbage on RTSP connections.",
    (r) => r.garbageBytes,
  ],
  ["dm_live_viewer_skips_total", "counter", "Slow viewers skipped to a newer keyframe.", (r) => r.skips],
  [
    "dm_live_viewer_skipped_packets_total",
    "counter",
    "Packets slow viewers never got because they skipped ahead.",
    (r) => r.skippedPackets,
  ],
  ["dm_live_viewer_drops_total", "counter", "Slow viewers disconnected.", (r) => r.drops],
  [
    "dm_live_auth_failures_total",
    "counter",
    "Requests refused for wrong credentials (401 after an answer).",
    (r) => r.authFailures,
  ],
  [
    "dm_live_auth_refused_total",
    "counter",
    "Requests refused by an IP allow-list or the failure limit (403).",
    (r) => r.authRefused,
  ],
  [
    "dm_live_udp_ignored_total",
    "counter",
    "UDP datagrams from senders no session expects.",
    (r) => r.udpIgnored,
  ],
  ["dm_live_udp_lost_total", "counter", "UDP publisher packets given up as lost.", (r) => r.udpLost],
  [
    "dm_live_udp_reordered_total",
    "counter",
    "UDP publisher packets put back in order.",
    (r) => r.udpReordered,
  ],
  ["dm_live_udp_late_total", "counter", "UDP publisher packets late or duplicated.", (r) => r.udpLate],
  [
    "dm_live_udp_send_drops_total",
    "counter",
    "UDP datagrams to viewers the kernel dropped.",
    (r) => r.udpSendDrops,
  ],
  [
    "dm_live_rtcp_in_total",
    "counter",
    "RTCP compound packets received from publishers and viewers.",
    (r) => r.rtcpIn,
  ],
  [
    "dm_live_rtcp_invalid_total",
    "counter",
    "RTCP frames or datagrams that are not RTCP.",
    (r) => r.rtcpInvalid,
  ],
  ["dm_live_sender_reports_total", "counter", "RTCP Sender Reports sent to viewers.", (r) => r.senderReports],
  [
    "dm_live_streams_fed",
    "gauge",
    "Streams this worker feeds (publishers and sources).",
    (r) => r.published.length,
  ],
  [
    "dm_live_ring_bytes",
    "gauge",
    "Memory of the rings of the streams this worker feeds.",
    (r) => r.published.reduce((n, p) => n + p.ringBytes, 0),
  ],
  ["dm_live_sources", "gauge", "Sources this worker pulls.", (r) => r.sources.length],
  [
    "dm_live_sources_playing",
    "gauge",
    "Sources this worker pulls that are playing.",
    (r) => r.sources.filter((s) => s.state === "playing").length,
  ],
  ["dm_live_source_attempts_total", "counter", "Pulls of sources started.", (r) => r.sourceAttempts],
  [
    "dm_live_source_failures_total",
    "counter",
    "Pulls of sources that failed (refused, 401, 404, timeout, no media, connection lost).",
    (r) => r.sourceFailures,
  ],
  [
    "dm_live_poll_blocking_waits_total",
    "counter",
    "FFI poller rounds that waited on a blocking thread (net.readTickMs: sparse events).",
    (r) => r.pollBlockingWaits,
  ],
  [
    "dm_live_poll_ticks_total",
    "counter",
    "FFI poller rounds asked on the worker's own thread on its tick (dense events).",
    (r) => r.pollTicks,
  ],
  [
    "dm_live_poll_tick_ms",
    "gauge",
    "The FFI poller's tick now: net.readTickMs while someone waits for what the worker reads, net.unwatchedReadTickMs while no one does; 0 on blocking waits.",
    (r) => r.pollTickMs,
  ],
  ["dm_live_heap_used_bytes", "gauge", "V8 heap in use by the worker.", (r) => r.heapUsed],
];

/** What main.ts itself counts. */
export interface MainCounters {
  /** Workers started again after one died. */
  restarts: number;
  /** This node's cluster figures, when it is a cluster member. */
  cluster?: ClusterMetrics;
  /** The hook queue's counters (all 0 while hooks.url is empty). */
  hooks?: HookCounters;
  /** The runOnReady children. */
  runOnReady?: ReadyCounters;
  /** Every stream ring's memory (main.ts's ring directory). */
  rings?: RingDirectoryReport;
}

export interface ClusterMetrics {
  /** 1 while etcd's view can be trusted (lease alive, watches delivering). */
  synced: boolean;
  members: number;
  ownedStreams: number;
  edgePulls: number;
  ownershipChanges: number;
  etcdErrors: number;
  etcdSeconds: number;
  etcdRequests: number;
}

export function renderMetrics(reports: readonly WorkerReport[], main: MainCounters): string {
  const lines: string[] = [];
  for (const [name, type, help, value] of METRICS) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const r of reports) lines.push(`${name}{worker="${r.worker}"} ${value(r)}`);
  }
  lines.push(
    "# HELP dm_live_worker_restarts_total Workers started again after one died or failed to start.",
    "# TYPE dm_live_worker_restarts_total counter",
    `dm_live_worker_restarts_total ${main.restarts}`,
  );
  const one = (name: string, type: string, help: string, v: number) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${v}`);
  const h = main.hooks;
  if (h !== undefined) {
    one("dm_live_hooks_sent_total", "counter", "Hook events the receiver accepted (2xx).", h.sent);
    one(
      "dm_live_hooks_failed_total",
      "counter",
      "Hook events given up: retries exhausted, or refused with a 4xx.",
      h.failed,
    );
    one("dm_live_hooks_retries_total", "counter", "Hook POSTs made again after a failure.", h.retries);
    one(
      "dm_live_hooks_dropped_total",
      "counter",
      "Hook events dropped unsent (queue full, hooks turned off, shutdown).",
      h.dropped,
    );
    one("dm_live_hooks_queue_length", "gauge", "Hook events not delivered yet.", h.queued);
  }
  const g = main.rings;
  if (g !== undefined) {
    one(
      "dm_live_rings_live_bytes",
      "gauge",
      "Memory of the rings streams write or may move to, over all workers (whole buffers).",
      g.liveBytes,
    );
    one("dm_live_rings_live", "gauge", "Rings streams write or may move to.", g.liveRings);
    one(
      "dm_live_rings_retired_bytes",
      "gauge",
      "Memory of rings streams left that readers are still on.",
      g.retiredBytes,
    );
    one(
      "dm_live_ring_pool_bytes",
      "gauge",
      "Memory of ended rings kept for new streams (ring.poolBytes).",
      g.poolBytes,
    );
    one("dm_live_ring_pool_rings", "gauge", "Ended rings kept for new streams.", g.poolRings);
    one("dm_live_rings_allocated_total", "counter", "Rings made anew (not from the pool).", g.allocated);
    one("dm_live_rings_reused_total", "counter", "Rings handed out from the pool.", g.reused);
    one(
      "dm_live_rings_dropped_total",
      "counter",
      "Ended rings let go to the garbage collector (the pool full, or pushed out by newer ones).",
      g.dropped,
    );
    one("dm_live_ring_moves_total", "counter", "Streams moved to a ring of another size.", g.moves);
  }
  const r = main.runOnReady;
  if (r !== undefined) {
    one("dm_live_run_on_ready_running", "gauge", "runOnReady commands running.", r.running);
    one("dm_live_run_on_ready_starts_total", "counter", "runOnReady commands started.", r.starts);
    one(
      "dm_live_run_on_ready_restarts_total",
      "counter",
      "runOnReady commands started again after exiting while their stream lived.",
      r.restarts,
    );
  }
  const c = main.cluster;
  if (c !== undefined) {
    one(
      "dm_live_cluster_synced",
      "gauge",
      "1 while this node's view of etcd can be trusted.",
      c.synced ? 1 : 0,
    );
    one("dm_live_cluster_members", "gauge", "Live members of the cluster, this node included.", c.members);
    one("dm_live_cluster_owned_streams", "gauge", "Paths this node owns for the cluster.", c.ownedStreams);
    one("dm_live_cluster_edge_pulls", "gauge", "Paths this node pulls from another node.", c.edgePulls);
    one(
      "dm_live_cluster_ownership_changes_total",
      "counter",
      "Paths this node took or gave up.",
      c.ownershipChanges,
    );
    one(
      "dm_live_cluster_etcd_errors_total",
      "counter",
      "etcd requests and watches that failed.",
      c.etcdErrors,
    );
    lines.push(
      "# HELP dm_live_cluster_etcd_request_seconds Time of this node's etcd requests.",
      "# TYPE dm_live_cluster_etcd_request_seconds summary",
      `dm_live_cluster_etcd_request_seconds_sum ${c.etcdSeconds}`,
      `dm_live_cluster_etcd_request_seconds_count ${c.etcdRequests}`,
    );
  }
  return lines.join("\n") + "\n";
}

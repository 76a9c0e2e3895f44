/** A TcpSink over its own RingReader, as a viewer session makes one, for unit tests. */
import { type ReaderCounters, type ReaderPolicy, RingReader } from "../../ring/ring_reader.ts";
import type { SharedRing } from "../../ring/shared_ring.ts";
import { TcpSink } from "../tcp_sink.ts";

/** The `viewer` config section as a sink and its reader use it. */
export interface ViewerPolicy extends ReaderPolicy {
  maxWriteBytes: number;
}

/** A sink of the tracks in `channels` (track -> RTP channel), starting where a new reader starts. */
export function tcpSink(
  ring: SharedRing,
  channels: ReadonlyMap<number, number>,
  policy: ViewerPolicy,
  counters: ReaderCounters,
): TcpSink {
  return new TcpSink(new RingReader(ring, policy, counters), channels, policy.maxWriteBytes);
}

import type { RingReader } from "../ring/ring_reader.ts";

/**
 * How a playing viewer's packets leave: over its RTSP connection (tcp_sink.ts) or as datagrams
 * (udp_sink.ts). Both take packets from the viewer's RingReader under the same rules and send each
 * track's first Sender Report before its first packet; the viewer session only starts, wakes and
 * stops its sink.
 */
export interface ViewerSink {
  readonly reader: RingReader;
  /** Ring packets handed to the kernel so far. */
  readonly packetsSent: number;
  /** PLAY (its response already queued): sends the reports due, then the GOP burst. */
  start(): void;
  /**
   * The writer published (at `writePos`): sends what is due. False when the viewer must be closed
   * now (reader.dropReason says why).
   */
  // hot path: no allocation
  wake(writePos: number): boolean;
  /** PAUSE or the end of the session: sends nothing more. */
  stop(): void;
}

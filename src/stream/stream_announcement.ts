/** A published stream as every worker learns of it. */
export interface StreamAnnouncement {
  streamId: number;
  path: string;
  /** The publisher's SDP as received (the worker derives the viewers' SDP from it). */
  sdp: string;
  sab: SharedArrayBuffer;
  /** Worker index of the publisher. */
  worker: number;
  sessionId: string;
}

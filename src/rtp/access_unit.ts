/**
 * What a depacketizer gives the muxers (fMP4 for HLS and recording): one frame of a track, its
 * payload copied out of the ring (the ring's bytes are overwritten later), its time unwrapped.
 *
 * @module
 */

/** One frame of one track, in the order the track's packets carried it. */
export interface AccessUnit {
  /**
   * Presentation time in the track's clock (RTP clock rate), unwrapped from RTP's 32 bits: it grows
   * past 2^32 instead of wrapping, and starts wherever the stream's first timestamp was.
   */
  pts: number;
  /**
   * Video: the frame's NAL units without start codes or length prefixes, in decoding order.
   * Audio: one element, the raw frame (an AAC access unit without ADTS, an Opus packet, G.711 bytes).
   */
  units: Uint8Array[];
  /** Video: decoding may start here (H.264 IDR, H.265 IRAP). Audio: always true. */
  random: boolean;
}

/** Builders of RTP packets for tests (allocating; never used by the server). */
import { buildRtpPacket } from "../rtp_header.ts";

/** H.264 payload kinds the tests need. */
export type H264Kind = "idr" | "p" | "sps" | "pps" | "stap-sps-pps" | "fu-idr-start" | "fu-idr-mid";

/** An RTP payload of the given H.264 kind, padded to `size` bytes. */
export function h264Payload(kind: H264Kind, size = 32): Uint8Array {
  const p = new Uint8Array(Math.max(size, 8));
  switch (kind) {
    case "idr":
      p[0] = 0x65;
      break;
    case "p":
      p[0] = 0x41;
      break;
    case "sps":
      p[0] = 0x67;
      break;
    case "pps":
      p[0] = 0x68;
      break;
    case "stap-sps-pps": {
      p[0] = 0x18;
      p.set([0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce], 1);
      return p.subarray(0, 9);
    }
    case "fu-idr-start":
      p[0] = 0x7c;
      p[1] = 0x85;
      break;
    case "fu-idr-mid":
      p[0] = 0x7c;
      p[1] = 0x05;
      break;
  }
  return p;
}

/** A whole RTP packet carrying an H.264 payload kind. */
export function h264Packet(kind: H264Kind, seq: number, ts: number, size = 32): Uint8Array {
  return buildRtpPacket({
    payloadType: 96,
    sequence: seq & 0xffff,
    timestamp: ts,
    ssrc: 0x1234,
    payload: h264Payload(kind, size),
  });
}

/** An RTP packet with an opaque (audio) payload. */
export function audioPacket(seq: number, ts: number, size = 32): Uint8Array {
  return buildRtpPacket({
    payloadType: 97,
    sequence: seq & 0xffff,
    timestamp: ts,
    ssrc: 0x5678,
    payload: new Uint8Array(size).fill(0xaa),
  });
}

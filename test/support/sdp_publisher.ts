/** A raw publisher for tests: announces any SDP, sets up its tracks over TCP, sends given RTP payloads. */
import assert from "node:assert/strict";
import { buildRtpPacket } from "../../src/rtp/rtp_header.ts";
import { RtspTestClient } from "./rtsp_client.ts";

/** One RTP packet to send: track, payload type, timestamp, payload, marker. */
export interface RawPacket {
  track: number;
  payloadType: number;
  timestamp: number;
  payload: Uint8Array | readonly number[];
  marker?: boolean;
}

/**
 * ANNOUNCEs `sdp` on `path`, SETUPs each URL of `setupUrls` (track i on channels 2i, 2i+1) and
 * RECORDs; throws unless every step gets 200.
 */
export async function startSdpPublisher(
  port: number,
  path: string,
  sdp: string,
  setupUrls: string[],
): Promise<SdpPublisher> {
  const c = await RtspTestClient.connect(port, path);
  let r = await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, sdp);
  assert.equal(r.status, 200, `ANNOUNCE: ${r.status} ${r.reason}`);
  for (const [i, url] of setupUrls.entries()) {
    r = await c.request("SETUP", url, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1};mode=record`,
    });
    assert.equal(r.status, 200, `SETUP ${url}: ${r.status} ${r.reason}`);
  }
  r = await c.request("RECORD", c.url, { Range: "npt=0.000-" });
  assert.equal(r.status, 200, `RECORD: ${r.status} ${r.reason}`);
  return new SdpPublisher(c);
}

/** Sends RTP packets with per-track sequence numbers, each batch as one write. */
export class SdpPublisher {
  readonly client: RtspTestClient;
  /** Next RTP sequence number per track; also the count sent. */
  readonly seq: number[] = [];

  constructor(client: RtspTestClient) {
    this.client = client;
  }

  async send(packets: RawPacket[]): Promise<void> {
    const frames = packets.map((p) => {
      const seq = this.seq[p.track] ?? 0;
      this.seq[p.track] = seq + 1;
      const rtp = buildRtpPacket({
        payloadType: p.payloadType,
        sequence: seq & 0xffff,
        timestamp: p.timestamp >>> 0,
        ssrc: 0x5d9 + p.track,
        marker: p.marker ?? true,
        payload: p.payload instanceof Uint8Array ? p.payload : new Uint8Array(p.payload),
      });
      const f = new Uint8Array(4 + rtp.length);
      f.set([0x24, 2 * p.track, rtp.length >> 8, rtp.length & 0xff]);
      f.set(rtp, 4);
      return f;
    });
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    await this.client.writeRaw(all);
  }

  close(): void {
    this.client.close();
  }
}

/** A publisher for tests: ANNOUNCE/SETUP/RECORD, then a synthetic H.264 + AAC stream over TCP. */
import assert from "node:assert/strict";
import { buildRtpPacket } from "../../src/rtp/rtp_header.ts";
import { RtspTestClient } from "./rtsp_client.ts";
import { AV_SDP } from "../../src/sdp/testdata/av_sdp.ts";

export { AV_SDP };

/**
 * Connects (over RTSPS, trusting `caCerts`, when they are given), announces AV_SDP on `path` and
 * starts recording; throws unless every step gets 200.
 */
export async function startPublisher(
  port: number,
  path: string,
  caCerts?: string[],
): Promise<SyntheticPublisher> {
  const c = await RtspTestClient.open(port, path, caCerts);
  let r = await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, AV_SDP);
  assert.equal(r.status, 200, `ANNOUNCE: ${r.status} ${r.reason}`);
  r = await c.request("SETUP", `${c.url}/streamid=0`, {
    Transport: "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
  });
  assert.equal(r.status, 200, `SETUP 0: ${r.status} ${r.reason}`);
  r = await c.request("SETUP", `${c.url}/streamid=1`, {
    Transport: "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
  });
  assert.equal(r.status, 200, `SETUP 1: ${r.status} ${r.reason}`);
  r = await c.request("RECORD", c.url, { Range: "npt=0.000-" });
  assert.equal(r.status, 200, `RECORD: ${r.status} ${r.reason}`);
  return new SyntheticPublisher(c);
}

/**
 * Sends frames: every `gop` video frames a keyframe (STAP-A SPS+PPS, then an IDR in FU-A
 * fragments), other frames one P-slice packet; one AAC packet per video frame.
 */
export class SyntheticPublisher {
  readonly client: RtspTestClient;
  videoSeq = 0;
  audioSeq = 0;
  frame = 0;
  /** Packets sent per track. */
  sent = [0, 0];

  constructor(client: RtspTestClient) {
    this.client = client;
  }

  /** Sends n frames (video + audio), `gop` frames per GOP, as one write. */
  async sendFrames(n: number, gop = 10, idrFragments = 3, payload = 600): Promise<void> {
    const packets: Uint8Array[] = [];
    for (let i = 0; i < n; i++, this.frame++) {
      const ts = this.frame * 3000;
      if (this.frame % gop === 0) {
        packets.push(
          this.#frame(0, this.#video(new Uint8Array([0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]), ts, false)),
        );
        for (let f = 0; f < idrFragments; f++) {
          const p = new Uint8Array(payload).fill(this.frame & 0xff);
          p[0] = 0x7c;
          p[1] = 0x05 | (f === 0 ? 0x80 : 0) | (f === idrFragments - 1 ? 0x40 : 0);
          packets.push(this.#frame(0, this.#video(p, ts, f === idrFragments - 1)));
        }
      } else {
        const p = new Uint8Array(payload).fill(this.frame & 0xff);
        p[0] = 0x41;
        packets.push(this.#frame(0, this.#video(p, ts, true)));
      }
      const a = new Uint8Array(64).fill(0xaa);
      a.set([0x00, 0x10, 0x01, 0xe0], 0); // AU-headers-length 16 bits; one AU of 60 bytes (60 << 3)
      packets.push(this.#frame(
        2,
        buildRtpPacket({
          payloadType: 97,
          sequence: this.audioSeq++ & 0xffff,
          timestamp: (this.frame * 1470) >>> 0,
          ssrc: 0xa0d10,
          marker: true,
          payload: a,
        }),
      ));
      this.sent[1]++;
    }
    let total = 0;
    for (const p of packets) total += p.length;
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of packets) {
      all.set(p, off);
      off += p.length;
    }
    await this.client.writeRaw(all);
  }

  #video(payload: Uint8Array, ts: number, marker: boolean): Uint8Array {
    this.sent[0]++;
    return buildRtpPacket({
      payloadType: 96,
      sequence: this.videoSeq++ & 0xffff,
      timestamp: ts >>> 0,
      ssrc: 0x71de0,
      marker,
      payload,
    });
  }

  #frame(channel: number, rtp: Uint8Array): Uint8Array {
    const b = new Uint8Array(4 + rtp.length);
    b.set([0x24, channel, rtp.length >> 8, rtp.length & 0xff]);
    b.set(rtp, 4);
    return b;
  }

  close(): void {
    this.client.close();
  }
}

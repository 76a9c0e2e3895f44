/**
 * The bench's synthetic publisher: publishes an H.264 + AAC stream to each URL given (ANNOUNCE,
 * SETUP, RECORD over TCP), paced in real time, at a bitrate, and stamps every video packet with
 * its send time, so viewers can measure the delay the server adds without ffmpeg's pacing jitter.
 *
 *   deno run -A bench/stamped_publisher.ts '{"urls":["rtsp://127.0.0.1:8554/bench/s0"],"bitrateKbit":928}'
 *
 * Video: 30 frames/s, a keyframe (STAP-A SPS+PPS, then the IDR) every 60 frames, 8 times a P
 * frame's size; frames of more than one packet go in FU-A fragments, each frame in one write.
 * Audio: AAC at 44.1 kHz, one 1024-sample frame per packet (43 a second), written when due.
 * The stamp (stampAt/readStamp) is the sender's epoch time in ms at the write, a float64 after a
 * magic word at the start of the NAL unit's data, where a decoder would see slice data.
 */

import { buildRtpPacket } from "../src/rtp/rtp_header.ts";
import { INTERLEAVED_HEADER_BYTES, writeInterleavedHeader } from "../src/rtsp/interleaved_frame.ts";
import { MessageSplitter, SPLIT_MESSAGE } from "../src/rtsp/message_splitter.ts";
import { parseResponse } from "../src/rtsp/response.ts";

/**
 * Marks a stamped packet: "dmTS" with the first byte's top bit set (0xe4), so the NAL unit's data
 * starts like a slice header with first_mb_in_slice 0 (ue(v) "1") and depacketizers that find frames
 * by their first slice (the HLS and recording muxers) take each frame, keyframes included.
 */
export const STAMP_MAGIC = 0xe46d5453;
/** Magic (4 bytes) and float64 epoch ms (8). */
export const STAMP_BYTES = 12;

/** Epoch ms with sub-ms precision; comparable between processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The stamp of an RTP packet at buf[at..at+len), or NaN: after the 12-byte RTP header, at 1 (a
 * single NAL unit) or 2 (an FU-A fragment) into the payload.
 */
export function readStamp(buf: Uint8Array, at: number, len: number): number {
  if (len < 12 + 2 + STAMP_BYTES) return NaN;
  const cc = buf[at] & 0x0f;
  const p = at + 12 + 4 * cc;
  const type = buf[p] & 0x1f;
  const s = p + (type === 28 ? 2 : 1);
  if (s + STAMP_BYTES > at + len) return NaN;
  if (((buf[s] << 24) | (buf[s + 1] << 16) | (buf[s + 2] << 8) | buf[s + 3]) >>> 0 !== STAMP_MAGIC) {
    return NaN;
  }
  stampBytes.set(buf.subarray(s + 4, s + STAMP_BYTES));
  return stampView.getFloat64(0);
}

/** Scratch for readStamp's float64, so reading a stamp allocates nothing. */
const stampBytes = new Uint8Array(8);
const stampView = new DataView(stampBytes.buffer);

const FPS = 30;
const GOP_FRAMES = 60;
const KEY_WEIGHT = 8;
const MAX_PAYLOAD = 1400;
const AUDIO_RATE = 44100;
const AUDIO_FRAME = 1024;

const SDP = (audioKbit: number) =>
  [
    "v=0",
    "o=- 0 0 IN IP4 127.0.0.1",
    "s=dm-live bench",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=video 0 RTP/AVP 96",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==; profile-level-id=42C01E",
    "a=control:streamid=0",
    "m=audio 0 RTP/AVP 97",
    `b=AS:${audioKbit}`,
    `a=rtpmap:97 MPEG4-GENERIC/${AUDIO_RATE}/2`,
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=1210",
    "a=control:streamid=1",
    "",
  ].join("\r\n");

const enc = new TextEncoder();

/** The SDP's sprop-parameter-sets (SPS: Baseline 240x160, POC type 2; PPS) as one STAP-A payload. */
const KEY_STAP_A = (() => {
  const sps = Uint8Array.from(atob("Z0LAHtkDxWhAAAADAEAAAAwDxYuS"), (c) => c.charCodeAt(0));
  const pps = Uint8Array.from(atob("aMuMsg=="), (c) => c.charCodeAt(0));
  const out = new Uint8Array(1 + 2 + sps.length + 2 + pps.length);
  out[0] = 0x18;
  out[2] = sps.length;
  out.set(sps, 3);
  out[3 + sps.length + 1] = pps.length;
  out.set(pps, 3 + sps.length + 2);
  return out;
})();

/** One published stream: its connection, sequence numbers and the frame sizes of its bitrate. */
export class Publication {
  readonly conn: Deno.TcpConn;
  readonly url: string;
  #cseq = 1;
  #session = "";
  #buf = new Uint8Array(0);
  readonly #splitter = new MessageSplitter();
  videoSeq = 0;
  audioSeq = 0;
  readonly pBytes: number;
  readonly keyBytes: number;
  readonly audioBytes: number;
  readonly ssrc = (Math.random() * 0xffffffff) >>> 0;

  constructor(conn: Deno.TcpConn, url: string, bitrateKbit: number) {
    this.conn = conn;
    this.url = url;
    const audioKbit = bitrateKbit >= 400 ? 128 : 48;
    const videoBytesPerGop = ((bitrateKbit - audioKbit) * 1000 / 8) * GOP_FRAMES / FPS;
    this.pBytes = Math.max(STAMP_BYTES + 16, Math.round(videoBytesPerGop / (GOP_FRAMES - 1 + KEY_WEIGHT)));
    this.keyBytes = this.pBytes * KEY_WEIGHT;
    this.audioBytes = Math.max(8, Math.round(audioKbit * 1000 / 8 * AUDIO_FRAME / AUDIO_RATE));
  }

  async request(method: string, url: string, headers: string, body = ""): Promise<void> {
    let h = `${method} ${url} RTSP/1.0\r\nCSeq: ${this.#cseq++}\r\n${headers}`;
    if (this.#session) h += `Session: ${this.#session}\r\n`;
    if (body) h += `Content-Length: ${enc.encode(body).length}\r\n`;
    await this.write(enc.encode(`${h}\r\n${body}`));
    for (;;) {
      if (this.#splitter.next(this.#buf, 0, this.#buf.length) === SPLIT_MESSAGE) {
        const r = parseResponse(this.#buf.subarray(0, this.#splitter.end));
        this.#buf = this.#buf.slice(this.#splitter.end);
        if (r.status !== 200) throw new Error(`${method} ${url}: ${r.status} ${r.reason}`);
        const session = r.headers.get("Session");
        if (session !== undefined) this.#session = session.split(";")[0].trim();
        return;
      }
      const chunk = new Uint8Array(4096);
      const n = await this.conn.read(chunk);
      if (n === null) throw new Error(`${method} ${url}: connection closed`);
      const b = new Uint8Array(this.#buf.length + n);
      b.set(this.#buf);
      b.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = b;
    }
  }

  async start(): Promise<void> {
    const audioKbit = this.audioBytes * 8 * AUDIO_RATE / AUDIO_FRAME / 1000;
    await this.request("ANNOUNCE", this.url, "Content-Type: application/sdp\r\n", SDP(Math.round(audioKbit)));
    await this.request(
      "SETUP",
      `${this.url}/streamid=0`,
      "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n",
    );
    await this.request(
      "SETUP",
      `${this.url}/streamid=1`,
      "Transport: RTP/AVP/TCP;unicast;interleaved=2-3;mode=record\r\n",
    );
    await this.request("RECORD", this.url, "Range: npt=0.000-\r\n");
    // Receiver reports and keep-alive answers are read and dropped.
    (async () => {
      const sink = new Uint8Array(4096);
      try {
        while ((await this.conn.read(sink)) !== null) { /* drop */ }
      } catch {
        // closed
      }
    })();
  }

  async write(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Video frame `n` (RTP time n * 3000) as interleaved frames, stamped at the call. */
  videoFrame(n: number): Uint8Array {
    const key = n % GOP_FRAMES === 0;
    const size = key ? this.keyBytes : this.pBytes;
    const ts = (n * (90000 / FPS)) >>> 0;
    const packets: { channel: number; rtp: Uint8Array }[] = [];
    if (key) {
      // SPS and PPS of the SDP, as one STAP-A: whole, so a muxer (HLS, recording) can use them.
      packets.push(this.#rtp(0, 96, this.videoSeq++, ts, false, KEY_STAP_A));
    }
    const nal = key ? 0x65 : 0x41;
    const stamp = epochMs();
    if (size <= MAX_PAYLOAD) {
      const p = new Uint8Array(size);
      p[0] = nal;
      this.#stamp(p, 1, stamp);
      packets.push(this.#rtp(0, 96, this.videoSeq++, ts, true, p));
    } else {
      const frags = Math.ceil(size / MAX_PAYLOAD);
      for (let f = 0; f < frags; f++) {
        const p = new Uint8Array(Math.min(MAX_PAYLOAD, size - f * MAX_PAYLOAD) + 2);
        p[0] = (nal & 0x60) | 28;
        p[1] = (nal & 0x1f) | (f === 0 ? 0x80 : 0) | (f === frags - 1 ? 0x40 : 0);
        this.#stamp(p, 2, stamp);
        packets.push(this.#rtp(0, 96, this.videoSeq++, ts, f === frags - 1, p));
      }
    }
    return interleave(packets);
  }

  /** Audio frame `n` (RTP time n * 1024). */
  audioFrame(n: number): Uint8Array {
    const p = new Uint8Array(4 + this.audioBytes);
    // AU-headers-length 16 bits; one AU: size (13 bits), index 0.
    p.set([0x00, 0x10, (this.audioBytes >> 5) & 0xff, (this.audioBytes << 3) & 0xff]);
    return interleave([this.#rtp(2, 97, this.audioSeq++, (n * AUDIO_FRAME) >>> 0, true, p)]);
  }

  #stamp(p: Uint8Array, at: number, stamp: number): void {
    if (p.length < at + STAMP_BYTES) return;
    const v = new DataView(p.buffer, p.byteOffset + at, STAMP_BYTES);
    v.setUint32(0, STAMP_MAGIC);
    v.setFloat64(4, stamp);
  }

  /** An RTP packet for interleaved `channel` (0: video, 2: audio, each track its own SSRC). */
  #rtp(channel: number, pt: number, seq: number, ts: number, marker: boolean, payload: Uint8Array) {
    const ssrc = channel === 0 ? this.ssrc : (this.ssrc ^ 1) >>> 0;
    return {
      channel,
      rtp: buildRtpPacket({ payloadType: pt, sequence: seq & 0xffff, timestamp: ts, ssrc, marker, payload }),
    };
  }
}

/** RTP packets as interleaved frames (RFC 2326 §10.12), one after the other: one write. */
function interleave(packets: { channel: number; rtp: Uint8Array }[]): Uint8Array {
  let n = 0;
  for (const p of packets) n += INTERLEAVED_HEADER_BYTES + p.rtp.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of packets) {
    writeInterleavedHeader(out, off, p.channel, p.rtp.length);
    out.set(p.rtp, off + INTERLEAVED_HEADER_BYTES);
    off += INTERLEAVED_HEADER_BYTES + p.rtp.length;
  }
  return out;
}

/** Publishes to every URL until the process is killed; throws if a publication cannot start. */
export async function publish(urls: string[], bitrateKbit: number): Promise<never> {
  const pubs: Publication[] = [];
  for (const url of urls) {
    const u = new URL(url.replace(/^rtsp:/, "http:"));
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 554) });
    conn.setNoDelay(true);
    const p = new Publication(conn, url, bitrateKbit);
    await p.start();
    pubs.push(p);
  }
  const t0 = performance.now();
  let video = 0;
  let audio = 0;
  for (;;) {
    const tv = t0 + (video * 1000) / FPS;
    const ta = t0 + (audio * AUDIO_FRAME * 1000) / AUDIO_RATE;
    const next = Math.min(tv, ta);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (tv <= ta) {
      await Promise.all(pubs.map((p) => p.write(p.videoFrame(video))));
      video++;
    } else {
      await Promise.all(pubs.map((p) => p.write(p.audioFrame(audio))));
      audio++;
    }
  }
}

if (import.meta.main) {
  const { urls, bitrateKbit } = JSON.parse(Deno.args[0]) as { urls: string[]; bitrateKbit: number };
  await publish(urls, bitrateKbit);
}

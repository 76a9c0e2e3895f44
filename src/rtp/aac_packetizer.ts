/**
 * AAC access units into mpeg4-generic RTP packets (RFC 3640), the serializer paired with
 * `aac_depacketizer.ts`. AUs whose times follow each other by one frame duration share a packet
 * while they fit (§3.2.1: the timestamp is the first one's), each with its AU-header, bit-packed;
 * an AU over the payload bound is fragmented (§3.2.3), every fragment's AU-size being the whole
 * AU's (§3.2.1.1) and the marker bit on the last. AU-Index and AU-Index-delta are 0 (no
 * interleaving). Without any AU-header field (sizeLength, indexLength, indexDeltaLength 0) each
 * packet carries one AU or a fragment of one.
 *
 * @module
 */
import type { AccessUnit } from "./access_unit.ts";
import { type Mpeg4GenericConfig, parseAudioSpecificConfig } from "./aac.ts";
import { aacFrameSamples } from "./aac_depacketizer.ts";
import { type PacketizerOptions, RtpPacketSequence } from "./packetizer.ts";

/** Options of {@link AacPacketizer}. */
export interface AacPacketizerOptions extends PacketizerOptions {
  /** The rtpmap's clock rate. */
  clockRate: number;
  /** The fmtp it will be announced with: the AU-header field widths and the AudioSpecificConfig. */
  config: Mpeg4GenericConfig;
}

const AU_HEADERS_LENGTH_BYTES = 2;
const MAX_HEADER_BITS = 0xffff;

/** AAC access units of one track to RTP packets; allocates, for tests and tools. */
export class AacPacketizer {
  /** RTP clock ticks between two AUs that may share a packet. */
  readonly frameDuration: number;
  readonly #rtp: RtpPacketSequence;
  readonly #sizeLength: number;
  readonly #firstBits: number;
  readonly #nextBits: number;
  readonly #noHeaders: boolean;

  constructor(options: AacPacketizerOptions) {
    const { clockRate, config } = options;
    if (!Number.isSafeInteger(clockRate) || clockRate <= 0) {
      throw new RangeError(`AAC clock rate must be a positive integer, got ${clockRate}`);
    }
    if (config.sizeLength === 0 && (config.indexLength !== 0 || config.indexDeltaLength !== 0)) {
      throw new RangeError("mpeg4-generic AU headers without an AU-size (sizelength=0) are not supported");
    }
    const info = parseAudioSpecificConfig(config.config);
    this.frameDuration = Math.round(aacFrameSamples(config.config) * clockRate / info.sampleRate);
    this.#sizeLength = config.sizeLength;
    this.#firstBits = config.sizeLength + config.indexLength;
    this.#nextBits = config.sizeLength + config.indexDeltaLength;
    this.#noHeaders = this.#firstBits === 0 && this.#nextBits === 0;
    const headerBytes = this.#noHeaders ? 0 : AU_HEADERS_LENGTH_BYTES + ((this.#firstBits + 7) >>> 3);
    this.#rtp = new RtpPacketSequence(options, headerBytes + 1);
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#rtp.sequence;
  }

  /** The packets of consecutive AUs; RangeError for an AU that is empty or over the AU-size field. */
  packetize(aus: readonly AccessUnit[]): Uint8Array[] {
    const maxSize = this.#sizeLength === 0 ? Infinity : 2 ** this.#sizeLength - 1;
    for (const au of aus) {
      const n = au.units.length === 1 ? au.units[0].length : 0;
      if (n === 0 || n > maxSize) {
        throw new RangeError(
          `AAC access unit must be one non-empty frame of at most ${maxSize} bytes (sizelength ` +
            `${this.#sizeLength}), got ${au.units.length} units of ${
              au.units.map((u) => u.length).join(", ")
            } bytes`,
        );
      }
    }
    const max = this.#rtp.maxPayloadBytes;
    const out: Uint8Array[] = [];
    for (let i = 0; i < aus.length;) {
      const first = aus[i];
      const frame = first.units[0];
      if (this.#noHeaders || this.#payloadBytes(1, frame.length) > max) {
        for (const p of this.#fragments(frame, first.pts)) out.push(p);
        i++;
        continue;
      }
      let j = i + 1;
      let data = frame.length;
      while (
        j < aus.length && aus[j].pts === first.pts + (j - i) * this.frameDuration &&
        this.#headerBits(j - i + 1) <= MAX_HEADER_BITS &&
        this.#payloadBytes(j - i + 1, data + aus[j].units[0].length) <= max
      ) {
        data += aus[j++].units[0].length;
      }
      out.push(this.#rtp.packet(this.#payload(aus.slice(i, j).map((a) => a.units[0])), first.pts, true));
      i = j;
    }
    return out;
  }

  #headerBits(count: number): number {
    return this.#firstBits + (count - 1) * this.#nextBits;
  }

  #payloadBytes(count: number, dataBytes: number): number {
    return AU_HEADERS_LENGTH_BYTES + ((this.#headerBits(count) + 7) >>> 3) + dataBytes;
  }

  /** AU-headers-length, AU-headers (index fields 0), padding to a byte, then the AUs. */
  #payload(frames: readonly Uint8Array[], auSize?: number): Uint8Array {
    const bits = this.#headerBits(frames.length);
    const data = frames.reduce((n, f) => n + f.length, 0);
    const out = new Uint8Array(this.#payloadBytes(frames.length, data));
    out[0] = bits >> 8;
    out[1] = bits;
    let bit = 0;
    let at = AU_HEADERS_LENGTH_BYTES + ((bits + 7) >>> 3);
    for (let i = 0; i < frames.length; i++) {
      writeBits(out, AU_HEADERS_LENGTH_BYTES, bit, this.#sizeLength, auSize ?? frames[i].length);
      bit += i === 0 ? this.#firstBits : this.#nextBits;
      out.set(frames[i], at);
      at += frames[i].length;
    }
    return out;
  }

  /** One AU over as many packets as it needs, the marker on the last; each AU-size the whole AU's. */
  #fragments(frame: Uint8Array, pts: number): Uint8Array[] {
    const chunk = this.#rtp.maxPayloadBytes - (this.#noHeaders ? 0 : this.#payloadBytes(1, 0));
    const out: Uint8Array[] = [];
    for (let at = 0; at < frame.length; at += chunk) {
      const end = Math.min(at + chunk, frame.length);
      const part = frame.subarray(at, end);
      const payload = this.#noHeaders ? part.slice() : this.#payload([part], frame.length);
      out.push(this.#rtp.packet(payload, pts, end === frame.length));
    }
    return out;
  }
}

function writeBits(buf: Uint8Array, at: number, bitOffset: number, bitCount: number, value: number): void {
  // MSB first; dividing instead of shifting keeps 32-bit values exact.
  for (let i = bitCount - 1; i >= 0; i--) {
    const bit = Math.floor(value / 2 ** i) % 2;
    const pos = bitOffset + (bitCount - 1 - i);
    if (bit === 1) buf[at + (pos >>> 3)] |= 0x80 >> (pos & 7);
  }
}

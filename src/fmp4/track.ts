/**
 * The tracks of a fragmented MP4: what the init segment describes and every fragment refers to
 * by id. The muxer takes codec configuration as given (an avcC/hvcC record, an AAC
 * AudioSpecificConfig) and checks only what it must to write valid boxes.
 *
 * @module
 */

/** H.264 (`avc1` + avcC, ISO/IEC 14496-15 §5) or H.265 (`hvc1` + hvcC, §8) video. */
export interface VideoTrack {
  /** track_ID, 1 or more, unique in the init segment. */
  readonly id: number;
  readonly codec: "h264" | "h265";
  /** Ticks per second of the track's times: 90000 for RTP video. */
  readonly timescale: number;
  readonly width: number;
  readonly height: number;
  /** The AVCDecoderConfigurationRecord or HEVCDecoderConfigurationRecord, written verbatim. */
  readonly decoderConfig: Uint8Array;
}

/** Audio codecs the muxer writes a sample entry for. */
export type AudioCodec = "aac" | "opus" | "pcmu" | "pcma";

/**
 * Audio: AAC (`mp4a` + esds, ISO/IEC 14496-14), Opus (`Opus` + dOps, Opus in ISOBMFF), G.711
 * (QuickTime `ulaw`/`alaw`, see docs/fmp4.md for why).
 */
export interface AudioTrack {
  readonly id: number;
  readonly codec: AudioCodec;
  /** Ticks per second: the sample rate (RTP clock rate); 48000 for Opus. */
  readonly timescale: number;
  readonly channels: number;
  /** Sampling rate in Hz; for Opus the input rate dOps records (informational, decoders output 48 kHz). */
  readonly sampleRate: number;
  /** AAC: the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), required. */
  readonly config?: Uint8Array;
  /** Opus: samples at 48 kHz the decoder drops at the start (dOps PreSkip); 0 when absent. */
  readonly preSkip?: number;
  /** Opus: gain in Q7.8 dB to apply on output (dOps OutputGain); 0 when absent. */
  readonly outputGain?: number;
}

/** One track of an init segment. */
export type Track = VideoTrack | AudioTrack;

/** Whether a track is video. */
export function isVideoTrack(track: Track): track is VideoTrack {
  return track.codec === "h264" || track.codec === "h265";
}

const UINT16 = 0xffff;
const UINT32 = 0xffff_ffff;

function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer ${min}..${max}, got ${value}`);
  }
}

/** Throws RangeError or TypeError for a track the muxer cannot describe; names the field. */
export function validateTrack(track: Track): void {
  const at = `Track ${track.id}:`;
  checkInteger(track.id, 1, UINT32, "Track id");
  checkInteger(track.timescale, 1, UINT32, `${at} timescale`);
  if (isVideoTrack(track)) {
    checkInteger(track.width, 1, UINT16, `${at} width`);
    checkInteger(track.height, 1, UINT16, `${at} height`);
    // configurationVersion is 1 in both records (14496-15 §5.3.2.1, §8.3.2.1); the fixed part of
    // an avcC is 7 bytes, of an hvcC 23: anything shorter is not a record.
    const min = track.codec === "h264" ? 7 : 23;
    if (
      !(track.decoderConfig instanceof Uint8Array) || track.decoderConfig.length < min ||
      track.decoderConfig[0] !== 1
    ) {
      throw new RangeError(
        `${at} decoderConfig is not an ${track.codec === "h264" ? "avcC" : "hvcC"} record`,
      );
    }
    return;
  }
  switch (track.codec) {
    case "aac":
    case "opus":
    case "pcmu":
    case "pcma":
      break;
    default:
      throw new TypeError(
        `${at} codec ${JSON.stringify((track as { codec: unknown }).codec)} has no MP4 sample entry here`,
      );
  }
  checkInteger(track.channels, 1, UINT16, `${at} channels`);
  if (track.codec === "opus") {
    // Mapping family 0 is mono or stereo; more channels need family 1 and a mapping table.
    checkInteger(track.channels, 1, 2, `${at} Opus channels (mapping family 0)`);
    if (track.timescale !== 48000) {
      throw new RangeError(`${at} Opus timescale must be 48000, got ${track.timescale}`);
    }
    checkInteger(track.sampleRate, 0, UINT32, `${at} Opus input sample rate`);
    checkInteger(track.preSkip ?? 0, 0, UINT16, `${at} Opus preSkip`);
    checkInteger(track.outputGain ?? 0, -0x8000, 0x7fff, `${at} Opus outputGain`);
    return;
  }
  // AudioSampleEntry's samplerate is 16.16 fixed point; higher rates need AudioSampleEntryV1 + srat.
  checkInteger(track.sampleRate, 1, UINT16, `${at} sampleRate`);
  if (track.codec === "aac" && (!(track.config instanceof Uint8Array) || track.config.length < 2)) {
    throw new RangeError(`${at} AAC needs config, the AudioSpecificConfig of 2 bytes or more`);
  }
}

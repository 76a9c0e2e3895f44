/** ADTS streams (ISO/IEC 14496-3 §1.A.2), as ffmpeg writes raw AAC, for the media tests (test-only). */

/** One ADTS frame: the raw AAC frame and the fields the AudioSpecificConfig needs. */
export interface AdtsFrame {
  data: Uint8Array;
  objectType: number;
  frequencyIndex: number;
  channelConfig: number;
}

/** Splits an ADTS stream into raw frames (views), headers (7 or 9 bytes) removed. */
export function splitAdts(bytes: Uint8Array): AdtsFrame[] {
  const out: AdtsFrame[] = [];
  let at = 0;
  while (at + 7 <= bytes.length) {
    if (bytes[at] !== 0xff || (bytes[at + 1] & 0xf0) !== 0xf0) throw new Error(`No ADTS sync word at ${at}`);
    const protectionAbsent = bytes[at + 1] & 1;
    const objectType = (bytes[at + 2] >> 6) + 1;
    const frequencyIndex = (bytes[at + 2] >> 2) & 0x0f;
    const channelConfig = ((bytes[at + 2] & 1) << 2) | (bytes[at + 3] >> 6);
    const length = ((bytes[at + 3] & 3) << 11) | (bytes[at + 4] << 3) | (bytes[at + 5] >> 5);
    const header = protectionAbsent ? 7 : 9;
    out.push({ data: bytes.subarray(at + header, at + length), objectType, frequencyIndex, channelConfig });
    at += length;
  }
  return out;
}

/** The 2-byte AudioSpecificConfig of an ADTS frame's fields (ISO/IEC 14496-3 §1.6.2.1). */
export function audioSpecificConfig(f: AdtsFrame): Uint8Array {
  return Uint8Array.of(
    (f.objectType << 3) | (f.frequencyIndex >> 1),
    ((f.frequencyIndex & 1) << 7) | (f.channelConfig << 3),
  );
}

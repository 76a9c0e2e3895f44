import assert from "node:assert/strict";
import { epochMs, Publication, readStamp } from "./stamped_publisher.ts";

/** The interleaved frames of a write: [channel, start, length] of each RTP packet. */
function frames(b: Uint8Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < b.length;) {
    assert.equal(b[i], 0x24);
    const len = (b[i + 2] << 8) | b[i + 3];
    out.push([b[i + 1], i + 4, len]);
    i += 4 + len;
  }
  return out;
}

Deno.test("stamped publisher: every slice packet carries its send time, in FU-A fragments or single NAL units", () => {
  for (const kbit of [928, 100]) {
    const p = new Publication(null as unknown as Deno.TcpConn, "rtsp://127.0.0.1/x", kbit);
    for (const n of [0, 1]) {
      const before = epochMs();
      const b = p.videoFrame(n);
      const after = epochMs();
      const packets = frames(b);
      // A keyframe starts with SPS+PPS in a STAP-A, which carries no stamp.
      const slices = n === 0 ? packets.slice(1) : packets;
      if (n === 0) assert.ok(Number.isNaN(readStamp(b, packets[0][1], packets[0][2])), "STAP-A");
      assert.ok(slices.length >= 1);
      for (const [ch, at, len] of slices) {
        assert.equal(ch, 0);
        const type = b[at + 12] & 0x1f;
        assert.equal(type, kbit === 928 || n === 0 ? 28 : 1, `NAL type at ${kbit} kbit/s, frame ${n}`);
        const stamp = readStamp(b, at, len);
        assert.ok(stamp >= before && stamp <= after, `stamp ${stamp} within [${before}, ${after}]`);
      }
      // Only the frame's last packet has the marker bit.
      assert.deepEqual(
        slices.map(([, at]) => (b[at + 1] & 0x80) !== 0),
        slices.map((_, i) => i === slices.length - 1),
      );
    }
    const audio = p.audioFrame(0);
    const [[ch, at, len]] = frames(audio);
    assert.equal(ch, 2);
    assert.ok(Number.isNaN(readStamp(audio, at, len)), "audio carries no stamp");
  }
});

Deno.test("stamped publisher: the bitrate is what was asked, over a GOP of video and the audio", () => {
  const p = new Publication(null as unknown as Deno.TcpConn, "rtsp://127.0.0.1/x", 928);
  let bytes = 0;
  for (let n = 0; n < 60; n++) for (const [, , len] of frames(p.videoFrame(n))) bytes += len;
  for (let n = 0; n < 86; n++) for (const [, , len] of frames(p.audioFrame(n))) bytes += len; // 2 s of AAC
  const kbit = (bytes * 8) / 2 / 1000;
  assert.ok(kbit > 928 * 0.95 && kbit < 928 * 1.1, `${kbit} kbit/s`);
});

Deno.test("readStamp: short, unstamped and CSRC-carrying packets", () => {
  assert.ok(Number.isNaN(readStamp(new Uint8Array(10), 0, 10)));
  assert.ok(Number.isNaN(readStamp(new Uint8Array(40), 0, 40)), "no magic");
  const p = new Publication(null as unknown as Deno.TcpConn, "rtsp://127.0.0.1/x", 928);
  const b = p.videoFrame(1);
  const [[, at, len]] = frames(b);
  // The same packet with one CSRC inserted: the stamp moves 4 bytes on and is still found.
  const withCsrc = new Uint8Array(len + 4);
  withCsrc.set(b.subarray(at, at + 12));
  withCsrc[0] |= 1;
  withCsrc.set(b.subarray(at + 12, at + len), 16);
  assert.equal(readStamp(withCsrc, 0, withCsrc.length), readStamp(b, at, len));
});

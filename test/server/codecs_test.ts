/** Codecs and SDP details end to end over raw RTSP/TCP: H.265 GOPs, audio-only starts, multi-format media. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { type Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { type RawPacket, startSdpPublisher } from "../support/sdp_publisher.ts";
import { parseRtpInfoHeader } from "../../src/rtsp/rtp_info_header.ts";

const seqOf = (f: Frame) => (f.payload[2] << 8) | f.payload[3];
const tsOf = (f: Frame) =>
  ((f.payload[4] << 24) | (f.payload[5] << 16) | (f.payload[6] << 8) | f.payload[7]) >>> 0;
const ptOf = (f: Frame) => f.payload[1] & 0x7f;
/** RTP frames only: RTCP (sender reports) comes on the odd channels. */
const rtp = (fs: Frame[]) => fs.filter((f) => f.channel % 2 === 0);

const HEAD = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
const H265_FMTP = "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ; " +
  "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZKkkyvAWgIAAAAwAgAAADA8E=; sprop-pps=RAHBcrRiQA==";

/** DESCRIBE, SETUP every track on channels 2i/2i+1, PLAY: the client, the SDP and the RTP-Info. */
async function play(port: number, path: string, tracks: number) {
  const c = await RtspTestClient.connect(port, path);
  const d = await c.request("DESCRIBE", c.url, { Accept: "application/sdp" });
  assert.equal(d.status, 200, `DESCRIBE ${d.status}`);
  const base = d.headers.get("Content-Base")!;
  for (let i = 0; i < tracks; i++) {
    const r = await c.request("SETUP", `${base}trackID=${i}`, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
    });
    assert.equal(r.status, 200, `SETUP ${i}: ${r.status} ${r.reason}`);
  }
  const p = await c.request("PLAY", base);
  assert.equal(p.status, 200, `PLAY ${p.status}`);
  return {
    client: c,
    sdp: new TextDecoder().decode(d.body),
    rtpInfo: parseRtpInfoHeader(p.headers.get("RTP-Info") ?? ""),
  };
}

function assertConsecutive(frames: Frame[]): void {
  for (let i = 1; i < frames.length; i++) {
    assert.equal(seqOf(frames[i]), (seqOf(frames[i - 1]) + 1) & 0xffff, `gap after packet ${i - 1}`);
  }
}

/** H.265 frames as ffmpeg sends them: every `gop` frames an AP of VPS+SPS+PPS and a CRA in two FUs. */
function h265Frames(from: number, count: number, gop: number): RawPacket[] {
  const out: RawPacket[] = [];
  for (let f = from; f < from + count; f++) {
    const timestamp = f * 3000;
    if (f % gop === 0) {
      const ap = [0x60, 0x01, 0, 3, 0x40, 0x01, 0x0c, 0, 3, 0x42, 0x01, 0x01, 0, 3, 0x44, 0x01, 0xc1];
      out.push({ track: 0, payloadType: 96, timestamp, payload: ap, marker: false });
      out.push({
        track: 0,
        payloadType: 96,
        timestamp,
        payload: [0x62, 0x01, 0x95, f & 0xff],
        marker: false,
      });
      out.push({ track: 0, payloadType: 96, timestamp, payload: [0x62, 0x01, 0x55, f & 0xff] });
    } else {
      out.push({ track: 0, payloadType: 96, timestamp, payload: [0x02, 0x01, 0xd0, f & 0xff] });
    }
  }
  return out;
}

Deno.test("an H.265 viewer gets the sprop sets and starts at the newest GOP's VPS/SPS/PPS", async () => {
  await withServer({}, async (server) => {
    const sdp = HEAD +
      `m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n${H265_FMTP}\r\na=control:streamid=0\r\n`;
    const url = `rtsp://127.0.0.1:${server.port}/live/hevc`;
    const pub = await startSdpPublisher(server.port, "live/hevc", sdp, [`${url}/streamid=0`]);
    await pub.send(h265Frames(0, 25, 10)); // GOPs start at frames 0, 10, 20
    // Answered once the server has read (and taken in) every frame sent before it.
    assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
    const v = await play(server.port, "live/hevc", 1);
    assert.ok(v.sdp.includes(`m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n${H265_FMTP}\r\n`), v.sdp);
    await pub.send(h265Frames(25, 10, 10));
    assert.ok(await v.client.waitFrames((fs) => rtp(fs).length > 0 && tsOf(rtp(fs).at(-1)!) === 34 * 3000));
    const first = rtp(v.client.frames)[0];
    assert.equal((first.payload[12] >> 1) & 0x3f, 48, "burst starts with the AP of parameter sets");
    assert.equal(tsOf(first), 20 * 3000, "at the newest GOP (frame 20)");
    assert.equal(v.rtpInfo[0]?.seq, seqOf(first));
    assert.equal(v.rtpInfo[0]?.rtptime, tsOf(first));
    assertConsecutive(rtp(v.client.frames));
    v.client.close();
    pub.close();
  });
});

Deno.test("audio-only streams start a new viewer at once, audioStartWindowMs back", async (t) => {
  const codecs = [
    { name: "PCMU, static payload type 0 without rtpmap", media: "m=audio 0 RTP/AVP 0", pt: 0, bytes: 160 },
    { name: "PCMA, static payload type 8 without rtpmap", media: "m=audio 0 RTP/AVP 8", pt: 8, bytes: 160 },
    {
      name: "L16 stereo at 16 kHz",
      media: "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 L16/16000/2",
      pt: 96,
      bytes: 1280,
    },
    {
      name: "Opus, relayed opaquely with its fmtp",
      media: "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 sprop-stereo=1",
      pt: 111,
      bytes: 80,
    },
  ];
  const windowMs = 1000;
  await withServer({ "viewer.audioStartWindowMs": windowMs }, async (server) => {
    for (const [i, c] of codecs.entries()) {
      await t.step(c.name, async () => {
        const path = `live/audio${i}`;
        const sdp = HEAD + `${c.media}\r\na=control:streamid=0\r\n`;
        const url = `rtsp://127.0.0.1:${server.port}/${path}`;
        const pub = await startSdpPublisher(server.port, path, sdp, [`${url}/streamid=0`]);
        // 10 packets, then (once the server has them, and the window more) 10 more; then the
        // publisher pauses while a viewer joins. The window goes by arrival: only the last 10 are in it.
        const send = async (from: number) => {
          for (let n = from; n < from + 10; n++) {
            await pub.send([{
              track: 0,
              payloadType: c.pt,
              timestamp: n * 320,
              payload: new Uint8Array(c.bytes),
            }]);
          }
          assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
        };
        await send(0);
        await new Promise((r) => setTimeout(r, windowMs + 10));
        await send(10);
        const v = await play(server.port, path, 1);
        assert.ok(v.sdp.includes(`${c.media}\r\na=control:trackID=0\r\n`), v.sdp);
        assert.ok(await v.client.waitFrames((fs) => rtp(fs).length > 0 && seqOf(rtp(fs).at(-1)!) === 19));
        const got = rtp(v.client.frames);
        assert.ok(got.every((f) => ptOf(f) === c.pt));
        assert.ok(got.length >= 2, `a burst of ${got.length} packets, before any new packet was sent`);
        assert.ok(seqOf(got[0]) >= 10, `packets older than the window are not sent (from ${seqOf(got[0])})`);
        assert.equal(v.rtpInfo[0]?.seq, seqOf(got[0]));
        assertConsecutive(got);
        v.client.close();
        pub.close();
      });
    }
  });
});

Deno.test("a media with several formats is relayed whole; keyframes come from the format actually sent", async () => {
  await withServer({}, async (server) => {
    // A camera that offers H.265 and H.264 in one m= line, and sends H.264 (payload type 97).
    const sdp = HEAD + "m=video 0 RTP/AVP 96 97\r\na=rtpmap:96 H265/90000\r\n" + `${H265_FMTP}\r\n` +
      "a=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1\r\na=framerate:30\r\na=x-unknown:1\r\n" +
      "a=control:streamid=0\r\n";
    const url = `rtsp://127.0.0.1:${server.port}/live/multi`;
    const pub = await startSdpPublisher(server.port, "live/multi", sdp, [`${url}/streamid=0`]);
    const frames = (from: number, count: number) => {
      const out: RawPacket[] = [];
      for (let f = from; f < from + count; f++) {
        const timestamp = f * 3000;
        if (f % 5 === 0) {
          const stap = [0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce];
          out.push({ track: 0, payloadType: 97, timestamp, payload: stap, marker: false });
          out.push({ track: 0, payloadType: 97, timestamp, payload: [0x65, 0x88, f & 0xff] });
        } else {
          // 0x41 is an H.264 P slice; read as H.265 it would be a VPS and start a GOP.
          out.push({ track: 0, payloadType: 97, timestamp, payload: [0x41, 0x9a, f & 0xff] });
        }
      }
      return out;
    };
    await pub.send(frames(0, 8)); // GOPs at frames 0 and 5
    // Answered once the server has read (and taken in) every frame sent before it.
    assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
    const v = await play(server.port, "live/multi", 1);
    assert.ok(
      v.sdp.includes(
        "m=video 0 RTP/AVP 96 97\r\na=rtpmap:96 H265/90000\r\n" + `${H265_FMTP}\r\n` +
          "a=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1\r\na=framerate:30\r\na=x-unknown:1\r\n" +
          "a=control:trackID=0\r\n",
      ),
      v.sdp,
    );
    await pub.send(frames(8, 2));
    assert.ok(await v.client.waitFrames((fs) => rtp(fs).length > 0 && tsOf(rtp(fs).at(-1)!) === 9 * 3000));
    const first = rtp(v.client.frames)[0];
    assert.equal(tsOf(first), 5 * 3000, "starts at the newest H.264 keyframe, not a P slice");
    assert.equal(first.payload[12] & 0x1f, 24, "with its STAP-A of SPS+PPS");
    v.client.close();
    pub.close();
  });
});

Deno.test("a publisher's media controls resolve against its session-level control", async () => {
  await withServer({}, async (server) => {
    const url = `rtsp://127.0.0.1:${server.port}/live/sc`;
    // RFC 2326 §C.1.1: with a session-level control, SETUP URLs are the media controls resolved against it.
    const sdp = HEAD + `a=control:${url}/session/\r\n` +
      "m=audio 0 RTP/AVP 0\r\na=control:track1\r\nm=audio 0 RTP/AVP 8\r\na=control:track2\r\n";
    const pub = await startSdpPublisher(server.port, "live/sc", sdp, [
      `${url}/session/track1`,
      `${url}/session/track2`,
    ]);
    const v = await play(server.port, "live/sc", 2);
    assert.doesNotMatch(v.sdp, /session\//, "the publisher's controls are not served");
    await pub.send([
      { track: 0, payloadType: 0, timestamp: 0, payload: new Uint8Array(160) },
      { track: 1, payloadType: 8, timestamp: 0, payload: new Uint8Array(160) },
    ]);
    assert.ok(await v.client.waitFrames((fs) => rtp(fs).length === 2));
    assert.deepEqual(rtp(v.client.frames).map((f) => [f.channel, ptOf(f)]), [[0, 0], [2, 8]]);
    v.client.close();
    pub.close();
  });
});

/**
 * A publisher that leaves and comes back within ingest.reconnectGraceMs: viewers stay connected and
 * see one stream go on (sequence numbers continuous, the first new packets a GOP start); other
 * codecs, or no publisher in time, end them.
 */
import assert from "node:assert/strict";
import { type MainLog, withServer } from "../support/server.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { type Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { rtpSequence, rtpSsrc, rtpTimestamp } from "../../src/rtp/rtp_header.ts";

async function play(port: number, path: string): Promise<RtspTestClient> {
  const c = await RtspTestClient.connect(port, path);
  const d = await c.request("DESCRIBE", c.url);
  assert.equal(d.status, 200);
  const base = d.headers.get("Content-Base")!;
  for (const i of [0, 1]) {
    const r = await c.request("SETUP", `${base}trackID=${i}`, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
    });
    assert.equal(r.status, 200);
  }
  assert.equal((await c.request("PLAY", base)).status, 200);
  return c;
}

const video = (fs: Frame[]) => fs.filter((f) => f.channel === 0).map((f) => f.payload);
const audio = (fs: Frame[]) => fs.filter((f) => f.channel === 2).map((f) => f.payload);

/** Each packet's sequence number is the previous one's plus one (mod 2^16). */
function assertContinuous(packets: Uint8Array[], what: string): void {
  for (let i = 1; i < packets.length; i++) {
    assert.equal(
      rtpSequence(packets[i], 0),
      (rtpSequence(packets[i - 1], 0) + 1) & 0xffff,
      `${what} packet ${i}`,
    );
  }
}

/** Waits until the server has seen the publisher of `path` leave and keeps the stream for another. */
async function publisherGone(log: MainLog, path: string): Promise<void> {
  await log.waitFor(
    new RegExp(`\\[path ${path}\\] publisher left; stream \\d+ waits \\d+ ms for a new publisher`),
  );
}

Deno.test("a publisher coming back within the grace period continues the stream for the viewers already there", async () => {
  await withServer({ "ingest.reconnectGraceMs": 3000 }, async (server, _config, log) => {
    const first = await startPublisher(server.port, "cam");
    await first.sendFrames(12, 10);
    const viewers = [await play(server.port, "cam"), await play(server.port, "cam")];
    try {
      assert.ok(await viewers[0].waitFrames((fs) => fs.length >= 7), "the GOP cache: frames 10 and 11");
      await first.sendFrames(3, 10);
      first.close();
      await publisherGone(log, "cam");
      assert.ok(viewers.every((v) => !v.closed), "viewers wait for a new publisher");
      // All the first publisher sent has reached them: what comes after is the second's.
      const lastSeq = (first.videoSeq - 1) & 0xffff;
      for (const v of viewers) {
        assert.ok(
          await v.waitFrames((fs) => video(fs).length > 0 && rtpSequence(video(fs).at(-1)!, 0) === lastSeq),
          "the first publisher's last packet",
        );
      }
      const before = viewers.map((v) => v.frames.length);
      const lastOld = video(viewers[0].frames).at(-1)!;

      // The new publisher numbers from elsewhere and starts mid-GOP: 5 P-frames, then a keyframe at 10.
      const second = await startPublisher(server.port, "cam");
      second.videoSeq = 40000;
      second.audioSeq = 9;
      second.frame = 5;
      await second.sendFrames(15, 10);
      for (const [i, v] of viewers.entries()) {
        assert.ok(await v.waitFrames((fs) => video(fs.slice(before[i])).length >= 4 + 9), `viewer ${i}`);
        const fresh = video(v.frames.slice(before[i]));
        assert.equal(fresh[0][12], 0x18, "the first new packet is the STAP-A with SPS/PPS (a GOP start)");
        assert.equal(
          rtpSequence(fresh[0], 0),
          (rtpSequence(lastOld, 0) + 1) & 0xffff,
          "no gap at the switch",
        );
        assert.ok(rtpTimestamp(fresh[0], 0) > rtpTimestamp(lastOld, 0), "time goes on");
        assert.equal(rtpSsrc(fresh[0], 0), rtpSsrc(lastOld, 0));
        assertContinuous(video(v.frames), `viewer ${i} video`);
        assertContinuous(audio(v.frames), `viewer ${i} audio`);
      }
      // A viewer joining now starts at the new publisher's GOP, numbered like the others.
      const late = await play(server.port, "cam");
      await second.sendFrames(2, 10);
      assert.ok(await late.waitFrames((fs) => video(fs).length >= 4));
      assert.equal(late.frames[0].payload[12], 0x18);
      late.close();
      second.close();
    } finally {
      for (const v of viewers) v.close();
    }
  });
});

Deno.test("no publisher within the grace period: the viewers are closed and the path is free", async () => {
  await withServer({ "ingest.reconnectGraceMs": 500 }, async (server) => {
    const pub = await startPublisher(server.port, "cam");
    await pub.sendFrames(3, 10);
    const v = await play(server.port, "cam");
    try {
      pub.close();
      const t0 = Date.now();
      assert.ok(await v.waitClosed(5000), "closed after the grace period");
      assert.ok(Date.now() - t0 >= 400, `closed after ${Date.now() - t0} ms, not at once`);
      const again = await startPublisher(server.port, "cam");
      again.close();
    } finally {
      v.close();
    }
  });
});

Deno.test("a publisher with other codecs ends the waiting stream's viewers and publishes afresh", async () => {
  await withServer({ "ingest.reconnectGraceMs": 3000 }, async (server, _config, log) => {
    const pub = await startPublisher(server.port, "cam");
    await pub.sendFrames(3, 10);
    const v = await play(server.port, "cam");
    const c = await RtspTestClient.connect(server.port, "cam");
    try {
      pub.close();
      await publisherGone(log, "cam");
      assert.ok(!v.closed, "the viewer waits for a new publisher");
      const sdp =
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=control:streamid=0\r\n";
      assert.equal(
        (await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, sdp)).status,
        200,
      );
      const s = await c.request("SETUP", `${c.url}/streamid=0`, {
        Transport: "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
      });
      assert.equal(s.status, 200);
      assert.equal((await c.request("RECORD", c.url)).status, 200);
      assert.ok(await v.waitClosed(), "the old stream's viewer is closed");
      const fresh = await RtspTestClient.connect(server.port, "cam");
      const d = await fresh.request("DESCRIBE");
      fresh.close();
      assert.equal(d.status, 200);
      assert.match(new TextDecoder().decode(d.body), /m=audio 0 RTP\/AVP 0/);
    } finally {
      v.close();
      c.close();
    }
  });
});

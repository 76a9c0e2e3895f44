/** The relay end to end over raw RTSP/TCP: publish, play, GOP burst, fan-out across workers. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { type Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { startPublisher } from "../support/synthetic_publisher.ts";
import { parseRtpInfoHeader } from "../../src/rtsp/rtp_info_header.ts";

const seqOf = (f: Frame) => (f.payload[2] << 8) | f.payload[3];
const tsOf = (f: Frame) =>
  ((f.payload[4] << 24) | (f.payload[5] << 16) | (f.payload[6] << 8) | f.payload[7]) >>> 0;
const nalOf = (f: Frame) => f.payload[12] & 0x1f;

/** DESCRIBE + SETUP every track (channels 2i, 2i+1 unless given) + PLAY. */
async function play(port: number, path: string, channels: [number, number][] = [[0, 1], [2, 3]]) {
  const c = await RtspTestClient.connect(port, path);
  const d = await c.request("DESCRIBE", c.url, { Accept: "application/sdp" });
  assert.equal(d.status, 200, `DESCRIBE ${d.status}`);
  const base = d.headers.get("Content-Base")!;
  for (let i = 0; i < channels.length; i++) {
    const [a, b] = channels[i];
    const r = await c.request("SETUP", `${base}trackID=${i}`, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${a}-${b}`,
    });
    assert.equal(r.status, 200, `SETUP ${i}: ${r.status} ${r.reason}`);
    assert.equal(r.headers.get("Transport"), `RTP/AVP/TCP;unicast;interleaved=${a}-${b}`);
  }
  const p = await c.request("PLAY", base, { Range: "npt=0.000-" });
  assert.equal(p.status, 200, `PLAY ${p.status}`);
  return { client: c, describe: d, play: p };
}

/** Checks a channel's RTP sequence numbers are consecutive; returns how many. */
function assertConsecutive(frames: Frame[], channel: number): number {
  const seqs = frames.filter((f) => f.channel === channel).map(seqOf);
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], (seqs[i - 1] + 1) & 0xffff, `gap on channel ${channel}`);
  }
  return seqs.length;
}

Deno.test("a viewer gets the SDP, starts at the newest GOP's parameter sets, then follows live", async () => {
  await withServer({}, async (server) => {
    const pub = await startPublisher(server.port, "live/cam1");
    await pub.sendFrames(25, 10); // GOPs start at frames 0, 10, 20
    // Answered once the server has read (and taken in) every frame sent before it.
    assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
    const { client, describe, play: p } = await play(server.port, "live/cam1");
    assert.equal(describe.headers.get("Content-Type"), "application/sdp");
    assert.equal(describe.headers.get("Content-Base"), `rtsp://127.0.0.1:${server.port}/live/cam1/`);
    const sdp = new TextDecoder().decode(describe.body);
    assert.match(sdp, /sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==/);
    assert.match(sdp, /config=1210/);
    assert.match(sdp, /a=control:trackID=0\r\n/);
    assert.match(sdp, /a=control:trackID=1\r\n/);
    assert.doesNotMatch(sdp, /streamid=/);
    assert.match(p.headers.get("Range")!, /^npt=now-/);

    await pub.sendFrames(10, 10); // one more GOP start at frame 30
    assert.ok(await client.waitFrames((fs) => fs.filter((f) => f.channel === 2).length >= 15));
    const first = client.frames[0];
    assert.equal(first.channel, 0);
    assert.equal(nalOf(first), 24, "burst starts with the STAP-A holding SPS+PPS");
    assert.equal(tsOf(first), 20 * 3000, "at the newest GOP (frame 20)");
    const info = parseRtpInfoHeader(p.headers.get("RTP-Info")!);
    assert.equal(info.length, 2);
    assert.equal(info[0].url, `rtsp://127.0.0.1:${server.port}/live/cam1/trackID=0`);
    assert.equal(info[0].seq, seqOf(first));
    assert.equal(info[0].rtptime, tsOf(first));
    const firstAudio = client.frames.find((f) => f.channel === 2)!;
    assert.equal(info[1].seq, seqOf(firstAudio));
    // AAC is relayed byte for byte: AU-headers-length, one AU header (60 bytes), the AU.
    assert.deepEqual([...firstAudio.payload.subarray(12)], [
      0x00,
      0x10,
      0x01,
      0xe0,
      ...new Array(60).fill(0xaa),
    ]);
    assertConsecutive(client.frames, 0);
    assertConsecutive(client.frames, 2);
    const video = client.frames.filter((f) => f.channel === 0);
    assert.equal(seqOf(video[video.length - 1]), pub.videoSeq - 1, "every video packet up to the last sent");
    client.close();
    pub.close();
  });
});

Deno.test("viewers with their own channel pairs or one track get the right frames", async () => {
  await withServer({}, async (server) => {
    const pub = await startPublisher(server.port, "cam");
    await pub.sendFrames(5, 5);
    const odd = await play(server.port, "cam", [[7, 8], [3, 4]]);
    const c = await RtspTestClient.connect(server.port, "cam");
    await c.request("DESCRIBE");
    let r = await c.request("SETUP", `${c.url}/trackID=1`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(r.status, 200);
    r = await c.request("PLAY", c.url);
    assert.equal(r.status, 200);
    const rtpInfo = parseRtpInfoHeader(r.headers.get("RTP-Info")!);
    assert.deepEqual(rtpInfo.map((e) => e.url), [`${c.url}/trackID=1`]);
    await pub.sendFrames(10, 5);
    assert.ok(await odd.client.waitFrames((fs) => fs.filter((f) => f.channel === 3).length >= 10));
    assert.ok(await c.waitFrames((fs) => fs.length >= 10));
    assert.deepEqual(new Set(odd.client.frames.map((f) => f.channel)), new Set([7, 3]));
    assertConsecutive(odd.client.frames, 7);
    assertConsecutive(odd.client.frames, 3);
    assert.ok(
      c.frames.every((f) => f.channel === 0 && (f.payload[1] & 0x7f) === 97),
      "audio only, on channel 0",
    );
    assertConsecutive(c.frames, 0);
    odd.client.close();
    c.close();
    pub.close();
  });
});

Deno.test("50 viewers spread over 2 workers all receive every packet in order", async () => {
  await withServer({ workers: 2 }, async (server) => {
    const pub = await startPublisher(server.port, "fan");
    await pub.sendFrames(1, 10);
    const viewers = [];
    for (let i = 0; i < 50; i++) viewers.push((await play(server.port, "fan")).client);
    // The RTSP workers' reports (the media worker's, HLS and recording, comes last).
    const reports = (await server.stats()).filter((r) => r.worker < server.workers);
    assert.equal(reports.length, 2);
    assert.ok(
      reports.every((r) => r.viewersPlaying > 0),
      `viewers per worker: ${reports.map((r) => r.viewersPlaying)}`,
    );
    for (let i = 0; i < 20; i++) await pub.sendFrames(5, 10);
    const total = pub.sent[0];
    for (const v of viewers) {
      assert.ok(
        await v.waitFrames((fs) =>
          fs.length > 0 && seqOf(fs.filter((f) => f.channel === 0).at(-1)!) === total - 1
        ),
      );
      const n = assertConsecutive(v.frames, 0);
      assertConsecutive(v.frames, 2);
      assert.equal(n, total, "all video packets from the first GOP on");
    }
    for (const v of viewers) v.close();
    pub.close();
  });
});

Deno.test("streams on different paths do not mix, and a busy path refuses a second publisher", async () => {
  await withServer({}, async (server) => {
    const a = await startPublisher(server.port, "a");
    const b = await startPublisher(server.port, "b");
    const second = await RtspTestClient.connect(server.port, "a");
    const r = await second.request(
      "ANNOUNCE",
      second.url,
      { "Content-Type": "application/sdp" },
      "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
    );
    assert.equal(r.status, 406);
    second.close();
    await a.sendFrames(1, 10);
    await b.sendFrames(1, 10);
    const va = await play(server.port, "a");
    const vb = await play(server.port, "b");
    await a.sendFrames(20, 10);
    assert.ok(await va.client.waitFrames((fs) => fs.filter((f) => f.channel === 2).length >= 21));
    // A frame of b's after a's: once vb has it, anything of a's sent its way would be there too.
    await b.sendFrames(1, 10);
    assert.ok(await vb.client.waitFrames((fs) => fs.filter((f) => f.channel === 2).length >= 2));
    assert.equal(vb.client.frames.filter((f) => f.channel === 2).length, 2, "b saw only its own frames");
    va.client.close();
    vb.client.close();
    a.close();
    b.close();
  });
});

Deno.test("when the publisher leaves, its viewers are closed and the path is free again (no grace period)", async () => {
  await withServer({ "ingest.reconnectGraceMs": 0 }, async (server) => {
    const pub = await startPublisher(server.port, "gone");
    await pub.sendFrames(3, 10);
    const { client } = await play(server.port, "gone");
    pub.close();
    assert.ok(await client.waitClosed(), "viewer closed");
    client.close();
    const again = await startPublisher(server.port, "gone");
    again.close();
  });
});

Deno.test("PAUSE stops the packets, PLAY resumes at the newest GOP, a repeated PLAY is answered", async () => {
  await withServer({}, async (server) => {
    const pub = await startPublisher(server.port, "p");
    await pub.sendFrames(3, 10);
    const { client } = await play(server.port, "p");
    let r = await client.request("PLAY", client.url);
    assert.equal(r.status, 200);
    r = await client.request("PAUSE", client.url);
    assert.equal(r.status, 200);
    const before = client.frames.length;
    await pub.sendFrames(10, 10); // frames 3..12: P-frames, then a GOP start at 10
    // Answered once the server has read (and taken in) every frame sent before it.
    assert.equal((await pub.client.request("GET_PARAMETER")).status, 200);
    r = await client.request("PLAY", client.url);
    assert.equal(r.status, 200);
    assert.ok(await client.waitFrames((fs) => fs.length > before));
    // Nothing of frames 3..9 came while paused: the first packet after PAUSE is frame 10's.
    assert.equal(nalOf(client.frames[before]), 24, "resumes at a GOP start");
    assert.equal(tsOf(client.frames[before]), 10 * 3000, "the newest GOP, nothing sent while paused");
    r = await client.request("TEARDOWN", client.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("Session"), undefined);
    client.close();
    pub.close();
  });
});

Deno.test("requests may be pipelined in one write or split byte by byte", async () => {
  await withServer({}, async (server) => {
    const c = await RtspTestClient.connect(server.port, "x");
    const req = (n: number) => `OPTIONS ${c.url} RTSP/1.0\r\nCSeq: ${n}\r\n\r\n`;
    await c.writeRaw(
      req(1) + req(2) + `GET_PARAMETER ${c.url} RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 4\r\n\r\nabcd`,
    );
    for (const n of [1, 2, 3]) {
      const r = await c.nextResponse();
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("CSeq"), String(n));
    }
    for (const ch of req(4)) await c.writeRaw(ch);
    const r = await c.nextResponse();
    assert.equal(r.headers.get("CSeq"), "4");
    assert.match(
      r.headers.get("Public")!,
      /DESCRIBE.*ANNOUNCE.*SETUP.*PLAY.*RECORD.*TEARDOWN.*GET_PARAMETER/,
    );
    c.close();
  });
});

Deno.test("a session with no traffic is closed after the timeout; keep-alives keep it", async () => {
  await withServer({ sessionTimeoutMs: 1500 }, async (server) => {
    const pub = await startPublisher(server.port, "t");
    await pub.sendFrames(1, 10);
    // The chatty viewer first: without its keep-alives it would time out no later than the quiet one.
    const chatty = await play(server.port, "t");
    const quiet = await play(server.port, "t");
    assert.match(quiet.play.headers.get("Session")!, /;timeout=1$/);
    // Keep-alives every 400 ms (well within the timeout) until the quiet viewer is closed (or 20 s).
    for (let i = 0; i < 50 && !quiet.client.closed; i++) {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await chatty.client.request("GET_PARAMETER", chatty.client.url)).status, 200);
      await pub.sendFrames(1, 10);
    }
    assert.ok(quiet.client.closed, "silent viewer timed out");
    assert.ok(!chatty.client.closed, "viewer sending keep-alives stays");
    chatty.client.close();
    quiet.client.close();
    pub.close();
  });
});

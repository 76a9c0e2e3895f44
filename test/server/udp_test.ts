/** RTP over UDP end to end with raw sockets: UDP viewers, a UDP publisher through the reorder buffer, spoofing. */
import assert from "node:assert/strict";
import { withServer } from "../support/server.ts";
import { type Frame, RtspTestClient } from "../support/rtsp_client.ts";
import { AV_SDP, startPublisher } from "../support/synthetic_publisher.ts";
import { h264Packet } from "../../src/rtp/testdata/rtp_packets.ts";
import { parseTransportHeader } from "../../src/rtsp/transport_header.ts";
import type { ServerHandle } from "../../src/cluster/cluster.ts";
import { ignoreSocketClosed } from "../support/expected_errors.ts";

const seqOf = (p: Uint8Array) => (p[2] << 8) | p[3];
const tsOf = (p: Uint8Array) => ((p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) >>> 0;

/** A UDP socket pair (RTP, RTCP) on loopback that collects what arrives. */
class UdpPair {
  readonly rtp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly rtcp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly received: Uint8Array[] = [];
  #open = true;

  constructor() {
    (async () => {
      try {
        for await (const [data] of this.rtp) this.received.push(data);
      } catch (e) {
        // Expected: close() ends the loop; anything else fails the test.
        ignoreSocketClosed(e);
      }
    })();
  }

  get ports(): string {
    return `${(this.rtp.addr as Deno.NetAddr).port}-${(this.rtcp.addr as Deno.NetAddr).port}`;
  }

  async waitFor(pred: (r: Uint8Array[]) => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred(this.received) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return pred(this.received);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.rtp.close();
    this.rtcp.close();
  }
}

/** DESCRIBE, SETUP both tracks over UDP (one port pair per track), PLAY. */
async function playUdp(port: number, path: string) {
  const c = await RtspTestClient.connect(port, path);
  const d = await c.request("DESCRIBE", c.url, { Accept: "application/sdp" });
  assert.equal(d.status, 200);
  const base = d.headers.get("Content-Base")!;
  const pairs = [new UdpPair(), new UdpPair()];
  for (let i = 0; i < 2; i++) {
    const r = await c.request("SETUP", `${base}trackID=${i}`, {
      Transport: `RTP/AVP;unicast;client_port=${pairs[i].ports}`,
    });
    assert.equal(r.status, 200, `SETUP ${i}: ${r.status} ${r.reason}`);
    const t = parseTransportHeader(r.headers.get("Transport")!)[0];
    assert.equal(t.lower, "UDP");
    assert.deepEqual(t.clientPort?.join("-"), pairs[i].ports);
    assert.ok(t.serverPort && t.serverPort[1] === t.serverPort[0] + 1, "server_port is a pair");
  }
  const p = await c.request("PLAY", base);
  assert.equal(p.status, 200);
  return { client: c, pairs };
}

for (const batchSends of [false, true]) {
  Deno.test(`a UDP viewer gets each track on its own port, from the newest keyframe, in order (batchSends ${batchSends})`, async () => {
    await withServer({ "udp.batchSends": batchSends }, async (server) => {
      const pub = await startPublisher(server.port, "u");
      await pub.sendFrames(12, 10);
      const { client, pairs } = await playUdp(server.port, "u");
      try {
        await pub.sendFrames(20, 10);
        assert.ok(
          await pairs[0].waitFor((r) => r.length >= 20),
          `video datagrams: ${pairs[0].received.length}`,
        );
        assert.ok(
          await pairs[1].waitFor((r) => r.length >= 20),
          `audio datagrams: ${pairs[1].received.length}`,
        );
        const video = pairs[0].received;
        assert.equal(video[0][12] & 0x1f, 24, "the burst starts at the STAP-A with SPS/PPS before the IDR");
        for (const p of video) assert.equal(p[0] >> 6, 2, "plain RTP, no interleaved header");
        for (let i = 1; i < video.length; i++) {
          assert.equal(seqOf(video[i]), (seqOf(video[i - 1]) + 1) & 0xffff);
        }
        assert.ok(pairs[1].received.every((p) => (p[1] & 0x7f) === 97), "audio on the audio port");
      } finally {
        client.close();
        for (const p of pairs) p.close();
        pub.client.close();
      }
    });
  });
}

Deno.test("SETUP may not mix TCP and UDP in one session (461)", async () => {
  await withServer({}, async (server) => {
    const pub = await startPublisher(server.port, "m");
    await pub.sendFrames(3, 10);
    const c = await RtspTestClient.connect(server.port, "m");
    const udp = new UdpPair();
    try {
      const d = await c.request("DESCRIBE", c.url);
      const base = d.headers.get("Content-Base")!;
      const r0 = await c.request("SETUP", `${base}trackID=0`, {
        Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
      });
      assert.equal(r0.status, 200);
      const r1 = await c.request("SETUP", `${base}trackID=1`, {
        Transport: `RTP/AVP;unicast;client_port=${udp.ports}`,
      });
      assert.equal(r1.status, 461);
    } finally {
      c.close();
      udp.close();
      pub.client.close();
    }
  });
});

/** ANNOUNCE and SETUP both tracks over UDP with `mode=record`; returns the server's RTP ports. */
async function publishUdp(server: ServerHandle, path: string, pairs: UdpPair[]) {
  const c = await RtspTestClient.connect(server.port, path);
  let r = await c.request("ANNOUNCE", c.url, { "Content-Type": "application/sdp" }, AV_SDP);
  assert.equal(r.status, 200);
  const serverRtp: number[] = [];
  for (let i = 0; i < 2; i++) {
    r = await c.request("SETUP", `${c.url}/streamid=${i}`, {
      Transport: `RTP/AVP/UDP;unicast;client_port=${pairs[i].ports};mode=record`,
    });
    assert.equal(r.status, 200, `SETUP ${i}: ${r.status} ${r.reason}`);
    serverRtp.push(parseTransportHeader(r.headers.get("Transport")!)[0].serverPort![0]);
  }
  r = await c.request("RECORD", c.url);
  assert.equal(r.status, 200);
  return { client: c, serverRtp };
}

Deno.test("a UDP publisher's shuffled, partly lost packets reach TCP viewers in order; spoofed senders change nothing", async () => {
  await withServer({}, async (server) => {
    // The server's start counted datagrams of its own (test/support/ports.ts): counts from here on.
    const ignoredBefore = (await server.stats()).reduce((n, w) => n + w.udpIgnored, 0);
    const pairs = [new UdpPair(), new UdpPair()];
    const spoof = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const { client: pubConn, serverRtp } = await publishUdp(server, "udp-pub", pairs);
    const viewer = await RtspTestClient.connect(server.port, "udp-pub");
    try {
      const to = { transport: "udp" as const, hostname: "127.0.0.1", port: serverRtp[0] };
      // A keyframe first (STAP-A SPS/PPS + IDR), so the viewer has somewhere to start.
      await pairs[0].rtp.send(h264Packet("stap-sps-pps", 0, 0), to);
      await pairs[0].rtp.send(h264Packet("idr", 1, 0), to);
      const d = await viewer.request("DESCRIBE", viewer.url);
      const base = d.headers.get("Content-Base")!;
      await viewer.request("SETUP", `${base}trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
      await viewer.request("SETUP", `${base}trackID=1`, { Transport: "RTP/AVP/TCP;unicast;interleaved=2-3" });
      const p = await viewer.request("PLAY", base);
      assert.equal(p.status, 200, `PLAY ${p.status} ${p.reason}`);

      // Video packets 2..201, each up to 3 places early or late; 5 of them never sent.
      const seqs = Array.from({ length: 200 }, (_, i) => i + 2);
      let x = 3;
      const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      const order = seqs.map((q, i) => ({ q, k: i + rand() * 3 })).sort((a, b) => a.k - b.k).map((e) => e.q);
      const dropped = new Set([20, 57, 58, 120, 180]);
      let spoofed = 0;
      for (const q of order) {
        if (dropped.has(q)) continue;
        await pairs[0].rtp.send(h264Packet("p", q, q * 3000), to);
        // A spoofed sender (another port) interleaves packets with other content on the same server port.
        if (q % 10 === 0) {
          await spoof.send(h264Packet("idr", q, 1), to);
          spoofed++;
        }
      }
      await pairs[0].rtp.send(h264Packet("p", 202, 202 * 3000), to);
      const want = 2 + 200 - dropped.size + 1; // stap + idr + sent + last
      const ok = await viewer.waitFrames((f) => f.filter((x) => x.channel === 0).length >= want, 5000);
      const got = viewer.frames.filter((f: Frame) => f.channel === 0).map((f) => seqOf(f.payload));
      assert.ok(ok, `viewer got ${got.length} of ${want} video packets`);
      for (let i = 1; i < got.length; i++) {
        assert.ok(got[i] > got[i - 1], `in order at ${i}: ${got[i - 1]} then ${got[i]}`);
      }
      assert.deepEqual(got.filter((q) => dropped.has(q)), [], "what was never sent never arrives");
      assert.ok(
        viewer.frames.every((f) => f.channel !== 0 || tsOf(f.payload) !== 1),
        "no spoofed packet reached the viewer",
      );
      const stats = await server.stats();
      const sum = (k: "udpLost" | "udpIgnored" | "udpReordered") => stats.reduce((n, w) => n + w[k], 0);
      assert.equal(sum("udpLost"), dropped.size, "each missing packet counted lost once");
      const published = stats.flatMap((w) => w.published);
      assert.equal(
        published[0].lost,
        dropped.size,
        "the stream's sequence gaps are the reorder buffer's losses",
      );
      assert.equal(sum("udpIgnored") - ignoredBefore, spoofed, "every spoofed datagram ignored and counted");
      assert.ok(sum("udpReordered") > 0, "some packets were put back in order");
    } finally {
      viewer.close();
      pubConn.close();
      spoof.close();
      for (const p of pairs) p.close();
    }
  });
});

Deno.test("a UDP viewer's receiver reports keep its session alive; a silent one times out", async () => {
  await withServer({ sessionTimeoutMs: 1500, workers: 2 }, async (server, config) => {
    // Both workers' RTCP ports: the session lives on one of them.
    const base = config.udp.portBase;
    const serverRtcp = [base + 1, base + 3];
    const pub = await startPublisher(server.port, "live");
    await pub.sendFrames(1, 10);
    // The reporting viewer first: without its reports it would time out no later than the quiet one.
    const reporting = await playUdp(server.port, "live");
    const quiet = await playUdp(server.port, "live");
    // A receiver report (RTCP RR, empty) from each track's RTCP port, as players send them.
    const rr = new Uint8Array([0x80, 201, 0, 1, 0, 0, 0, 1]);
    try {
      // Reports every 400 ms (well within the timeout) until the quiet viewer is closed (or 20 s).
      for (let i = 0; i < 50 && !quiet.client.closed; i++) {
        await new Promise((r) => setTimeout(r, 400));
        for (const p of reporting.pairs) {
          for (const port of serverRtcp) {
            await p.rtcp.send(rr, { transport: "udp", hostname: "127.0.0.1", port });
          }
        }
        await pub.sendFrames(1, 10);
      }
      assert.ok(quiet.client.closed, "silent UDP viewer timed out");
      assert.ok(!reporting.client.closed, "UDP viewer sending RTCP stays");
    } finally {
      for (const v of [quiet, reporting]) {
        v.client.close();
        for (const p of v.pairs) p.close();
      }
      pub.client.close();
    }
  });
});

Deno.test("SETUP takes the first transport it serves among several offered", async () => {
  await withServer({}, async (server) => {
    const pub = await startPublisher(server.port, "c");
    await pub.sendFrames(3, 10);
    const udp = new UdpPair();
    const cases: [string, string][] = [
      [`RTP/AVP;multicast, RTP/AVP;unicast;client_port=${udp.ports};ssrc=1A2B3C4D`, "UDP"],
      [`RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP;unicast;client_port=${udp.ports}`, "TCP"],
      [`RTP/SAVP;unicast;client_port=${udp.ports}, RTP/AVP/UDP;unicast;client_port=${udp.ports}`, "UDP"],
    ];
    try {
      for (const [offer, want] of cases) {
        const c = await RtspTestClient.connect(server.port, "c");
        const d = await c.request("DESCRIBE", c.url);
        const r = await c.request("SETUP", `${d.headers.get("Content-Base")}trackID=0`, { Transport: offer });
        assert.equal(r.status, 200, `${offer}: ${r.status} ${r.reason}`);
        assert.equal(parseTransportHeader(r.headers.get("Transport")!)[0].lower, want, offer);
        c.close();
      }
    } finally {
      udp.close();
      pub.client.close();
    }
  });
});

/** Viewers for tests: DESCRIBE, SETUP both tracks (TCP interleaved or UDP), PLAY. */
import assert from "node:assert/strict";
import { RtspTestClient } from "./rtsp_client.ts";
import { parseTransportHeader } from "../../src/rtsp/transport_header.ts";

/** Plays both tracks of `path` over TCP on channels 0-1 and 2-3 (over RTSPS when caCerts are given). */
export async function playTcp(port: number, path: string, caCerts?: string[]): Promise<RtspTestClient> {
  const c = await RtspTestClient.open(port, path, caCerts);
  try {
    const d = await c.request("DESCRIBE", c.url);
    assert.equal(d.status, 200, `DESCRIBE: ${d.status}`);
    const base = d.headers.get("Content-Base")!;
    await c.request("SETUP", `${base}trackID=0`, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
    await c.request("SETUP", `${base}trackID=1`, { Transport: "RTP/AVP/TCP;unicast;interleaved=2-3" });
    const p = await c.request("PLAY", base);
    assert.equal(p.status, 200, `PLAY: ${p.status}`);
    return c;
  } catch (e) {
    c.close();
    throw e;
  }
}

/** A UDP viewer: its RTSP connection, its sockets (RTP and RTCP per track) and the server's RTP ports. */
export interface UdpViewer {
  client: RtspTestClient;
  sockets: Deno.DatagramConn[];
  serverPorts: number[];
  close(): void;
}

/** Sets up both tracks of `path` over UDP (a socket pair per track); PLAYs unless `play` is false. */
export async function playUdp(port: number, path: string, play = true): Promise<UdpViewer> {
  const c = await RtspTestClient.connect(port, path);
  const sockets: Deno.DatagramConn[] = [];
  const v: UdpViewer = {
    client: c,
    sockets,
    serverPorts: [],
    close() {
      c.close();
      for (const s of sockets) s.close();
    },
  };
  try {
    const d = await c.request("DESCRIBE", c.url);
    assert.equal(d.status, 200, `DESCRIBE: ${d.status}`);
    const base = d.headers.get("Content-Base")!;
    for (let t = 0; t < 2; t++) {
      const rtp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      sockets.push(rtp);
      const rtcp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      sockets.push(rtcp);
      const ports = `${(rtp.addr as Deno.NetAddr).port}-${(rtcp.addr as Deno.NetAddr).port}`;
      const r = await c.request("SETUP", `${base}trackID=${t}`, {
        Transport: `RTP/AVP;unicast;client_port=${ports}`,
      });
      assert.equal(r.status, 200, `SETUP ${t} over UDP: ${r.status} ${r.reason}`);
      v.serverPorts.push(parseTransportHeader(r.headers.get("Transport")!)[0].serverPort![0]);
    }
    if (play) assert.equal((await c.request("PLAY", base)).status, 200);
    return v;
  } catch (e) {
    v.close();
    throw e;
  }
}

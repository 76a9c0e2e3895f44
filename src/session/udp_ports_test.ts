import assert from "node:assert/strict";
import { DEFAULT_CONFIG, withOverrides } from "../config.ts";
import { Logger } from "../log/logger.ts";
import { newWorkerStats } from "../stats/worker_stats.ts";
import { rtcpRoute, type UdpRouteTarget, WorkerUdp } from "./udp_ports.ts";

/** A worker's port pair on Deno's sockets, on the first free even port from a random start. */
function open(): WorkerUdp {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    const config = withOverrides(DEFAULT_CONFIG, { "udp.portBase": base, "rtsp.address": "127.0.0.1" });
    try {
      return new WorkerUdp(config, 0, null, newWorkerStats(), new Logger("error"));
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
  throw new Error("no free UDP port pair");
}

Deno.test("WorkerUdp counts the RTP routes into its streams: publishers' tracks, not RTCP", () => {
  const udp = open();
  try {
    const pub: UdpRouteTarget = { udpDatagram() {} };
    const viewer: UdpRouteTarget = { udpDatagram() {} };
    assert.equal(udp.ingestRoutes, 0);
    assert.ok(udp.addRoute(1, { session: pub, track: 0 }));
    assert.ok(udp.addRoute(2, { session: pub, track: 1 }));
    assert.ok(udp.addRoute(3, { session: pub, track: rtcpRoute(0) }));
    assert.ok(udp.addRoute(4, { session: viewer, track: rtcpRoute(0) }));
    assert.equal(udp.ingestRoutes, 2, "two RTP tracks; RTCP routes do not count");
    assert.ok(udp.addRoute(1, { session: pub, track: 0 }), "the same route again");
    assert.equal(udp.ingestRoutes, 2);
    assert.ok(!udp.addRoute(2, { session: viewer, track: 0 }), "another session's key");
    assert.equal(udp.ingestRoutes, 2);
    udp.removeRoutes(viewer, [1, 2, 4]);
    assert.equal(udp.ingestRoutes, 2, "only the session's own routes go");
    udp.removeRoutes(pub, [1, 2, 3]);
    assert.equal(udp.ingestRoutes, 0);
  } finally {
    udp.close();
  }
});

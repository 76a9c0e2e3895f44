/**
 * Transport negotiation at SETUP (RFC 2326 §12.39): which offered transport dm-live serves, the
 * interleaved channels or UDP ports it uses, and the Transport header it answers with.
 */
import { udpKey } from "../net/udp_endpoint.ts";
import { RtspError } from "../rtsp/errors.ts";
import { STATUS_CODE } from "../rtsp/status.ts";
import { parseTransportHeader, serializeTransport, type TransportSpec } from "../rtsp/transport_header.ts";
import type { RtspRequest } from "../rtsp/request.ts";
import type { UdpRouteTarget, WorkerUdp } from "./udp_ports.ts";

/**
 * The first transport offered that dm-live serves (docs/protocol.md §7): RTP/AVP over TCP
 * (interleaved), or unicast UDP with client_port when this worker has UDP ports, the peer is IPv4
 * and the connection is not RTSPS (`encrypted`: its media stays inside TLS, §27).
 * Anything else gets 461, which makes ffmpeg and VLC retry with another (docs/protocol.md §8).
 */
export function pickTransport(
  req: RtspRequest,
  udp: WorkerUdp | null,
  peerHost: string,
  encrypted = false,
): TransportSpec {
  const h = req.headers.get("Transport");
  if (h === undefined) throw new RtspError(STATUS_CODE.BadRequest, "SETUP without a Transport header");
  const udpOk = udp !== null && !encrypted && udpKey(peerHost, 0) >= 0;
  const spec = parseTransportHeader(h).find((t) =>
    t.protocol === "RTP/AVP" && t.delivery !== "multicast" &&
    (t.lower === "TCP" || (udpOk && t.clientPort !== undefined))
  );
  if (!spec) {
    const served = encrypted
      ? "RTP/AVP/TCP: an RTSPS session's media stays inside its TLS connection"
      : udp === null
      ? "RTP/AVP/TCP"
      : "RTP/AVP/TCP, or unicast RTP/AVP over IPv4 with client_port";
    throw new RtspError(STATUS_CODE.UnsupportedTransport, `no supported transport in '${h}' (${served})`);
  }
  return spec;
}

/** A session uses one lower transport, fixed by its first SETUP: a later SETUP may not switch (461). */
export function checkSameTransport(current: "tcp" | "udp" | null, lower: "TCP" | "UDP"): void {
  const want = lower === "TCP" ? "tcp" : "udp";
  if (current !== null && current !== want) {
    throw new RtspError(
      STATUS_CODE.UnsupportedTransport,
      `SETUP over ${lower} in a session that uses ${current.toUpperCase()}`,
    );
  }
}

/** A UDP client_port pair: n-(n+1) as given, or n alone for n, n+1 (docs/protocol.md §7). */
export function udpPorts(t: TransportSpec): [number, number] {
  const [a, b] = t.clientPort!;
  if (a === 0 || b === 0) {
    throw new RtspError(STATUS_CODE.BadRequest, `client_port ${a}-${b} is not a usable port pair`);
  }
  return [a, b];
}

/**
 * Refuses (400) client ports that another session from the same address already uses: its datagrams
 * would reach that session, or two viewers' streams one socket (docs/protocol.md §10).
 */
export function checkUdpPortsFree(
  udp: WorkerUdp,
  host: string,
  ports: [number, number],
  self: UdpRouteTarget | null,
): void {
  for (const p of ports) {
    const owner = udp.owner(udpKey(host, p));
    if (owner !== undefined && owner !== self) {
      throw new RtspError(STATUS_CODE.BadRequest, `client_port ${p} is used by another session from ${host}`);
    }
  }
}

/** Interleaved pair for a new track: the one asked for, else the lowest free even pair (docs/protocol.md §9). */
export function channelPair(
  t: TransportSpec,
  used: (ch: number) => boolean,
  track: number,
): [number, number] {
  if (t.interleaved) {
    const [a, b] = t.interleaved;
    if (b !== a + 1) {
      throw new RtspError(STATUS_CODE.BadRequest, `interleaved channels ${a}-${b} are not a pair n-(n+1)`);
    }
    if (used(a) || used(b)) {
      throw new RtspError(STATUS_CODE.BadRequest, `interleaved channels ${a}-${b} already in use`);
    }
    return [a, b];
  }
  for (let a = track * 2; a < 254; a += 2) if (!used(a) && !used(a + 1)) return [a, a + 1];
  throw new RtspError(STATUS_CODE.UnsupportedTransport, "no free interleaved channel pair");
}

/** The Transport answer for a UDP SETUP: the client's ports and this worker's server_port pair. */
export function udpTransportReply(udp: WorkerUdp, ports: [number, number], mode?: "record"): string {
  return serializeTransport({
    protocol: "RTP/AVP",
    lower: "UDP",
    delivery: "unicast",
    clientPort: ports,
    serverPort: udp.ports,
    ...(mode ? { mode } : {}),
  });
}

/** The Transport answer for an interleaved SETUP. */
export function tcpTransportReply(channels: [number, number], mode?: "record"): string {
  return serializeTransport({
    protocol: "RTP/AVP",
    lower: "TCP",
    delivery: "unicast",
    interleaved: channels,
    ...(mode ? { mode } : {}),
  });
}

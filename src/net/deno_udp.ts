import type { UdpAddress, UdpEndpoint, UdpReceiver } from "./udp_endpoint.ts";
import { udpKey } from "./udp_endpoint.ts";

/**
 * Deno.listenDatagram as a UdpEndpoint, where FFI is not allowed: every send is an async op on a
 * copy (the ring may move on before the op reads it).
 */
export class DenoUdpEndpoint implements UdpEndpoint {
  readonly port: number;
  readonly #conn: Deno.DatagramConn;
  readonly #onPacket: UdpReceiver;
  #closed = false;

  constructor(address: string, port: number, onPacket: UdpReceiver) {
    this.#conn = Deno.listenDatagram({ hostname: address, port, transport: "udp" });
    this.port = port;
    this.#onPacket = onPacket;
    this.#receive();
  }

  static address(host: string, port: number): UdpAddress {
    return { host, port, sockaddr: new Uint8Array(0), sockaddrAddr: 0 };
  }

  send(buf: Uint8Array, start: number, end: number, to: UdpAddress): boolean {
    if (this.#closed) return false;
    this.#conn.send(buf.slice(start, end), { transport: "udp", hostname: to.host, port: to.port })
      .catch(() => {}); // a lost datagram is UDP's normal failure
    return true;
  }

  flush(): number {
    return 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #receive(): Promise<void> {
    while (!this.#closed) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await this.#conn.receive();
      } catch {
        if (this.#closed) return;
        continue;
      }
      const [data, addr] = got;
      if (addr.transport !== "udp") continue;
      this.#onPacket(data, 0, data.length, udpKey(addr.hostname, addr.port));
    }
  }
}

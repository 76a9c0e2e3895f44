/** A permission's `ips` list: which peer addresses may use a path. */
import { type IpNetwork, networkContains, parseIp, parseNetwork } from "./ip_address.ts";

// Peer parsing target for allowsPeer(): checks are synchronous, so one buffer per thread is enough.
const scratch = new Uint8Array(16);

/** Networks parsed once from config; an empty list allows every address. */
export class IpAllowList {
  readonly #nets: IpNetwork[];

  /** Parses `entries` (addresses or CIDRs); throws TypeError naming the first invalid one. */
  constructor(entries: readonly string[]) {
    this.#nets = entries.map((e) => {
      const net = parseNetwork(e);
      if (net === null) throw new TypeError(`Invalid address or CIDR ${JSON.stringify(e)}`);
      return net;
    });
  }

  /** True when the list names no network, so any address is allowed. */
  get isEmpty(): boolean {
    return this.#nets.length === 0;
  }

  /** Whether 16 address bytes (from parseIp) are allowed; an unparsable peer (null) only by an empty list. */
  allows(addr: Uint8Array | null): boolean {
    if (this.#nets.length === 0) return true;
    if (addr === null) return false;
    for (const net of this.#nets) if (networkContains(net, addr)) return true;
    return false;
  }

  /** Whether a peer address given as text is allowed (IPv4-mapped IPv6 matches IPv4 rules). */
  allowsPeer(peerIp: string): boolean {
    return this.allows(this.#nets.length === 0 ? null : parseIp(peerIp, scratch));
  }
}

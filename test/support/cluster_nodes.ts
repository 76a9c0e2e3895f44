/**
 * dm-live nodes of one cluster for tests: each a real process on its own loopback address
 * (127.0.0.2, 127.0.0.3, ...), all on one etcd cluster (etcd_cluster.ts), with a short lease so that
 * failover tests take seconds. Raw viewers that check every RTP packet arrives in order.
 */
import assert from "node:assert/strict";
import { ServerProcess } from "./server_process.ts";
import { RtspTestClient } from "./rtsp_client.ts";
import { until } from "./proc.ts";

export interface ClusterMember {
  readonly name: string;
  readonly host: string;
  readonly server: ServerProcess;
  url(path: string): string;
  api(): Promise<string>;
  /** GET /v1/cluster. */
  cluster(): Promise<ClusterStatusJson>;
}

export interface ClusterStatusJson {
  node: string;
  synced: boolean;
  members: { name: string; advertise: string }[];
  owners: { path: string; node: string }[];
  edges: { path: string; from: string; state: string }[];
}

/** Config keys every test node gets (a 2 s lease, quick edge retries, TCP only). */
export const TEST_NODE_ARGS = [
  "--workers",
  "2",
  "--set",
  "udp.portBase=0",
  "--set",
  "cluster.leaseTtlMs=2000",
  "--set",
  "cluster.reportIntervalMs=1000",
  "--set",
  "cluster.etcdTimeoutMs=1000",
  "--set",
  "cluster.edgeRetryMinMs=200",
  "--set",
  "cluster.edgeRetryMaxMs=1000",
];

/** Starts node `name` on 127.0.0.`index + 2` in the cluster on `etcd`. */
export async function startNode(
  etcd: readonly string[],
  name: string,
  index: number,
  extra: string[] = [],
): Promise<ClusterMember> {
  const host = `127.0.0.${index + 2}`;
  const server = await ServerProcess.start([
    ...TEST_NODE_ARGS,
    "--set",
    `rtsp.address=${host}`,
    "--set",
    `cluster.etcd=${etcd.join(",")}`,
    "--set",
    `cluster.node=${name}`,
    ...extra,
  ]);
  const m: ClusterMember = {
    name,
    host,
    server,
    url: (path) => `rtsp://${host}:${server.port}/${path}`,
    api: () => server.apiUrl(),
    cluster: async () => {
      const res = await fetch(`${await server.apiUrl()}/v1/cluster`);
      return await res.json() as ClusterStatusJson;
    },
  };
  return m;
}

/** Starts the named nodes and waits until each sees all of them. */
export async function startNodes(
  etcd: readonly string[],
  names: readonly string[],
  extra: (name: string) => string[] = () => [],
): Promise<ClusterMember[]> {
  const nodes = await Promise.all(names.map((n, i) => startNode(etcd, n, i, extra(n))));
  await until(
    async () =>
      (await Promise.all(nodes.map((n) => n.cluster()))).every((c) =>
        c.synced && c.members.length === names.length
      ),
    20_000,
    `every node to see the ${names.length} members`,
  );
  return nodes;
}

/**
 * A raw viewer of an audio+video path over TCP that checks, as frames come, that RTP sequence
 * numbers of each track follow one another (every packet, in order) and counts them.
 */
export class OrderedViewer {
  readonly client: RtspTestClient;
  /** RTP packets per track, and sequence breaks (a packet lost, repeated or out of order). */
  readonly packets = [0, 0];
  readonly breaks: string[] = [];
  readonly #last = [-1, -1];

  private constructor(client: RtspTestClient) {
    this.client = client;
    client.onFrame = (f) => {
      if (f.channel !== 0 && f.channel !== 2) return;
      const t = f.channel / 2;
      const seq = (f.payload[2] << 8) | f.payload[3];
      const last = this.#last[t];
      if (last >= 0 && seq !== ((last + 1) & 0xffff) && this.breaks.length < 20) {
        this.breaks.push(`track ${t}: ${last} then ${seq} after ${this.packets[t]} packets`);
      }
      this.#last[t] = seq;
      this.packets[t]++;
    };
  }

  /** DESCRIBE, SETUP of both tracks on channels 0-1 and 2-3, PLAY. */
  static async play(host: string, port: number, path: string): Promise<OrderedViewer> {
    const c = await RtspTestClient.connect(port, path, host);
    try {
      const d = await c.request("DESCRIBE", c.url);
      assert.equal(d.status, 200, `DESCRIBE ${c.url}: ${d.status} ${d.reason}`);
      const base = d.headers.get("Content-Base")!;
      for (const [t, ch] of [[0, "0-1"], [1, "2-3"]] as const) {
        const r = await c.request("SETUP", `${base}trackID=${t}`, {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${ch}`,
        });
        assert.equal(r.status, 200, `SETUP ${t}: ${r.status}`);
      }
      const p = await c.request("PLAY", base);
      assert.equal(p.status, 200, `PLAY: ${p.status}`);
      return new OrderedViewer(c);
    } catch (e) {
      c.close();
      throw e;
    }
  }

  get total(): number {
    return this.packets[0] + this.packets[1];
  }

  close(): void {
    this.client.close();
  }
}

/** The status line of a DESCRIBE of `url` (host and port from it). */
export async function describeStatus(host: string, port: number, path: string): Promise<number> {
  const c = await RtspTestClient.connect(port, path, host);
  try {
    return (await c.request("DESCRIBE", c.url)).status;
  } finally {
    c.close();
  }
}

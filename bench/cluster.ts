/**
 * `deno task bench --cluster N`: the fan-out benchmark over a cluster of N dm-live nodes on this
 * machine. Starts a 1-member etcd (test/support/etcd_cluster.ts) and N nodes as processes on
 * 127.0.0.2, 127.0.0.3, ... (as test/support/cluster_nodes.ts does, with its short lease and edge
 * retries), publishes M stamped streams (bench/stamped_publisher.ts) to node n0, their owner, and
 * spreads the viewers evenly over all nodes (one load process per node, bench/load_client.ts, so each
 * report is one node's bytes). Reports, measured from outside:
 *
 * - per node CPU (/proc/PID/stat), Gbit/s delivered, RSS and added delay; the edge cost (edge nodes'
 *   cores per Gbit/s they relayed) next to the owner's cores per Gbit/s, and the owner's share of
 *   output that goes to the edges' pulls;
 * - DESCRIBE -> first keyframe of viewers joining during the steady phase (a separate, lightly
 *   loaded probe process), on the owner and on the edges (warm: the edge already pulls the path),
 *   and the p99 difference (target: under 100 ms); the cold case once per node: the first viewer
 *   of a published but unwatched stream (bench/cold), on each edge (which has no pull of it yet) and
 *   on the owner;
 * - failover: n0 SIGKILLed after the steady phase, the publisher started again against n1 at that
 *   instant and retried until n1 accepts (406 while n0's lease lives), and for every viewer of the
 *   surviving nodes the time from the kill to its first packet sent by the new publisher (its
 *   stamp is after the kill), with the first packet of any kind after the pause and any old video
 *   (stamped before the kill) sent to it again after the pause.
 *
 * Every process (etcd, nodes, publishers, load processes) is stopped at the end, on an error and
 * on SIGINT/SIGTERM, and runs under `setpriv --pdeathsig KILL` so that it dies with the bench.
 *
 * `deno run -A bench/cluster.ts --republish JSON` is the retrying publisher of the failover.
 */
import { parseArgs } from "node:util";
import { SERVER_V8_FLAGS } from "../src/v8_flags.ts";
import type { JoinSample, LoadPlan, LoadReport, StallSample } from "./load_client.ts";
import { epochMs, Publication } from "./stamped_publisher.ts";
import { cores, described, percentile, sampleCpu, sampleProc } from "./measure.ts";

import { type EtcdCluster, startEtcdCluster } from "../test/support/etcd_cluster.ts";
import { type PortReservation, reservePorts } from "../test/support/ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
/** Runs a program with a parent-death signal, so a bench that dies takes its children with it. */
const SETPRIV = "/usr/bin/setpriv";
/** Time given to the load processes to start before their ramp (several deno processes on few cores). */
const PROCESS_START_MS = 2500;
/** Between the ramp's end and the steady phase. */
const SETTLE_MS = 3000;
/** After the steady phase: stalls are tracked from +STALL_FROM_MS, n0 is killed at +KILL_AFTER_MS. */
const STALL_FROM_MS = 500;
const KILL_AFTER_MS = 1500;
/**
 * A packet stamped this long after the planned kill is the new publisher's (LoadPlan.freshAfter):
 * the old one is killed within it (checked), the new one starts later (a lease TTL).
 */
const FRESH_MARGIN_MS = 100;
/** A viewer with no packet in the hold's last LOST_MS did not recover. */
const LOST_MS = 1000;
/** How long a probe joiner stays after its first keyframe. */
const JOIN_HOLD_MS = 1000;
/** The republisher's wait between refused attempts. */
const REPUBLISH_RETRY_MS = 50;
/** The target of the issue: edge p99 join minus owner p99 join, ms. */
const EDGE_JOIN_TARGET_MS = 100;
/** The unwatched stream whose first viewer on each node is the cold join. */
const COLD_PATH = "bench/cold";
/** Cluster keys as test/support/cluster_nodes.ts TEST_NODE_ARGS has them (--set overrides them). */
const NODE_CLUSTER_SETTINGS = [
  "cluster.leaseTtlMs=2000",
  "cluster.reportIntervalMs=1000",
  "cluster.etcdTimeoutMs=1000",
  "cluster.edgeRetryMinMs=200",
  "cluster.edgeRetryMaxMs=1000",
];

export const CLUSTER_HELP =
  `deno task bench --cluster N [options]   (N >= 2 nodes on 127.0.0.2 .. 127.0.0.N+1)
  --viewers V          viewers, spread evenly over all N nodes (default 300)
  --streams M          streams published to node n0 (the owner); each node's viewers are spread
                       over them (default 2); one more, ${COLD_PATH}, is kept unwatched for the cold joins
  --bitrate KBIT       total stream bitrate, video + AAC (default 928)
  --ramp S             seconds to connect the viewers (default 5)
  --duration S         steady phase seconds (default 15)
  --joiners J          viewers joining during the steady phase, half on n0, half over the edges (default 60)
  --workers W          dm-live workers per node (default 1: N node processes share this machine's cores)
  --clients C          load processes per node (default 1)
  --failover S         seconds after n0 is killed for the viewers to receive again (default 10; 0: no failover)
  --merge-window MS    dm-live viewer.mergeWindowMs on every node
  --set KEY=VALUE      any other dm-live config key for every node (repeatable), e.g. cluster.leaseTtlMs=5000
  --transport tcp      (the only one: the nodes run with udp.portBase=0)
  --label TEXT         name of this run in the report
  --json FILE          where to write the JSON result (default bench/out/cluster-<time>.json)
  --raw                put every load process's report (each viewer's failover record) in the JSON
Node warnings (stderr) go to bench/out/cluster-<time>-nodes.log.`;

// ---------------------------------------------------------------------------------------------
// Pure helpers (bench/cluster_test.ts)

/** p50/p95/p99/max of samples, and their count (NaN, max -Infinity, when there are none). */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    p99: percentile(xs, 99),
    max: xs.reduce((m, x) => Math.max(m, x), -Infinity),
  };
}

/** `total` split into `parts` shares differing by at most one, the larger ones first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));
}

/** One joiner of the probe: node index, stream index (or -1: the cold stream), epoch ms. */
export interface JoinSlot {
  node: number;
  stream: number;
  at: number;
  kind: "warm" | "cold";
}

/**
 * The probe's joins over the steady phase [from, to): `joiners` warm ones at the middles of equal
 * slots, alternately on the owner (node 0) and on the edges (round robin), each side round robin over
 * the streams; and one cold join per node on the cold stream, each edge first, then the owner, at slot
 * boundaries (half a slot from any warm join).
 */
export function joinSchedule(
  nodes: number,
  streams: number,
  joiners: number,
  from: number,
  to: number,
): JoinSlot[] {
  const slots: JoinSlot[] = [];
  const slot = (to - from) / Math.max(1, joiners);
  for (let j = 0; j < joiners; j++) {
    const side = Math.floor(j / 2);
    const node = j % 2 === 0 ? 0 : 1 + (side % (nodes - 1));
    slots.push({ node, stream: side % streams, at: from + slot * (j + 0.5), kind: "warm" });
  }
  const order = [...Array.from({ length: nodes - 1 }, (_, k) => k + 1), 0];
  for (const [c, node] of order.entries()) {
    const at = joiners > 0
      ? from + slot * Math.round((joiners * (c + 1)) / (nodes + 1))
      : from + ((to - from) * (c + 1)) / (nodes + 1);
    slots.push({ node, stream: -1, at, kind: "cold" });
  }
  return slots.sort((a, b) => a.at - b.at);
}

/** What became of one viewer of a surviving node through the failover. */
export type Recovery =
  /**
   * Receiving again: `freshMs` from the kill to its first packet sent by the new publisher;
   * `resumeMs` to the first packet of any kind after its longest wait (null: that wait ended before
   * the kill), earlier when a cached GOP was replayed to it first; `waitMs` that wait.
   */
  | {
    kind: "recovered";
    freshMs: number;
    resumeMs: number | null;
    waitMs: number;
    /** Old video packets it got after the pause (stamped before the kill: replayed). */
    replayed: number;
    /** How much of what it had already received they went back over, ms of send time (0: none). */
    replayedSpanMs: number;
  }
  /** No packet in the hold's last LOST_MS: it never got the stream back. */
  | { kind: "lost" }
  /** Packets, but none from the new publisher. */
  | { kind: "stale" };

export function recoveryOf(s: StallSample, killedAt: number, holdUntil: number): Recovery {
  if (s.lastAt === 0 || s.lastAt < holdUntil - LOST_MS) return { kind: "lost" };
  if (s.freshAt === 0) return { kind: "stale" };
  return {
    kind: "recovered",
    freshMs: s.freshAt - killedAt,
    resumeMs: s.endAt === 0 || s.endAt < killedAt ? null : s.endAt - killedAt,
    waitMs: s.maxMs,
    replayed: s.replayed,
    replayedSpanMs: s.replayed > 0 && s.newestBefore > 0 ? Math.max(0, s.newestBefore - s.replayedOldest) : 0,
  };
}

/** The value the last `--set KEY=VALUE` of args gives key, if any. */
export function setValue(args: readonly string[], key: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === "--set" && args[i + 1].startsWith(`${key}=`)) v = args[i + 1].slice(key.length + 1);
  }
  return v;
}

/** A refusal's text without its URL, so equal refusals of different streams count together. */
export function refusalKind(message: string, url: string): string {
  return message.split(url).join("URL").split("\n")[0].slice(0, 200);
}

// ---------------------------------------------------------------------------------------------
// Processes

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sleepUntil = (t: number) => sleep(t - Date.now());
const textOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

let setprivChecked: boolean | undefined;
function hasSetpriv(): boolean {
  if (setprivChecked === undefined) {
    try {
      setprivChecked = Deno.statSync(SETPRIV).isFile;
    } catch {
      setprivChecked = false;
    }
  }
  return setprivChecked;
}

/** A child deno process: stderr kept (a tail, and each line to `onLine`), stdout collected if asked. */
class Child {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly done: Promise<Deno.CommandStatus>;
  exit: Deno.CommandStatus | null = null;
  stdout = "";
  readonly #tail: string[] = [];
  readonly #stdoutDone: Promise<void>;

  constructor(
    name: string,
    args: string[],
    opts: { stdout?: boolean; onLine?: (line: string) => void } = {},
  ) {
    this.name = name;
    const [cmd, pre] = hasSetpriv() ? [SETPRIV, ["--pdeathsig", "KILL", "--", Deno.execPath()]] : [
      Deno.execPath(),
      [],
    ];
    const child = this.child = new Deno.Command(cmd, {
      args: [...pre, ...args],
      stdin: "null",
      stdout: opts.stdout ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    const err = (async () => {
      let rest = "";
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        rest += dec.decode(chunk, { stream: true });
        const lines = rest.split("\n");
        rest = lines.pop()!;
        for (const l of lines) this.#line(l, opts.onLine);
      }
      if (rest !== "") this.#line(rest, opts.onLine);
    })();
    this.#stdoutDone = opts.stdout
      ? (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stdout) this.stdout += dec.decode(chunk, { stream: true });
      })()
      : Promise.resolve();
    this.done = Promise.all([err, this.#stdoutDone]).then(() => child.status).then((s) => this.exit = s);
  }

  #line(l: string, onLine?: (line: string) => void): void {
    this.#tail.push(l);
    if (this.#tail.length > 40) this.#tail.shift();
    onLine?.(l);
  }

  get pid(): number {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** The last lines of its stderr, indented. */
  tail(lines = 15): string {
    const t = this.#tail.slice(-lines);
    return t.length === 0 ? "    (no stderr)" : t.map((l) => `    ${l}`).join("\n");
  }

  /** Why it exited, for an error message. */
  exitText(): string {
    const s = this.exit;
    return s === null ? "running" : `exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}`;
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** GET a node's API path as JSON, bounded; throws with the status. */
async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** GET /v1/cluster, the parts the bench reads. */
interface ClusterJson {
  node: string;
  synced: boolean;
  lastError: string | null;
  members: { name: string }[];
  owners: { path: string; node: string }[];
  edges: {
    path: string;
    from: string;
    state: string;
    attempts: number;
    lastError: string | null;
    bitrate: number;
  }[];
}

interface Node {
  name: string;
  index: number;
  host: string;
  port: number;
  apiPort: number;
  proc: Child;
  url(path: string): string;
  cluster(): Promise<ClusterJson>;
}

// ---------------------------------------------------------------------------------------------
// The scenario

export interface ClusterOptions {
  nodes: number;
  viewers: number;
  streams: number;
  bitrateKbit: number;
  rampS: number;
  durationS: number;
  joiners: number;
  workers: number;
  clientsPerNode: number;
  failoverS: number;
  set: string[];
  label?: string;
  command: string;
  /** Keep every load process's report (each viewer's stall record, each join) in the result. */
  raw?: boolean;
}

/** One node's steady-phase figures. */
export interface NodeFigures {
  name: string;
  role: "owner" | "edge";
  host: string;
  viewers: number;
  connected: number;
  failed: number;
  disconnects: number;
  rtpGaps: number;
  gbps: number;
  cores: number;
  coresPerGbps: number;
  rssMiB: number;
  /** From the first viewers of its load process(es): arrival minus the publisher's send stamp. */
  addedDelayMs: Summary;
  /** Its edge pulls at the end of the steady phase. */
  edges: { path: string; from: string; state: string; mbps: number }[];
}

/** What `deno task bench --cluster N` measured; also the JSON it writes. */
export interface ClusterResult {
  label: string;
  date: string;
  command: string;
  machine: { cores: number; os: string; deno: string; cpu: string; kernel: string };
  params: {
    nodes: number;
    viewers: number;
    streams: number;
    bitrateKbit: number;
    rampS: number;
    steadyS: number;
    joiners: number;
    workersPerNode: number;
    clientsPerNode: number;
    failoverS: number;
    leaseTtlMs: number;
    edgeRetryMs: [number, number];
    nodeArgs: string[];
  };
  machineIdlePct: number;
  machineStealPct: number;
  /** Busy cores of the machine not charged to the bench's processes (other programs, softirq). */
  otherCores: number;
  loadCores: number;
  probeCores: number;
  etcdCores: number;
  publisherCores: number;
  saturated: boolean;
  nodes: NodeFigures[];
  /** Edge nodes together: cores per Gbit/s they delivered to their viewers. */
  edgeCost: { cores: number; gbps: number; coresPerGbps: number; vsOwner: number };
  owner: {
    cores: number;
    viewerGbps: number;
    coresPerGbps: number;
    edgePulls: number;
    /** What the edges' pulls of the watched streams received (their ingest rate), Mbit/s. */
    edgePullMbps: number;
    /** Share of the owner's output that went to edge pulls. */
    edgePullShare: number;
    /** Its cores for the edge pulls at its own cost per Gbit/s. */
    edgePullCores: number;
  };
  joins: {
    owner: Summary;
    edge: Summary;
    p99DiffMs: number;
    targetMs: number;
    met: boolean;
    playToKeyframe: { owner: Summary; edge: Summary };
    failed: string[];
  };
  cold: {
    edges: { node: string; ms: number | null; pulledBefore: boolean; error: string | null }[];
    owner: number | null;
  };
  failover?: {
    killedAt: string;
    leaseTtlMs: number;
    republish: { acceptedAfterMs: number[]; attempts: number[]; refusals: Record<string, number> } | null;
    /** From the kill, ms, as polled on the surviving nodes' /v1/cluster (every 100 ms). */
    timeline: {
      membersMs: number | null;
      ownerGoneMs: number | null;
      newOwnerMs: number | null;
      edgesMovedMs: number | null;
    };
    /** Kill -> each surviving viewer's first packet from the new publisher, ms. */
    viewers: Summary;
    /** Kill -> first packet of any kind after the longest wait, ms. */
    resumeMs: Summary;
    /** The longest wait itself, ms. */
    waitMs: Summary;
    perNode: {
      name: string;
      recovered: Summary;
      resumeMs: Summary;
      /** Viewers that got old video packets (stamped before the kill) after the pause. */
      replayed: number;
      /** Old video packets per such viewer, and how far back over what it already had they went (ms). */
      replayedPackets: Summary;
      replayedSpanMs: Summary;
      lost: number;
      stale: number;
      /** RTP sequence breaks of its viewers from the steady end to the hold's end. */
      rtpGaps: number;
      disconnects: number;
    }[];
    lost: number;
    stale: number;
    /** The old publisher was killed this long after the planned instant (must be < FRESH_MARGIN_MS). */
    killLateMs: number;
    ownerViewers: { viewers: number; stillPlaying: number; disconnects: number };
    after: { node: string; owners: string[]; edges: string[] }[];
    error: string | null;
  };
  nodeLog: string;
  nodeLogLines: Record<string, number>;
  errors: string[];
  /** With ClusterOptions.raw: each load process's report ("probe" for the probe's). */
  raw?: { process: string; report: LoadReport }[];
}

interface RepublishPlan {
  urls: string[];
  bitrateKbit: number;
  startAt: number;
  giveUpAt: number;
  retryMs: number;
}

interface RepublishReport {
  accepted: { url: string; acceptedAt: number; attempts: number; refusals: Record<string, number> }[];
}

export async function runCluster(o: ClusterOptions): Promise<ClusterResult> {
  const N = o.nodes;
  const M = o.streams;
  await Deno.mkdir(OUT, { recursive: true });
  const t0 = performance.now();
  const startedIso = new Date().toISOString().replace(/[:.]/g, "-");
  const nodeLogFile = `${OUT}/cluster-${startedIso}-nodes.log`;
  const nodeLog: string[] = [];
  const nodeLogLines: Record<string, number> = {};
  const children: Child[] = [];
  let etcd: EtcdCluster | null = null;
  let ports: PortReservation | null = null;
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    cleaned ??= (async () => {
      for (const c of children) c.kill();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(children.map((c) => c.done)),
        new Promise((r) => timer = setTimeout(r, 5000)),
      ]);
      clearTimeout(timer);
      await etcd?.stop().catch((e) => console.error(`etcd stop: ${textOf(e)}`));
      ports?.release();
      if (nodeLog.length > 0) {
        await Deno.writeTextFile(nodeLogFile, nodeLog.join("\n") + "\n").catch(() => {});
      }
    })();
  const onSignal = () => {
    console.error("interrupted: stopping etcd, the nodes, publishers and load processes");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const stamp = () => `+${((performance.now() - t0) / 1000).toFixed(3)}s`;
  const errors: string[] = [];

  try {
    // --- etcd and the nodes
    try {
      etcd = await startEtcdCluster(1);
    } catch (e) {
      throw new Error(`etcd (1 member) did not start: ${textOf(e)}`);
    }
    ports = reservePorts({ workers: 0, tcp: 2 * N });
    const nodeArgs = [
      "--workers",
      String(o.workers),
      "--log-level",
      "warn",
      "--set",
      "limits.maxConnectionsPerAddress=0",
      "--set",
      "limits.maxConnectionsPerSecondPerAddress=0",
      "--set",
      "udp.portBase=0",
      "--set",
      `cluster.etcd=${etcd.endpoints.join(",")}`,
      ...NODE_CLUSTER_SETTINGS.flatMap((kv) => ["--set", kv]),
      ...o.set.flatMap((kv) => ["--set", kv]),
    ];
    const leaseTtlMs = Number(setValue(nodeArgs, "cluster.leaseTtlMs"));
    const edgeRetryMs: [number, number] = [
      Number(setValue(nodeArgs, "cluster.edgeRetryMinMs")),
      Number(setValue(nodeArgs, "cluster.edgeRetryMaxMs")),
    ];
    const nodes: Node[] = Array.from({ length: N }, (_, k) => {
      const name = `n${k}`;
      const host = `127.0.0.${k + 2}`;
      const port = ports!.tcp[k];
      const apiPort = ports!.tcp[N + k];
      nodeLogLines[name] = 0;
      const proc = new Child(name, [
        "run",
        "-P=server",
        SERVER_V8_FLAGS,
        `${ROOT}main.ts`,
        "--port",
        String(port),
        ...nodeArgs,
        "--set",
        `rtsp.address=${host}`,
        "--set",
        `api.port=${apiPort}`,
        "--set",
        `cluster.node=${name}`,
      ], {
        onLine: (l) => {
          nodeLogLines[name]++;
          nodeLog.push(`${stamp()} ${name} ${l}`);
        },
      });
      children.push(proc);
      return {
        name,
        index: k,
        host,
        port,
        apiPort,
        proc,
        url: (path: string) => `rtsp://${host}:${port}/${path}`,
        cluster: () => getJson<ClusterJson>(`http://127.0.0.1:${apiPort}/v1/cluster`),
      };
    });
    await Promise.all(nodes.map(async (n) => {
      const deadline = Date.now() + 30_000;
      let last = "no answer yet";
      for (;;) {
        if (!n.proc.alive) {
          throw new Error(
            `node ${n.name} (${n.host}:${n.port}) ${n.proc.exitText()} while starting:\n${n.proc.tail()}`,
          );
        }
        try {
          const c = await n.cluster();
          if (c.synced && c.members.length === N) return;
          last = `synced ${c.synced}, ${c.members.length} member(s) (${
            c.members.map((m) => m.name).join(", ")
          }), lastError ${c.lastError}`;
        } catch (e) {
          last = textOf(e);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `node ${n.name} did not see ${N} synced members in 30 s: ${last}\n${n.proc.tail()}`,
          );
        }
        await sleep(200);
      }
    }));
    console.error(`${stamp()} etcd and ${N} nodes up, every node synced with ${N} members`);

    // --- the publisher, on n0
    const owner = nodes[0];
    const paths = [...Array.from({ length: M }, (_, i) => `bench/s${i}`), COLD_PATH];
    const publisher = new Child("publisher", [
      "run",
      "-A",
      `${ROOT}bench/stamped_publisher.ts`,
      JSON.stringify({ urls: paths.map((p) => owner.url(p)), bitrateKbit: o.bitrateKbit }),
    ]);
    children.push(publisher);
    {
      const deadline = Date.now() + 20_000;
      for (const p of paths) {
        while (!(await described(owner.url(p)))) {
          if (!publisher.alive) {
            throw new Error(`the stamped publisher ${publisher.exitText()}:\n${publisher.tail()}`);
          }
          if (Date.now() > deadline) {
            throw new Error(
              `${
                owner.url(p)
              } not published after 20 s (publisher ${publisher.exitText()}):\n${publisher.tail()}\n${owner.proc.tail()}`,
            );
          }
          await sleep(200);
        }
      }
      for (const n of nodes) {
        let c: ClusterJson | undefined;
        while (
          !(c = await n.cluster().catch(() => undefined)) ||
          !paths.every((p) => c!.owners.some((x) => x.path === p && x.node === owner.name))
        ) {
          if (Date.now() > deadline) {
            throw new Error(
              `node ${n.name} does not see n0 own ${paths.join(", ")} after 20 s: owners ${
                JSON.stringify(c?.owners)
              }`,
            );
          }
          await sleep(200);
        }
      }
    }
    console.error(`${stamp()} ${M + 1} stream(s) published on n0, every node sees n0 own them`);
    await sleep(2500); // a GOP in the ring

    // --- plans
    const now = Date.now();
    const rampStartAt = now + PROCESS_START_MS;
    const rampEndAt = rampStartAt + o.rampS * 1000;
    const steadyStartAt = rampEndAt + SETTLE_MS;
    const steadyEndAt = steadyStartAt + o.durationS * 1000;
    const failover = o.failoverS > 0;
    const stallFrom = steadyEndAt + STALL_FROM_MS;
    const killAt = steadyEndAt + KILL_AFTER_MS;
    const holdUntil = killAt + o.failoverS * 1000;
    const perNode = split(o.viewers, N);
    const loads: { node: number; viewers: number; proc: Child }[] = [];
    for (const n of nodes) {
      for (const [c, viewers] of split(perNode[n.index], o.clientsPerNode).entries()) {
        const plan: LoadPlan = {
          urls: paths.slice(0, M).map((p) => n.url(p)),
          viewers,
          rampStartAt,
          rampEndAt,
          steadyStartAt,
          steadyEndAt,
          joiners: 0,
          transport: "tcp",
          keepAliveMs: 20000,
          ...(failover ? { stallFrom, holdUntil, freshAfter: killAt + FRESH_MARGIN_MS } : {}),
        };
        const proc = new Child(`load ${n.name}#${c}`, [
          "run",
          "-A",
          `${ROOT}bench/load_client.ts`,
          JSON.stringify(plan),
        ], { stdout: true });
        children.push(proc);
        loads.push({ node: n.index, viewers, proc });
      }
    }
    const schedule = joinSchedule(N, M, o.joiners, steadyStartAt, steadyEndAt);
    const probePlan: LoadPlan = {
      urls: [owner.url(paths[0])],
      viewers: 0,
      rampStartAt,
      rampEndAt,
      steadyStartAt,
      steadyEndAt,
      joiners: 0,
      transport: "tcp",
      keepAliveMs: 20000,
      joinAt: schedule.map((s) => ({
        url: nodes[s.node].url(s.stream < 0 ? COLD_PATH : paths[s.stream]),
        at: s.at,
      })),
      joinHoldMs: JOIN_HOLD_MS,
    };
    const probe = new Child(
      "probe",
      ["run", "-A", `${ROOT}bench/load_client.ts`, JSON.stringify(probePlan)],
      {
        stdout: true,
      },
    );
    children.push(probe);

    // Every process alive until the end of the steady phase, or the run names the one that died.
    const watchdog = (what: string) => {
      for (const c of children) {
        if (!c.alive) throw new Error(`${c.name} ${c.exitText()} ${what}:\n${c.tail()}`);
      }
    };
    console.error(
      `${stamp()} ramping ${o.viewers} viewers (${perNode.join(" + ")} on ${
        nodes.map((n) => n.name).join(", ")
      })`,
    );
    await sleepUntil(steadyStartAt);
    watchdog("before the steady phase");
    // The cold stream must not be pulled by any edge yet.
    const coldBefore = new Map<string, boolean>();
    for (const n of nodes.slice(1)) {
      const c = await n.cluster().catch(() => undefined);
      coldBefore.set(n.name, c?.edges.some((e) => e.path === COLD_PATH) ?? false);
    }
    const s0 = nodes.map((n) => sampleProc(n.proc.pid));
    const l0 = loads.map((l) => sampleProc(l.proc.pid));
    const pr0 = sampleProc(probe.pid);
    const e0 = sampleProc(etcd.members[0].pid ?? -1);
    const pub0 = sampleProc(publisher.pid);
    const me0 = sampleProc(Deno.pid);
    const c0 = sampleCpu();
    console.error(`${stamp()} steady phase, ${o.durationS} s`);
    await sleepUntil(steadyEndAt - 200);
    const s1 = nodes.map((n) => sampleProc(n.proc.pid));
    const l1 = loads.map((l) => sampleProc(l.proc.pid));
    const pr1 = sampleProc(probe.pid);
    const e1 = sampleProc(etcd.members[0].pid ?? -1);
    const pub1 = sampleProc(publisher.pid);
    const me1 = sampleProc(Deno.pid);
    const c1 = sampleCpu();
    const steadyStatus = await Promise.all(nodes.map((n) => n.cluster().catch((e) => textOf(e))));
    watchdog("in the steady phase");

    // --- failover: n0 and its publisher killed; a publisher for n1 that starts at that instant
    let republisher: Child | null = null;
    let killedAt = NaN;
    const timeline = { membersMs: null, ownerGoneMs: null, newOwnerMs: null, edgesMovedMs: null } as {
      membersMs: number | null;
      ownerGoneMs: number | null;
      newOwnerMs: number | null;
      edgesMovedMs: number | null;
    };
    let after: { node: string; owners: string[]; edges: string[] }[] = [];
    if (failover) {
      const next = nodes[1];
      const plan: RepublishPlan = {
        urls: paths.map((p) => next.url(p)),
        bitrateKbit: o.bitrateKbit,
        startAt: killAt,
        giveUpAt: holdUntil,
        retryMs: REPUBLISH_RETRY_MS,
      };
      republisher = new Child("republisher", [
        "run",
        "-A",
        `${ROOT}bench/cluster.ts`,
        "--republish",
        JSON.stringify(plan),
      ], { stdout: true });
      children.push(republisher);
      await sleepUntil(killAt);
      killedAt = epochMs();
      owner.proc.kill();
      publisher.kill();
      console.error(`${stamp()} n0 and its publisher SIGKILLed; republishing to n1 (lease ${leaseTtlMs} ms)`);
      // The surviving nodes' view, every 100 ms, until the edges pull from n1 again.
      const survivors = nodes.slice(1);
      const watched = paths.slice(0, M);
      while (Date.now() < holdUntil - 500 && timeline.edgesMovedMs === null) {
        const views = await Promise.all(survivors.map((n) => n.cluster().catch(() => undefined)));
        const ms = epochMs() - killedAt;
        const v1 = views[0];
        if (timeline.membersMs === null && v1 && !v1.members.some((m) => m.name === owner.name)) {
          timeline.membersMs = ms;
        }
        if (
          timeline.ownerGoneMs === null &&
          views.some((v) =>
            v && watched.some((p) => !v.owners.some((x) => x.path === p && x.node === owner.name))
          )
        ) timeline.ownerGoneMs = ms;
        if (
          timeline.newOwnerMs === null &&
          v1 && watched.every((p) => v1.owners.some((x) => x.path === p && x.node === next.name))
        ) timeline.newOwnerMs = ms;
        if (
          timeline.newOwnerMs !== null &&
          views.slice(1).every((v) =>
            v &&
            watched.every((p) =>
              v.edges.some((e) => e.path === p && e.from === next.name && e.state === "playing")
            )
          )
        ) timeline.edgesMovedMs = ms;
        await sleep(100);
      }
      await sleepUntil(holdUntil);
      after = await Promise.all(survivors.map(async (n) => {
        const c = await n.cluster().catch(() => undefined);
        return {
          node: n.name,
          owners: c?.owners.map((x) => `${x.path}@${x.node}`) ?? ["(no answer)"],
          edges: c?.edges.map((e) => `${e.path} from ${e.from} ${e.state}`) ?? ["(no answer)"],
        };
      }));
    }

    // --- reports
    const parse = async (c: Child): Promise<LoadReport> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const st = await Promise.race([
        c.done,
        new Promise<null>((r) => timer = setTimeout(() => r(null), 30_000)),
      ]);
      clearTimeout(timer);
      if (st === null) throw new Error(`${c.name} did not report within 30 s of the end`);
      const line = c.stdout.trim().split("\n").pop() ?? "";
      try {
        return JSON.parse(line) as LoadReport;
      } catch {
        throw new Error(`${c.name} ${c.exitText()} without a report:\n${c.tail()}`);
      }
    };
    const reports = await Promise.all(loads.map((l) => parse(l.proc)));
    const probeReport = await parse(probe);
    let republish: RepublishReport | null = null;
    let failoverError: string | null = null;
    if (republisher !== null) {
      const line = republisher.stdout.trim().split("\n")[0] ?? "";
      try {
        republish = JSON.parse(line) as RepublishReport;
      } catch {
        failoverError =
          `the republisher to n1 never got its streams accepted (${republisher.exitText()}):\n${republisher.tail()}`;
      }
    }

    // --- figures
    const steadyS = (steadyEndAt - steadyStartAt) / 1000;
    const idle = c1.idle - c0.idle;
    const total = c1.total - c0.total;
    const idlePct = (100 * idle) / total;
    const stealPct = (100 * (c1.steal - c0.steal)) / total;
    const ncores = navigator.hardwareConcurrency;
    const busyCores = ((total - idle - (c1.steal - c0.steal)) / total) * ncores;
    const nodeCores = nodes.map((_, k) => cores(s0[k], s1[k]));
    const loadCores = l0.reduce((x, s, i) => x + cores(s, l1[i]), 0);
    const probeCores = cores(pr0, pr1);
    const etcdCores = cores(e0, e1);
    const publisherCores = cores(pub0, pub1);
    const ours = nodeCores.reduce((a, b) => a + b, 0) + loadCores + probeCores + etcdCores + publisherCores +
      cores(me0, me1);
    const figures: NodeFigures[] = nodes.map((n, k) => {
      const rs = reports.filter((_, i) => loads[i].node === k);
      const bytes = rs.reduce((x, r) => x + r.steadyBytes, 0);
      const gbps = (bytes * 8) / steadyS / 1e9;
      const st = steadyStatus[k];
      return {
        name: n.name,
        role: k === 0 ? "owner" : "edge",
        host: `${n.host}:${n.port}`,
        viewers: perNode[k],
        connected: rs.reduce((x, r) => x + r.connected, 0),
        failed: rs.reduce((x, r) => x + r.failed, 0),
        disconnects: rs.reduce((x, r) => x + r.disconnects, 0),
        rtpGaps: rs.reduce((x, r) => x + r.gaps, 0),
        gbps,
        cores: nodeCores[k],
        coresPerGbps: nodeCores[k] / gbps,
        rssMiB: (s1[k]?.rssKiB ?? NaN) / 1024,
        addedDelayMs: summarize(rs.flatMap((r) => r.addedDelayMs)),
        edges: typeof st === "string"
          ? []
          : st.edges.map((e) => ({ path: e.path, from: e.from, state: e.state, mbps: e.bitrate / 1e6 })),
      };
    });
    for (const r of [...reports, probeReport]) errors.push(...r.errors);
    for (const [k, st] of steadyStatus.entries()) {
      if (typeof st === "string") errors.push(`GET /v1/cluster of ${nodes[k].name} at the steady end: ${st}`);
    }
    // Each edge should pull every watched stream from n0, playing.
    for (const f of figures.slice(1)) {
      for (const p of paths.slice(0, M)) {
        const e = f.edges.find((x) => x.path === p);
        if (e === undefined || e.from !== owner.name || e.state !== "playing") {
          errors.push(
            `${f.name}: edge pull of ${p} at the steady end: ${e ? `from ${e.from}, ${e.state}` : "none"}`,
          );
        }
      }
    }
    const edgeFig = figures.slice(1);
    const edgeCoresSum = edgeFig.reduce((x, f) => x + f.cores, 0);
    const edgeGbps = edgeFig.reduce((x, f) => x + f.gbps, 0);
    const own = figures[0];
    const edgePullMbps = edgeFig.reduce(
      (x, f) => x + f.edges.filter((e) => paths.slice(0, M).includes(e.path)).reduce((y, e) => y + e.mbps, 0),
      0,
    );
    const edgePulls = edgeFig.reduce(
      (x, f) => x + f.edges.filter((e) => paths.slice(0, M).includes(e.path)).length,
      0,
    );
    const share = (edgePullMbps / 1000) / (own.gbps + edgePullMbps / 1000);

    const joins = probeReport.joins ?? [];
    const slotOf = (j: JoinSample, i: number) => ({ j, s: schedule[i] });
    const all = joins.map(slotOf);
    const warm = all.filter((x) => x.s.kind === "warm");
    const pick = (xs: typeof warm, side: "owner" | "edge", f: (j: JoinSample) => number | null) =>
      xs.filter((x) => (x.s.node === 0) === (side === "owner")).map((x) => f(x.j)).filter((v): v is number =>
        v !== null
      );
    const ownerJoin = summarize(pick(warm, "owner", (j) => j.describeToKeyframeMs));
    const edgeJoin = summarize(pick(warm, "edge", (j) => j.describeToKeyframeMs));
    const cold = all.filter((x) => x.s.kind === "cold");
    const coldEdges = cold.filter((x) => x.s.node !== 0).map((x) => ({
      node: nodes[x.s.node].name,
      ms: x.j.describeToKeyframeMs,
      pulledBefore: coldBefore.get(nodes[x.s.node].name) ?? false,
      error: x.j.error,
    }));
    for (const c of coldEdges) {
      if (c.pulledBefore) errors.push(`${c.node} already pulled ${COLD_PATH} before its cold join: not cold`);
    }
    const p99Diff = edgeJoin.p99 - ownerJoin.p99;

    let failoverResult: ClusterResult["failover"];
    if (failover) {
      const perNodeRec = nodes.slice(1).map((n) => {
        const rs = reports.filter((_, i) => loads[i].node === n.index);
        const rec = rs.flatMap((r) => r.hold?.stalls ?? []).map((s) => recoveryOf(s, killedAt, holdUntil));
        const ok = rec.flatMap((r) => r.kind === "recovered" ? [r] : []);
        return {
          name: n.name,
          ok,
          recovered: summarize(ok.map((r) => r.freshMs)),
          resumeMs: summarize(ok.flatMap((r) => r.resumeMs === null ? [] : [r.resumeMs])),
          replayed: ok.filter((r) => r.replayed > 0).length,
          replayedPackets: summarize(ok.flatMap((r) => r.replayed > 0 ? [r.replayed] : [])),
          replayedSpanMs: summarize(ok.flatMap((r) => r.replayed > 0 ? [r.replayedSpanMs] : [])),
          lost: rec.filter((r) => r.kind === "lost").length,
          stale: rec.filter((r) => r.kind === "stale").length,
          rtpGaps: rs.reduce((x, r) => x + (r.hold?.gaps ?? 0), 0),
          disconnects: rs.reduce((x, r) => x + (r.hold?.disconnects ?? 0), 0),
        };
      });
      const allOk = perNodeRec.flatMap((p) => p.ok);
      const ownerReports = reports.filter((_, i) => loads[i].node === 0);
      const watchedAccepted = republish?.accepted.slice(0, M) ?? [];
      const refusals: Record<string, number> = {};
      for (const a of watchedAccepted) {
        for (const [k, v] of Object.entries(a.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
      }
      const lost = perNodeRec.reduce((x, p) => x + p.lost, 0);
      const stale = perNodeRec.reduce((x, p) => x + p.stale, 0);
      const killLateMs = killedAt - killAt;
      if (failoverError === null && lost + stale > 0) {
        failoverError =
          `${lost + stale} viewer(s) of the surviving nodes did not receive the new publisher's ` +
          `packets within ${o.failoverS} s (${lost} got nothing in the last ${LOST_MS} ms)`;
      }
      if (killLateMs >= FRESH_MARGIN_MS) {
        errors.push(`n0 was killed ${killLateMs.toFixed(0)} ms late: old packets may have counted as fresh`);
      }
      failoverResult = {
        killedAt: new Date(killedAt).toISOString(),
        leaseTtlMs,
        republish: republish === null ? null : {
          acceptedAfterMs: watchedAccepted.map((a) => a.acceptedAt - killedAt),
          attempts: watchedAccepted.map((a) => a.attempts),
          refusals,
        },
        timeline,
        viewers: summarize(allOk.map((r) => r.freshMs)),
        resumeMs: summarize(allOk.flatMap((r) => r.resumeMs === null ? [] : [r.resumeMs])),
        waitMs: summarize(allOk.map((r) => r.waitMs)),
        perNode: perNodeRec.map(({ ok: _, ...p }) => p),
        lost,
        stale,
        killLateMs,
        ownerViewers: {
          viewers: perNode[0],
          stillPlaying: ownerReports.reduce((x, r) => x + (r.hold?.connected ?? 0), 0),
          disconnects: ownerReports.reduce((x, r) => x + (r.hold?.disconnects ?? 0), 0),
        },
        after,
        error: failoverError,
      };
    }

    const cpuModel = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
    return {
      label: o.label ?? `dm-live cluster of ${N}`,
      date: new Date().toISOString(),
      command: o.command,
      machine: {
        cores: ncores,
        os: Deno.build.os,
        deno: Deno.version.deno,
        cpu: cpuModel,
        kernel: Deno.osRelease(),
      },
      params: {
        nodes: N,
        viewers: o.viewers,
        streams: M,
        bitrateKbit: o.bitrateKbit,
        rampS: o.rampS,
        steadyS,
        joiners: o.joiners,
        workersPerNode: o.workers,
        clientsPerNode: o.clientsPerNode,
        failoverS: o.failoverS,
        leaseTtlMs,
        edgeRetryMs,
        nodeArgs,
      },
      machineIdlePct: idlePct,
      machineStealPct: stealPct,
      otherCores: busyCores - ours,
      loadCores,
      probeCores,
      etcdCores,
      publisherCores,
      saturated: idlePct < 5,
      nodes: figures,
      edgeCost: {
        cores: edgeCoresSum,
        gbps: edgeGbps,
        coresPerGbps: edgeCoresSum / edgeGbps,
        vsOwner: (edgeCoresSum / edgeGbps) / own.coresPerGbps,
      },
      owner: {
        cores: own.cores,
        viewerGbps: own.gbps,
        coresPerGbps: own.coresPerGbps,
        edgePulls,
        edgePullMbps,
        edgePullShare: share,
        edgePullCores: own.cores * share,
      },
      joins: {
        owner: ownerJoin,
        edge: edgeJoin,
        p99DiffMs: p99Diff,
        targetMs: EDGE_JOIN_TARGET_MS,
        met: Number.isFinite(p99Diff) && p99Diff < EDGE_JOIN_TARGET_MS,
        playToKeyframe: {
          owner: summarize(pick(warm, "owner", (j) => j.playToKeyframeMs)),
          edge: summarize(pick(warm, "edge", (j) => j.playToKeyframeMs)),
        },
        failed: warm.filter((x) => x.j.describeToKeyframeMs === null).map((x) =>
          `${nodes[x.s.node].name} ${x.j.url}: ${x.j.error}`
        ),
      },
      cold: {
        edges: coldEdges,
        owner: cold.find((x) => x.s.node === 0)?.j.describeToKeyframeMs ?? null,
      },
      failover: failoverResult,
      nodeLog: nodeLogFile,
      nodeLogLines,
      errors: errors.slice(0, 20),
      ...(o.raw
        ? {
          raw: [
            ...reports.map((r, i) => ({ process: loads[i].proc.name, report: r })),
            { process: "probe", report: probeReport },
          ],
        }
        : {}),
    };
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// The report

export function printCluster(r: ClusterResult, log: (line: string) => void = console.log): void {
  const f = (
    x: number | null | undefined,
    d = 2,
  ) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const pcts = (s: Summary, d = 1) => `${f(s.p50, d)}/${f(s.p95, d)}/${f(s.p99, d)}/${f(s.max, d)}`;
  const p = r.params;
  const edgeNames = r.nodes.slice(1).map((n) => n.name);
  const edgeRange = edgeNames.length > 1
    ? `${edgeNames[0]}-${edgeNames[edgeNames.length - 1]}`
    : edgeNames[0];
  log(
    `\n${r.label}: ${p.nodes} nodes (n0 owner, ${edgeRange} edge${
      edgeNames.length > 1 ? "s" : ""
    }), ${p.viewers} tcp viewers x ${p.streams} stream(s) at ${p.bitrateKbit} kbit/s, steady ${p.steadyS} s`,
  );
  log(`  date           ${r.date}`);
  log(`  command        ${r.command}`);
  log(
    `  machine        ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.os} ${r.machine.kernel}, deno ${r.machine.deno}`,
  );
  log(
    `  nodes          ${p.workersPerNode} worker(s) each (${p.nodes} node processes share ${r.machine.cores} cores), lease ${p.leaseTtlMs} ms, edge retry ${
      p.edgeRetryMs[0]
    }..${p.edgeRetryMs[1]} ms, 1 etcd member`,
  );
  const sum = (k: "connected" | "failed" | "disconnects" | "rtpGaps") =>
    r.nodes.reduce((x, n) => x + n[k], 0);
  log(
    `  connected ${sum("connected")}/${p.viewers}, failed ${sum("failed")}, disconnects ${
      sum("disconnects")
    }, RTP gaps ${sum("rtpGaps")} (steady phase)`,
  );
  log(
    `  node  role    viewers  Gbit/s  cores  cores/Gbit/s  RSS MiB  added delay p50/p99 ms  edge pulls (end of steady)`,
  );
  for (const n of r.nodes) {
    const pulls = n.edges.length === 0
      ? "-"
      : n.edges.map((e) => `${e.path.replace("bench/", "")}<-${e.from} ${e.state} ${f(e.mbps, 2)}M`).join(
        ", ",
      );
    log(
      `  ${n.name.padEnd(4)}  ${n.role.padEnd(6)} ${String(n.viewers).padStart(8)}  ${
        f(n.gbps, 3).padStart(6)
      }  ${f(n.cores).padStart(5)}  ${f(n.coresPerGbps).padStart(12)}  ${f(n.rssMiB, 1).padStart(7)}  ${
        `${f(n.addedDelayMs.p50, 1)}/${f(n.addedDelayMs.p99, 1)}`.padStart(22)
      }  ${pulls}`,
    );
  }
  const e = r.edgeCost;
  log(
    `  edge cost      ${f(e.coresPerGbps)} cores per relayed Gbit/s on the edges (${f(e.cores)} cores, ${
      f(e.gbps, 3)
    } Gbit/s), ${f(e.vsOwner)} x the owner's ${f(r.owner.coresPerGbps)} cores per delivered Gbit/s`,
  );
  const o = r.owner;
  log(
    `  owner's pulls  ${o.edgePulls} edge pulls take ${f(o.edgePullMbps, 2)} Mbit/s from n0: ${
      f(o.edgePullShare * 100, 1)
    } % of its output (${f(o.viewerGbps, 3)} Gbit/s to its own viewers), ~${
      f(o.edgePullCores, 3)
    } cores at its cost per Gbit/s`,
  );
  log(
    `  load gen CPU   ${f(r.loadCores)} cores (+ probe ${f(r.probeCores)}), etcd ${
      f(r.etcdCores, 3)
    }, publisher ${f(r.publisherCores, 3)}; machine idle ${f(r.machineIdlePct, 1)} %, steal ${
      f(r.machineStealPct, 1)
    } %, other ${f(r.otherCores)} cores${
      r.saturated ? "  (SATURATED: the nodes competed with the load generator)" : ""
    }`,
  );
  const j = r.joins;
  log(
    `  join DESCRIBE -> first keyframe, warm, p50/p95/p99/max: owner (n=${j.owner.n}) ${
      pcts(j.owner)
    } ms, edges (n=${j.edge.n}) ${pcts(j.edge)} ms`,
  );
  log(
    `                 edge p99 - owner p99 = ${j.p99DiffMs >= 0 ? "+" : ""}${
      f(j.p99DiffMs, 1)
    } ms (target < ${j.targetMs} ms: ${j.met ? "met" : "NOT MET"}); PLAY -> keyframe p99 owner ${
      f(j.playToKeyframe.owner.p99, 1)
    }, edges ${f(j.playToKeyframe.edge.p99, 1)} ms${
      j.failed.length ? `; ${j.failed.length} joiner(s) without a keyframe` : ""
    }`,
  );
  log(
    `  cold join      first viewer of an unwatched stream, DESCRIBE -> first keyframe: ${
      r.cold.edges.map((c) => `${c.node} ${c.ms === null ? `failed (${c.error})` : `${f(c.ms, 1)} ms`}`).join(
        ", ",
      )
    } (edges: no pull yet); n0 ${f(r.cold.owner, 1)} ms (owner)`,
  );
  const fo = r.failover;
  if (fo !== undefined) {
    const rp = fo.republish;
    const refusals = rp === null
      ? ""
      : Object.entries(rp.refusals).map(([k, v]) => `${v}x "${k}"`).join(", ");
    log(
      `  failover       n0 SIGKILLed at ${fo.killedAt}, lease ${fo.leaseTtlMs} ms; publisher retried on n1 every ${REPUBLISH_RETRY_MS} ms: ${
        rp === null
          ? "NEVER ACCEPTED"
          : `accepted after ${rp.acceptedAfterMs.map((x) => f(x, 0)).join("/")} ms (${
            rp.attempts.join("/")
          } tries${refusals ? `; refused: ${refusals}` : ""})`
      }`,
    );
    const t = fo.timeline;
    log(
      `                 (n0's keys expire a TTL after its last lease keepalive, sent every TTL/3: ${
        f((fo.leaseTtlMs * 2) / 3, 0)
      }..${fo.leaseTtlMs} ms after the kill, then etcd's expiry check)`,
    );
    log(
      `                 seen on the survivors' /v1/cluster (polled every 100 ms): n0 gone from members +${
        f(t.membersMs, 0)
      } ms, its streams' keys gone +${f(t.ownerGoneMs, 0)} ms, n1 owns them +${
        f(t.newOwnerMs, 0)
      } ms, other edges playing from n1 +${f(t.edgesMovedMs, 0)} ms`,
    );
    log(
      `                 viewers of ${edgeRange} receiving again (kill -> first packet from the new publisher) n=${fo.viewers.n} p50/p95/p99/max ${
        pcts(fo.viewers, 0)
      } ms`,
    );
    log(
      `                 ${
        fo.perNode.map((n) =>
          `${n.name} (n=${n.recovered.n}) ${
            pcts(n.recovered, 0)
          } ms, ${n.rtpGaps} RTP gaps, ${n.disconnects} disconnects`
        ).join("; ")
      }; lost ${fo.lost}, stale ${fo.stale}`,
    );
    log(
      `                 first packet of any kind after the pause p50/p99 ${f(fo.resumeMs.p50, 0)}/${
        f(fo.resumeMs.p99, 0)
      } ms; pause p50/p99 ${f(fo.waitMs.p50, 0)}/${
        f(fo.waitMs.p99, 0)
      } ms; n0's own ${fo.ownerViewers.viewers} viewers: ${fo.ownerViewers.disconnects} disconnected with their node`,
    );
    const rp2 = fo.perNode.filter((n) => n.replayed > 0);
    log(
      `                 old video (stamped before the kill) after the pause: ${
        rp2.length === 0
          ? "none"
          : rp2.map((n) =>
            `${n.name} ${n.replayed} viewer(s), p50/max ${f(n.replayedPackets.p50, 0)}/${
              f(n.replayedPackets.max, 0)
            } packets each, going back ${f(n.replayedSpanMs.p50, 0)}/${
              f(n.replayedSpanMs.max, 0)
            } ms over what they had`
          ).join("; ")
      }`,
    );
    log(
      `                 after: ${
        fo.after.map((a) => `${a.node} owners [${a.owners.join(", ")}] edges [${a.edges.join(", ")}]`).join(
          "; ",
        )
      }`,
    );
    if (fo.error) log(`  FAILOVER FAILED: ${fo.error}`);
  }
  log(
    `  node warnings  ${
      Object.entries(r.nodeLogLines).map(([n, c]) => `${n} ${c}`).join(", ")
    } stderr line(s) in ${r.nodeLog.replace(ROOT, "")}`,
  );
  if (r.errors.length) log(`  errors: ${r.errors.join("; ")}`);
}

/** `deno task bench --cluster N ...` (fanout.ts hands its arguments here). */
export async function clusterMain(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      cluster: { type: "string" },
      viewers: { type: "string", default: "300" },
      streams: { type: "string", default: "2" },
      bitrate: { type: "string", default: "928" },
      ramp: { type: "string", default: "5" },
      duration: { type: "string", default: "15" },
      joiners: { type: "string", default: "60" },
      workers: { type: "string", default: "1" },
      clients: { type: "string", default: "1" },
      failover: { type: "string", default: "10" },
      "merge-window": { type: "string" },
      set: { type: "string", multiple: true },
      transport: { type: "string", default: "tcp" },
      label: { type: "string" },
      json: { type: "string" },
      raw: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (a.help) {
    console.log(CLUSTER_HELP);
    return;
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
    }
    return n;
  };
  const nodes = int("cluster", a.cluster, 2);
  if (nodes > 250) throw new Error(`--cluster ${nodes}: at most 250 nodes (127.0.0.2 .. 127.0.0.251)`);
  if (a.transport !== "tcp") {
    throw new Error(`--cluster runs tcp viewers only (the nodes have udp.portBase=0)`);
  }
  const viewers = int("viewers", a.viewers, nodes);
  const streams = int("streams", a.streams, 1);
  const set = [
    ...(a["merge-window"] !== undefined ? [`viewer.mergeWindowMs=${a["merge-window"]}`] : []),
    ...(a.set ?? []),
  ];
  const opts: ClusterOptions = {
    nodes,
    viewers,
    streams,
    bitrateKbit: int("bitrate", a.bitrate, 64),
    rampS: int("ramp", a.ramp, 0),
    durationS: int("duration", a.duration, 2),
    joiners: int("joiners", a.joiners, 0),
    workers: int("workers", a.workers, 0),
    clientsPerNode: int("clients", a.clients, 1),
    failoverS: int("failover", a.failover, 0),
    set,
    label: a.label,
    raw: a.raw,
    command: `deno task bench ${args.join(" ")}`,
  };
  if (Math.floor(viewers / nodes) < streams) {
    console.error(
      `warning: fewer than ${streams} viewers per node: some edges do not pull every stream (joins there are cold)`,
    );
  }
  let result: ClusterResult;
  try {
    result = await runCluster(opts);
  } catch (e) {
    // Every process was stopped by runCluster; fanout.ts would exit 0 after a return.
    console.error(`cluster bench failed: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
  printCluster(result);
  const file = a.json ?? `${OUT}/cluster-${result.date.replace(/[:.]/g, "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`  JSON: ${file}`);
  if (result.failover?.error) Deno.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The republisher (a child process): from startAt, each stream retried until its node accepts it.

async function republishMain(plan: RepublishPlan): Promise<void> {
  await sleepUntil(plan.startAt);
  const accepted = plan.urls.map((url) => {
    const { promise, resolve, reject } = Promise.withResolvers<RepublishReport["accepted"][number]>();
    (async () => {
      const refusals: Record<string, number> = {};
      let pub: Publication | undefined;
      for (let attempts = 1; pub === undefined; attempts++) {
        let conn: Deno.TcpConn | undefined;
        try {
          const u = new URL(url.replace(/^rtsp:/, "http:"));
          conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 554) });
          conn.setNoDelay(true);
          const p = new Publication(conn, url, plan.bitrateKbit);
          await p.start();
          pub = p;
          resolve({ url, acceptedAt: epochMs(), attempts, refusals });
        } catch (e) {
          try {
            conn?.close();
          } catch {
            // closed
          }
          const kind = refusalKind(textOf(e), url);
          refusals[kind] = (refusals[kind] ?? 0) + 1;
          if (Date.now() > plan.giveUpAt) {
            return reject(new Error(`${url} not accepted in ${attempts} tries: ${JSON.stringify(refusals)}`));
          }
          await sleep(plan.retryMs);
        }
      }
      // Each stream from its own acceptance, paced as stamped_publisher.ts's publish() (which
      // connects by itself, so it cannot take over a connection made here).
      const FPS = 30;
      const AUDIO_FRAME_MS = (1024 * 1000) / 44100;
      const t0 = performance.now();
      let video = 0;
      let audio = 0;
      for (;;) {
        const tv = t0 + (video * 1000) / FPS;
        const ta = t0 + audio * AUDIO_FRAME_MS;
        const wait = Math.min(tv, ta) - performance.now();
        if (wait > 0) await sleep(wait);
        if (tv <= ta) await pub.write(pub.videoFrame(video++));
        else await pub.write(pub.audioFrame(audio++));
      }
    })().catch((e) => {
      console.error(`republisher, ${url}: ${textOf(e)}`);
      reject(e); // (no-op once accepted)
    });
    return promise;
  });
  const report: RepublishReport = { accepted: await Promise.all(accepted) };
  console.log(JSON.stringify(report));
  await new Promise(() => {}); // publishing until killed
}

if (import.meta.main) {
  if (Deno.args[0] === "--republish") {
    await republishMain(JSON.parse(Deno.args[1]) as RepublishPlan);
  } else {
    await clusterMain(Deno.args);
    Deno.exit();
  }
}

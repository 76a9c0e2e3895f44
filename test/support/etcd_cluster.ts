/**
 * A real etcd cluster on loopback for tests (Debian's etcd 3.4, installed by .ci/run): N members,
 * each its own process, data dir (under one temp dir), client and peer port (from one port slot of
 * ports.ts, so parallel test files do not collide), with raft timings fast enough for tests.
 *
 *   const etcd = await startEtcdCluster(3); // every member healthy
 *   try { ... etcd.endpoints ...; await etcd.members[0].kill(); ...; await etcd.members[0].start();
 *     await etcd.ready(); } finally { await etcd.stop(); }
 *
 * A missing etcd binary is an error, never a skip. stop() leaves no process, file or open resource
 * behind (the tests run with --sanitize-ops --sanitize-resources). A test process that dies without
 * stop() (killed, Deno.exit, a crash) takes its members with it: each runs under util-linux's
 * `setpriv --pdeathsig KILL` (Debian's essential util-linux), which Linux signals when the process
 * that spawned it ends. Its temp dir (about 128 MB of preallocated WAL a member) is removed by the
 * next cluster started on the machine: each cluster holds a lock on OWNER_LOCK in its dir while it
 * lives, as ports.ts holds its slots, so a dir whose lock can be taken has no owner.
 */
import { Proc } from "./proc.ts";
import { isChildGone } from "./expected_errors.ts";
import { type PortReservation, reservePorts, SLOT_PORTS } from "./ports.ts";

/** How long ready() waits for every running member to be healthy. */
const HEALTH_TIMEOUT_MS = 20_000;
/** One health or KV request's bound (a member without quorum holds requests until it has one). */
const REQUEST_TIMEOUT_MS = 1_000;
/** How long stop() of a member waits after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** Cluster starts tried, each on a fresh port slot, when a member could not bind its ports. */
const START_TRIES = 3;
/** Lines of a member's stderr quoted in an error. */
const STDERR_TAIL_LINES = 30;

const NOT_FOUND = "etcd not found: install Debian's etcd-server (bash .ci/run installs it)";
/** A cluster's temp dir: `${tmp}/${DIR_PREFIX}XXXX`, holding OWNER_LOCK and a data dir per member. */
const DIR_PREFIX = "dm-live-etcd-";
const OWNER_LOCK = "owner.lock";
/** A dir without OWNER_LOCK older than this is a start that died before making it. */
const OWNERLESS_GRACE_MS = 60_000;
/** Runs a program with a parent-death signal (util-linux; on every Debian). */
const SETPRIV = "/usr/bin/setpriv";
/** The dirs of this process's live clusters (never swept, should its locks be per process). */
const ownDirs = new Set<string>();

/** One etcd process of the cluster. */
export interface EtcdMember {
  /** Its --name: etcd0, etcd1, ... */
  readonly name: string;
  /** http://127.0.0.1:PORT, the client URL (KV, /health, the v3 JSON gateway under /v3/). */
  readonly clientUrl: string;
  /** http://127.0.0.1:PORT, the raft peer URL. */
  readonly peerUrl: string;
  /** Whether its process is alive (started and not yet exited). */
  readonly running: boolean;
  /** Its process's pid while running, else null. */
  readonly pid: number | null;
  /** SIGKILL, and waits until it is gone (no-op when not running). */
  kill(): Promise<void>;
  /** SIGTERM, and waits until it is gone (SIGKILL after 10 s; no-op when not running). */
  stop(): Promise<void>;
  /**
   * Starts it again on the same data dir and ports (--initial-cluster-state existing) and returns
   * once the process is spawned: it rejoins only with a quorum, so wait with ready() (its own or the
   * cluster's). Throws when it is running.
   */
  start(): Promise<void>;
  /** Waits (up to timeoutMs) until its /health answers {"health":"true"}; throws with its stderr tail. */
  ready(timeoutMs?: number): Promise<void>;
  /** What it printed on stderr, all its runs (log level warn). */
  readonly stderr: string;
}

/** The cluster; stop() ends it. */
export interface EtcdCluster {
  /** Every member's client URL, in member order. */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** The temp dir holding the members' data dirs (removed by stop()). */
  readonly dir: string;
  /**
   * Waits (up to 20 s) until every member that should run (started and not since killed or
   * stopped) is healthy; throws naming those that are not, with their stderr tails (also when one
   * exited on its own).
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Kills every member, waits for them, removes the temp dir, releases the ports (idempotent). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** /usr/bin/etcd, else `etcd` on PATH; throws when there is none. */
export async function findEtcd(): Promise<string> {
  const candidates = ["/usr/bin/etcd"];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) if (dir !== "") candidates.push(`${dir}/etcd`);
  for (const path of candidates) {
    try {
      const st = await Deno.stat(path);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch (e) {
      // Expected: no such file in this directory.
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
    }
  }
  throw new Error(NOT_FOUND);
}

/** A fetch bounded by REQUEST_TIMEOUT_MS, the body read to the end: its status and text. */
async function request(url: string, body?: unknown): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new Error(`no answer from ${url} in ${REQUEST_TIMEOUT_MS} ms`)),
    REQUEST_TIMEOUT_MS,
  );
  try {
    const res = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      signal: abort.signal,
    });
    return { status: res.status, text: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** Null when the member at clientUrl answers /health with {"health":"true"}, else what it answered. */
export async function healthProblem(clientUrl: string): Promise<string | null> {
  try {
    const { status, text } = await request(`${clientUrl}/health`);
    try {
      if (status === 200 && (JSON.parse(text) as { health?: unknown }).health === "true") return null;
    } catch {
      // Not JSON: reported below as it came.
    }
    return `/health answered ${status}: ${text.trim()}`;
  } catch (e) {
    return `/health failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const unb64 = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));

/** POSTs to the v3 JSON gateway (`/v3/...`); the parsed answer, or throws with the status and body. */
export async function etcdCall(
  clientUrl: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const { status, text } = await request(`${clientUrl}/v3/${path}`, body);
  if (status !== 200) throw new Error(`etcd ${clientUrl}/v3/${path} answered ${status}: ${text.trim()}`);
  return JSON.parse(text);
}

/** Puts key=value through the member at clientUrl (the v3 gateway, base64 key and value); the revision. */
export async function etcdPut(clientUrl: string, key: string, value: string): Promise<number> {
  const r = await etcdCall(clientUrl, "kv/put", { key: b64(key), value: b64(value) });
  return Number((r.header as { revision?: string }).revision);
}

/** Reads key (linearizable, or serializable: the member's own copy) at clientUrl; null when absent. */
export async function etcdGet(
  clientUrl: string,
  key: string,
  opts: { serializable?: boolean } = {},
): Promise<string | null> {
  const r = await etcdCall(clientUrl, "kv/range", {
    key: b64(key),
    serializable: opts.serializable ?? false,
  });
  const kvs = r.kvs as { value?: string }[] | undefined;
  return kvs === undefined || kvs.length === 0 ? null : unb64(kvs[0].value ?? "");
}

/** The last lines of a log, indented, for an error message. */
function tail(log: string): string {
  if (log.trim() === "") return "    (nothing)";
  const lines = log.trimEnd().split("\n");
  const shown = lines.slice(-STDERR_TAIL_LINES).map((l) => `    ${l}`).join("\n");
  return lines.length > STDERR_TAIL_LINES ? `    ...\n${shown}` : shown;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** The etcd binary, after the setpriv prefix when there is one. */
  readonly #cmd: string[];
  readonly #dataDir: string;
  readonly #cluster: () => string;
  readonly #token: string;
  #proc: Proc | null = null;
  #exit: Deno.CommandStatus | null = null;
  /** Started by us and not since killed or stopped by us: ready() expects it healthy. */
  wanted = false;
  /** stderr of its earlier runs. */
  #pastStderr = "";
  #runs = 0;

  constructor(
    opts: {
      cmd: string[];
      name: string;
      clientPort: number;
      peerPort: number;
      dataDir: string;
      cluster: () => string;
      token: string;
    },
  ) {
    this.#cmd = opts.cmd;
    this.name = opts.name;
    this.clientUrl = `http://127.0.0.1:${opts.clientPort}`;
    this.peerUrl = `http://127.0.0.1:${opts.peerPort}`;
    this.#dataDir = opts.dataDir;
    this.#cluster = opts.cluster;
    this.#token = opts.token;
  }

  /** Its current run's pid, when running. */
  get pid(): number | null {
    return this.running ? this.#proc!.child.pid : null;
  }

  get running(): boolean {
    return this.#proc !== null && this.#exit === null;
  }

  get stderr(): string {
    return this.#pastStderr + (this.#proc?.stderr ?? "");
  }

  /** Whether its current run failed to bind a port (another program took one after the probe). */
  get lostPort(): boolean {
    return this.#exit !== null && /address already in use/.test(this.#proc?.stderr ?? "");
  }

  start(): Promise<void> {
    if (this.running) return Promise.reject(new Error(`etcd member ${this.name} is already running`));
    if (this.#proc !== null) this.#pastStderr += `${this.#proc.stderr}--- (restarted)\n`;
    const proc = new Proc(this.#cmd[0], [
      ...this.#cmd.slice(1),
      "--name",
      this.name,
      "--data-dir",
      this.#dataDir,
      "--listen-client-urls",
      this.clientUrl,
      "--advertise-client-urls",
      this.clientUrl,
      "--listen-peer-urls",
      this.peerUrl,
      "--initial-advertise-peer-urls",
      this.peerUrl,
      "--initial-cluster",
      this.#cluster(),
      "--initial-cluster-state",
      this.#runs === 0 ? "new" : "existing",
      "--initial-cluster-token",
      this.#token,
      "--heartbeat-interval",
      "100",
      "--election-timeout",
      "1000",
      "--logger",
      "zap",
      "--log-level",
      "warn",
      "--log-outputs",
      "stderr",
    ]);
    this.#runs++;
    this.#proc = proc;
    this.#exit = null;
    this.wanted = true;
    proc.done.then((s) => {
      if (this.#proc === proc) this.#exit = s;
    });
    return Promise.resolve();
  }

  async kill(): Promise<void> {
    this.wanted = false;
    const proc = this.#proc;
    if (proc === null) return;
    proc.kill();
    this.#exit = await proc.done;
  }

  async stop(): Promise<void> {
    this.wanted = false;
    const proc = this.#proc;
    if (proc === null) return;
    try {
      proc.child.kill("SIGTERM");
    } catch (e) {
      // Expected: it already exited.
      if (!isChildGone(e)) throw e;
    }
    this.#exit = await proc.wait(STOP_TIMEOUT_MS);
  }

  async ready(timeoutMs = HEALTH_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let problem = "never started";
    for (;;) {
      if (this.#proc === null) throw new Error(`etcd member ${this.name} was never started`);
      if (this.#exit !== null) {
        throw new Error(
          `etcd member ${this.name} (${this.clientUrl}) exited (code ${this.#exit.code}` +
            `${this.#exit.signal ? `, ${this.#exit.signal}` : ""}) while waiting for it to be healthy; ` +
            `stderr tail:\n${tail(this.#proc.stderr)}`,
        );
      }
      const p = await healthProblem(this.clientUrl);
      if (p === null) return;
      problem = p;
      if (Date.now() > deadline) {
        throw new Error(
          `etcd member ${this.name} (${this.clientUrl}) not healthy after ${timeoutMs} ms (${problem}); ` +
            `stderr tail:\n${tail(this.#proc.stderr)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

class Cluster implements EtcdCluster {
  readonly members: Member[];
  readonly dir: string;
  readonly #ports: PortReservation;
  /** The lock on OWNER_LOCK that tells sweepOrphans this dir is in use. */
  readonly #owner: Deno.FsFile;
  #stopped = false;

  constructor(members: Member[], dir: string, ports: PortReservation, owner: Deno.FsFile) {
    this.members = members;
    this.dir = dir;
    this.#ports = ports;
    this.#owner = owner;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  async ready(timeoutMs = HEALTH_TIMEOUT_MS): Promise<void> {
    // allSettled: no member's polling may go on after this returns (the ops sanitizer).
    const results = await Promise.allSettled(
      this.members.filter((m) => m.wanted).map((m) => m.ready(timeoutMs)),
    );
    const failed = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
    if (failed.length === 0) return;
    throw new Error(
      `etcd cluster not ready (${failed.length} of ${results.length} members):\n` +
        failed.map((e) => e instanceof Error ? e.message : String(e)).join("\n"),
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await Promise.all(this.members.map((m) => m.kill()));
      await Deno.remove(this.dir, { recursive: true });
    } finally {
      this.#owner.close();
      ownDirs.delete(this.dir);
      this.#ports.release();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Takes `${dir}/${OWNER_LOCK}` (made if missing) without waiting; null when a live cluster holds it. */
async function lockOwner(dir: string): Promise<Deno.FsFile | null> {
  const f = await Deno.open(`${dir}/${OWNER_LOCK}`, { read: true, write: true, create: true });
  if (f.tryLockSync(true)) return f;
  f.close();
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    // Expected: no such file.
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Removes the dirs of clusters whose test process is gone (it died without stop(), its members with
 * it): every `${DIR_PREFIX}*` dir in tmp, not this process's, whose OWNER_LOCK nobody holds. A dir
 * without one is left alone for OWNERLESS_GRACE_MS (it may be being made).
 */
async function sweepOrphans(tmp: string): Promise<void> {
  for await (const entry of Deno.readDir(tmp)) {
    const dir = `${tmp}/${entry.name}`;
    if (!entry.isDirectory || !entry.name.startsWith(DIR_PREFIX) || ownDirs.has(dir)) continue;
    try {
      if (!(await exists(`${dir}/${OWNER_LOCK}`))) {
        const st = await Deno.stat(dir);
        if (Date.now() - (st.mtime?.getTime() ?? Date.now()) < OWNERLESS_GRACE_MS) continue;
      } else {
        const lock = await lockOwner(dir);
        if (lock === null) continue;
        lock.close();
      }
      await Deno.remove(dir, { recursive: true });
    } catch (e) {
      // Expected: another sweep removed it first.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** How members are run: etcd under setpriv --pdeathsig KILL where that exists (Linux), else etcd. */
async function memberCommand(etcd: string): Promise<string[]> {
  if (Deno.build.os !== "linux") return [etcd];
  try {
    await Deno.stat(SETPRIV);
    return [SETPRIV, "--pdeathsig", "KILL", "--", etcd];
  } catch (e) {
    // Expected on a system without util-linux: members then outlive a test process that dies.
    if (e instanceof Deno.errors.NotFound) return [etcd];
    throw e;
  }
}

/**
 * Starts an n-member etcd cluster (default 3) on loopback and waits until every member is healthy.
 * Throws, with the members' stderr tails, when it does not come up in 20 s (nothing is left
 * running then), and when etcd is not installed.
 */
export async function startEtcdCluster(n = 3): Promise<EtcdCluster> {
  if (!Number.isInteger(n) || n < 1 || 2 * n > SLOT_PORTS) throw new Error(`bad etcd cluster size ${n}`);
  const cmd = await memberCommand(await findEtcd());
  const failures: string[] = [];
  for (let attempt = 1; attempt <= START_TRIES; attempt++) {
    const ports = reservePorts({ workers: 0, tcp: 2 * n });
    let dir: string;
    let owner: Deno.FsFile | null;
    try {
      dir = await Deno.makeTempDir({ prefix: DIR_PREFIX });
      owner = await lockOwner(dir);
    } catch (e) {
      ports.release();
      throw e;
    }
    if (owner === null) {
      ports.release();
      await Deno.remove(dir, { recursive: true });
      throw new Error(`${dir}: a new dir's ${OWNER_LOCK} is locked`);
    }
    ownDirs.add(dir);
    const token = `dm-live-test-${crypto.randomUUID()}`;
    const members: Member[] = [];
    const initialCluster = () => members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    for (let i = 0; i < n; i++) {
      members.push(
        new Member({
          cmd,
          name: `etcd${i}`,
          clientPort: ports.tcp[2 * i],
          peerPort: ports.tcp[2 * i + 1],
          dataDir: `${dir}/etcd${i}`,
          cluster: initialCluster,
          token,
        }),
      );
    }
    const cluster = new Cluster(members, dir, ports, owner);
    try {
      if (attempt === 1) await sweepOrphans(dir.slice(0, dir.lastIndexOf("/")));
      for (const m of members) await m.start();
      await cluster.ready();
      return cluster;
    } catch (e) {
      const lostPort = members.some((m) => m.lostPort);
      await cluster.stop();
      if (!lostPort) throw e;
      failures.push(`attempt ${attempt}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new Error(`etcd cluster never got its ports:\n${failures.join("\n")}`);
}

/**
 * This node's membership of a dm-live cluster (docs/cluster.md): one etcd lease, under it the node's
 * entry `PREFIX/nodes/NAME` and an entry `PREFIX/streams/PATH` for each stream it owns, taken by a
 * create-if-absent transaction whose create revision fences the ownership. Two prefix watches keep
 * every member and every owner in local maps, so a DESCRIBE finds a remote path's owner without a
 * round trip; while a watch or the lease is broken the node is unsynced and remote lookups fail
 * (503). A lost lease (etcd was away longer than its TTL) is granted again and every key put back.
 */
import type { Logger } from "../log/logger.ts";
import type { ClusterStore, StoredValue, StoreLease, WatchEvent } from "../etcd/store.ts";
import { placeOf } from "./placement.ts";

/** What `PREFIX/nodes/NAME` holds. */
export interface MemberInfo {
  name: string;
  advertise: string;
  viewers: number;
  publishers: number;
  /** The busiest worker thread's busy fraction (0..1), -1 where it cannot be measured. */
  load: number;
  /** When its current lease was granted (epoch ms): lease age = now - this. */
  leaseSince: number;
  /** When it last wrote its entry (epoch ms). */
  updatedAt: number;
}

/** What `PREFIX/streams/PATH` holds. */
export interface OwnerInfo {
  node: string;
  advertise: string;
}

export type Acquired =
  | { ok: true }
  /** unavailable: the store could not be asked (503); else `owner` has the path (a second publisher). */
  | { ok: false; reason: string; unavailable: boolean; owner?: string };

export interface ClusterNodeOptions {
  name: string;
  advertise: string;
  prefix: string;
  leaseTtlMs: number;
}

/** Load figures the node reports in its entry. */
export type NodeLoad = Pick<MemberInfo, "viewers" | "publishers" | "load">;

export interface ClusterCounters {
  ownershipChanges: number;
  etcdErrors: number;
  /** Sum and count of etcd request times (seconds), for a mean. */
  etcdSeconds: number;
  etcdRequests: number;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

const textOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

function parseJson<T>(text: string): T | undefined {
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null ? v as T : undefined;
  } catch {
    return undefined;
  }
}

export class ClusterNode {
  readonly name: string;
  readonly advertise: string;
  readonly counters: ClusterCounters = {
    ownershipChanges: 0,
    etcdErrors: 0,
    etcdSeconds: 0,
    etcdRequests: 0,
  };
  readonly #store: ClusterStore;
  readonly #o: ClusterNodeOptions;
  readonly #log: Logger;
  readonly #changed: () => void;
  readonly #members = new Map<string, MemberInfo>();
  readonly #owners = new Map<string, OwnerInfo>();
  /** Paths this node owns -> the create revision of its key (the fencing token). */
  readonly #owned = new Map<string, string>();
  #lease: StoreLease | null = null;
  #leaseSince = 0;
  #load: NodeLoad = { viewers: 0, publishers: 0, load: 0 };
  #written = "";
  /** The nodes/ and streams/ watches, null until set up. */
  #watches: ({ close(): Promise<void> } | null)[] = [null, null];
  /** This lease's steps done: the node's entry written, the owned paths put back under it. */
  #entryPut = false;
  #pathsPutBack = false;
  #watchUp = [false, false];
  /** Bumped when the watches are replaced: the old ones' late callbacks are ignored. */
  #watchGeneration = 0;
  #joining: Promise<void> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #stopped = false;
  #lastError: string | null = null;

  /** changed: called after members or owners changed (placement and edges look again). */
  constructor(store: ClusterStore, o: ClusterNodeOptions, log: Logger, changed: () => void) {
    this.#store = store;
    this.#o = o;
    this.name = o.name;
    this.advertise = o.advertise;
    this.#log = log.child(`cluster ${o.name}`);
    this.#changed = changed;
  }

  /** Whether the lease is alive and both watches deliver: remote lookups can be trusted. */
  get synced(): boolean {
    return this.#lease !== null && this.#watchUp[0] && this.#watchUp[1];
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  #key(kind: "nodes" | "streams", name: string): string {
    return `${this.#o.prefix}${kind}/${name}`;
  }

  /** Joins (in the background, retried with backoff until it succeeds); resolves after the first try. */
  start(): Promise<void> {
    return this.#join();
  }

  /** The live members, this node included once joined. */
  members(): MemberInfo[] {
    return [...this.#members.values()];
  }

  /** Paths with an owner somewhere in the cluster, and who. */
  owners(): ReadonlyMap<string, OwnerInfo> {
    return this.#owners;
  }

  ownedCount(): number {
    return this.#owned.size;
  }

  ownerOf(path: string): OwnerInfo | undefined {
    return this.#owners.get(path);
  }

  /**
   * Which node pulls a `source:` path: its owner while it has one (a running pull is not moved when
   * a node joins), else the first live member in the path's rendezvous order.
   */
  pullerOf(path: string): OwnerInfo | undefined {
    const owner = this.#owners.get(path);
    if (owner !== undefined && this.#members.has(owner.node)) return owner;
    const m = placeOf(path, this.#members.keys());
    return m === undefined ? undefined : { node: m, advertise: this.#members.get(m)!.advertise };
  }

  /** Takes the path for this node: refused when another node has it, or when etcd cannot be asked. */
  async acquire(path: string): Promise<Acquired> {
    const lease = this.#lease;
    if (lease === null || !this.synced) {
      return { ok: false, unavailable: true, reason: "the cluster's etcd is not reachable" };
    }
    const value = JSON.stringify({ node: this.name, advertise: this.advertise } satisfies OwnerInfo);
    let r;
    try {
      r = await this.#timed(() => this.#store.createIfAbsent(this.#key("streams", path), value, lease));
    } catch (e) {
      return { ok: false, unavailable: true, reason: `etcd: ${textOf(e)}` };
    }
    if (r.created) {
      this.#owned.set(path, r.createRevision);
      this.#owners.set(path, { node: this.name, advertise: this.advertise });
      this.counters.ownershipChanges++;
      this.#log.info(`[path ${path}] owned by this node (revision ${r.createRevision})`);
      return { ok: true };
    }
    const owner = r.current === null ? undefined : parseJson<OwnerInfo>(r.current.value);
    if (owner?.node === this.name && r.current !== null) {
      // Ours already (a lease put back after an outage): adopt its token.
      this.#owned.set(path, r.current.createRevision);
      return { ok: true };
    }
    const who = owner?.node ?? "another node";
    return {
      ok: false,
      unavailable: false,
      owner: who,
      reason: `path '${path}' is published on node ${who}`,
    };
  }

  /** Gives the path up (its stream ended here); a key another node took since is left alone. */
  release(path: string): void {
    const rev = this.#owned.get(path);
    if (rev === undefined) return;
    this.#owned.delete(path);
    if (this.#owners.get(path)?.node === this.name) this.#owners.delete(path);
    this.counters.ownershipChanges++;
    this.#timed(() => this.#store.deleteIfCreatedAt(this.#key("streams", path), rev)).then(
      () => this.#log.info(`[path ${path}] no longer owned by this node`),
      (e) => this.#log.warn(`[path ${path}] could not delete its owner key: ${textOf(e)} (the lease will)`),
    );
  }

  /** The figures of this node's entry; written now if they changed and the node is joined. */
  report(load: NodeLoad): void {
    this.#load = load;
    if (this.#lease === null || this.#stopped) return;
    const lease = this.#lease;
    const info = this.#info();
    const text = JSON.stringify({ ...info, updatedAt: 0 });
    if (text === this.#written) return;
    this.#timed(() => this.#store.put(this.#key("nodes", this.name), JSON.stringify(info), lease)).then(
      () => this.#written = text,
      (e) => this.#log.debug(`report not written: ${textOf(e)}`),
    );
  }

  /** Leaves: the lease is revoked, so this node's entry and streams are gone at once, not after the TTL. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#joining?.catch(() => {});
    for (const w of this.#watches) await w?.close().catch(() => {});
    this.#watches = [null, null];
    const lease = this.#lease;
    this.#lease = null;
    if (lease !== null) {
      try {
        await this.#timed(() => lease.revoke());
        this.#log.info("left the cluster");
      } catch (e) {
        this.#log.warn(`could not revoke the lease (its keys expire with it): ${textOf(e)}`);
      }
    }
    this.#store.close();
  }

  #info(): MemberInfo {
    return {
      name: this.name,
      advertise: this.advertise,
      ...this.#load,
      leaseSince: this.#leaseSince,
      updatedAt: Date.now(),
    };
  }

  async #timed<T>(f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } catch (e) {
      this.counters.etcdErrors++;
      throw e;
    } finally {
      this.counters.etcdSeconds += (performance.now() - t0) / 1000;
      this.counters.etcdRequests++;
    }
  }

  #join(): Promise<void> {
    this.#joining ??= this.#tryJoin().finally(() => this.#joining = null);
    return this.#joining;
  }

  async #tryJoin(): Promise<void> {
    if (this.#stopped) return;
    try {
      // Each step once per lease (or per watch): a retry after a failure goes on where it stopped.
      if (this.#lease === null) {
        let granted: StoreLease | null = null;
        const lease = await this.#timed(() =>
          this.#store.grantLease(this.#o.leaseTtlMs, (why) => granted !== null && this.#lost(granted, why))
        );
        granted = this.#lease = lease;
        this.#leaseSince = Date.now();
        this.#written = "";
        this.#entryPut = false;
        this.#pathsPutBack = false;
      }
      const lease = this.#lease;
      // Paths before the member entry: a node that reads this node's entry finds its paths too.
      if (!this.#pathsPutBack) {
        await this.#reacquire(lease);
        this.#pathsPutBack = true;
      }
      if (!this.#entryPut) {
        await this.#timed(() =>
          this.#store.put(this.#key("nodes", this.name), JSON.stringify(this.#info()), lease)
        );
        this.#entryPut = true;
      }
      if (this.#watches[0] === null) {
        await this.#watch(0, "nodes", (kvs) => this.#loadMembers(kvs), (e) => this.#memberEvent(e));
      }
      if (this.#watches[1] === null) {
        await this.#watch(1, "streams", (kvs) => this.#loadOwners(kvs), (e) => this.#ownerEvent(e));
      }
      if (this.#stopped) return;
      this.#failures = 0;
      this.#lastError = null;
      this.#log.info(
        `joined as ${this.name} (${this.advertise}): ${this.#members.size} member(s), ${this.#owners.size} owned path(s)`,
      );
      this.#changed();
    } catch (e) {
      this.#lastError = textOf(e);
      const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#failures++);
      this.#log.warn(`cannot join the cluster: ${this.#lastError}; retrying in ${wait} ms`);
      this.#changed();
      this.#retryTimer = setTimeout(() => this.#join(), wait);
    }
  }

  /** Puts back the keys of the streams this node owned under a lease that was lost. */
  async #reacquire(lease: StoreLease): Promise<void> {
    const value = JSON.stringify({ node: this.name, advertise: this.advertise } satisfies OwnerInfo);
    for (const path of [...this.#owned.keys()]) {
      const r = await this.#timed(() => this.#store.createIfAbsent(this.#key("streams", path), value, lease));
      if (r.created) {
        this.#owned.set(path, r.createRevision);
        continue;
      }
      const owner = r.current === null ? undefined : parseJson<OwnerInfo>(r.current.value);
      if (owner?.node === this.name) {
        // Still ours, under the lease given up on (etcd kept it): move it to the new lease, or it
        // goes when the old one expires.
        const token = r.current!.createRevision;
        if (
          await this.#timed(() => this.#store.putIfCreatedAt(this.#key("streams", path), value, token, lease))
        ) {
          this.#owned.set(path, token);
          continue;
        }
        // Gone between the two calls: the next join's try takes it again.
        throw new Error(`[path ${path}] changed while being put back`);
      }
      this.#owned.delete(path);
      this.counters.ownershipChanges++;
      this.#log.warn(
        `[path ${path}] taken by node ${owner?.node ?? "?"} while this node was away from etcd; ` +
          `its stream goes on here for local viewers only`,
      );
    }
  }

  /** A snapshot of the prefix, then a watch from just after it. */
  async #watch(
    index: number,
    kind: "nodes" | "streams",
    load: (kvs: StoredValue[]) => void,
    event: (e: WatchEvent) => void,
  ): Promise<void> {
    const prefix = `${this.#o.prefix}${kind}/`;
    const snap = await this.#timed(() => this.#store.getPrefix(prefix));
    load(snap.kvs);
    const generation = this.#watchGeneration;
    const w = await this.#store.watchPrefix(prefix, snap.revision, {
      event: (e) => {
        if (generation !== this.#watchGeneration) return;
        event(e);
        this.#changed();
      },
      state: (up, why) => {
        if (generation !== this.#watchGeneration) return;
        if (!up && why !== undefined && /compacted/i.test(why)) {
          // etcd compacted past the revision the watch would resume from: read both prefixes anew.
          this.#log.warn(`etcd watch of ${kind} cannot resume (${why}); reading the cluster's keys again`);
          this.#rewatch();
          return;
        }
        if (this.#watchUp[index] === up) return;
        this.#watchUp[index] = up;
        if (!up) {
          this.counters.etcdErrors++;
          this.#lastError = why ?? "watch disconnected";
          this.#log.warn(
            `etcd watch of ${kind} lost (${this.#lastError}); remote lookups answer 503 until it is back`,
          );
        } else this.#log.info(`etcd watch of ${kind} back`);
        this.#changed();
      },
    });
    this.#watchUp[index] = true;
    this.#watches[index] = w;
  }

  /** Drops both watches (their events are ignored from now on) and joins again, which sets them up. */
  #rewatch(): void {
    this.#watchGeneration++;
    const old = this.#watches;
    this.#watches = [null, null];
    this.#watchUp = [false, false];
    for (const w of old) w?.close().catch(() => {});
    this.#changed();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#join(), RETRY_MIN_MS);
  }

  #loadMembers(kvs: StoredValue[]): void {
    this.#members.clear();
    for (const kv of kvs) this.#memberEvent({ type: "put", kv });
  }

  #memberEvent(e: WatchEvent): void {
    const prefix = `${this.#o.prefix}nodes/`;
    if (e.type === "delete") {
      const name = e.key.slice(prefix.length);
      if (this.#members.delete(name)) this.#log.info(`member ${name} left`);
      return;
    }
    const m = parseJson<MemberInfo>(e.kv.value);
    const name = e.kv.key.slice(prefix.length);
    if (m === undefined || typeof m.advertise !== "string") {
      this.#log.warn(`ignoring a malformed member entry ${JSON.stringify(e.kv.key)}`);
      return;
    }
    if (!this.#members.has(name)) this.#log.info(`member ${name} (${m.advertise}) is in`);
    this.#members.set(name, { ...m, name });
  }

  #loadOwners(kvs: StoredValue[]): void {
    this.#owners.clear();
    for (const kv of kvs) this.#ownerEvent({ type: "put", kv });
  }

  #ownerEvent(e: WatchEvent): void {
    const prefix = `${this.#o.prefix}streams/`;
    if (e.type === "delete") {
      this.#owners.delete(e.key.slice(prefix.length));
      return;
    }
    const o = parseJson<OwnerInfo>(e.kv.value);
    if (o === undefined || typeof o.node !== "string" || typeof o.advertise !== "string") {
      this.#log.warn(`ignoring a malformed owner entry ${JSON.stringify(e.kv.key)}`);
      return;
    }
    this.#owners.set(e.kv.key.slice(prefix.length), { node: o.node, advertise: o.advertise });
  }

  #lost(lease: StoreLease, why: string): void {
    if (this.#lease !== lease || this.#stopped) return;
    this.#lease = null;
    this.counters.etcdErrors++;
    this.#lastError = `lease lost: ${why}`;
    this.#log.warn(
      `etcd lease lost (${why}); joining again, then putting back ${this.#owned.size} owned path(s)`,
    );
    this.#changed();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#join(), RETRY_MIN_MS);
  }
}

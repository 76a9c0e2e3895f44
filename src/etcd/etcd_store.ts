/**
 * The cluster's store on etcd v3, through the npm `etcd3` client (gRPC): the only file that talks to
 * etcd. Unary calls get a deadline so that an unreachable etcd fails a call instead of holding it;
 * the lease's keep-alive and the watches are streams that the client re-establishes by itself.
 */
import { Buffer } from "node:buffer";
import { Etcd3, type IKeyValue, type Lease, type Watcher } from "etcd3";
import type {
  ClusterStore,
  CreateResult,
  PrefixWatch,
  StoredValue,
  StoreLease,
  WatchHandlers,
} from "./store.ts";

export interface EtcdStoreOptions {
  /** http://host:port of each etcd member. */
  endpoints: readonly string[];
  /** Deadline of each unary call. */
  callTimeoutMs: number;
  /** Keys per page of a prefix read (default PAGE_KEYS). */
  pageKeys?: number;
}

function toValue(kv: IKeyValue): StoredValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: String(kv.create_revision),
    modRevision: String(kv.mod_revision),
  };
}

/** Keys per page of a prefix read: one response stays far below gRPC's message limit (docs/cluster-scale.md). */
const PAGE_KEYS = 5000;
/** A watch that broke is set up again this long after (the client's default backs off to 30 s). */
const WATCH_RETRY_MS = 500;
const watchBackoff = { duration: WATCH_RETRY_MS, next: () => watchBackoff };

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

export class EtcdStore implements ClusterStore {
  readonly #client: Etcd3;
  readonly #pageKeys: number;

  constructor(o: EtcdStoreOptions) {
    this.#pageKeys = o.pageKeys ?? PAGE_KEYS;
    this.#client = new Etcd3({
      hosts: [...o.endpoints],
      dialTimeout: o.callTimeoutMs,
      faultHandling: { watchBackoff },
      // Streams (lease keep-alive, watch) live as long as they are open; unary calls are bounded.
      defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + o.callTimeoutMs },
    });
  }

  async grantLease(ttlMs: number, onLost: (why: string) => void): Promise<StoreLease> {
    const lease: Lease = this.#client.lease(Math.max(1, Math.ceil(ttlMs / 1000)), { autoKeepAlive: true });
    let lost = false;
    lease.on("lost", (e) => {
      if (lost) return;
      lost = true;
      onLost(errorText(e));
    });
    try {
      const id = await lease.grant();
      return {
        id,
        revoke: async () => {
          lost = true;
          await lease.revoke();
        },
      };
    } catch (e) {
      lost = true;
      lease.release();
      throw e;
    }
  }

  async put(key: string, value: string, lease?: StoreLease): Promise<void> {
    const b = this.#client.put(key).value(value);
    if (lease !== undefined) b.lease(lease.id);
    await b.exec();
  }

  async createIfAbsent(key: string, value: string, lease: StoreLease): Promise<CreateResult> {
    const c = this.#client;
    const res = await c.if(key, "Create", "==", 0)
      .then(c.put(key).value(value).lease(lease.id))
      .else(c.get(key))
      .commit();
    if (res.succeeded) return { created: true, createRevision: String(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    return { created: false, current: kv === undefined ? null : toValue(kv) };
  }

  async putIfCreatedAt(
    key: string,
    value: string,
    createRevision: string,
    lease: StoreLease,
  ): Promise<boolean> {
    const c = this.#client;
    const res = await c.if(key, "Create", "==", createRevision)
      .then(c.put(key).value(value).lease(lease.id))
      .commit();
    return res.succeeded;
  }

  async deleteIfCreatedAt(key: string, createRevision: string): Promise<boolean> {
    const c = this.#client;
    const res = await c.if(key, "Create", "==", createRevision).then(c.delete().key(key)).commit();
    return res.succeeded;
  }

  async getPrefix(prefix: string): Promise<{ kvs: StoredValue[]; revision: string }> {
    // Pages at one revision, in key order (no sort: a sorted page makes etcd 3.4 read the rest).
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    let start = Buffer.from(prefix);
    let revision: string | undefined;
    const kvs: StoredValue[] = [];
    for (;;) {
      const b = this.#client.getAll().inRange({ start, end }).limit(this.#pageKeys);
      if (revision !== undefined) b.revision(revision);
      const res = await b.exec();
      revision ??= String(res.header.revision);
      for (const kv of res.kvs) kvs.push(toValue(kv));
      if (!res.more || res.kvs.length === 0) return { kvs, revision };
      start = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
    }
  }

  async watchPrefix(prefix: string, afterRevision: string, on: WatchHandlers): Promise<PrefixWatch> {
    const w: Watcher = await this.#client.watch().prefix(prefix)
      .startRevision(String(BigInt(afterRevision) + 1n))
      .create();
    w.on("put", (kv) => on.event({ type: "put", kv: toValue(kv) }));
    w.on("delete", (kv) => on.event({ type: "delete", key: kv.key.toString() }));
    w.on("disconnected", (e) => on.state(false, errorText(e)));
    w.on("connected", () => on.state(true));
    w.on("error", (e) => on.state(false, errorText(e)));
    return { close: () => w.cancel() };
  }

  close(): void {
    this.#client.close();
  }
}

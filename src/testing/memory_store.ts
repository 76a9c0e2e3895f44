/**
 * An in-memory ClusterStore for the cluster's unit tests: leases that expire when the test says so,
 * revisions, create-if-absent, prefix watches, and an outage switch. The interop tests run real etcd.
 */
import type {
  ClusterStore,
  CreateResult,
  PrefixWatch,
  StoredValue,
  StoreLease,
  WatchEvent,
  WatchHandlers,
} from "../etcd/store.ts";

interface Entry {
  value: string;
  create: number;
  mod: number;
  lease: string | undefined;
}

export class MemoryStore implements ClusterStore {
  #rev = 1;
  #nextLease = 1;
  readonly #kv = new Map<string, Entry>();
  readonly #leases = new Map<string, (why: string) => void>();
  readonly #watches = new Set<{ prefix: string; on: WatchHandlers }>();
  #down = false;
  /** Calls made (for assertions on how many round trips something costs). */
  calls = 0;

  /** Makes every call fail (and watches report disconnected) until `recover()`. */
  outage(): void {
    this.#down = true;
    for (const w of this.#watches) w.on.state(false, "store unreachable");
  }

  recover(): void {
    this.#down = false;
    for (const w of this.#watches) w.on.state(true);
  }

  /** Breaks every watch open now for good, as etcd does when it compacted past their revision. */
  failWatches(why: string): void {
    const open = [...this.#watches];
    this.#watches.clear();
    for (const w of open) w.on.state(false, why);
  }

  /** Expires a lease as etcd would after its TTL: its keys go, its holder is told. */
  expire(id: string): void {
    const lost = this.#leases.get(id);
    this.#leases.delete(id);
    for (const [k, e] of [...this.#kv]) if (e.lease === id) this.#delete(k);
    lost?.("lease expired");
  }

  /**
   * Tells a lease's holder it is lost while the store keeps it and its keys, as when keep-alives
   * fail for longer than the TTL but etcd (restarted meanwhile) renewed the lease: it expires later.
   */
  loseOnClient(id: string): void {
    this.#leases.get(id)?.("keep-alive failed (test)");
  }

  /** The leases granted and still alive. */
  leases(): string[] {
    return [...this.#leases.keys()];
  }

  get(key: string): StoredValue | undefined {
    const e = this.#kv.get(key);
    return e === undefined ? undefined : this.#value(key, e);
  }

  readonly #failNext = new Set<string>();

  /** Makes the next call of `method` fail (one failure, for retry paths). */
  failNext(method: "put" | "watchPrefix" | "getPrefix" | "grantLease" | "createIfAbsent"): void {
    this.#failNext.add(method);
  }

  #check(method = ""): void {
    this.calls++;
    if (this.#down) throw new Error("store unreachable");
    if (this.#failNext.delete(method)) throw new Error(`${method} failed (test)`);
  }

  #value(key: string, e: Entry): StoredValue {
    return { key, value: e.value, createRevision: String(e.create), modRevision: String(e.mod) };
  }

  #emit(key: string, ev: WatchEvent): void {
    for (const w of this.#watches) if (key.startsWith(w.prefix) && !this.#down) w.on.event(ev);
  }

  #set(key: string, value: string, lease: string | undefined): number {
    const rev = ++this.#rev;
    const old = this.#kv.get(key);
    const e = { value, create: old?.create ?? rev, mod: rev, lease };
    this.#kv.set(key, e);
    this.#emit(key, { type: "put", kv: this.#value(key, e) });
    return rev;
  }

  #delete(key: string): void {
    if (!this.#kv.delete(key)) return;
    this.#rev++;
    this.#emit(key, { type: "delete", key });
  }

  grantLease(_ttlMs: number, onLost: (why: string) => void): Promise<StoreLease> {
    this.#check("grantLease");
    const id = String(this.#nextLease++);
    this.#leases.set(id, onLost);
    return Promise.resolve({
      id,
      revoke: () => {
        this.#check();
        this.#leases.delete(id);
        for (const [k, e] of [...this.#kv]) if (e.lease === id) this.#delete(k);
        return Promise.resolve();
      },
    });
  }

  put(key: string, value: string, lease?: StoreLease): Promise<void> {
    this.#check("put");
    if (lease !== undefined && !this.#leases.has(lease.id)) throw new Error("requested lease not found");
    this.#set(key, value, lease?.id);
    return Promise.resolve();
  }

  createIfAbsent(key: string, value: string, lease: StoreLease): Promise<CreateResult> {
    this.#check("createIfAbsent");
    const e = this.#kv.get(key);
    if (e !== undefined) return Promise.resolve({ created: false, current: this.#value(key, e) });
    if (!this.#leases.has(lease.id)) throw new Error("requested lease not found");
    return Promise.resolve({ created: true, createRevision: String(this.#set(key, value, lease.id)) });
  }

  putIfCreatedAt(key: string, value: string, createRevision: string, lease: StoreLease): Promise<boolean> {
    this.#check();
    const e = this.#kv.get(key);
    if (e === undefined || String(e.create) !== createRevision) return Promise.resolve(false);
    if (!this.#leases.has(lease.id)) throw new Error("requested lease not found");
    this.#set(key, value, lease.id);
    return Promise.resolve(true);
  }

  deleteIfCreatedAt(key: string, createRevision: string): Promise<boolean> {
    this.#check();
    const e = this.#kv.get(key);
    if (e === undefined || String(e.create) !== createRevision) return Promise.resolve(false);
    this.#delete(key);
    return Promise.resolve(true);
  }

  getPrefix(prefix: string): Promise<{ kvs: StoredValue[]; revision: string }> {
    this.#check("getPrefix");
    const kvs = [...this.#kv].filter(([k]) => k.startsWith(prefix)).map(([k, e]) => this.#value(k, e));
    return Promise.resolve({ kvs, revision: String(this.#rev) });
  }

  watchPrefix(prefix: string, _afterRevision: string, on: WatchHandlers): Promise<PrefixWatch> {
    this.#check("watchPrefix");
    const w = { prefix, on };
    this.#watches.add(w);
    return Promise.resolve({
      close: () => {
        this.#watches.delete(w);
        return Promise.resolve();
      },
    });
  }

  close(): void {
    this.#watches.clear();
  }
}

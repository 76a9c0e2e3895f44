/**
 * What the cluster needs of a key-value store with leases, transactions and watches: the narrow surface of
 * etcd that `cluster/` uses. `etcd_store.ts` implements it over the npm `etcd3` client; tests may give an
 * in-memory one (`testing/memory_store.ts`) to the cluster's unit tests, never to the interop tests.
 */

/** A key's value and the revisions etcd keeps for it (decimal strings: revisions are 64-bit). */
export interface StoredValue {
  readonly key: string;
  readonly value: string;
  /** The revision of the put that created the key: the fencing token of an ownership. */
  readonly createRevision: string;
  readonly modRevision: string;
}

export type WatchEvent =
  | { readonly type: "put"; readonly kv: StoredValue }
  | { readonly type: "delete"; readonly key: string };

/** A lease kept alive by the store's client until it is lost (expired, revoked elsewhere) or released. */
export interface StoreLease {
  readonly id: string;
  /** Revokes it: every key put under it is deleted at once (a clean shutdown). */
  revoke(): Promise<void>;
}

/** The answer of a create-if-absent transaction. */
export type CreateResult =
  | { readonly created: true; readonly createRevision: string }
  | { readonly created: false; readonly current: StoredValue | null };

export interface PrefixWatch {
  close(): Promise<void>;
}

export interface WatchHandlers {
  event(e: WatchEvent): void;
  /** The watch stream broke (connected false) or was established again (true). */
  state(connected: boolean, why?: string): void;
}

export interface ClusterStore {
  /** Grants a lease of `ttlMs` (rounded up to whole seconds) kept alive until lost; onLost is called once. */
  grantLease(ttlMs: number, onLost: (why: string) => void): Promise<StoreLease>;
  /** Puts a value, under a lease when given. */
  put(key: string, value: string, lease?: StoreLease): Promise<void>;
  /** Creates the key under the lease only if it does not exist; else tells who has it. */
  createIfAbsent(key: string, value: string, lease: StoreLease): Promise<CreateResult>;
  /**
   * Puts the key under `lease` only if its create revision is still `createRevision`: moves a key
   * this node owns to its new lease, keeping the fencing token.
   */
  putIfCreatedAt(key: string, value: string, createRevision: string, lease: StoreLease): Promise<boolean>;
  /** Deletes the key only if its create revision is still `createRevision` (no other owner's key). */
  deleteIfCreatedAt(key: string, createRevision: string): Promise<boolean>;
  /** Every key under the prefix and the store's revision at that read. */
  getPrefix(prefix: string): Promise<{ kvs: StoredValue[]; revision: string }>;
  /** Watches the prefix from the revision after `afterRevision`; reconnects by itself. */
  watchPrefix(prefix: string, afterRevision: string, on: WatchHandlers): Promise<PrefixWatch>;
  /** Closes the client (leases are not revoked: revoke them first for a clean leave). */
  close(): void;
}

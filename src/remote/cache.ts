// The local store in front of a remote: moves objects and result entries between them.
// Every object fetched is hashed before it enters the local store (LocalStore.adoptFile); a
// mismatch names the object and the remote and admits nothing. Transfers run in parallel.
import { rm } from 'node:fs/promises';
import pLimit from 'p-limit';
import { hashFileSync, type Hash } from '../hash.js';
import type { ItemErrorJson, CachedStage } from '../plan.js';
import type { ItemOutput } from '../stage-api.js';
import { CorruptObject, type LocalStore } from '../store.js';
import type { Remote } from './types.js';

/** What `results/<key>.json` holds: a stage's or an item's output (or remembered data failure). */
export interface RemoteResult {
  stage: string;
  /** Item id, or '' for a whole-stage (reduce) result. */
  item: string;
  output?: ItemOutput | CachedStage;
  error?: ItemErrorJson;
}

export interface TransferProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface TransferCounts {
  /** Objects moved ("sent" or "received"). */
  moved: number;
  /** Objects already at the destination. */
  present: number;
  bytes: number;
}

export const TRANSFER_CONCURRENCY = 16;

export class RemoteCache {
  readonly remote: Remote;
  #store: LocalStore | undefined;
  #objects: Promise<Set<Hash>> | undefined;
  #results: Promise<Set<string>> | undefined;

  /** Without a store, the Engine it is given to supplies its own (so the store's hooks run). */
  constructor(remote: Remote, store?: LocalStore) {
    this.remote = remote;
    this.#store = store;
  }

  /** The local store objects go into and come from. */
  get store(): LocalStore {
    if (this.#store === undefined) throw new Error('internal: a remote cache used before it was given a local store');
    return this.#store;
  }

  set store(store: LocalStore) {
    this.#store = store;
  }

  /** The remote's object names, listed once (and kept up to date by this instance's sends). */
  remoteObjects(): Promise<Set<Hash>> {
    this.#objects ??= this.remote.listObjects();
    return this.#objects;
  }

  /** The remote's result keys, listed once per instance. */
  resultKeys(): Promise<Set<string>> {
    this.#results ??= this.remote.listEntries('results');
    return this.#results;
  }

  /** Fetches the objects the local store lacks. */
  async fetch(hashes: Iterable<Hash>, onProgress?: (p: TransferProgress) => void): Promise<TransferCounts> {
    const all = [...new Set(hashes)];
    const need = all.filter((h) => !this.store.exists(h));
    const counts: TransferCounts = { moved: 0, present: all.length - need.length, bytes: 0 };
    const limit = pLimit(TRANSFER_CONCURRENCY);
    await Promise.all(
      need.map((h) =>
        limit(async () => {
          const tmp = this.store.tempPath('.download');
          try {
            await this.remote.getObject(h, tmp);
            counts.bytes += this.store.adoptFile(tmp, h, this.remote.url);
          } finally {
            await rm(tmp, { force: true });
          }
          counts.moved++;
          onProgress?.({ done: counts.moved, total: need.length, bytes: counts.bytes });
        }),
      ),
    );
    return counts;
  }

  /** Sends the objects the remote lacks (one listing decides which). */
  async send(hashes: Iterable<Hash>, onProgress?: (p: TransferProgress) => void): Promise<TransferCounts> {
    const all = [...new Set(hashes)];
    const present = await this.remoteObjects();
    const need = all.filter((h) => !present.has(h));
    const counts: TransferCounts = { moved: 0, present: all.length - need.length, bytes: 0 };
    const limit = pLimit(TRANSFER_CONCURRENCY);
    await Promise.all(
      need.map((h) =>
        limit(async () => {
          const path = this.store.path(h);
          // Never send an object whose bytes are not its name (a changed hard link, a worker's
          // unsynced staging cache after a crash).
          const { hash: actual, size } = hashFileSync(path);
          if (actual !== h) {
            this.store.quarantine(h);
            throw new CorruptObject(h, actual);
          }
          if (await this.remote.putObject(h, path, size)) {
            counts.moved++;
            counts.bytes += size;
          } else counts.present++;
          present.add(h);
          onProgress?.({ done: counts.moved + counts.present - (all.length - need.length), total: need.length, bytes: counts.bytes });
        }),
      ),
    );
    return counts;
  }

  async getResult(key: string): Promise<RemoteResult | undefined> {
    return (await this.remote.getEntry('results', key)) as RemoteResult | undefined;
  }

  /** Writes a result entry once (after its objects: a reader that finds the entry finds its objects). */
  async putResult(key: string, entry: RemoteResult): Promise<boolean> {
    const wrote = await this.remote.putEntry('results', key, entry);
    (await this.#results)?.add(key);
    return wrote;
  }

  /**
   * Fetches a result and every object it names. Undefined when the entry is absent, or when an
   * object it names is missing from the remote (a result whose objects are gone is not trusted).
   */
  async pullResult(key: string): Promise<RemoteResult | undefined> {
    const entry = await this.getResult(key);
    if (entry === undefined) return undefined;
    if (entry.output === undefined) return entry;
    try {
      await this.fetch(Object.values(entry.output.tree));
    } catch (e) {
      if ((e as Error).name === 'RemoteMissing') return undefined;
      throw e;
    }
    return entry;
  }

  close(): void {
    this.remote.close();
  }
}

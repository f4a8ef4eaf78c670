// The result cache in the engine's terms: item and stage results by cache key, each stage's
// last completed state (with its items, read from its manifest), and the quarantine list.
// SQL stays in StateStore; this class parses rows into plan types and memoises.
import type { StageFingerprint } from '../fingerprint.js';
import type { Hash } from '../hash.js';
import type { CachedItem, CachedStage, ItemErrorJson, LastState } from '../plan.js';
import type { Manifest, OutputRef } from '../runs.js';
import type { ItemOutput } from '../stage-api.js';
import type { LocalStore } from '../store.js';
import type { StateStore } from './state.js';

export type LastOutput = LastState & { output: OutputRef };

export class ResultCache {
  readonly state: StateStore;
  readonly #store: LocalStore;
  #quarantined: Set<Hash> | undefined;
  readonly #last = new Map<string, Promise<LastOutput | undefined>>();

  constructor(state: StateStore, store: LocalStore) {
    this.state = state;
    this.#store = store;
  }

  get quarantined(): Set<Hash> {
    this.#quarantined ??= this.state.quarantined();
    return this.#quarantined;
  }

  /** An object was read and found corrupt: it is never used again until rewritten. */
  markCorrupt(hash: Hash): void {
    this.state.markQuarantined(hash, 'changed on disk (found when read)');
    this.quarantined.add(hash);
  }

  /** An object was (re)written: lift its quarantine. */
  written(hash: Hash): void {
    if (this.#quarantined?.delete(hash)) this.state.liftQuarantine(hash);
  }

  lookupItem = (key: Hash): CachedItem | undefined => {
    const row = this.state.result(key);
    if (!row) return undefined;
    if (row.error !== null) return { error: JSON.parse(row.error) as ItemErrorJson };
    return row.output === null ? undefined : { output: JSON.parse(row.output) as ItemOutput };
  };

  lookupStage = (key: Hash): CachedStage | undefined => {
    const row = this.state.result(key);
    return row?.output ? (JSON.parse(row.output) as CachedStage) : undefined;
  };

  has(key: Hash): boolean {
    return this.state.result(key) !== undefined;
  }

  record(key: Hash, stage: string, item: string, output: unknown, error: unknown): void {
    this.state.recordResult(key, stage, item, output, error);
  }

  flush(): void {
    this.state.flushResults(true);
  }

  /** The stage's last completed state, with its items for a collection. */
  last(name: string): Promise<LastOutput | undefined> {
    let p = this.#last.get(name);
    if (p === undefined) {
      p = this.#loadLast(name);
      this.#last.set(name, p);
    }
    return p;
  }

  saveStageState(name: string, fp: StageFingerprint, fpHash: Hash, output: OutputRef): void {
    this.state.saveStageState(name, fp, fpHash, output);
    this.#last.delete(name);
  }

  async #loadLast(name: string): Promise<LastOutput | undefined> {
    const row = this.state.stageState(name);
    if (!row) return undefined;
    const last: LastOutput = { fp: row.fp, fpHash: row.fpHash, output: row.output };
    if (row.output.type === 'collection') {
      const items = new Map<string, { input: Hash; result: CachedItem }>();
      if (!this.quarantined.has(row.output.manifest)) {
        try {
          const m = await this.#store.readJson<Manifest>(row.output.manifest);
          for (const [id, it] of Object.entries(m.items)) {
            items.set(id, { input: it.in, result: { output: it.meta === undefined ? { tree: it.tree } : { tree: it.tree, meta: it.meta } } });
          }
          for (const [id, it] of Object.entries(m.errors ?? {})) items.set(id, { input: it.in, result: { error: it.error } });
        } catch {
          // manifest missing: every item is looked up in the result cache instead
        }
      }
      last.items = items;
    }
    return last;
  }
}

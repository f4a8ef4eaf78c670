// A hand-built StageContext over a tiny real content-addressed store in a temp folder, for
// calling the fixlen and metrics kinds' run() directly, without the engine.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBytes, hashFile, hashJson } from '../../src/hash.js';
import { ItemError } from '../../src/errors.js';
import type {
  Artifact,
  CollectionArtifact,
  Hash,
  ItemOutput,
  ItemSink,
  ReduceContext,
  StoreAccess,
  Tree,
  TreeArtifact,
} from '../../src/stage-api.js';

export class TempStore implements StoreAccess {
  readonly dir: string;
  #n = 0;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'pipeline-test-store-'));
    mkdirSync(join(this.dir, 'objects'));
    mkdirSync(join(this.dir, 'tmp'));
  }
  path(hash: Hash): string {
    return join(this.dir, 'objects', hash);
  }
  read(hash: Hash): Promise<Buffer> {
    return readFile(this.path(hash));
  }
  async readJson<T = unknown>(hash: Hash): Promise<T> {
    return JSON.parse((await this.read(hash)).toString('utf8')) as T;
  }
  async put(data: Uint8Array | string): Promise<Hash> {
    const h = hashBytes(data);
    const tmp = this.tempPath();
    writeFileSync(tmp, data);
    renameSync(tmp, this.path(h));
    return h;
  }
  async putFile(path: string): Promise<Hash> {
    const { hash } = await hashFile(path);
    renameSync(path, this.path(hash));
    return hash;
  }
  tempPath(suffix = ''): string {
    return join(this.dir, 'tmp', `t${process.pid}-${this.#n++}${suffix}`);
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TestCtx extends ReduceContext {
  logs: string[];
  itemErrors: ItemError[];
}

/** A context whose params come from a plain dotted-key object; undeclared keys throw, as the engine's do. */
export function makeCtx(opts: {
  store: TempStore;
  stage: string;
  params: Record<string, unknown>;
  inputs?: Record<string, Artifact>;
  concurrency?: number;
  /** Section names the stage declares (e.g. ['metrics']); keys outside them throw. */
  declares?: string[];
}): TestCtx {
  const declares = opts.declares ?? [opts.stage];
  const declared = (key: string): boolean => declares.some((s) => key === s || key.startsWith(`${s}.`));
  const logs: string[] = [];
  const itemErrors: ItemError[] = [];
  return {
    stage: opts.stage,
    workspace: opts.store.dir,
    params: opts.params,
    param<T>(key: string): T {
      if (!declared(key)) throw new Error(`param ${key} is not declared by stage ${opts.stage}`);
      if (!(key in opts.params)) throw new Error(`param ${key} is not set`);
      return opts.params[key] as T;
    },
    paramOr<T>(key: string, fallback: T): T {
      if (!declared(key)) throw new Error(`param ${key} is not declared by stage ${opts.stage}`);
      return key in opts.params ? (opts.params[key] as T) : fallback;
    },
    store: opts.store,
    async hashFiles(paths) {
      return Promise.all(paths.map((p) => hashFile(p)));
    },
    signal: new AbortController().signal,
    progress() {},
    log(level, message) {
      logs.push(`${level}: ${message}`);
    },
    concurrency: opts.concurrency ?? 2,
    async scratchDir() {
      const d = join(opts.store.dir, 'scratch', opts.stage);
      mkdirSync(d, { recursive: true });
      return d;
    },
    inputs: opts.inputs ?? {},
    itemError(e) {
      itemErrors.push(e);
    },
    logs,
    itemErrors,
  };
}

/** Records what a map kind reports through its sink. */
export class RecordingSink implements ItemSink {
  readonly done_ = new Map<string, ItemOutput>();
  readonly failed = new Map<string, unknown>();
  async done(id: string, output: ItemOutput): Promise<void> {
    this.done_.set(id, output);
  }
  async fail(id: string, error: unknown): Promise<void> {
    this.failed.set(id, error);
  }
}

export function treeArtifact(tree: Tree, meta?: TreeArtifact['meta']): TreeArtifact {
  return { type: 'tree', root: hashJson(tree), tree, ...(meta === undefined ? {} : { meta }) };
}

export function collectionArtifact(items: Map<string, ItemOutput>): CollectionArtifact {
  const sorted = new Map([...items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { type: 'collection', root: hashJson([...sorted.entries()].map(([k, v]) => [k, v.tree])), items: sorted };
}

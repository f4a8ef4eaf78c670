// Calling a stage kind directly, with the engine's own parts: a real content-addressed store
// and file-state cache in a temp folder, and the engine's StageContext factory. For tests of
// one kind; tests of the whole pipeline run the CLI (rig.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/context.js';
import { openDb, type Db } from '../../src/db.js';
import { ItemError } from '../../src/errors.js';
import type { EngineEvent } from '../../src/events.js';
import { FileStateCache } from '../../src/file-state.js';
import { hashJson } from '../../src/hash.js';
import { Params, type Conf } from '../../src/params.js';
import type {
  Artifact,
  CollectionArtifact,
  ItemOutput,
  ItemSink,
  MapContext,
  ReduceContext,
  Tree,
  TreeArtifact,
} from '../../src/stage-api.js';
import { LocalStore } from '../../src/store.js';

export interface TestWorkspace {
  /** The workspace folder (a kind's ctx.workspace). */
  dir: string;
  store: LocalStore;
  files: FileStateCache;
  db: Db;
  cleanup(): void;
}

/** A temp workspace with a real store and state database under cache/. */
export function testWorkspace(prefix = 'pipeline-kind-'): TestWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cacheDir = join(dir, 'cache');
  const db = openDb(cacheDir);
  const store = new LocalStore(cacheDir);
  return {
    dir,
    store,
    files: new FileStateCache(db),
    db,
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ContextOptions {
  stage?: string;
  /** The conf, nested as in conf/default.yaml. */
  params?: Conf;
  /** Declared keys; default: every top-level section of `params`. */
  declared?: string[];
  inputs?: Record<string, Artifact>;
  onError?: 'fail' | 'skip';
  concurrency?: number;
  signal?: AbortSignal;
}

export interface TestContext extends MapContext, ReduceContext {
  /** Everything the kind reported (progress, logs). */
  events: EngineEvent[];
  /** Item errors reported through ctx.itemError under on_error: skip. */
  itemErrors: ItemError[];
}

/** The context the engine would give a stage declaring `declared`, over the workspace's store. */
export function testContext(ws: TestWorkspace, opts: ContextOptions = {}): TestContext {
  const conf = opts.params ?? {};
  const events: EngineEvent[] = [];
  const itemErrors: ItemError[] = [];
  const base = makeContext({
    stage: opts.stage ?? 'stage',
    declared: opts.declared ?? Object.keys(conf),
    params: new Params(conf),
    root: ws.dir,
    confFile: join(ws.dir, 'conf', 'default.yaml'),
    store: ws.store,
    files: ws.files,
    cacheDir: join(ws.dir, 'cache'),
    signal: opts.signal ?? new AbortController().signal,
    concurrency: opts.concurrency ?? 2,
    listener: (e) => events.push(e),
  });
  return {
    ...base,
    inputs: opts.inputs ?? {},
    events,
    itemErrors,
    itemError(e: ItemError) {
      if ((opts.onError ?? 'fail') === 'fail') throw e;
      itemErrors.push(e);
    },
  };
}

/** Log messages a kind reported. */
export function logsOf(ctx: TestContext): string[] {
  return ctx.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
}

/** Records what a map kind reports per item. */
export class RecordingSink implements ItemSink {
  readonly outputs = new Map<string, ItemOutput>();
  readonly failures = new Map<string, unknown>();
  async done(id: string, output: ItemOutput): Promise<void> {
    this.outputs.set(id, output);
  }
  async fail(id: string, error: unknown): Promise<void> {
    this.failures.set(id, error);
  }
}

export function treeArtifact(tree: Tree, meta?: TreeArtifact['meta']): TreeArtifact {
  return { type: 'tree', root: hashJson(tree), tree, ...(meta ? { meta } : {}) };
}

export function collectionArtifact(items: ReadonlyMap<string, ItemOutput>): CollectionArtifact {
  const roots: Record<string, Tree> = {};
  for (const [id, out] of items) roots[id] = out.tree;
  return { type: 'collection', root: hashJson(roots), items };
}

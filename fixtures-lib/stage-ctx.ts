// Calling a stage kind directly, with the engine's own parts: a real content-addressed store
// and file-state cache in a temp folder, and the engine's StageContext factory. For tests of
// one kind; tests of the whole pipeline run the CLI (rig.ts).
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fg from 'fast-glob';
import { makeContext } from '../src/context.js';
import { StateStore } from '../src/engine/state.js';
import { ItemError } from '../src/errors.js';
import type { EngineEvent } from '../src/events.js';
import { FileStateCache } from '../src/file-state.js';
import { hashJson, type Hash } from '../src/hash.js';
import { Params, type Conf } from '../src/params.js';
import { finishTree, sourceInput } from '../src/engine/artifacts.js';
import { checkedSink } from '../src/engine/map.js';
import { itemErrorPolicy } from '../src/engine/reduce.js';
import type {
  Artifact,
  CollectionArtifact,
  ItemOutput,
  ItemSink,
  ItemTask,
  MapContext,
  MapKind,
  ProgressUpdate,
  ReduceContext,
  SourceItem,
  Tree,
  TreeArtifact,
} from '../src/stage-api.js';
import { LocalStore } from '../src/store.js';

export interface TestWorkspace {
  /** The workspace folder (a kind's ctx.workspace). */
  dir: string;
  store: LocalStore;
  files: FileStateCache;
  state: StateStore;
  cleanup(): void;
}

/** A temp workspace (under `parent`, default the OS temp folder) with a real store and state database under cache/. */
export function testWorkspace(prefix = 'pipeline-kind-', parent = tmpdir()): TestWorkspace {
  const dir = mkdtempSync(join(parent, prefix));
  const cacheDir = join(dir, 'cache');
  const state = new StateStore(cacheDir);
  const store = new LocalStore(cacheDir);
  return {
    dir,
    store,
    files: new FileStateCache(state),
    state,
    cleanup() {
      state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The temp folders and workspaces of one test file, removed together: call cleanup() from after(). */
export class TempFolders {
  readonly #dirs: string[] = [];
  readonly #workspaces: TestWorkspace[] = [];
  dir(prefix = 'pipeline-test-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(d);
    return d;
  }
  workspace(prefix?: string): TestWorkspace {
    const ws = testWorkspace(prefix);
    this.#workspaces.push(ws);
    return ws;
  }
  cleanup(): void {
    for (const ws of this.#workspaces.splice(0)) ws.cleanup();
    for (const d of this.#dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * Sets the mtime of every file under `root` a minute back, as for a dataset written long ago:
 * the file-state cache does not keep the hash of a file modified in the last 2 s (it could
 * still change within the same mtime tick), so a test or bench of "an unchanged folder is not
 * re-read" needs files older than that.
 */
export function ageFiles(root: string, seconds = 60): void {
  const t = new Date(Date.now() - seconds * 1000);
  for (const file of fg.sync('**', { cwd: root, absolute: true, onlyFiles: true, dot: true })) utimesSync(file, t, t);
}

export interface ContextOptions {
  stage?: string;
  /** The conf, nested as in conf/default.yaml. */
  params?: Conf;
  /** Declared keys; default: every top-level section of `params`. */
  declared?: string[];
  inputs?: Record<string, Artifact>;
  /** The kind's ports (ctx.ports), bound as pipeline.yaml would bind them (e.g. {features, labels}). */
  ports?: Record<string, Artifact>;
  onError?: 'fail' | 'skip';
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * The stage fingerprint's hash, as the engine passes it: it keys ctx.scratchDir(). Give each
   * parameter set its own, as the engine would; without one every context shares one folder.
   */
  fpHash?: Hash;
  /** Called with each event the kind reports, after it is recorded (e.g. to abort after N epochs). */
  onEvent?: (e: EngineEvent) => void;
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
    listener: (e) => {
      events.push(e);
      opts.onEvent?.(e);
    },
    ...(opts.fpHash === undefined ? {} : { fpHash: opts.fpHash }),
  });
  return {
    ...base,
    inputs: opts.inputs ?? {},
    ports: opts.ports ?? {},
    events,
    itemErrors,
    itemError: itemErrorPolicy(opts.onError ?? 'fail', (e) => itemErrors.push(e)),
  };
}

/**
 * Options for testContext that abort the kind as soon as it reports progress whose message
 * matches, as Ctrl-C would mid-run: a test of interruption and resume.
 */
export function abortOnProgress(match: (message: string) => boolean): Pick<ContextOptions, 'signal' | 'onEvent'> {
  const abort = new AbortController();
  return {
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && match(e.update.message ?? '')) abort.abort();
    },
  };
}

/** Log messages a kind reported. */
export function logsOf(ctx: TestContext): string[] {
  return ctx.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
}

/** Progress updates a kind reported. */
export function progressOf(ctx: TestContext): ProgressUpdate[] {
  return ctx.events.flatMap((e) => (e.type === 'progress' ? [e.update] : []));
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

/** The tasks the engine builds for a source kind's items on a cold cache. */
export function tasksOf(items: readonly SourceItem[]): ItemTask[] {
  return items.map((it) => ({ id: it.id, input: sourceInput(it.source), source: it.source }));
}

/** Lists a source map kind's items and runs them all, as the engine would on a cold cache. */
export async function runSourceKind(kind: MapKind, ctx: MapContext): Promise<{ items: SourceItem[]; sink: RecordingSink }> {
  if (kind.listItems === undefined) throw new Error(`kind ${kind.name} is not a source kind (it has no listItems)`);
  const items = await kind.listItems(ctx);
  const sink = new RecordingSink();
  // The engine's own guard: each item reported once, its files in the store.
  await kind.run(ctx, tasksOf(items), checkedSink(kind.name, ctx.store as LocalStore, items.map((i) => i.id), sink));
  return { items, sink };
}

/** A reduce stage's artifact over these files, with the engine's root. */
export function treeArtifact(tree: Tree, meta?: TreeArtifact['meta']): TreeArtifact {
  return finishTree({ tree, ...(meta ? { meta } : {}) }).artifact as TreeArtifact;
}

/** A map stage's artifact over these items, in id order (as the engine hands it on), with the engine's root. */
export { collectionArtifact } from '../src/engine/artifacts.js';

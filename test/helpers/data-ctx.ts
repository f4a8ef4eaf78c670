// A hand-built StageContext for calling the frames and labels kinds directly, without the
// engine: a tiny real content-addressed store in a temp folder, params from a nested conf
// object (undeclared keys throw, as the engine's do), and hashFiles with an in-memory
// (dev, ino, size, mtime) -> hash cache standing in for the engine's SQLite file-state cache.
import { statSync } from 'node:fs';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ItemError } from '../../src/errors.js';
import { hashBytes, hashFile, hashFileSync, hashJson } from '../../src/hash.js';
import type {
  Artifact,
  CollectionArtifact,
  Hash,
  ItemOutput,
  ItemSink,
  ItemTask,
  MapContext,
  MapKind,
  ReduceContext,
  SourceItem,
  StoreAccess,
} from '../../src/stage-api.js';

export function tempDir(prefix = 'pipeline-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class DataStore implements StoreAccess {
  readonly dir: string;
  #n = 0;
  puts = 0;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, 'objects'), { recursive: true });
    mkdirSync(join(dir, 'tmp'), { recursive: true });
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
    this.puts++;
    const h = hashBytes(data);
    const tmp = this.tempPath();
    writeFileSync(tmp, data);
    renameSync(tmp, this.path(h));
    return h;
  }
  async putFile(path: string): Promise<Hash> {
    this.puts++;
    const { hash } = await hashFile(path);
    renameSync(path, this.path(hash));
    return hash;
  }
  tempPath(suffix = ''): string {
    return join(this.dir, 'tmp', `t${process.pid}-${this.#n++}${suffix}`);
  }
}

/** (dev, ino, size, mtime) -> hash, like the engine's file-state cache, with counters. */
export class FileStateMemo {
  readonly #rows = new Map<string, { key: string; hash: Hash }>();
  hashed = 0;
  reused = 0;
  /** Time spent inside hashFiles, seconds. */
  seconds = 0;
  async hashFiles(paths: readonly string[]): Promise<Array<{ hash: Hash; size: number }>> {
    const t0 = process.hrtime.bigint();
    const out: Array<{ hash: Hash; size: number }> = [];
    for (const p of paths) {
      const st = statSync(p);
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      const row = this.#rows.get(p);
      if (row !== undefined && row.key === key) {
        this.reused++;
        out.push({ hash: row.hash, size: st.size });
        continue;
      }
      const h = hashFileSync(p);
      this.hashed++;
      this.#rows.set(p, { key, hash: h.hash });
      out.push(h);
    }
    this.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    return out;
  }
}

export interface DataCtx extends MapContext, ReduceContext {
  logs: string[];
  itemErrors: ItemError[];
}

function lookup(conf: Record<string, unknown>, key: string): { found: boolean; value: unknown } {
  let cur: unknown = conf;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in (cur as Record<string, unknown>))) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

export function makeDataCtx(opts: {
  workspace: string;
  store: DataStore;
  stage: string;
  /** Nested conf, as in conf/default.yaml. */
  conf: Record<string, unknown>;
  /** Declared param sections or keys (pipeline.yaml `params:`). */
  declares: string[];
  inputs?: Record<string, Artifact>;
  memo?: FileStateMemo;
  concurrency?: number;
  onError?: 'fail' | 'skip';
  signal?: AbortSignal;
}): DataCtx {
  const declared = (key: string): boolean => opts.declares.some((s) => key === s || key.startsWith(`${s}.`));
  const memo = opts.memo ?? new FileStateMemo();
  const logs: string[] = [];
  const itemErrors: ItemError[] = [];
  const params = Object.fromEntries(Object.entries(flatten(opts.conf)).filter(([k]) => declared(k)));
  return {
    stage: opts.stage,
    workspace: opts.workspace,
    params,
    param<T>(key: string): T {
      if (!declared(key)) throw new Error(`param ${key} is not declared by stage ${opts.stage}`);
      const r = lookup(opts.conf, key);
      if (!r.found) throw new Error(`param ${key} is not set`);
      return r.value as T;
    },
    paramOr<T>(key: string, fallback: T): T {
      if (!declared(key)) throw new Error(`param ${key} is not declared by stage ${opts.stage}`);
      const r = lookup(opts.conf, key);
      return r.found ? (r.value as T) : fallback;
    },
    store: opts.store,
    hashFiles: (paths) => memo.hashFiles(paths),
    signal: opts.signal ?? new AbortController().signal,
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
      if ((opts.onError ?? 'fail') === 'fail') throw e;
      itemErrors.push(e);
    },
    logs,
    itemErrors,
  };
}

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

export function tasksOf(items: readonly SourceItem[]): ItemTask[] {
  return items.map((it) => ({ id: it.id, input: hashJson(it.source), source: it.source }));
}

/** Lists a source map kind's items and runs them all, as the engine would on a cold cache. */
export async function runMapKind(kind: MapKind, ctx: DataCtx): Promise<{ items: SourceItem[]; sink: RecordingSink }> {
  const items = await kind.listItems!(ctx);
  const sink = new RecordingSink();
  await kind.run(ctx, tasksOf(items), sink);
  return { items, sink };
}

export function collectionOf(items: ReadonlyMap<string, ItemOutput>): CollectionArtifact {
  const sorted = new Map([...items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { type: 'collection', root: hashJson([...sorted.entries()].map(([k, v]) => [k, v.tree])), items: sorted };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

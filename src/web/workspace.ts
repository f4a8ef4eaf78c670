// What `pipeline ui` reads from a workspace, read-only: the run index and stage states in
// cache/state.db, run records and artifacts in cache/objects, and the stage graph's status.
//
// - cache/state.db is opened with its own connection under `PRAGMA query_only`, so SQLite itself
//   refuses any write; a workspace without cache/state.db is shown as "no runs yet" and nothing
//   is created (no cache/ folder, no database).
// - Run records and objects are content-addressed and never change, so they are kept in memory
//   once read.
// - `status()` evaluates the DAG with the engine, as `pipeline status` does, on a connection that
//   is also query_only; the two things the evaluation would otherwise write (the file-state
//   cache's rows and the manifests of fresh collections, both caches the next run rebuilds) are
//   skipped, so the UI never writes the cache and never takes the run lock.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from '../engine/state.js';
import { isHash, type Hash } from '../hash.js';
import { Params, type Conf } from '../params.js';
import type { RunLookup } from '../run-lookup.js';
import { RunIndex, type Manifest, type RunRecord, type RunRow } from '../runs.js';
import type { ConfigError } from '../diagnostics.js';
import type { Result } from '../errors.js';
import { readProject, type Project } from '../spec.js';
import type { StatusStage } from '../engine/index.js';

export interface WorkspaceOptions {
  root: string;
  conf?: string[];
  param?: string[];
}

export class WorkspaceReader {
  readonly root: string;
  readonly cacheDir: string;
  readonly opts: WorkspaceOptions;
  #state: StateStore | undefined;
  #index: RunIndex | undefined;
  readonly #json = new Map<Hash, unknown>();

  constructor(opts: WorkspaceOptions) {
    this.opts = opts;
    this.root = opts.root;
    this.cacheDir = join(opts.root, 'cache');
  }

  /** The state database, read only, once it exists (a run creates it); undefined before the first run. */
  state(): StateStore | undefined {
    if (this.#state) return this.#state;
    if (!existsSync(join(this.cacheDir, 'state.db'))) return undefined;
    this.#state = new StateStore(this.cacheDir, { readOnly: true });
    this.#index = new RunIndex(this.#state);
    return this.#state;
  }

  close(): void {
    this.#state?.close();
    this.#state = undefined;
    this.#index = undefined;
  }

  index(): RunIndex | undefined {
    this.state();
    return this.#index;
  }

  /** Every run, oldest first. */
  runs(): RunRow[] {
    return this.index()?.list(Number.MAX_SAFE_INTEGER) ?? [];
  }

  /** The newest run's sequence number (0 without runs): changes whenever a run is recorded. */
  lastSeq(): number {
    return this.state()?.lastRunSeq() ?? 0;
  }

  /** A run by id, prefix or "latest" (RunIndex.find; a workspace that never ran has no runs). */
  find(run: string): RunLookup<RunRow> {
    const idx = this.index();
    return idx ? idx.find(run) : { ok: false, error: { kind: 'no-runs' } };
  }

  objectPath(hash: Hash): string {
    if (!isHash(hash)) throw new Error(`not an object hash: ${hash}`);
    return join(this.cacheDir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  objectSize(hash: Hash): number | undefined {
    try {
      return statSync(this.objectPath(hash)).size;
    } catch {
      return undefined;
    }
  }

  async readObject(hash: Hash): Promise<Buffer> {
    try {
      return await readFile(this.objectPath(hash));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`cache object ${hash} is missing from cache/objects (run 'pipeline verify', then 'pipeline run' to recompute it)`);
      }
      throw e;
    }
  }

  /** A JSON object from the store, parsed once and kept (objects never change). */
  async readJson<T>(hash: Hash): Promise<T> {
    const known = this.#json.get(hash);
    if (known !== undefined) return known as T;
    const v = JSON.parse((await this.readObject(hash)).toString('utf8')) as T;
    this.#json.set(hash, v);
    return v;
  }

  /** A run record, or undefined when `pipeline gc` removed it. */
  async record(id: string): Promise<RunRecord | undefined> {
    try {
      return await this.readJson<RunRecord>(id);
    } catch {
      return undefined;
    }
  }

  async manifest(hash: Hash): Promise<Manifest | undefined> {
    try {
      return await this.readJson<Manifest>(hash);
    } catch {
      return undefined;
    }
  }

  /** The .npy header of an object (dtype and shape) without reading its data. */
  npyHeader(hash: Hash): { dtype: string; shape: number[] } | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(this.objectPath(hash), 'r');
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, 0);
      return parseNpyHeader(buf.subarray(0, n));
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** The project as `pipeline status` loads it (today's pipeline.yaml and conf), or what is wrong with them. */
  project(): Result<Project, ConfigError> {
    return readProject({ root: this.root, confLayers: this.opts.conf ?? [], overrides: this.opts.param ?? [], readOnly: true });
  }

  /**
   * The stage graph's status, as `pipeline status --json` gives it. Without a state database
   * every stage is "never run" (and nothing is created).
   */
  async status(project: Project): Promise<StatusStage[]> {
    const { Engine } = await import('../engine/index.js');
    const engine = new Engine(project, { readOnly: true });
    try {
      return (await engine.status()).stages;
    } finally {
      engine.close();
    }
  }
}

export function parseNpyHeader(buf: Buffer): { dtype: string; shape: number[] } | undefined {
  // \x93NUMPY, major, minor, header length (2 bytes in format 1, 4 in 2 and 3), then a Python dict.
  if (buf.length < 10 || buf[0] !== 0x93 || buf.subarray(1, 6).toString('latin1') !== 'NUMPY') return undefined;
  const major = buf[6]!;
  const start = major === 1 ? 10 : 12;
  const len = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const header = buf.subarray(start, start + len).toString('latin1');
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (dtype === undefined || shape === undefined) return undefined;
  return {
    dtype,
    shape: shape
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number),
  };
}

/** A record's params as dotted keys. */
export function flatParams(params: Conf): Record<string, unknown> {
  const p = new Params(params);
  return Object.fromEntries(p.allKeys().map((k) => [k, p.get(k)]));
}

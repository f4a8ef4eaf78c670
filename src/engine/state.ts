// The workspace's state database (cache/state.db) behind one class: every SQL statement of the
// project is here, so the tables' shapes are known in one place and the rest of the code asks
// questions (a result by key, a stage's last state, the runs) instead of writing SQL.
//
// Tables (schema in src/db.ts): results (item and stage results by cache key), stage_state (the
// last completed state of each stage), runs (the run index), quarantine (objects found
// corrupt), dir_state (the file-state cache).
//
// A read-only state store (`status`, the web UI) sets `PRAGMA query_only`, so SQLite itself
// refuses a write, and keeps what it learns (file hashes) in memory only; a workspace without a
// state database gets an empty one in memory instead of a new file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, openMemoryDb, type Db, type Statement } from '../db.js';
import type { Hash } from '../hash.js';
import type { StageFingerprint } from '../fingerprint.js';
import type { OutputRef } from '../runs.js';

export interface ResultRow {
  output: string | null;
  error: string | null;
}

export interface StageStateRow {
  name: string;
  fp: StageFingerprint;
  fpHash: Hash;
  output: OutputRef;
}

export interface RunRowRaw {
  seq: number;
  id: string;
  time: number;
  ok: number;
  seconds: number;
  summary: string;
}

export class StateStore {
  readonly readOnly: boolean;
  readonly #db: Db;
  readonly #getResult: Statement;
  readonly #putResult: Statement;
  readonly #getDir: Statement;
  readonly #getDirs: Statement;
  readonly #putDir: Statement;
  #pending: unknown[][] = [];
  #lastFlush = Date.now();

  constructor(cacheDir: string, opts: { readOnly?: boolean } = {}) {
    this.readOnly = opts.readOnly === true;
    if (this.readOnly && !existsSync(join(cacheDir, 'state.db'))) this.#db = openMemoryDb();
    else this.#db = openDb(cacheDir);
    if (this.readOnly) this.#db.pragma('query_only = ON');
    this.#getResult = this.#db.prepare('SELECT output, error FROM results WHERE key = ?');
    this.#putResult = this.#db.prepare('INSERT OR REPLACE INTO results(key, stage, item, output, error, time) VALUES (?, ?, ?, ?, ?, ?)');
    this.#getDir = this.#db.prepare('SELECT entries FROM dir_state WHERE dir = ?').pluck();
    this.#getDirs = this.#db.prepare('SELECT dir, entries FROM dir_state WHERE dir IN (SELECT value FROM json_each(?))');
    this.#putDir = this.#db.prepare('INSERT OR REPLACE INTO dir_state(dir, entries) VALUES (?, ?)');
  }

  close(): void {
    this.flushResults(true);
    this.#db.close();
  }

  /** `fn` in one transaction: all of it commits, or none. */
  transaction<R>(fn: () => R): R {
    return this.#db.transaction(fn)();
  }

  // ------------------------------------------------------------------ results

  result(key: Hash): ResultRow | undefined {
    return this.#getResult.get(key) as ResultRow | undefined;
  }

  /** Queues a result; committed in small batches (at most ~200 ms of work is lost to a kill). */
  recordResult(key: Hash, stage: string, item: string, output: unknown, error: unknown): void {
    this.#pending.push([key, stage, item, output === undefined ? null : JSON.stringify(output), error === undefined ? null : JSON.stringify(error), Date.now()]);
    this.flushResults(false);
  }

  flushResults(force = true): void {
    if (this.#pending.length === 0) return;
    if (!force && this.#pending.length < 256 && Date.now() - this.#lastFlush < 200) return;
    const rows = this.#pending;
    this.#pending = [];
    this.#lastFlush = Date.now();
    if (this.readOnly) return;
    this.#db.transaction(() => {
      for (const r of rows) this.#putResult.run(...r);
    })();
  }

  /** Every result with an output (for gc). */
  *resultOutputs(): IterableIterator<{ key: string; output: string }> {
    yield* this.#db.prepare('SELECT key, output FROM results WHERE output IS NOT NULL').iterate() as IterableIterator<{ key: string; output: string }>;
  }

  deleteResults(keys: readonly string[]): void {
    const drop = this.#db.prepare('DELETE FROM results WHERE key = ?');
    this.#db.transaction(() => {
      for (const k of keys) drop.run(k);
    })();
  }

  // ------------------------------------------------------------------ stage state

  stageState(name: string): StageStateRow | undefined {
    const row = this.#db.prepare('SELECT fp, fp_hash, output FROM stage_state WHERE name = ?').get(name) as { fp: string; fp_hash: string; output: string } | undefined;
    return row && { name, fp: JSON.parse(row.fp) as StageFingerprint, fpHash: row.fp_hash, output: JSON.parse(row.output) as OutputRef };
  }

  stageStates(): Array<{ name: string; fpHash: Hash; output: OutputRef }> {
    const rows = this.#db.prepare('SELECT name, fp_hash, output FROM stage_state').all() as Array<{ name: string; fp_hash: string; output: string }>;
    return rows.map((r) => ({ name: r.name, fpHash: r.fp_hash, output: JSON.parse(r.output) as OutputRef }));
  }

  saveStageState(name: string, fp: StageFingerprint, fpHash: Hash, output: OutputRef): void {
    this.flushResults(true);
    this.#db
      .prepare('INSERT OR REPLACE INTO stage_state(name, fp, fp_hash, output, time) VALUES (?, ?, ?, ?, ?)')
      .run(name, JSON.stringify(fp), fpHash, JSON.stringify(output), Date.now());
  }

  // ------------------------------------------------------------------ quarantine

  quarantined(): Set<Hash> {
    return new Set(this.#db.prepare('SELECT hash FROM quarantine').pluck().all() as string[]);
  }

  markQuarantined(hash: Hash, reason: string): void {
    if (this.readOnly) return;
    this.#db.prepare('INSERT OR REPLACE INTO quarantine(hash, time, reason) VALUES (?, ?, ?)').run(hash, Date.now(), reason);
  }

  liftQuarantine(hash: Hash): void {
    this.#db.prepare('DELETE FROM quarantine WHERE hash = ?').run(hash);
  }

  // ------------------------------------------------------------------ file-state cache

  /** A folder's file states as stored (a blob; JSON text from earlier versions), or undefined. */
  dirEntries(dir: string): Uint8Array | string | undefined {
    return this.#getDir.get(dir) as Uint8Array | string | undefined;
  }

  *dirEntriesMany(dirs: readonly string[]): IterableIterator<{ dir: string; entries: Uint8Array | string }> {
    yield* this.#getDirs.iterate(JSON.stringify(dirs)) as IterableIterator<{ dir: string; entries: Uint8Array | string }>;
  }

  /** Writes folders' file states in one transaction; a read-only store keeps them in memory only. */
  putDirEntries(rows: ReadonlyArray<readonly [string, Uint8Array]>): void {
    if (this.readOnly || rows.length === 0) return;
    this.#db.transaction(() => {
      for (const [d, e] of rows) this.#putDir.run(d, e);
    })();
  }

  // ------------------------------------------------------------------ runs

  addRun(id: string, time: number, ok: boolean, seconds: number, summary: string): number {
    const info = this.#db.prepare('INSERT INTO runs(id, time, ok, seconds, summary) VALUES (?, ?, ?, ?, ?)').run(id, time, ok ? 1 : 0, seconds, summary);
    return Number(info.lastInsertRowid);
  }

  hasRun(id: string): boolean {
    return this.#db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
  }

  latestRun(): RunRowRaw | undefined {
    return this.#db.prepare('SELECT * FROM runs ORDER BY seq DESC LIMIT 1').get() as RunRowRaw | undefined;
  }

  /** The newest `limit` runs, newest first. */
  recentRuns(limit: number): RunRowRaw[] {
    return this.#db.prepare('SELECT * FROM runs ORDER BY seq DESC LIMIT ?').all(limit) as RunRowRaw[];
  }

  runsByPrefix(prefix: string): RunRowRaw[] {
    return this.#db.prepare("SELECT * FROM runs WHERE id LIKE ? || '%' ORDER BY seq DESC").all(prefix) as RunRowRaw[];
  }

  /** Removes every index row of these runs; returns how many rows went. */
  deleteRuns(ids: readonly string[]): number {
    const drop = this.#db.prepare('DELETE FROM runs WHERE id = ?');
    let n = 0;
    this.#db.transaction(() => {
      for (const id of ids) n += drop.run(id).changes;
    })();
    return n;
  }


  /** The index's last sequence number (0 when empty): changes whenever a run is added. */
  lastRunSeq(): number {
    return (this.#db.prepare('SELECT COALESCE(MAX(seq), 0) FROM runs').pluck().get() as number) ?? 0;
  }
}

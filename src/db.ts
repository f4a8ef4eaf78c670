// The workspace's state database (cache/state.db, SQLite, WAL mode): the file-state cache, the
// result cache (item and stage results by fingerprint), the latest state of each stage, the run
// index and the quarantine list. Objects themselves live in the store (cache/objects); this
// database only indexes them. SQLite gives atomic, crash-safe updates without rewriting whole
// JSON files.
//
// The binding is `libsql` (SQLite's engine in a native module that ships prebuilt inside an npm
// package per platform, so `npm ci` compiles and downloads nothing else). Callers see only the
// small interface below (`Db`, `Statement`), the part of better-sqlite3's API this project
// uses, with better-sqlite3's semantics: `pluck()` rows, plain row objects, and nested
// `transaction()`s as savepoints. The binding stays behind it.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Libsql from 'libsql';
import { UserError } from './errors.js';

type NativeDb = Libsql.Database;
type NativeStatement = Libsql.Statement<unknown[]>;

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  /** The first row (an object, or its first column after `pluck()`), or undefined. */
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows become their first column's value. */
  pluck(): Statement;
}

export interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  /** `fn` wrapped in a transaction (a savepoint when one is open): all of it commits, or none. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** `PRAGMA source`; with `simple`, the first column of the first row. */
  pragma(source: string, opts?: { simple?: boolean }): unknown;
  readonly inTransaction: boolean;
  close(): void;
}

/**
 * Opens an SQLite database file with better-sqlite3's semantics over the libsql binding; with
 * `fileMustExist`, a missing file is an error (SQLITE_CANTOPEN) instead of a new database.
 */
export function openSqlite(file: string, opts: { timeoutMs: number; fileMustExist?: boolean }): Db {
  if (opts.fileMustExist === true && !existsSync(file)) {
    throw Object.assign(new Error(`unable to open database file ${file}: no such file`), { code: 'SQLITE_CANTOPEN' });
  }
  const require = createRequire(import.meta.url);
  const Database = require('libsql') as new (path: string, opts: { timeout: number }) => NativeDb;
  return new SqliteDb(new Database(file, { timeout: opts.timeoutMs }));
}

class SqliteStatement implements Statement {
  readonly #s: NativeStatement;
  #pluck = false;
  #names: string[] | undefined;

  constructor(s: NativeStatement) {
    // Raw rows (arrays): the binding's object rows from get() carry an extra timing field.
    this.#s = s.reader ? s.raw(true) : s;
  }

  #row(r: unknown): unknown {
    if (r === undefined || r === null) return undefined;
    const values = r as unknown[];
    if (this.#pluck) return values[0];
    this.#names ??= this.#s.columns().map((c) => c.name);
    const o: Record<string, unknown> = {};
    for (let i = 0; i < this.#names.length; i++) o[this.#names[i]!] = values[i];
    return o;
  }

  pluck(): Statement {
    this.#pluck = true;
    return this;
  }

  run(...params: unknown[]): RunResult {
    const r = this.#s.run(params);
    return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
  }

  get(...params: unknown[]): unknown {
    return this.#row(this.#s.get(params));
  }

  all(...params: unknown[]): unknown[] {
    const out: unknown[] = [];
    for (const r of this.#s.iterate(params)) out.push(this.#row(r));
    return out;
  }

  *iterate(...params: unknown[]): IterableIterator<unknown> {
    for (const r of this.#s.iterate(params)) yield this.#row(r);
  }
}

class SqliteDb implements Db {
  readonly #db: NativeDb;
  #savepoints = 0;

  constructor(db: NativeDb) {
    this.#db = db;
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  prepare(sql: string): Statement {
    return new SqliteStatement(this.#db.prepare(sql) as NativeStatement);
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  pragma(source: string, opts: { simple?: boolean } = {}): unknown {
    const s = this.prepare(`PRAGMA ${source}`);
    return opts.simple === true ? s.pluck().get() : s.all();
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args: A): R => {
      if (!this.#db.inTransaction) {
        this.#db.exec('BEGIN');
        try {
          const r = fn(...args);
          this.#db.exec('COMMIT');
          return r;
        } catch (e) {
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
          throw e;
        }
      }
      // Nested: a savepoint inside the open transaction, as better-sqlite3 does.
      const name = `sp${++this.#savepoints}`;
      this.#db.exec(`SAVEPOINT ${name}`);
      try {
        const r = fn(...args);
        this.#db.exec(`RELEASE ${name}`);
        return r;
      } catch (e) {
        this.#db.exec(`ROLLBACK TO ${name}`);
        this.#db.exec(`RELEASE ${name}`);
        throw e;
      } finally {
        this.#savepoints--;
      }
    };
  }

  close(): void {
    this.#db.close();
  }
}

const SCHEMA_VERSION = 2;

const SCHEMA = `
-- The file-state cache: one row per folder, entries = the blob src/file-state.ts writes (earlier
-- versions wrote JSON text; a TEXT column of theirs keeps a blob as a blob, and src/file-state.ts
-- reads both).
CREATE TABLE IF NOT EXISTS dir_state (dir TEXT PRIMARY KEY, entries BLOB NOT NULL) WITHOUT ROWID;
-- key: item key (stage fingerprint + item id + item input) or stage key (reduce fingerprint).
-- output: JSON {tree, meta?} ; error: JSON ItemError for a cached data failure.
CREATE TABLE IF NOT EXISTS results (
  key TEXT PRIMARY KEY, stage TEXT NOT NULL, item TEXT NOT NULL, output TEXT, error TEXT,
  time INTEGER NOT NULL
) WITHOUT ROWID;
-- The last completed state of each stage: its fingerprint and output, for status and reuse.
CREATE TABLE IF NOT EXISTS stage_state (
  name TEXT PRIMARY KEY, fp TEXT NOT NULL, fp_hash TEXT NOT NULL, output TEXT NOT NULL, time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, time INTEGER NOT NULL, ok INTEGER NOT NULL,
  seconds REAL NOT NULL, summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_id ON runs(id);
CREATE TABLE IF NOT EXISTS quarantine (hash TEXT PRIMARY KEY, time INTEGER NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
`;

export function openDb(cacheDir: string): Db {
  mkdirSync(cacheDir, { recursive: true });
  const db = openSqlite(join(cacheDir, 'state.db'), { timeoutMs: 30_000 });
  db.pragma('journal_mode = WAL');
  // NORMAL keeps WAL commits atomic and durable against a killed process (not a power cut).
  db.pragma('synchronous = NORMAL');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  } else if (version !== SCHEMA_VERSION) {
    db.close();
    throw new UserError(
      `cache/state.db was written by another version of pipeline (schema ${version}, this one reads ${SCHEMA_VERSION})`,
      'delete the cache/ folder: everything in it is recomputed on the next run',
    );
  }
  return db;
}

/** An empty state database in memory (a read-only view of a workspace that has none yet). */
export function openMemoryDb(): Db {
  const db = openSqlite(':memory:', { timeoutMs: 0 });
  db.exec(SCHEMA);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  return db;
}

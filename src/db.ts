// The workspace's state database (cache/state.db, SQLite through better-sqlite3, WAL mode):
// the file-state cache, the result cache (item and stage results by fingerprint), the latest
// state of each stage, the run index and the quarantine list. Objects themselves live in the
// store (cache/objects); this database only indexes them. SQLite gives atomic, crash-safe
// updates without rewriting whole JSON files.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { UserError } from './errors.js';

export type Db = BetterSqlite3.Database;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Statement = BetterSqlite3.Statement<any[]>;

const SCHEMA_VERSION = 2;

const SCHEMA = `
-- The file-state cache: one row per folder, entries = JSON {name: "dev:ino:size:mtime:hash"}.
CREATE TABLE IF NOT EXISTS dir_state (dir TEXT PRIMARY KEY, entries TEXT NOT NULL) WITHOUT ROWID;
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
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(cacheDir, 'state.db'), { timeout: 30_000 });
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

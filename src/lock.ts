// One `pipeline run` per workspace at a time.
//
// The lock is an SQLite EXCLUSIVE transaction held open on cache/run.lock (rollback-journal
// mode, nothing ever written). SQLite takes it as a POSIX advisory lock on the file, which the
// kernel releases when the process dies, so a lock left by a killed process (kill -9 included)
// frees itself at once: no stale-lock detection, no timeouts, no user action. The holder's pid
// is written beside it only to say who holds it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite, type Db } from './db.js';

export interface Lock {
  release(): void;
}

export class LockBusy extends Error {
  readonly holder: string;
  constructor(holder: string) {
    super(`another pipeline run holds this workspace (${holder})`);
    this.holder = holder;
  }
}

function tryAcquire(db: Db): boolean {
  try {
    db.exec('BEGIN EXCLUSIVE');
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw e;
  }
}

/**
 * Takes the workspace lock. When another run holds it: with `wait`, calls `onWait` once and
 * polls until it is free (or `signal` aborts); without, throws LockBusy.
 */
export async function acquireLock(
  cacheDir: string,
  opts: { wait: boolean; onWait?: (holder: string) => void; signal?: AbortSignal; pollMs?: number },
): Promise<Lock> {
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, 'run.lock');
  const pidFile = join(cacheDir, 'run.lock.pid');
  // A new database file is in rollback-journal mode, where BEGIN EXCLUSIVE locks the file at once.
  const db = openSqlite(file, { timeoutMs: 0 });
  let told = false;
  while (!tryAcquire(db)) {
    let holder = 'unknown process';
    try {
      holder = readFileSync(pidFile, 'utf8').trim() || holder;
    } catch {
      // written right after the lock is taken; a moment's race is harmless
    }
    if (!opts.wait) {
      db.close();
      throw new LockBusy(holder);
    }
    if (!told) {
      opts.onWait?.(holder);
      told = true;
    }
    if (opts.signal?.aborted) {
      db.close();
      throw new LockBusy(holder);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
  writeFileSync(pidFile, `pid ${process.pid}, started ${new Date().toISOString()}`);
  return {
    release() {
      try {
        rmSync(pidFile, { force: true });
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

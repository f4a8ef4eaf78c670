// The file-state cache: (device, inode, size, mtime) -> content hash, kept in SQLite, so a file
// that has not changed since it was last hashed is never read again. A no-op `status` costs a
// stat per file plus one indexed range query per folder.
import { statSync, type Stats } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { Db, Statement } from './db.js';
import { hashFileSync, type Hash } from './hash.js';

/**
 * A file modified within this window of being hashed could change again within the same
 * timestamp tick without its mtime moving (git's "racy" problem); such a hash is used but not
 * cached, so it is checked again next time.
 */
const RACY_MS = 2000;

type Row = [dev: number, ino: number, size: number, mtime: number, hash: string];

export interface FileHash {
  hash: Hash;
  size: number;
}

export class FileStateCache {
  readonly #db: Db;
  readonly #range: Statement;
  readonly #upsert: Statement;
  /** Folder -> rows of the files below it, loaded once per command. */
  readonly #byDir = new Map<string, Map<string, Row>>();
  #pending: Array<[string, number, number, number, number, string]> = [];
  hashed = 0;
  reused = 0;

  constructor(db: Db) {
    this.#db = db;
    // Paths below `dir/` sort between `dir/` and `dir0` ('0' follows '/').
    this.#range = db.prepare('SELECT path, dev, ino, size, mtime, hash FROM file_state WHERE path > ? AND path < ?').raw();
    this.#upsert = db.prepare(
      'INSERT INTO file_state(path, dev, ino, size, mtime, hash) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT(path) DO UPDATE SET dev=excluded.dev, ino=excluded.ino, size=excluded.size, mtime=excluded.mtime, hash=excluded.hash',
    );
  }

  #rowsFor(dir: string): Map<string, Row> {
    let rows = this.#byDir.get(dir);
    if (rows === undefined) {
      rows = new Map();
      const lo = dir.endsWith(sep) ? dir : dir + sep;
      const hi = lo.slice(0, -1) + String.fromCharCode(sep.charCodeAt(0) + 1);
      for (const r of this.#range.iterate(lo, hi) as IterableIterator<[string, number, number, number, number, string]>) {
        rows.set(r[0], [r[1], r[2], r[3], r[4], r[5]]);
      }
      this.#byDir.set(dir, rows);
    }
    return rows;
  }

  /** Hash of one absolute path, from the cache when its state is unchanged. */
  hash(path: string, st?: Stats): FileHash {
    const s = st ?? statSync(path);
    const row = this.#rowsFor(dirname(path)).get(path);
    if (row !== undefined && row[0] === s.dev && row[1] === s.ino && row[2] === s.size && row[3] === s.mtimeMs) {
      this.reused++;
      return { hash: row[4], size: s.size };
    }
    const { hash, size } = hashFileSync(path);
    this.hashed++;
    if (Date.now() - s.mtimeMs > RACY_MS && size === s.size) {
      this.#pending.push([path, s.dev, s.ino, s.size, s.mtimeMs, hash]);
      this.#byDir.get(dirname(path))?.set(path, [s.dev, s.ino, s.size, s.mtimeMs, hash]);
      if (this.#pending.length >= 5000) this.flush();
    }
    return { hash, size };
  }

  hashMany(paths: readonly string[]): FileHash[] {
    const out = paths.map((p) => this.hash(p));
    this.flush();
    return out;
  }

  /** Writes newly learnt states in one transaction. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const rows = this.#pending;
    this.#pending = [];
    this.#db.transaction(() => {
      for (const r of rows) this.#upsert.run(...r);
    })();
  }
}

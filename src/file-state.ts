// The file-state cache: (device, inode, size, mtime) -> content hash, kept in SQLite, so a file
// that has not changed since it was last hashed is never read again. A no-op `status` costs a
// stat per file and one indexed read per folder: states are stored one row per folder (a JSON
// object name -> "dev:ino:size:mtime:hash"), because a dataset is a few thousand folders of
// many files, and one row per file made the database work (and the garbage it left) cost more
// than the stats themselves.
import { statSync, type Stats } from 'node:fs';
import type { Db, Statement } from './db.js';
import { hashFileSync, type Hash } from './hash.js';

/**
 * A file modified within this window of being hashed could change again within the same
 * timestamp tick without its mtime moving (git's "racy" problem); such a hash is used but not
 * cached, so it is checked again next time.
 */
const RACY_MS = 2000;
const HASH_LEN = 16;

export interface FileHash {
  hash: Hash;
  size: number;
}

type DirEntries = Record<string, string>;

export class FileStateCache {
  readonly #db: Db;
  readonly #get: Statement;
  readonly #put: Statement;
  readonly #dirs = new Map<string, DirEntries>();
  readonly #dirty = new Set<string>();
  hashed = 0;
  reused = 0;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare('SELECT entries FROM dir_state WHERE dir = ?').pluck();
    this.#put = db.prepare('INSERT OR REPLACE INTO dir_state(dir, entries) VALUES (?, ?)');
  }

  #entries(dir: string): DirEntries {
    let e = this.#dirs.get(dir);
    if (e === undefined) {
      const text = this.#get.get(dir) as string | undefined;
      e = text === undefined ? {} : (JSON.parse(text) as DirEntries);
      this.#dirs.set(dir, e);
    }
    return e;
  }

  /** Hash of one absolute path, from the cache when its state is unchanged. */
  hash(path: string, st?: Stats): FileHash {
    const s = st ?? statSync(path);
    const cut = path.lastIndexOf('/');
    const dir = path.slice(0, cut);
    const name = path.slice(cut + 1);
    const entries = this.#entries(dir);
    const key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:`;
    const known = entries[name];
    if (known !== undefined && known.length === key.length + HASH_LEN && known.startsWith(key)) {
      this.reused++;
      return { hash: known.slice(key.length), size: s.size };
    }
    const { hash, size } = hashFileSync(path);
    this.hashed++;
    if (Date.now() - s.mtimeMs > RACY_MS && size === s.size) {
      entries[name] = key + hash;
      this.#dirty.add(dir);
      if (this.#dirty.size >= 256) this.flush();
    }
    return { hash, size };
  }

  hashMany(paths: readonly string[]): FileHash[] {
    const out = new Array<FileHash>(paths.length);
    for (let i = 0; i < paths.length; i++) out[i] = this.hash(paths[i]!);
    this.flush();
    return out;
  }

  /** Writes the folders whose states changed, in one transaction. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const dirs = [...this.#dirty];
    this.#dirty.clear();
    this.#db.transaction(() => {
      for (const d of dirs) this.#put.run(d, JSON.stringify(this.#dirs.get(d) ?? {}));
    })();
  }
}

// The file-state cache: (device, inode, size, mtime) -> content hash, kept in SQLite, so a file
// that has not changed since it was last hashed is never read again. A no-op `status` costs a
// stat per file and one query per batch of folders: states are stored one row per folder (a
// JSON object name -> [dev, ino, size, mtimeMs, hash]), because a dataset is a few thousand
// folders of many files, and one row per file made the database work (and the garbage it left)
// cost more than the stats themselves. The numbers are compared as numbers (JSON round-trips a
// double exactly), so an unchanged file costs no number-to-string conversions. An entry in the
// older string form ("dev:ino:size:mtime:hash") is a miss: hashed once more and rewritten.
import { statSync, type Stats } from 'node:fs';
import type { StateStore } from './engine/state.js';
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

/** [dev, ino, size, mtimeMs, hash] */
type FileEntry = [number, number, number, number, Hash];
type DirEntries = Record<string, FileEntry | string>;

export class FileStateCache {
  readonly #state: StateStore;
  readonly #dirs = new Map<string, DirEntries>();
  readonly #dirty = new Set<string>();
  hashed = 0;
  reused = 0;

  constructor(state: StateStore) {
    this.#state = state;
  }

  #entries(dir: string): DirEntries {
    let e = this.#dirs.get(dir);
    if (e === undefined) {
      const text = this.#state.dirEntries(dir);
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
    const known = entries[name];
    if (typeof known === 'object' && known[3] === s.mtimeMs && known[2] === s.size && known[1] === s.ino && known[0] === s.dev && known[4].length === HASH_LEN) {
      this.reused++;
      return { hash: known[4], size: s.size };
    }
    const { hash, size } = hashFileSync(path);
    this.hashed++;
    if (Date.now() - s.mtimeMs > RACY_MS && size === s.size) {
      entries[name] = [s.dev, s.ino, s.size, s.mtimeMs, hash];
      this.#dirty.add(dir);
      if (this.#dirty.size >= 256) this.flush();
    }
    return { hash, size };
  }

  /**
   * Hashes of many paths. The states of their folders are read in one query, and the folders
   * this call loaded are let go after it (written first when changed), so memory follows the
   * batch, not the dataset.
   */
  hashMany(paths: readonly string[]): FileHash[] {
    const loaded = this.#load(paths);
    const out = new Array<FileHash>(paths.length);
    for (let i = 0; i < paths.length; i++) out[i] = this.hash(paths[i]!);
    this.flush();
    for (const d of loaded) this.#dirs.delete(d);
    return out;
  }

  /** Reads the states of the paths' folders not in memory yet, in one query; returns those folders. */
  #load(paths: readonly string[]): string[] {
    const want = new Set<string>();
    let last = '';
    for (const p of paths) {
      const dir = p.slice(0, p.lastIndexOf('/'));
      if (dir === last) continue;
      last = dir;
      if (!this.#dirs.has(dir)) want.add(dir);
    }
    if (want.size === 0) return [];
    const dirs = [...want];
    for (const d of dirs) this.#dirs.set(d, {});
    for (const r of this.#state.dirEntriesMany(dirs)) {
      this.#dirs.set(r.dir, JSON.parse(r.entries) as DirEntries);
    }
    return dirs;
  }

  /** Writes the folders whose states changed, in one transaction. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const dirs = [...this.#dirty];
    this.#dirty.clear();
    this.#state.putDirEntries(dirs.map((d) => [d, JSON.stringify(this.#dirs.get(d) ?? {})] as const));
  }
}

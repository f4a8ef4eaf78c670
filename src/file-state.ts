// The file-state cache: (device, inode, size, mtime) -> content hash, kept in SQLite, so a file
// that has not changed since it was last hashed is never read again. A no-op `status` costs a
// stat per file and one query per batch of folders: states are stored one row per folder (see
// DirState for the blob), because a dataset is a few thousand folders of many files, and one
// row per file made the database work (and the garbage it left) cost more than the stats
// themselves. The numbers are compared as numbers (float64 keeps the stat's doubles exactly), so
// an unchanged file costs no conversions. Rows in the earlier JSON form are read and rewritten.
import { statSync, type Stats } from 'node:fs';
import type { StateStore } from './engine/state.js';
import { hashFileSync, type Hash } from './hash.js';
import { statMany } from './stat-many.js';

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

const MAGIC = 0x31747366; // "fst1", little-endian
const HEADER = 16;

/**
 * One folder's file states. Stored as one blob (written by hand: no library packs a few
 * thousand rows of four doubles and a name this cheaply): a 16-byte header (magic, count n,
 * byte length of the names, 0), then n x [dev, ino, size, mtimeMs] as float64 (the host's byte
 * order: state.db never leaves its machine), the names joined by '/' (which no file name holds),
 * and the n 16-digit hashes. Reading one is a copy and two string cuts, where the JSON form it
 * replaces cost a number parse per field and an array per file; entries changed since are kept
 * beside it and merged when written.
 */
class DirState {
  names: string[] = [];
  nums = new Float64Array(0);
  hashes = '';
  #cursor = 0;
  #index: Map<string, number> | undefined;
  /** Entries set since the folder was read (a new or changed file), by name. */
  changed: Map<string, FileEntry> | undefined;

  static decode(v: unknown): DirState {
    const d = new DirState();
    if (v instanceof Uint8Array && v.byteLength >= HEADER) {
      const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const n = b.readUInt32LE(4);
      const namesLen = b.readUInt32LE(8);
      if (b.readUInt32LE(0) === MAGIC && b.byteLength === HEADER + 32 * n + namesLen + HASH_LEN * n) {
        d.nums = new Float64Array(4 * n);
        new Uint8Array(d.nums.buffer).set(b.subarray(HEADER, HEADER + 32 * n));
        d.names = n === 0 ? [] : b.toString('utf8', HEADER + 32 * n, HEADER + 32 * n + namesLen).split('/');
        d.hashes = b.toString('latin1', HEADER + 32 * n + namesLen);
        if (d.names.length !== n) return new DirState(); // unreadable: every file a miss
      }
    } else if (typeof v === 'string') {
      // The earlier JSON form ({name: [dev, ino, size, mtimeMs, hash]}); entries in the older
      // string form ("dev:ino:size:mtime:hash") are misses. Kept as changed, so it is rewritten.
      try {
        const o = JSON.parse(v) as Record<string, FileEntry | string>;
        for (const [name, e] of Object.entries(o)) {
          if (typeof e === 'object' && e.length === 5 && typeof e[4] === 'string' && e[4].length === HASH_LEN) (d.changed ??= new Map()).set(name, e);
        }
      } catch {
        // not JSON: every file a miss
      }
    }
    return d;
  }

  /** The stored index of `name`, or -1. Names are mostly asked in the order they were stored. */
  #find(name: string): number {
    const c = this.#cursor;
    if (c < this.names.length && this.names[c] === name) {
      this.#cursor = c + 1;
      return c;
    }
    if (this.#index === undefined) {
      this.#index = new Map();
      for (let i = 0; i < this.names.length; i++) this.#index.set(this.names[i]!, i);
    }
    const i = this.#index.get(name);
    if (i === undefined) return -1;
    this.#cursor = i + 1;
    return i;
  }

  /** The hash kept for `name` when its state is (dev, ino, size, mtimeMs), else undefined. */
  lookup(name: string, dev: number, ino: number, size: number, mtimeMs: number): Hash | undefined {
    const e = this.changed?.get(name);
    if (e !== undefined) return e[3] === mtimeMs && e[2] === size && e[1] === ino && e[0] === dev ? e[4] : undefined;
    const i = this.#find(name);
    if (i < 0) return undefined;
    const q = this.nums;
    const k = 4 * i;
    return q[k + 3] === mtimeMs && q[k + 2] === size && q[k + 1] === ino && q[k] === dev ? this.hashes.slice(HASH_LEN * i, HASH_LEN * (i + 1)) : undefined;
  }

  set(name: string, e: FileEntry): void {
    (this.changed ??= new Map()).set(name, e);
  }

  encode(): Buffer {
    const names = [...this.names];
    let nums = this.nums;
    let hashes = this.hashes;
    if (this.changed !== undefined) {
      const at = new Map<string, number>();
      for (let i = 0; i < names.length; i++) at.set(names[i]!, i);
      const parts = names.map((_, i) => this.hashes.slice(HASH_LEN * i, HASH_LEN * (i + 1)));
      for (const n of this.changed.keys()) {
        if (at.has(n)) continue;
        at.set(n, names.length);
        names.push(n);
        parts.push('');
      }
      nums = new Float64Array(4 * names.length);
      nums.set(this.nums);
      for (const [n, e] of this.changed) {
        const i = at.get(n)!;
        nums.set([e[0], e[1], e[2], e[3]], 4 * i);
        parts[i] = e[4];
      }
      hashes = parts.join('');
    }
    const nameBytes = Buffer.from(names.join('/'), 'utf8');
    const n = names.length;
    const b = Buffer.allocUnsafe(HEADER + 32 * n + nameBytes.byteLength + HASH_LEN * n);
    b.writeUInt32LE(MAGIC, 0);
    b.writeUInt32LE(n, 4);
    b.writeUInt32LE(nameBytes.byteLength, 8);
    b.writeUInt32LE(0, 12);
    b.set(new Uint8Array(nums.buffer, nums.byteOffset, 32 * n), HEADER);
    nameBytes.copy(b, HEADER + 32 * n);
    b.write(hashes, HEADER + 32 * n + nameBytes.byteLength, 'latin1');
    return b;
  }
}

export class FileStateCache {
  readonly #state: StateStore;
  readonly #dirs = new Map<string, DirState>();
  readonly #dirty = new Set<string>();
  #lastDir = '';
  #lastEntries: DirState | undefined;
  hashed = 0;
  reused = 0;

  constructor(state: StateStore) {
    this.#state = state;
  }

  #entries(dir: string): DirState {
    let e = this.#dirs.get(dir);
    if (e === undefined) {
      e = DirState.decode(this.#state.dirEntries(dir));
      if (e.changed !== undefined) this.#dirty.add(dir);
      this.#dirs.set(dir, e);
    }
    return e;
  }

  /** Hash of one absolute path, from the cache when its state is unchanged. */
  hash(path: string, st?: Stats): FileHash {
    const s = st ?? statSync(path);
    return this.#hashAt(path, s.dev, s.ino, s.size, s.mtimeMs);
  }

  #hashAt(path: string, dev: number, ino: number, statSize: number, mtimeMs: number): FileHash {
    const cut = path.lastIndexOf('/');
    // Paths come folder by folder: the last folder's state is reused without a map lookup.
    let dir = this.#lastDir;
    let entries = this.#lastEntries;
    if (entries === undefined || cut !== dir.length || !path.startsWith(dir)) {
      dir = path.slice(0, cut);
      entries = this.#entries(dir);
      this.#lastDir = dir;
      this.#lastEntries = entries;
    }
    const name = path.slice(cut + 1);
    const known = entries.lookup(name, dev, ino, statSize, mtimeMs);
    if (known !== undefined) {
      this.reused++;
      return { hash: known, size: statSize };
    }
    const { hash, size } = hashFileSync(path);
    this.hashed++;
    if (Date.now() - mtimeMs > RACY_MS && size === statSize) {
      entries.set(name, [dev, ino, statSize, mtimeMs, hash]);
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
    this.#forget(loaded);
    return out;
  }

  /**
   * hashMany with the stats made on two threads (src/stat-many.ts): what a stage's listing of a
   * dataset calls (ctx.hashFiles). Same results, same errors.
   */
  async hashManyAsync(paths: readonly string[]): Promise<FileHash[]> {
    let loaded: string[] = [];
    // The folders' states are read from the database while the helper thread stats.
    const stats = await statMany(paths, () => {
      loaded = this.#load(paths);
    });
    try {
      const out = new Array<FileHash>(paths.length);
      for (let i = 0; i < paths.length; i++) {
        const k = 4 * i;
        // A path the stat could not read: statSync it here for its own error.
        out[i] = Number.isNaN(stats[k]) ? this.hash(paths[i]!) : this.#hashAt(paths[i]!, stats[k]!, stats[k + 1]!, stats[k + 2]!, stats[k + 3]!);
      }
      return out;
    } finally {
      this.flush();
      this.#forget(loaded);
    }
  }

  #forget(dirs: readonly string[]): void {
    for (const d of dirs) this.#dirs.delete(d);
    this.#lastEntries = undefined;
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
    for (const d of dirs) this.#dirs.set(d, new DirState());
    for (const r of this.#state.dirEntriesMany(dirs)) {
      const e = DirState.decode(r.entries);
      if (e.changed !== undefined) this.#dirty.add(r.dir);
      this.#dirs.set(r.dir, e);
    }
    return dirs;
  }

  /** Writes the folders whose states changed, in one transaction. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const dirs = [...this.#dirty];
    this.#dirty.clear();
    this.#state.putDirEntries(dirs.map((d) => [d, (this.#dirs.get(d) ?? new DirState()).encode()] as const));
  }
}

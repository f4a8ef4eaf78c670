// The content-addressed store: cache/objects/<2 hex>/<14 hex>. Objects are written atomically
// (temp file in cache/tmp, fsync, rename) and made read-only; an object's name is the XXH3-64
// of its bytes, so a reader never sees a partial object and a writer never changes one.
//
// `ObjectStore` is the interface every store speaks (promises: has/get/put/putFile by hash), so
// that the engine and the remote cache (src/remote/) need nothing path-based; paths stay inside
// this local implementation and the kinds' StoreAccess (which always sees a local store: a
// worker stages remote objects into one).
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashBytes, hashFileSync, isHash, type Hash } from './hash.js';
import type { StoreAccess } from './stage-api.js';

export interface ObjectStore {
  has(hash: Hash): Promise<boolean>;
  /** An object's bytes, checked against its name. */
  get(hash: Hash): Promise<Buffer>;
  /** Writes bytes atomically; returns their hash. Writing an object that exists is a no-op. */
  put(data: Uint8Array | string): Promise<Hash>;
  /** Moves a finished file into the store; returns its hash. */
  putFile(path: string): Promise<Hash>;
}

export interface Store extends StoreAccess, ObjectStore {
  /** Whether the object is on this machine's disk (synchronous: local only). */
  exists(hash: Hash): boolean;
  /** Every object hash with its size. */
  list(): Iterable<{ hash: Hash; size: number }>;
  remove(hash: Hash): void;
  /** Moves an object aside (cache/quarantine) so that it is never read again. */
  quarantine(hash: Hash): void;
}

export class LocalStore implements Store {
  /** Refuses writes (a read-only engine: `status`, the web UI); creates no folders. */
  readonly readOnly: boolean;
  readonly objects: string;
  readonly tmp: string;
  readonly quarantineDir: string;
  /** Called after an object is written (e.g. to lift its quarantine). */
  onPut: ((hash: Hash) => void) | undefined;
  /** Called when a read finds an object whose bytes do not match its name (it is quarantined). */
  onCorrupt: ((hash: Hash) => void) | undefined;

  /**
   * Whether writes are fsynced before they are named. A worker's staging cache turns it off:
   * what it holds is re-verified (hashed) before it is sent anywhere, and a crash costs it only
   * recomputation, never a wrong object in the remote.
   */
  readonly durable: boolean;

  constructor(cacheDir: string, opts: { durable?: boolean; readOnly?: boolean } = {}) {
    this.durable = opts.durable ?? true;
    this.readOnly = opts.readOnly === true;
    this.objects = join(cacheDir, 'objects');
    this.tmp = join(cacheDir, 'tmp');
    this.quarantineDir = join(cacheDir, 'quarantine');
    if (!this.readOnly) {
      mkdirSync(this.objects, { recursive: true });
      mkdirSync(this.tmp, { recursive: true });
    }
  }

  #refuseWrite(): void {
    if (this.readOnly) throw new Error('internal: this command reads the workspace only and never writes the cache');
  }

  path(hash: Hash): string {
    return join(this.objects, hash.slice(0, 2), hash.slice(2));
  }

  exists(hash: Hash): boolean {
    return existsSync(this.path(hash));
  }

  async has(hash: Hash): Promise<boolean> {
    return this.exists(hash);
  }

  get(hash: Hash): Promise<Buffer> {
    return this.read(hash);
  }

  /**
   * Reads an object and checks its bytes against its name (XXH3 runs at several GB/s, so this
   * costs little beside the read): an object changed in place (an edited hard link, a bad disk)
   * is quarantined and reported instead of entering a computation.
   */
  async read(hash: Hash): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = await readFile(this.path(hash));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`cache object ${hash} is missing from cache/objects (run 'pipeline verify', then 'pipeline run' to recompute it)`);
      }
      throw e;
    }
    const actual = hashBytes(buf);
    if (actual !== hash) {
      this.quarantine(hash);
      this.onCorrupt?.(hash);
      throw new CorruptObject(hash, actual);
    }
    return buf;
  }

  /**
   * Installs a file written under tempPath() (a download) as object `expected`, after hashing
   * it: a file whose bytes do not match is deleted and reported, never admitted.
   */
  adoptFile(path: string, expected: Hash, from: string): number {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw e;
    }
    closeSync(fd);
    const { hash, size } = hashFileSync(path);
    if (hash !== expected) {
      unlinkSync(path);
      throw new CorruptObject(expected, hash, from);
    }
    const dest = this.path(hash);
    if (existsSync(dest)) {
      unlinkSync(path);
      return size;
    }
    chmodSync(path, 0o444);
    this.#install(path, dest);
    this.onPut?.(hash);
    return size;
  }

  async readJson<T = unknown>(hash: Hash): Promise<T> {
    return JSON.parse((await this.read(hash)).toString('utf8')) as T;
  }

  tempPath(suffix = ''): string {
    return join(this.tmp, `${process.pid}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  putSync(data: Uint8Array | string): Hash {
    this.#refuseWrite();
    const hash = hashBytes(data);
    const dest = this.path(hash);
    if (existsSync(dest)) return hash;
    const tmp = this.tempPath();
    const fd = openSync(tmp, 'wx', 0o444);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (this.durable) fsyncSync(fd);
    } catch (e) {
      // A write cut short (a full disk) leaves no temp file behind.
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    this.#install(tmp, dest);
    this.onPut?.(hash);
    return hash;
  }

  /**
   * Like putSync, with the write and fsync on libuv's thread pool, so that a stage producing
   * many objects (the demo's frames) keeps its own work going while they reach the disk.
   */
  async put(data: Uint8Array | string): Promise<Hash> {
    this.#refuseWrite();
    const hash = hashBytes(data);
    const dest = this.path(hash);
    if (existsSync(dest)) return hash;
    const tmp = this.tempPath();
    const fh = await open(tmp, 'wx', 0o444);
    try {
      await fh.writeFile(data);
      if (this.durable) await fh.sync();
    } catch (e) {
      await fh.close();
      rmSync(tmp, { force: true });
      throw e;
    }
    await fh.close();
    this.#install(tmp, dest);
    this.onPut?.(hash);
    return hash;
  }

  async putFile(path: string): Promise<Hash> {
    return this.putFileSync(path);
  }

  /** Moves a finished file into the store (it must be on the same file system, e.g. from tempPath()). */
  putFileSync(path: string): Hash {
    this.#refuseWrite();
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const { hash } = hashFileSync(path);
    const dest = this.path(hash);
    if (existsSync(dest)) {
      unlinkSync(path);
      return hash;
    }
    chmodSync(path, 0o444);
    this.#install(path, dest);
    this.onPut?.(hash);
    return hash;
  }

  #install(tmp: string, dest: string): void {
    mkdirSync(join(dest, '..'), { recursive: true });
    renameSync(tmp, dest);
  }

  *list(): Iterable<{ hash: Hash; size: number }> {
    let dirs: string[];
    try {
      dirs = readdirSync(this.objects);
    } catch {
      return;
    }
    for (const d of dirs) {
      if (d.length !== 2) continue;
      for (const f of readdirSync(join(this.objects, d))) {
        const hash = d + f;
        if (!isHash(hash)) continue;
        yield { hash, size: statSync(join(this.objects, d, f)).size };
      }
    }
  }

  remove(hash: Hash): void {
    rmSync(this.path(hash), { force: true });
  }

  quarantine(hash: Hash): void {
    if (this.readOnly) return; // reported by the read that found it; moved aside by the next run
    mkdirSync(this.quarantineDir, { recursive: true });
    const src = this.path(hash);
    if (existsSync(src)) renameSync(src, join(this.quarantineDir, `${hash}-${Date.now()}`));
  }

  /** Removes temp files left by killed processes (never read: they have no object name). */
  cleanTemp(olderThanMs = 0): number {
    let n = 0;
    for (const f of readdirSync(this.tmp)) {
      const p = join(this.tmp, f);
      try {
        const pid = Number(f.split('-')[0]);
        const alive = pid > 0 && pid !== process.pid && isAlive(pid);
        if (!alive && Date.now() - statSync(p).mtimeMs >= olderThanMs && pid !== process.pid) {
          rmSync(p, { recursive: true, force: true });
          n++;
        }
      } catch {
        // raced with another cleaner
      }
    }
    return n;
  }
}

/** An object whose bytes do not hash to its name: read from the cache, or fetched from a remote. */
export class CorruptObject extends Error {
  override name = 'CorruptObject';
  readonly hash: Hash;
  constructor(hash: Hash, actual: Hash, from?: string) {
    super(
      from
        ? `object ${hash} from the remote ${from} is corrupt (its bytes hash to ${actual}); it was not admitted to the local cache`
        : `cache object ${hash} was changed on disk (its bytes hash to ${actual}); it is quarantined and the next 'pipeline run' recomputes it`,
    );
    this.hash = hash;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

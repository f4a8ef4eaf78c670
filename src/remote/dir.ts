// A remote cache in a folder (a shared file system: NFS, a mounted volume, or a plain local
// folder). Objects and entries are written to tmp/ inside the remote, fsynced, then hard-linked
// to their name: link(2) fails with EEXIST instead of replacing, so a write is atomic and never
// overwrites what is there, even with several writers at once (rename(2) would replace).
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isHash, type Hash } from '../hash.js';
import { objectKey, RemoteMissing, type EntryPrefix, type Remote } from './types.js';

export class DirRemote implements Remote {
  readonly url: string;
  readonly root: string;

  constructor(url: string, root: string) {
    this.url = url;
    this.root = root;
  }

  async listObjects(): Promise<Set<Hash>> {
    const out = new Set<Hash>();
    const base = join(this.root, 'objects');
    let dirs: string[];
    try {
      dirs = await readdir(base);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    await Promise.all(
      dirs
        .filter((d) => d.length === 2)
        .map(async (d) => {
          for (const f of await readdir(join(base, d))) if (isHash(d + f)) out.add(d + f);
        }),
    );
    return out;
  }

  async getObject(hash: Hash, dest: string): Promise<void> {
    try {
      await copyFile(join(this.root, objectKey(hash)), dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new RemoteMissing(`object ${hash} is not in the remote ${this.url}`);
      throw e;
    }
  }

  async putObject(hash: Hash, src: string): Promise<boolean> {
    return this.#install(join(this.root, objectKey(hash)), async (tmp) => {
      await copyFile(src, tmp);
    });
  }

  async listEntries(prefix: EntryPrefix): Promise<Set<string>> {
    try {
      return new Set((await readdir(join(this.root, prefix))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw e;
    }
  }

  async getEntry(prefix: EntryPrefix, key: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(join(this.root, prefix, `${key}.json`), 'utf8')) as unknown;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async putEntry(prefix: EntryPrefix, key: string, value: unknown): Promise<boolean> {
    return this.#install(join(this.root, prefix, `${key}.json`), async (tmp) => {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(JSON.stringify(value));
      } finally {
        await fh.close();
      }
    });
  }

  /** Writes through `fill` to a temp file in the remote, fsyncs it, links it to `dest` unless present. */
  async #install(dest: string, fill: (tmp: string) => Promise<void>): Promise<boolean> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fill(tmp);
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await mkdir(dirname(dest), { recursive: true });
      try {
        await link(tmp, dest);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  close(): void {}
}

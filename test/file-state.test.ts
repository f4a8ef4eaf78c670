// The file-state cache (src/file-state.ts) over a real state database, and the two-thread stat
// (src/stat-many.ts) that a dataset listing goes through.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqlite } from '../src/db.js';
import { StateStore } from '../src/engine/state.js';
import { FileStateCache } from '../src/file-state.js';
import { hashFileSync } from '../src/hash.js';
import { statMany } from '../src/stat-many.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** `folders` x `per` small files, old enough for the cache to keep their hashes. */
function dataset(folders: number, per: number): { root: string; paths: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'pipeline-file-state-'));
  dirs.push(root);
  const past = new Date(Date.now() - 60_000);
  const paths: string[] = [];
  for (let f = 0; f < folders; f++) {
    const d = join(root, 'data', `m${f}`);
    mkdirSync(d, { recursive: true });
    for (let k = 0; k < per; k++) {
      const p = join(d, `f${String(k).padStart(3, '0')}.bin`);
      writeFileSync(p, `${f}/${k}`);
      utimesSync(p, past, past);
      paths.push(p);
    }
  }
  mkdirSync(join(root, 'cache'));
  return { root, paths };
}

describe('file-state cache', () => {
  it('keeps hashes across processes, rehashes exactly the changed file, and stores one blob per folder', () => {
    const { root, paths } = dataset(3, 5);
    const cacheDir = join(root, 'cache');
    const want = paths.map((p) => hashFileSync(p));
    let state = new StateStore(cacheDir);
    let files = new FileStateCache(state);
    assert.deepEqual(files.hashMany(paths), want);
    assert.equal(files.hashed, 15);
    state.close();

    // A new file in a known folder and one changed file: only those two are read again.
    const added = join(root, 'data', 'm1', 'f999.bin');
    writeFileSync(added, 'new');
    writeFileSync(paths[7]!, 'changed, longer');
    const past = new Date(Date.now() - 60_000);
    utimesSync(added, past, past);
    utimesSync(paths[7]!, past, past);
    state = new StateStore(cacheDir);
    files = new FileStateCache(state);
    const all = [...paths, added];
    assert.deepEqual(files.hashMany(all), all.map((p) => hashFileSync(p)));
    assert.deepEqual([files.hashed, files.reused], [2, 14]);
    state.close();

    state = new StateStore(cacheDir);
    files = new FileStateCache(state);
    assert.deepEqual(files.hashMany([...all].reverse()), all.map((p) => hashFileSync(p)).reverse(), 'any order');
    assert.deepEqual([files.hashed, files.reused], [0, 16]);
    state.close();

    const db = openSqlite(join(cacheDir, 'state.db'), { timeoutMs: 5000, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT dir, typeof(entries) AS t FROM dir_state ORDER BY dir').all() as Array<{ dir: string; t: string }>;
      assert.deepEqual(rows.map((r) => [r.dir.slice(root.length), r.t]), [['/data/m0', 'blob'], ['/data/m1', 'blob'], ['/data/m2', 'blob']]);
    } finally {
      db.close();
    }
  });

  it("reads a folder row in the earlier JSON form, reuses its hashes and rewrites it as a blob", () => {
    const { root, paths } = dataset(1, 4);
    const cacheDir = join(root, 'cache');
    new StateStore(cacheDir).close();
    const dir = join(root, 'data', 'm0');
    const entries: Record<string, unknown> = {};
    for (const p of paths.slice(0, 3)) {
      const s = statSync(p);
      entries[p.slice(dir.length + 1)] = [s.dev, s.ino, s.size, s.mtimeMs, hashFileSync(p).hash];
    }
    entries[paths[3]!.slice(dir.length + 1)] = '1:2:3:4:0123456789abcdef'; // the oldest string form: a miss
    const db = openSqlite(join(cacheDir, 'state.db'), { timeoutMs: 5000, fileMustExist: true });
    db.prepare('INSERT INTO dir_state(dir, entries) VALUES (?, ?)').run(dir, JSON.stringify(entries));
    db.close();

    let state = new StateStore(cacheDir);
    let files = new FileStateCache(state);
    assert.deepEqual(files.hashMany(paths), paths.map((p) => hashFileSync(p)));
    assert.deepEqual([files.hashed, files.reused], [1, 3]);
    state.close();
    state = new StateStore(cacheDir);
    files = new FileStateCache(state);
    files.hashMany(paths);
    assert.deepEqual([files.hashed, files.reused], [0, 4], 'rewritten with all four');
    state.close();
  });

  it('hashManyAsync stats on two threads and gives what hashMany gives, errors included', async () => {
    const { root, paths } = dataset(30, 100);
    // The helper thread starts once 12,000 paths went through statMany in this process.
    for (let r = 0; r < 4; r++) await statMany(paths);
    const nums = await statMany(paths);
    assert.equal(nums.length, 4 * paths.length);
    for (const i of [0, 1, 63, 64, 1500, 2999]) {
      const s = statSync(paths[i]!);
      assert.deepEqual([...nums.subarray(4 * i, 4 * i + 4)], [s.dev, s.ino, s.size, s.mtimeMs], `path ${i}`);
    }
    const state = new StateStore(join(root, 'cache'));
    try {
      const files = new FileStateCache(state);
      const want = paths.map((p) => hashFileSync(p));
      assert.deepEqual(await files.hashManyAsync(paths), want);
      assert.deepEqual(await files.hashManyAsync(paths), want);
      assert.equal(files.reused, paths.length);

      const missing = join(root, 'data', 'm4', 'gone.bin');
      const withMissing = [...paths.slice(0, 1000), missing, ...paths.slice(1000)];
      const n = await statMany(withMissing);
      assert.ok(Number.isNaN(n[4 * 1000]), 'a missing path is NaN');
      await assert.rejects(files.hashManyAsync(withMissing), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.message.includes(missing));
    } finally {
      state.close();
    }
  });
});

// The machine failing under a run: a full disk while an object is written (ENOSPC, on a small
// tmpfs where this machine allows mounting one), a read-only cache folder, Ctrl-C pressed twice.
// Each is a message naming the file and the fix, never a stack trace; nothing half-written is
// left in the store, and what was computed before is reused by the next run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastJson, PACKAGE_ROOT, Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
const mounts: string[] = [];
after(() => {
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m]);
  rigs.forEach((r) => r.cleanup());
});

interface RunJson {
  ok: boolean;
  stages: Array<{ name: string; state: string; error?: string; items?: Record<string, number> }>;
}

/** Mounts a tmpfs of `size` on `dir`; false where this machine does not allow it (not root, no mount). */
function tmpfs(dir: string, size: string, extra = ''): boolean {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra}`, 'tmpfs', dir], { stdio: 'ignore' });
  if (r.status !== 0) return false;
  mounts.push(dir);
  return true;
}

function workspace(): Rig {
  const rig = Rig.create({
    'pipeline.yaml': [
      'stages:',
      '  small:',
      '    cmd: mkdir -p out && echo small > out/small.txt',
      '    outs: [out/small.txt]',
      '  big:',
      "    cmd: mkdir -p out && head -c $(awk '/size:/ {print $2}' $PIPELINE_PARAMS) /dev/urandom > out/big.bin",
      '    deps: [small]',
      '    params: [big]',
      '    outs: [out/big.bin]',
      '',
    ].join('\n'),
    'conf/default.yaml': 'big:\n  size: 1000\n',
  });
  rigs.push(rig);
  return rig;
}

const noStack = (s: string): void => assert.doesNotMatch(s, /internal error|^\s+at .*:\d+:\d+\)?$/m, s);

test('disk full while an object is written: a clear error, nothing half-written, the rest kept', async (t: TestContext) => {
  const rig = workspace();
  if (!tmpfs(rig.path('cache'), '1m')) return t.skip('mounting a small tmpfs needs root');
  const full = await rig.cli(['run', '--json', '-p', 'big.size=3000000']);
  assert.equal(full.code, 1, full.stderr);
  noStack(full.stdout + full.stderr);
  const j = lastJson<RunJson>(full.stdout);
  assert.deepEqual(j.stages.map((s) => [s.name, s.state]), [['small', 'ran'], ['big', 'failed']]);
  assert.match(j.stages[1]!.error ?? '', /^no space left on the device writing \S+cache\/tmp\/\S+ \(ENOSPC\)\n  fix: free space: `pipeline gc --keep-last N`/);
  assert.deepEqual(readdirSync(rig.path('cache/tmp')), [], 'no partial file left behind');
  const verify = await rig.cli(['verify', '--json']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.deepEqual(lastJson<{ corrupt: string[] }>(verify.stdout).corrupt, []);
  // Space again (a smaller output): the stage that finished before is reused.
  const again = await rig.cli(['run', '--json', '-p', 'big.size=1000']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(lastJson<RunJson>(again.stdout).stages.map((s) => [s.name, s.state]), [['small', 'cached'], ['big', 'ran']]);
});

test('a read-only cache folder: status and run say which file and how to fix it; nothing is lost', async (t: TestContext) => {
  const rig = workspace();
  const root = process.getuid?.() === 0;
  if (root && !tmpfs(rig.path('cache'), '4m')) return t.skip('a read-only folder needs a read-only mount as root (mount not allowed here)');
  const first = await rig.cli(['run', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const readOnly = (on: boolean): void => {
    const r = root
      ? spawnSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, rig.path('cache')])
      : spawnSync('chmod', ['-R', on ? 'a-w' : 'u+w', rig.path('cache')]);
    assert.equal(r.status, 0, String(r.stderr));
  };
  readOnly(true);
  try {
    const status = await rig.cli(['status']);
    assert.equal(status.code, 1, status.stderr);
    noStack(status.stderr);
    assert.match(status.stderr, /^error: cannot (write|access) /);
    assert.match(status.stderr, /fix: pipeline keeps its cache and run records in cache\/ and needs to write there .*chmod -R u\+w cache/);
    const run = await rig.cli(['run', '-p', 'big.size=2000']);
    assert.equal(run.code, 1, run.stderr);
    noStack(run.stderr);
    assert.match(run.stderr, /^error: cannot (write|access) \S*cache\/\S+: (the file system is read-only \(EROFS\)|permission denied \(EACCES\))/);
  } finally {
    readOnly(false);
  }
  const after = await rig.cli(['run', '--json']);
  assert.deepEqual(lastJson<RunJson>(after.stdout).stages.map((s) => s.state), ['cached', 'cached'], 'the earlier results are intact');
});

test('Ctrl-C twice quits at once (exit 130); finished items are kept and the store stays intact', async () => {
  const conf = readFileSync(join(PACKAGE_ROOT, 'conf/default.yaml'), 'utf8');
  const rig = Rig.create({ 'pipeline.yaml': 'stages:\n  frames:\n    uses: frames\n    params: [dataset, frames]\n', 'conf/default.yaml': conf });
  rigs.push(rig);
  // Enough movies that the run is still going at the first Ctrl-C: 2 movies' frames plus 600 ms
  // in, a 12-movie run could already be finishing (the demo draws on all cores).
  const movies = 30;
  const args = ['run', '-j', '1', '-p', `dataset.movies=${movies}`];
  const child = rig.spawn(args);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Wait until two movies' frames are in the store (about 30 objects a movie), then for the
  // engine's commit of finished items (at least every 200 ms).
  const objects = (): number => {
    try {
      return readdirSync(rig.path('cache/objects'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
    } catch {
      return 0;
    }
  };
  for (let i = 0; i < 400 && objects() < 60; i++) await sleep(50);
  await sleep(600);
  child.kill('SIGINT');
  await sleep(50);
  const second = Date.now();
  child.kill('SIGINT');
  assert.equal(await child.closed, 130);
  assert.ok(Date.now() - second < 3000, 'the second Ctrl-C does not wait for the items in flight');
  assert.match(err, /stopping: finishing the items in flight \(Ctrl-C again to quit at once\)/);
  noStack(out + err);
  const again = await rig.cli([...args, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const items = lastJson<RunJson>(again.stdout).stages[0]!.items!;
  assert.ok(items.cached! > 0 && items.ran! < movies, `finished items were kept: ${JSON.stringify(items)}`);
  assert.equal((await rig.cli(['verify'])).code, 0, 'nothing half-written in the store');
  // Temp files of the quit process (cut short mid-write) are never objects; the next run
  // removes those older than a minute, gc all of them.
  const tmp = existsSync(rig.path('cache/tmp')) ? readdirSync(rig.path('cache/tmp')) : [];
  assert.ok(tmp.every((f) => f.startsWith(`${child.pid}-`)), `only the quit run's temp files: ${tmp.join(', ')}`);
  assert.equal((await rig.cli(['gc'])).code, 0);
  assert.deepEqual(readdirSync(rig.path('cache/tmp')), []);
});

// Files under outputs/ can never change a cache object: they are copies (reflinks where the
// file system can), so an in-place edit, which root can make whatever the 0444 mode, changes
// the copy only, and the next checkout puts the file back. Hard links only when asked for.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { hashBytes } from '../src/hash.js';
import { Checkout, checkoutMethodFromEnv } from '../src/outputs.js';
import { LocalStore } from '../src/store.js';
import { PACKAGE_ROOT, Rig, lastJson } from './helpers/rig.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

/** Appends to a file as root could, whatever its mode. */
function editInPlace(f: string): void {
  chmodSync(f, 0o644);
  appendFileSync(f, '\n');
}

describe('outputs never corrupt the cache', () => {
  const temp = new TempFolders();
  const rigs: Rig[] = [];
  after(() => {
    temp.cleanup();
    for (const r of rigs) r.cleanup();
  });

  it('copies by default: an edited output leaves its object intact and is put back by the next checkout', async () => {
    const dir = temp.dir('checkout-');
    const store = new LocalStore(join(dir, 'cache'));
    const a = await store.put('{"a": 1}\n');
    const b = await store.put('b\n');
    const co = new Checkout(store, join(dir, 'cache', 'checkout.json'), dir);
    assert.equal(co.method, 'copy');
    const base = join(dir, 'outputs', 'labels');
    assert.deepEqual(co.write(base, 'root1', { 'ids.json': a, 'sub/b.txt': b }, { link: true }), { written: 2, removed: 0 });
    const f = join(base, 'ids.json');
    assert.notEqual(statSync(f).ino, statSync(store.path(a)).ino, 'a separate file, not the object');
    assert.equal(statSync(store.path(a)).nlink, 1);
    editInPlace(f);
    assert.equal(hashBytes(readFileSync(store.path(a))), a, 'the object is unchanged');
    // Unchanged tree: only the edited file is rewritten (one stat per file finds it).
    assert.deepEqual(co.write(base, 'root1', { 'ids.json': a, 'sub/b.txt': b }, { link: true }), { written: 1, removed: 0 });
    assert.equal(readFileSync(f, 'utf8'), '{"a": 1}\n');
    assert.deepEqual(co.write(base, 'root1', { 'ids.json': a, 'sub/b.txt': b }, { link: true }), { written: 0, removed: 0 });
    co.save();
    // The state survives a reload (checkout.json), so a new process is incremental too.
    const again = new Checkout(store, join(dir, 'cache', 'checkout.json'), dir);
    assert.deepEqual(again.write(base, 'root2', { 'ids.json': a }, { link: true }), { written: 0, removed: 1 });
    assert.deepEqual(readdirSync(base), ['ids.json']);
  });

  it('hard links only when asked for (method link), and PIPELINE_CHECKOUT names the default', async () => {
    const dir = temp.dir('checkout-link-');
    const store = new LocalStore(join(dir, 'cache'));
    const a = await store.put('linked\n');
    const co = new Checkout(store, join(dir, 'state.json'), dir, { method: 'link' });
    co.write(join(dir, 'out'), 'r', { 'x.txt': a }, { link: true });
    assert.equal(statSync(join(dir, 'out', 'x.txt')).ino, statSync(store.path(a)).ino);
    // A user-owned out (a cmd stage's) is a copy whatever the method.
    co.write(join(dir, 'own'), 'r', { 'x.txt': a }, { link: false });
    assert.notEqual(statSync(join(dir, 'own', 'x.txt')).ino, statSync(store.path(a)).ino);

    assert.equal(checkoutMethodFromEnv({}), 'copy');
    assert.equal(checkoutMethodFromEnv({ PIPELINE_CHECKOUT: 'link' }), 'link');
    assert.throws(() => checkoutMethodFromEnv({ PIPELINE_CHECKOUT: 'symlink' }), (e: unknown) => e instanceof UserError && /PIPELINE_CHECKOUT=symlink/.test(e.message));
  });

  it('through the CLI: `echo >> outputs/...` after a run leaves `pipeline verify` clean; `checkout --link` links', async () => {
    const rig = Rig.create({
      'pipeline.yaml': 'stages:\n  frames:\n    uses: frames\n    params: [dataset, frames]\n',
      'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
    });
    rigs.push(rig);
    const run = await rig.cli(['run', '--json', '-p', 'dataset.movies=2']);
    assert.equal(run.code, 0, run.stderr);
    const id = lastJson<{ run: string }>(run.stdout).run;
    const f = rig.path('outputs/frames/tt9000001.json');
    const before = readFileSync(f, 'utf8');
    editInPlace(f);
    const verify = await rig.cli(['verify', '--json']);
    assert.equal(verify.code, 0, `verify after editing an output: ${verify.stdout}${verify.stderr}`);
    const co = await rig.cli(['checkout', id, '--json']);
    assert.equal(co.code, 0, co.stderr);
    assert.equal(readFileSync(f, 'utf8'), before, 'checkout put the edited file back');
    assert.equal((await rig.cli(['checkout', id, '--link', '--to', 'linked'])).code, 0);
    assert.ok(statSync(rig.path('linked/frames/tt9000001.json')).nlink > 1, 'hard-linked to its object');
    const bad = await rig.cli(['checkout', id], { env: { PIPELINE_CHECKOUT: 'bogus' } });
    assert.ok(bad.code === 1 || bad.code === 2, `a user error: ${bad.code} ${bad.stderr}`);
    assert.match(bad.stderr, /error: PIPELINE_CHECKOUT=bogus: not a checkout method\n {2}fix: /);
  });
});

// Option values: every bad numeric or enum value is a usage error (exit 2) naming the option and
// the valid form, never "internal error" or NaN reaching SQL; status --exit-code for CI;
// gc --dry-run; --json on dag, checkout and demo; the rate and ETA of a stage's own progress.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { ProgressEta } from '../src/ui/eta.js';
import { plainPresenter } from '../src/ui/plain.js';
import { lastJson, PACKAGE_ROOT, Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

function workspace(): Rig {
  const rig = Rig.create({
    'pipeline.yaml': [
      'stages:',
      '  count:',
      '    cmd: mkdir -p out && cat data/*.txt | wc -c > out/count.txt && echo "$(grep scale $PIPELINE_PARAMS)" >> out/count.txt',
      '    deps: [data]',
      '    params: [report]',
      '    outs: [out/count.txt]',
      '',
    ].join('\n'),
    'conf/default.yaml': 'report:\n  scale: 1\n',
    'data/a.txt': 'alpha\n',
  });
  rigs.push(rig);
  return rig;
}

function objects(rig: Rig): number {
  const dir = rig.path('cache/objects');
  if (!existsSync(dir)) return 0;
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : n++;
  };
  walk(dir);
  return n;
}

describe('bad option values are usage errors (exit 2) naming the valid form', () => {
  const cases: Array<[string[], RegExp]> = [
    [['gc', '--keep-last', 'x'], /option '--keep-last <n>' argument 'x' is invalid\. expected a whole number >= 0, e\.g\. --keep-last 5/],
    [['gc', '--keep-last', '-1'], /--keep-last/],
    [['runs', '-n', 'x'], /option '-n, --limit <n>' argument 'x' is invalid\. expected a whole number >= 1/],
    [['runs', '-n', '0'], /expected a whole number >= 1/],
    [['runs', '-n', '1e3'], /expected a whole number >= 1/],
    [['run', '-j', '1.5'], /option '-j, --jobs <n>' argument '1\.5' is invalid\. expected a whole number >= 1, e\.g\. -j 4/],
    [['run', '-j', ''], /expected a whole number >= 1/],
    [['evaluate', '--model', 'latest', '--split', 'tset'], /argument 'tset' is invalid\. Allowed choices are train, val, test/],
    [['ui', '--port', '70000'], /option '--port <n>' argument '70000' is invalid\. expected a whole number from 0 to 65535/],
    [['run', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['show'], /missing required argument 'run'/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' ') || '(none)', async () => {
      const rig = rigs[0] ?? workspace();
      const r = await rig.cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }
  it('--help and --version still exit 0', async () => {
    const rig = rigs[0] ?? workspace();
    assert.equal((await rig.cli(['--version'])).code, 0);
    assert.equal((await rig.cli(['gc', '--help'])).code, 0);
  });
});

test('status --exit-code: 1 while anything is stale, 0 when up to date; plain status always 0', async () => {
  const rig = workspace();
  assert.equal((await rig.cli(['status'])).code, 0);
  const stale = await rig.cli(['status', '--exit-code']);
  assert.equal(stale.code, 1);
  assert.match(stale.stdout, /count +stale/);
  assert.equal((await rig.cli(['status', '--exit-code', '--json'])).code, 1);
  assert.equal((await rig.cli(['run'])).code, 0);
  assert.equal((await rig.cli(['status', '--exit-code'])).code, 0);
  assert.equal((await rig.cli(['status', '--exit-code', '-p', 'report.scale=2'])).code, 1);
});

test('gc --dry-run says what gc would remove and removes nothing', async () => {
  const rig = workspace();
  await rig.cli(['run']);
  await rig.cli(['run', '-p', 'report.scale=2']);
  await rig.cli(['run', '-p', 'report.scale=3']);
  const before = objects(rig);
  const dry = await rig.cli(['gc', '--keep-last', '1', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const d = lastJson<{ dry_run: boolean; removed: number; freed: number; runsDropped: number }>(dry.stdout);
  assert.equal(d.dry_run, true);
  assert.ok(d.removed > 0 && d.freed > 0, JSON.stringify(d));
  assert.equal(objects(rig), before, 'nothing removed');
  assert.equal(JSON.parse((await rig.cli(['runs', '--json'])).stdout).runs.length, 3, 'no run forgotten');
  assert.match((await rig.cli(['gc', '--keep-last', '1', '--dry-run'])).stdout, /^would remove \d+ objects, freeing .*\(dry run: nothing removed\)\n$/);
  const real = await rig.cli(['gc', '--keep-last', '1', '--json']);
  const g = lastJson<{ removed: number; freed: number; dry_run?: boolean }>(real.stdout);
  assert.equal(g.dry_run, undefined);
  assert.deepEqual([g.removed, g.freed], [d.removed, d.freed], 'the dry run predicted the real one');
  assert.equal(objects(rig), before - g.removed);
});

test('--json on dag, checkout and demo: one JSON object on stdout', async () => {
  const rig = workspace();
  const dag = await rig.cli(['dag', '--json']);
  assert.deepEqual(JSON.parse(dag.stdout), {
    stages: [{ name: 'count', cmd: 'mkdir -p out && cat data/*.txt | wc -c > out/count.txt && echo "$(grep scale $PIPELINE_PARAMS)" >> out/count.txt', deps: [], paths: ['data'], params: ['report'], outs: ['out/count.txt'], on_error: 'fail' }],
  });
  const run = lastJson<{ run: string }>((await rig.cli(['run', '--json'])).stdout).run;
  const co = await rig.cli(['checkout', 'latest', '--to', 'snap', '--json']);
  assert.equal(co.code, 0, co.stderr);
  assert.equal(co.stdout.trim().split('\n').length, 1);
  const c = JSON.parse(co.stdout) as { run: string; written: number; stages: Array<{ name: string; files: number }> };
  assert.equal(c.run, run);
  assert.deepEqual(c.stages.map((s) => [s.name, s.files]), [['count', 1]]);
  assert.ok(existsSync(rig.path('snap/count/out/count.txt')));
  // demo in the package's own workspace (its conf has the dataset section), written into the rig
  const demo = await rig.cli(['demo', '-C', PACKAGE_ROOT, '--to', rig.path('demo'), '--json', '-p', 'dataset.movies=2']);
  assert.equal(demo.code, 0, demo.stderr);
  assert.deepEqual(JSON.parse(demo.stdout), { movies: 2, frames: (JSON.parse(demo.stdout) as { frames: number }).frames, to: rig.path('demo') });
  assert.equal(readdirSync(rig.path('demo/meta')).length, 2);
});

test('ProgressEta: ETA from the rate since a phase began; a new phase restarts it', () => {
  const eta = new ProgressEta();
  assert.deepEqual(eta.update('train', 0.5, 10, 1000), {});
  assert.deepEqual(eta.update('train', 1.5, 10, 3000), { seconds: 17 }); // 1 epoch per 2 s, 8.5 left
  assert.deepEqual(eta.update('train', 0.25, 10, 4000), {}, 'done went back: the baseline model starts');
  assert.deepEqual(eta.update('train', 0.75, 10, 5000), { seconds: 18.5 });
  assert.deepEqual(eta.update('train', 1, 5, 6000), {}, 'another total: another phase');
});

test('the plain presenter shows the ETA of training progress', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = plainPresenter(out, 0);
  p.listener({ type: 'stage-start', stage: 'train', total: 0 } as never);
  p.listener({ type: 'progress', stage: 'train', update: { done: 0.5, total: 24, message: 'reference epoch 1/24 batch 1/2 loss 0.700' } } as never);
  await new Promise((r) => setTimeout(r, 20));
  p.listener({ type: 'progress', stage: 'train', update: { done: 1, total: 24, message: 'reference epoch 1/24 loss 0.690' } } as never);
  assert.match(text, /train: reference epoch 1\/24 loss 0\.690 \(ETA \d+(\.\d)?s\)\n/);
});

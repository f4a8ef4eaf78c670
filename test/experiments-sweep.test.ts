// Sweeps through the real CLI on a tiny demo: a 2x2 grid, each combination a run record with
// its params, shared stages computed once; the same command again skips what finished; then
// the diffs of two of its runs (params diff, plots diff). Interrupted sweeps: experiments-lock.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PACKAGE_ROOT, Rig, lastJson } from './helpers/rig.js';
import { TINY_DEMO_CONF } from '../fixtures-lib/experiment-runs.js';

interface SweepJson {
  ok: boolean;
  runs: Array<{ run: string; params: Record<string, unknown>; ok: boolean; headline: { name: string; value: number } | null; resumed?: boolean }>;
}

let rig: Rig;
before(() => {
  rig = Rig.create({
    'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
    'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
    'conf/tiny.yaml': TINY_DEMO_CONF,
  });
});
after(() => rig.cleanup());

const SWEEP = ['run', '--conf', 'conf/tiny.yaml', '-S', 'train.lr=0.001,0.01', '-S', 'metrics.threshold=0.4,0.5', '--json'];

describe('sweep', () => {
  let sweep: SweepJson;
  it('runs the 2x2 grid: four records with their params, shared stages computed once', async () => {
    const r = await rig.cli(SWEEP);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one JSON object, nothing else');
    sweep = lastJson<SweepJson>(r.stdout);
    assert.equal(sweep.ok, true);
    assert.deepEqual(
      sweep.runs.map((x) => x.params),
      [
        { 'train.lr': 0.001, 'metrics.threshold': 0.4 },
        { 'train.lr': 0.001, 'metrics.threshold': 0.5 },
        { 'train.lr': 0.01, 'metrics.threshold': 0.4 },
        { 'train.lr': 0.01, 'metrics.threshold': 0.5 },
      ],
    );
    assert.equal(new Set(sweep.runs.map((x) => x.run)).size, 4);
    for (const x of sweep.runs) {
      assert.equal(x.ok, true);
      assert.equal(x.headline?.name, 'mAP');
      const show = JSON.parse((await rig.cli(['show', x.run, '--json'])).stdout) as { record: { params: { train: { lr: number }; metrics: { threshold: number } } } };
      assert.equal(show.record.params.train.lr, x.params['train.lr']);
      assert.equal(show.record.params.metrics.threshold, x.params['metrics.threshold']);
    }
    const runs = JSON.parse((await rig.cli(['runs', '--json'])).stdout) as { runs: Array<{ id: string; ran: string[] }> };
    assert.deepEqual(runs.runs.map((x) => x.id), sweep.runs.map((x) => x.run));
    const ranIn = (stage: string): number => runs.runs.filter((x) => x.ran.includes(stage)).length;
    assert.equal(ranIn('frames'), 1, 'frames computed once for the four');
    assert.equal(ranIn('embed'), 1);
    assert.equal(ranIn('train'), 2, 'one training per learning rate');
    assert.equal(ranIn('metrics'), 4);
    const lock = parse(rig.read('pipeline.lock')) as { params: { train: { lr: number }; metrics: { threshold: number } } };
    assert.deepEqual([lock.params.train.lr, lock.params.metrics.threshold], [0.01, 0.5], 'the lock holds the last combination');
  });

  it('the same command again skips every finished combination', async () => {
    const r = await rig.cli(SWEEP);
    assert.equal(r.code, 0, r.stderr);
    const again = lastJson<SweepJson>(r.stdout);
    assert.deepEqual(again.runs.map((x) => x.run), sweep.runs.map((x) => x.run));
    assert.ok(again.runs.every((x) => x.resumed === true));
    const runs = JSON.parse((await rig.cli(['runs', '--json'])).stdout) as { runs: unknown[] };
    assert.equal(runs.runs.length, 4, 'no new run records');

    const table = JSON.parse((await rig.cli(['runs', '--table', '--json', '--sort', 'train.lr'])).stdout) as { columns: Array<{ key: string; kind: string }> };
    assert.deepEqual(table.columns.filter((c) => c.kind === 'param').map((c) => c.key), ['metrics.threshold', 'train.lr']);
  });

  it('params diff and plots diff compare two of its runs', async () => {
    const [a, , c] = sweep.runs;
    const pd = await rig.cli(['params', 'diff', a!.run, c!.run, '--json']);
    assert.equal(pd.code, 0, pd.stderr);
    assert.deepEqual(JSON.parse(pd.stdout), { a: a!.run, b: c!.run, changed: [{ key: 'train.lr', a: 0.001, b: 0.01 }] });
    const ws = await rig.cli(['params', 'diff', '--conf', 'conf/tiny.yaml']);
    assert.equal(ws.stdout, `params: ${sweep.runs[3]!.run} -> workspace\n  train.lr: 0.01 -> 0.001\n`);

    const plots = await rig.cli(['plots', 'diff', a!.run, c!.run, '--to', 'cmp', '--genre', 'Drama', '--json']);
    assert.equal(plots.code, 0, plots.stderr);
    const out = JSON.parse(plots.stdout) as { files: string[]; genre: string };
    assert.equal(out.genre, 'Drama');
    const names = out.files.map((f) => f.slice(f.lastIndexOf('/') + 1)).sort();
    assert.deepEqual(names, ['ap-bars.png', 'ap-bars.svg', 'pr-Drama.png', 'pr-Drama.svg', 'training.png', 'training.svg']);
    const svg = rig.read('cmp/ap-bars.svg');
    assert.ok(svg.includes(`${a!.run.slice(0, 8)} train.lr=0.001`) && svg.includes(`${c!.run.slice(0, 8)} train.lr=0.01`));
    assert.ok(readFileSync(rig.path('cmp/training.png')).subarray(1, 4).equals(Buffer.from('PNG')));
    assert.ok(existsSync(rig.path('cmp/pr-Drama.png')));

    const bad = await rig.cli(['plots', 'diff', a!.run, c!.run, '--genre', 'drama']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no genre 'drama'.*did you mean 'Drama'/);
  });

  it('bad -S options are errors that name them', async () => {
    const typo = await rig.cli(['run', '-S', 'train.lrr=1,2']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /-S train\.lrr: unknown parameter 'train\.lrr' \(did you mean 'train\.lr'\?\)/);
    const type = await rig.cli(['run', '-S', 'train.lr=fast,0.1']);
    assert.match(type.stderr, /expects a number/);
    const forced = await rig.cli(['run', '--force', '-S', 'train.lr=1,2']);
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /--force does not combine with -S/);
  });
});

// The runs table (src/experiments/table.ts) over runs recorded through the real store and run
// index, and `pipeline runs --table` in its four formats (CSV parsed back with csv-parse).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { buildRunsTable, sortRows } from '../src/experiments/table.js';
import { csvLine } from '../src/experiments/table-format.js';
import { addFakeRun, openFake } from '../fixtures-lib/experiment-runs.js';
import { Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

function workspace(): { rig: Rig; ids: string[] } {
  const rig = Rig.create({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: "true"\n    outs: [out]\n', 'conf/default.yaml': 'a: 1\n' });
  rigs.push(rig);
  const ws = openFake(rig.path('cache'));
  const ids = [
    addFakeRun(ws, { lr: 0.001, length: 64, mAP: 0.5 }, 1),
    addFakeRun(ws, { lr: 0.0003, length: 64, mAP: 0.7 }, 2),
    addFakeRun(ws, { lr: 0.001, length: 128, mAP: null }, 3),
    addFakeRun(ws, { lr: 0.001, length: 64, mAP: 0.5 }, 4), // same results as the first
    addFakeRun(ws, { lr: 0.01, length: 64, mAP: 0.6, ok: false }, 5),
  ];
  ws.close();
  return { rig, ids };
}

describe('runs table', () => {
  it('has a column per differing param and per metric, marks identical results, sorts', async () => {
    const { rig, ids } = workspace();
    const ws = openFake(rig.path('cache'));
    try {
      const t = await buildRunsTable(ws);
      assert.deepEqual(
        t.columns.map((c) => c.key),
        ['run', 'time', 'ok', 'fixlen.length', 'train.lr', 'mAP', 'baseline_mAP', 'micro_ap', 'micro_f1', 'macro_f1', 'weighted_f1'],
      );
      assert.deepEqual(t.rows.map((r) => r.run), ids, 'oldest first');
      assert.deepEqual(t.rows[1]!.params, { 'fixlen.length': 64, 'train.lr': 0.0003 });
      assert.equal(t.rows[1]!.metrics.mAP, 0.7);
      assert.equal(t.rows[2]!.metrics.mAP, null);
      assert.equal(t.rows[4]!.ok, false);
      assert.notEqual(ids[0], ids[3], 'timing files make the run ids differ');
      assert.equal(t.rows[0]!.identical, ids[0]);
      assert.equal(t.rows[3]!.identical, ids[0]);
      assert.equal(t.rows[1]!.identical, undefined);

      const byMap = await buildRunsTable(ws, { sort: 'mAP' });
      assert.deepEqual(byMap.rows.map((r) => r.metrics.mAP), [0.7, 0.6, 0.5, 0.5, null], 'metrics sort best first, n/a last');
      const asc = sortRows(t.rows, t.columns, 'mAP:asc');
      assert.deepEqual(asc.map((r) => r.metrics.mAP), [0.5, 0.5, 0.6, 0.7, null]);
      assert.deepEqual(sortRows(t.rows, t.columns, 'train.lr').map((r) => r.params['train.lr']), [0.0003, 0.001, 0.001, 0.001, 0.01]);
      assert.deepEqual(sortRows(t.rows, t.columns, '-train.lr').map((r) => r.params['train.lr']), [0.01, 0.001, 0.001, 0.001, 0.0003]);
      await assert.rejects(buildRunsTable(ws, { sort: 'mAp2' }), /cannot sort by 'mAp2'.*did you mean 'mAP'/);
      assert.deepEqual(sortRows(t.rows, t.columns, 'state').map((r) => r.ok), [false, true, true, true, true], 'by a label too');

      const two = await buildRunsTable(ws, { runs: [ids[0]!.slice(0, 7), ids[3]!] });
      assert.deepEqual(two.columns.filter((c) => c.kind === 'param'), [], 'no param differs between these two');
      const g = await buildRunsTable(ws, { detail: true, limit: 2 });
      assert.deepEqual(g.rows.map((r) => r.run), ids.slice(3));
      assert.ok(g.columns.some((c) => c.key === 'ap.Drama' && c.label === 'AP Drama'));
    } finally {
      ws.close();
    }
  });

  it('pipeline runs --table prints JSON, CSV (parsed back), Markdown and text', async () => {
    const { rig, ids } = workspace();
    const j = await rig.cli(['runs', '--table', '--json', '--sort', 'mAP']);
    assert.equal(j.code, 0, j.stderr);
    const table = JSON.parse(j.stdout) as { columns: Array<{ key: string }>; rows: Array<{ run: string }> };
    assert.equal(table.rows[0]!.run, ids[1]);

    const c = await rig.cli(['runs', '--table', '--csv', '--genres', '--sort=-train.lr']);
    assert.equal(c.code, 0, c.stderr);
    const rows = parse(c.stdout, { columns: true }) as Array<Record<string, string>>;
    assert.equal(rows.length, 5);
    assert.equal(rows[0]!.run, ids[4]);
    assert.equal(rows[0]!.state, 'failed');
    assert.equal(rows[0]!['train.lr'], '0.01');
    assert.equal(rows.find((r) => r.run === ids[2])!.mAP, '', 'n/a is an empty cell');
    assert.ok('AP Drama' in rows[0]!);
    assert.equal(rows.find((r) => r.run === ids[3])!.identical, ids[0]);

    const tricky = ['a,b', 'say "hi"', 'two\nlines', '[0.7,0.1,0.2]', ''];
    assert.deepEqual(parse(csvLine(tricky) + csvLine(['x', 'y', 'z', 'w', 'v'])), [tricky, ['x', 'y', 'z', 'w', 'v']]);

    const md = await rig.cli(['runs', '--table', '--md', ids[0]!, ids[1]!]);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^\| run \| time \| state \| train\.lr \| mAP \|/);
    assert.equal(md.stdout.trim().split('\n').length, 4);

    const txt = await rig.cli(['runs', '--table', ids[0]!, ids[3]!, ids[1]!]);
    assert.equal(txt.code, 0, txt.stderr);
    assert.match(txt.stdout, new RegExp(`^${ids[3]}.*= ${ids[0]!.slice(0, 8)}$`, 'm'));
    assert.doesNotMatch(txt.stdout, new RegExp(`^${ids[1]}.*=`, 'm'));
    const latest = await rig.cli(['runs', '--table', '-n', '2', '--json']);
    assert.deepEqual((JSON.parse(latest.stdout) as { rows: Array<{ run: string }> }).rows.map((r) => r.run), ids.slice(3));

    const bad = await rig.cli(['runs', '--table', '--sort', 'nope']);
    assert.equal(bad.code, 2, 'a bad --sort column is a usage error');
    assert.match(bad.stderr, /cannot sort by 'nope'/);
  });
});

// matrix: stages. Expansion (names, deps, outs, each variant's own values) and its errors with
// pipeline.yaml:line:col, then a real tiny demo run of two models side by side: the variants'
// records, the comparison, the runs table, pipeline.lock and reproduce.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadProject } from '../src/spec.js';
import { ConfigError } from '../src/diagnostics.js';
import { PACKAGE_ROOT, Rig, lastJson } from './helpers/rig.js';
import { TINY_DEMO_CONF } from '../fixtures-lib/experiment-runs.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

const CONF = readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8');

function pipeline(trainExtra: string[], extraStages: string[] = []): string {
  return [
    'stages:',
    '  frames: {uses: frames, params: [dataset, frames]}',
    '  labels: {uses: labels, deps: [frames], params: [dataset, labels]}',
    '  embed: {uses: embed, deps: [frames], params: [embed, dataset.root]}',
    '  fixlen: {uses: fixlen, deps: [embed], params: [fixlen]}',
    '  train:',
    '    uses: train',
    '    deps: [fixlen, labels]',
    '    params: [train]',
    ...trainExtra.map((l) => `    ${l}`),
    '  metrics: {uses: metrics, deps: [train, fixlen, labels], params: [metrics]}',
    ...extraStages,
    '',
  ].join('\n');
}

function workspace(spec: string): Rig {
  const rig = Rig.create({ 'pipeline.yaml': spec, 'conf/default.yaml': CONF, 'conf/tiny.yaml': TINY_DEMO_CONF });
  rigs.push(rig);
  return rig;
}

function errorsOf(rig: Rig): string[] {
  try {
    loadProject({ root: rig.dir });
  } catch (e) {
    if (e instanceof ConfigError) return e.diagnostics.map((d) => `${d.location ? `${d.location.line}:${d.location.col} ` : ''}${d.message}`);
    throw e;
  }
  return [];
}

describe('matrix expansion', () => {
  it('expands a matrix stage and everything downstream, each variant with its own values', () => {
    const rig = workspace(pipeline(['matrix: {train.model: [reference, gru], train.lr: [0.001, 0.01]}'], ['  report: {uses: metrics, deps: [metrics, train, fixlen, labels], params: [metrics], outs: [out/report]}']));
    const p = loadProject({ root: rig.dir });
    assert.deepEqual(p.order, [
      'frames', 'labels', 'embed', 'fixlen',
      'train@reference-0.001', 'train@reference-0.01', 'train@gru-0.001', 'train@gru-0.01',
      'metrics@reference-0.001', 'metrics@reference-0.01', 'metrics@gru-0.001', 'metrics@gru-0.01',
      'report@reference-0.001', 'report@reference-0.01', 'report@gru-0.001', 'report@gru-0.01',
    ]);
    const t = p.stages.get('train@gru-0.01')!;
    assert.deepEqual(t.set, { 'train.model': 'gru', 'train.lr': 0.01 });
    assert.deepEqual(t.matrix, { of: 'train', values: { 'train.model': 'gru', 'train.lr': 0.01 } });
    assert.deepEqual(t.outs, ['outputs/train@gru-0.01']);
    const m = p.stages.get('metrics@gru-0.01')!;
    assert.deepEqual(m.stageDeps, ['train@gru-0.01', 'fixlen', 'labels']);
    assert.deepEqual(m.set, { 'train.model': 'gru', 'train.lr': 0.01 }, 'downstream variants inherit the values');
    assert.deepEqual(p.stages.get('report@gru-0.001')!.outs, ['out/report@gru-0.001']);
    assert.deepEqual(p.stages.get('report@gru-0.001')!.stageDeps, ['metrics@gru-0.001', 'train@gru-0.001', 'fixlen', 'labels']);
    assert.deepEqual(p.stages.get('report@gru-0.001')!.ports, { model: 'train@gru-0.001', features: 'fixlen', labels: 'labels' });
    assert.equal(p.stages.get('fixlen')!.set, undefined);
  });

  it('reports every matrix error at once with pipeline.yaml:line:col', async () => {
    const rig = workspace(
      pipeline(
        ['matrix: {train.modl: [a], metrics.threshold: [0.5], train.lr: [0.1, fast, 0.1], train: [1]}'],
      ),
    );
    const errs = errorsOf(rig);
    assert.deepEqual(errs, [
      "10:14 matrix key 'train.modl' is not a parameter (did you mean 'train.model'?)",
      "10:31 matrix key 'metrics.threshold' is not among stage 'train''s params, so no variant would differ",
      "10:73 matrix value \"fast\" for 'train.lr': expected a number (default 0.001)",
      "10:79 matrix value 0.1 for 'train.lr' is listed twice",
      "10:85 matrix key 'train' is a section; give one of its keys (e.g. train.model)",
    ]);
    const cli = await rig.cli(['dag']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /pipeline\.yaml:10:14/);
    assert.match(cli.stderr, /did you mean 'train\.model'/);

    const down = workspace(pipeline(['matrix: {train.model: [reference, gru]}'], ['  cloud:', '    cmd: echo hi > out/cloud.txt', '    deps: [metrics]', '    outs: [out/cloud.txt]']));
    assert.deepEqual(errorsOf(down), [
      "12:3 cmd stage 'cloud' depends on matrix stage 'train' and would run once per variant, but its outs are fixed paths that every variant would write",
    ]);
    const rig2 = workspace(pipeline(['matrix: {train.model: []}']));
    const e2 = await rig2.cli(['dag']);
    assert.equal(e2.code, 2);
    assert.match(e2.stderr, /pipeline\.yaml:10:\d+/);
    const rig3 = workspace(pipeline([], ['  cloud:', '    cmd: echo hi > out/c.txt', '    outs: [out/c.txt]', '    matrix: {train.model: [a, b]}']));
    assert.deepEqual(errorsOf(rig3), ["14:5 cmd stage 'cloud' cannot have a matrix: its outs are fixed paths that every variant would write"]);
  });
});

describe('matrix run', () => {
  it('two models in one DAG: variants run side by side, recorded, compared, locked and reproduced', async () => {
    const rig = workspace(pipeline(['matrix: {train.model: [reference, mean_mlp]}']));
    const dag = await rig.cli(['dag']);
    assert.equal(dag.code, 0, dag.stderr);
    assert.match(dag.stdout, /train@reference +<- fixlen, labels/);
    assert.match(dag.stdout, /metrics@mean_mlp +<- train@mean_mlp, fixlen, labels/);
    const mermaid = (await rig.cli(['dag', '--mermaid'])).stdout;
    assert.match(mermaid, /\n {2}train_mean_mlp\["train@mean_mlp<br\/>/);
    assert.match(mermaid, /\n {2}train_mean_mlp --> metrics_mean_mlp\n/);

    const r = await rig.cli(['run', '--conf', 'conf/tiny.yaml']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /side by side \(test mAP, best first[^\n]*\n {2}metrics@\S+ +mAP \d\.\d{3}.*\[train\.model=\w+\]\n {2}metrics@/);
    const md = rig.read('outputs/metrics-matrix.md');
    assert.match(md, /\| \| metrics@reference<br>train\.model=reference \| metrics@mean_mlp<br>train\.model=mean_mlp \|/);
    assert.match(md, /\| AP Drama \|/);
    assert.ok(existsSync(rig.path('outputs/metrics@mean_mlp/metrics.md')));
    assert.ok(existsSync(rig.path('outputs/train@reference/model/model.json')));

    const show = JSON.parse((await rig.cli(['show', 'latest', '--json'])).stdout) as {
      id: string;
      record: { stages: Record<string, { set?: object; fp: { params: Record<string, unknown> } }> };
    };
    assert.deepEqual(show.record.stages['train@mean_mlp']!.set, { 'train.model': 'mean_mlp' });
    assert.equal(show.record.stages['train@mean_mlp']!.fp.params['train.model'], 'mean_mlp', 'the value reaches the fingerprint');
    assert.equal(show.record.stages['train@reference']!.fp.params['train.model'], 'reference');

    const table = JSON.parse((await rig.cli(['runs', '--table', '--json'])).stdout) as { columns: Array<{ key: string }>; rows: Array<{ metrics: Record<string, number> }> };
    const keys = table.columns.map((c) => c.key);
    assert.ok(keys.includes('metrics@reference/mAP') && keys.includes('metrics@mean_mlp/weighted_f1'), keys.join(', '));

    const lock = parse(rig.read('pipeline.lock')) as { stages: Record<string, { set?: object; params: Record<string, unknown> }> };
    assert.deepEqual(lock.stages['train@mean_mlp']!.set, { 'train.model': 'mean_mlp' });

    const rep = await rig.cli(['reproduce', 'latest', '--json']);
    assert.equal(rep.code, 0, rep.stderr + rep.stdout);
    assert.equal(lastJson<{ identical: boolean }>(rep.stdout).identical, true);
  });
});

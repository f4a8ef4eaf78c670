// Trained models load without this project's code: model/model.json in stock @tensorflow/tfjs
// (tf.loadLayersModel, no custom class registered) and model.onnx in onnxruntime-node, both in
// a child process that imports nothing of the project (test/fixtures/interop/score-stock.mjs),
// and both score as the project's own loader does (the one the metrics stage uses).
//
// Covered: all six model kinds (reference, bilstm_maxpool, bilstm_meanmax, gru, mean_mlp,
// transformer), in both. And through the CLI, a tiny demo run's outputs/train/model.onnx and
// model/model.json (and the baseline's) reproduce outputs/metrics/predictions.npy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeNpy } from '../src/npy.js';
import { type ModelParams, loadGenreModel, resolveInDirectory } from '../stages/models/api.js';
import { fitModel } from '../stages/models/fit.js';
import { writeModelFiles } from '../stages/models/io.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { PACKAGE_ROOT, Rig, lastJson } from './helpers/rig.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';
import { fitData, fitOptions, quietHooks, syntheticMovies } from './helpers/train-data.js';

const SCRIPT = join(PACKAGE_ROOT, 'test', 'fixtures', 'interop', 'score-stock.mjs');
const SHAPE = { length: 10, width: 16 };
const MODELS = ['reference', 'bilstm_maxpool', 'bilstm_meanmax', 'gru', 'mean_mlp', 'transformer'];

interface Scored {
  tfjs?: number[] | { error: string };
  onnx?: number[] | { error: string };
  onnxNames?: { input: string[]; output: string[] };
}

/** Runs the stock-only scorer in a child process (cwd: the package, so that it finds node_modules). */
function scoreStock(dir: string, job: object): Record<string, Scored> {
  const jobFile = join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const r = spawnSync(process.execPath, [SCRIPT, jobFile], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, Scored>;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function values(s: number[] | { error: string } | undefined, what: string): number[] {
  assert.ok(Array.isArray(s), `${what}: ${JSON.stringify(s)}`);
  return s;
}

describe('interop: trained models load in stock tfjs and ONNX Runtime', () => {
  const temp = new TempFolders();
  const rigs: Rig[] = [];
  before(async () => {
    await activateBackend(resolveBackend('auto'));
  });
  after(() => {
    temp.cleanup();
    for (const r of rigs) r.cleanup();
  });

  it('every model kind: stock tfjs and ONNX score as the project loader', async () => {
    const dir = temp.dir('interop-');
    const s = syntheticMovies({ movies: 30, ...SHAPE, genres: 3, frames: 6, seed: 3, signal: 2 });
    const data = fitData(s);
    const params: ModelParams = { hidden: 8, layers: 1, bidirectional: true, dropout: 0.1, maxPooling: 4, heads: 2, rnn: 'fast' };
    const expected = new Map<string, Float32Array>();
    const models: object[] = [];
    for (const name of MODELS) {
      const r = await fitModel(data, fitOptions(name, params, { epochs: 2 }), quietHooks);
      assert.ok(r.onnx !== undefined, `${name}: the fit result has an ONNX model`);
      const root = join(dir, name);
      writeModelFiles(join(root, 'model'), r.files);
      writeFileSync(join(root, 'model.onnx'), r.onnx);
      const classes = (JSON.parse(Buffer.from(r.files['model.json']!).toString('utf8')) as { modelTopology: { config: { layers: Array<{ class_name: string }> } } })
        .modelTopology.config.layers.map((l) => l.class_name);
      for (const c of classes) assert.doesNotMatch(c, /^(Pipeline|Fast|Position|Transformer)/, `${name}: model.json names the project class ${c}`);
      assert.doesNotMatch(Buffer.from(r.files['model.json']!).toString('utf8'), /Pipeline[A-Z]/, `${name}: no project class anywhere (initialisers included)`);
      // The transformer's stock copy splits its attention per head: its own format stays beside it.
      assert.equal(r.files['pipeline-model.json'] !== undefined, name === 'transformer', `${name}: ${Object.keys(r.files).join(', ')}`);
      const loaded = await loadGenreModel(resolveInDirectory(root));
      expected.set(name, await loaded.predict(data.val.x, data.val.n));
      loaded.dispose();
      models.push({ name, tfjs: join(root, 'model'), onnx: join(root, 'model.onnx'), input: 'val' });
    }
    const xFile = join(dir, 'val.f32');
    writeFileSync(xFile, data.val.x);
    const got = scoreStock(dir, { inputs: { val: { x: xFile, shape: [data.val.n, SHAPE.length, SHAPE.width] } }, models });
    for (const name of MODELS) {
      const want = expected.get(name)!;
      const r = got[name]!;
      assert.deepEqual(r.onnxNames, { input: ['features'], output: ['probabilities'] });
      assert.ok(maxDiff(values(r.onnx, `${name} onnx`), want) <= 1e-5, `${name}: ONNX Runtime differs by ${maxDiff(values(r.onnx, name), want)}`);
      assert.ok(maxDiff(values(r.tfjs, `${name} tfjs`), want) <= 1e-5, `${name}: stock tfjs differs by ${maxDiff(values(r.tfjs, name), want)}`);
    }
  });

  it('a tiny demo run: outputs/train/model.onnx and model/model.json reproduce predictions.npy to 1e-5', async () => {
    const rig = Rig.create({
      'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
      'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
    });
    rigs.push(rig);
    const run = await rig.cli(['run', '--json', '-p', 'dataset.movies=16', '-p', 'train.epochs=3', '-p', 'train.hidden=16', '-p', 'fixlen.length=32']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(lastJson<{ ok: boolean }>(run.stdout).ok, true);
    const ids = JSON.parse(rig.read('outputs/metrics/ids.json')) as string[];
    const arrays = ids.map((id) => decodeNpy(readFileSync(rig.path(`outputs/fixlen/${id}.npy`))));
    const [L, F] = arrays[0]!.shape as [number, number];
    const x = new Float32Array(ids.length * L * F);
    arrays.forEach((a, i) => x.set(a.data as Float32Array, i * L * F));
    writeFileSync(rig.path('x.f32'), x);
    const predictions = decodeNpy(readFileSync(rig.path('outputs/metrics/predictions.npy')));
    const got = scoreStock(rig.dir, {
      inputs: { test: { x: rig.path('x.f32'), shape: [ids.length, L, F] } },
      models: [
        { name: 'model', tfjs: rig.path('outputs/train/model'), onnx: rig.path('outputs/train/model.onnx'), input: 'test' },
        { name: 'baseline', tfjs: rig.path('outputs/train/baseline/model'), onnx: rig.path('outputs/train/baseline/model.onnx'), input: 'test' },
      ],
    });
    const want = predictions.data as Float32Array;
    assert.equal(want.length, ids.length * (JSON.parse(rig.read('outputs/labels/genres.json')) as string[]).length);
    assert.ok(maxDiff(values(got['model']!.onnx, 'onnx'), want) <= 1e-5, `ONNX differs from predictions.npy by ${maxDiff(values(got['model']!.onnx, 'onnx'), want)}`);
    assert.ok(maxDiff(values(got['model']!.tfjs, 'tfjs'), want) <= 1e-5, `stock tfjs differs from predictions.npy by ${maxDiff(values(got['model']!.tfjs, 'tfjs'), want)}`);
    // The baseline's files load the same way (its predictions are not in predictions.npy).
    values(got['baseline']!.onnx, 'baseline onnx');
    values(got['baseline']!.tfjs, 'baseline tfjs');
    assert.ok(maxDiff(got['baseline']!.onnx as number[], got['baseline']!.tfjs as number[]) <= 1e-5);
  });
});

// Every registered model: builds, learns a planted signal clearly above chance, saves in tfjs
// format and loads back (through loadGenreModel and through tf.loadLayersModel with the file
// handler) with identical predictions. The reference network's head is checked by hand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import { type ModelParams, loadGenreModel, resolveInDirectory } from '../stages/models/api.js';
import { fitModel } from '../stages/models/fit.js';
import { directoryHandler, writeModelFiles } from '../stages/models/io.js';
import { getModelFactory, loadModelRegistry } from '../stages/models/registry.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';
import { chanceMap, fitData, fitOptions, quietHooks, syntheticMovies, type Synthetic } from './helpers/train-data.js';

const SHAPE = { length: 10, width: 16 };
const PARAMS: ModelParams = { hidden: 8, layers: 1, bidirectional: true, dropout: 0.1, maxPooling: 4, heads: 2, rnn: 'fast' };

describe('genre models', () => {
  const temp = new TempFolders();
  let dir: string;
  let s: Synthetic;
  before(async () => {
    await activateBackend(resolveBackend('auto'));
    dir = temp.dir('train-models-');
    s = syntheticMovies({ movies: 80, ...SHAPE, genres: 3, frames: 6, seed: 7, signal: 2 });
  });
  after(() => temp.cleanup());

  it('registers one model per file, by name', async () => {
    assert.deepEqual([...(await loadModelRegistry()).keys()], ['bilstm_maxpool', 'bilstm_meanmax', 'gru', 'mean_mlp', 'reference', 'transformer']);
  });

  for (const name of ['reference', 'bilstm_maxpool', 'bilstm_meanmax', 'gru', 'mean_mlp', 'transformer']) {
    it(`${name}: learns clearly above chance, saves and loads back to the same predictions`, async () => {
      const data = fitData(s);
      const r = await fitModel(data, fitOptions(name, PARAMS), quietHooks);
      const chance = chanceMap(s, s.split.val);
      const best = Math.max(...r.history.epochs.map((e) => e.val_map!));
      assert.ok(best > chance + 0.25, `${name}: val mAP ${r.history.epochs.map((e) => e.val_map!.toFixed(3)).join(' ')}, chance ${chance.toFixed(3)}`);

      const root = join(dir, name);
      writeModelFiles(join(root, 'model'), r.files);
      const loaded = await loadGenreModel(resolveInDirectory(root));
      const plain = await tf.loadLayersModel(directoryHandler(join(root, 'model')));
      try {
        assert.equal(loaded.name, name);
        assert.deepEqual(loaded.genres, s.genres);
        const p1 = await loaded.predict(data.val.x, data.val.n);
        const p2 = (plain.predict(tf.tensor3d(data.val.x, [data.val.n, SHAPE.length, SHAPE.width])) as tf.Tensor).dataSync();
        // model.json holds stock tfjs layers (stages/models/stock-copy.ts) where the project
        // loader rebuilds the fast ones: the same weights, the same maths to rounding.
        assert.equal(p2.length, p1.length);
        p1.forEach((v, i) => assert.ok(Math.abs(v - p2[i]!) <= 1e-5, `${name}: prediction ${i}: ${v} against ${p2[i]}`));
        // The handler saves too: a copy written through it loads to the same predictions.
        await plain.save(directoryHandler(join(root, 'copy')));
        const copy = await tf.loadLayersModel(directoryHandler(join(root, 'copy')));
        assert.deepEqual([...(copy.predict(tf.tensor3d(data.val.x, [data.val.n, SHAPE.length, SHAPE.width])) as tf.Tensor).dataSync()], [...p2]);
        copy.dispose();
        assert.equal(p1.length, data.val.n * 3);
        // The saved weights are those of the selected epoch: its F1 comes back.
        assert.equal(r.info.selectedEpoch, r.history.selected.epoch);
      } finally {
        loaded.dispose();
        plain.dispose();
      }
    });
  }

  it('reference: LayerNorm over the whole [L,F] input, MaxPool over features, last step, Dense', async () => {
    const f = await getModelFactory('reference');
    const shape = { length: 5, width: 6, genres: 3 };
    const m = f.build({ shape, params: { ...PARAMS, hidden: 4, maxPooling: 2 }, loss: { name: 'bce' }, lr: 0.01, seed: 3 });
    try {
      const files = await m.save();
      const root = join(dir, 'ref-head');
      writeModelFiles(join(root, 'model'), files);
      writeFileSync(join(root, 'model', 'genre-model.json'), JSON.stringify({ format: 'pipeline-genre-model', version: 1, model: 'reference', params: PARAMS, genres: ['a', 'b', 'c'], inputLength: 5, inputWidth: 6, backend: 'wasm', loss: { name: 'bce' }, selectedEpoch: 1, selectionMetric: 'val_weighted_f1', selectionValue: 0 }));
      const net = await tf.loadLayersModel(directoryHandler(join(root, 'model')));
      const x = tf.randomNormal([2, 5, 6], 1, 3, 'float32', 5);
      const weightsOf = (layer: string): tf.Tensor[] => net.getLayer(layer).getWeights();
      // LayerNorm: statistics over all L*F values of each movie, affine of shape [L, F].
      const [gamma, beta] = weightsOf('layer_norm') as [tf.Tensor, tf.Tensor];
      assert.deepEqual(gamma.shape, [5, 6]);
      const lnOut = tf.model({ inputs: net.inputs, outputs: net.getLayer('layer_norm').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
      const xs = x.arraySync() as number[][][];
      const manual = xs.map((movie) => {
        const flat = movie.flat();
        const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
        const v = flat.reduce((a, b) => a + (b - mean) ** 2, 0) / flat.length;
        return movie.map((row) => row.map((val) => (val - mean) / Math.sqrt(v + 1e-5)));
      });
      const g = gamma.arraySync() as number[][];
      const b = beta.arraySync() as number[][];
      const got = lnOut.arraySync() as number[][][];
      manual.forEach((movie, i) => movie.forEach((row, t) => row.forEach((val, k) => assert.ok(Math.abs(got[i]![t]![k]! - (val * g[t]![k]! + b[t]![k]!)) < 1e-4))));
      // Head: the LSTM's output at the LAST time step, max over groups of 2 features, Dense, sigmoid.
      const seq = (tf.model({ inputs: net.inputs, outputs: net.getLayer('lstm_1').output as tf.SymbolicTensor }).predict(x) as tf.Tensor).arraySync() as number[][][];
      assert.equal(seq[0]![0]!.length, 8);
      const [k, bias] = weightsOf('fc').map((w) => w.arraySync()) as [number[][], number[]];
      assert.equal(k.length, 4);
      const probs = (net.predict(x) as tf.Tensor).arraySync() as number[][];
      seq.forEach((movie, i) => {
        const last = movie[4]!;
        const pooled = [0, 1, 2, 3].map((j) => Math.max(last[2 * j]!, last[2 * j + 1]!));
        bias.forEach((b0, c) => {
          const z = b0 + pooled.reduce((a, v, j) => a + v * k[j]![c]!, 0);
          assert.ok(Math.abs(probs[i]![c]! - 1 / (1 + Math.exp(-z))) < 1e-5);
        });
      });
      net.dispose();
    } finally {
      m.dispose();
    }
  });

  it('is built the same from the same seed, and differently from another', async () => {
    const f = await getModelFactory('transformer');
    const shape = { ...SHAPE, genres: 3 };
    const build = (seed: number): ReturnType<typeof f.build> => f.build({ shape, params: PARAMS, loss: { name: 'bce' }, lr: 0.01, seed });
    const [a, b, c] = [build(1), build(1), build(2)];
    try {
      const [wa, wb, wc] = await Promise.all([a.save(), b.save(), c.save()]);
      assert.deepEqual(wa['weights.bin'], wb['weights.bin']);
      assert.deepEqual(wa['model.json'], wb['model.json']);
      assert.notDeepEqual(wa['weights.bin'], wc['weights.bin']);
      // State round trip: c takes a's weights and predicts as a does.
      await c.setState(await a.getState(true));
      const x = new Float32Array(2 * SHAPE.length * SHAPE.width).map((_, i) => Math.cos(i));
      assert.deepEqual(await c.predict(x, 2), await a.predict(x, 2));
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  it('resolves backends: auto is wasm here, native ones are optional', () => {
    const auto = resolveBackend('auto');
    assert.equal(auto.name, 'wasm');
    assert.equal(auto.package, '@tensorflow/tfjs-backend-wasm');
    assert.equal(resolveBackend('cpu').name, 'cpu');
    assert.throws(() => resolveBackend('tpu'), /unknown backend 'tpu'/);
    assert.throws(() => resolveBackend('tensorflow-gpu'), /@tensorflow\/tfjs-node-gpu is not installed/);
  });
});

// train.rnn: onnx — the genre models' training steps with the LSTM layer in ONNX Runtime:
// the same gradients and steps as FastRecurrent, reproducible, saved and loaded like any model,
// wired into the train stage (fingerprint env, fallback for models it does not cover).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import { type ModelParams, type TrainableGenreModel, loadGenreModel, resolveInDirectory } from '../stages/models/api.js';
import { type FitData, type FitOptions, fitModel } from '../stages/models/fit.js';
import { directoryHandler, readHandler, writeModelFiles } from '../stages/models/io.js';
import { getModelFactory } from '../stages/models/registry.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { recurrent } from '../stages/nn/recurrent.js';
import { OnnxModelTrainer } from '../stages/nn/rnn/onnx/model-step.js';
import train from '../stages/train.js';
import { assertClose, randArray } from './helpers/rnn-reference.js';
import { abortOnProgress, logsOf, TempFolders } from '../fixtures-lib/stage-ctx.js';
import { chanceMap, fitData, fitOptions, quietHooks, storeSynthetic, syntheticMovies, trainContext, type Synthetic } from './helpers/train-data.js';

const SHAPE = { length: 10, width: 16, genres: 3 };
const PARAMS: ModelParams = { hidden: 6, layers: 1, bidirectional: true, dropout: 0.1, maxPooling: 3, heads: 2, rnn: 'onnx' };

function batch(n: number, seed: string): { x: Float32Array; y: Float32Array; n: number } {
  const x = randArray(n * SHAPE.length * SHAPE.width, `${seed}x`, 2);
  const y = Float32Array.from(randArray(n * SHAPE.genres, `${seed}y`), (v) => (v > 0.2 ? 1 : 0));
  return { x, y, n };
}

async function build(name: string, rnn: ModelParams['rnn'], lr = 0.01): Promise<TrainableGenreModel> {
  const f = await getModelFactory(name);
  return f.build({ shape: SHAPE, params: { ...PARAMS, rnn }, loss: { name: 'bce_pos_count', classWeights: [3, 1, 2] }, lr, seed: 4 });
}

/**
 * bilstm_maxpool (FastRecurrent, no dropout, seed 4) saved and loaded back as a plain tfjs model,
 * trained by `trainer` for three SGD steps (lr 0.1, log loss; the gradients' bits, unscaled) on
 * the `ln` batches; `each` runs around every step. Returns the model (the caller disposes it).
 */
async function lnSgdSteps(
  create: (model: tf.LayersModel) => Promise<OnnxModelTrainer>,
  use: (model: tf.LayersModel, trainer: OnnxModelTrainer) => Promise<void>,
  each: (step: () => Promise<void>) => Promise<void> = (step) => step(),
): Promise<void> {
  const f = await getModelFactory('bilstm_maxpool');
  const m = f.build({ shape: SHAPE, params: { ...PARAMS, rnn: 'fast', dropout: 0 }, loss: { name: 'bce', classWeights: [1, 1, 1] }, lr: 0.01, seed: 4 });
  const files = await m.save('project');
  await m.dispose();
  const model = await tf.loadLayersModel(readHandler((rel) => files[rel]!));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.sgd(0.1);
  const trainer = await create(model);
  try {
    for (let s = 0; s < 3; s++) {
      const { x, y, n } = batch(5, `ln${s}`);
      const [xt, yt] = [tf.tensor3d(x, [n, SHAPE.length, SHAPE.width]), tf.tensor2d(y, [n, SHAPE.genres])];
      await each(async () => {
        await trainer.trainStep(xt, (o) => tf.losses.logLoss(yt, o) as tf.Scalar, opt, vars);
      });
      tf.dispose([xt, yt]);
    }
    await use(model, trainer);
  } finally {
    await trainer.release();
    opt.dispose();
    model.dispose();
  }
}

const weightsOf = async (m: TrainableGenreModel): Promise<Float32Array[]> => (await m.getState(false)).weights.map((w) => w.data);

describe('train.rnn onnx', () => {
  const temp = new TempFolders();
  before(async () => {
    await activateBackend(resolveBackend('wasm'));
  });
  after(() => temp.cleanup());

  it('reference network: OnnxModelTrainer gives the gradients of optimizer.minimize (SGD steps, every weight)', async () => {
    // The saved reference network (LayerNorm([L,F]) -> BiLSTM -> last step -> MaxPool -> Dense
    // -> sigmoid), loaded twice: one copy steps through tfjs autodiff, the other through ONNX.
    const m = await build('reference', 'fast');
    // The project's own format: OnnxModelTrainer needs the FastRecurrent layer (the default,
    // stock format saves it as tfjs-layers' LSTM).
    const files = await m.save('project');
    await m.dispose();
    const load = (): Promise<tf.LayersModel> => tf.loadLayersModel(readHandler((rel) => files[rel]!));
    const [a, b] = [await load(), await load()];
    // Non-trivial LayerNorm affine and LSTM bias, so that every gradient path carries signal.
    const init = a.getWeights().map((w, i) => tf.add(w, tf.tensor(randArray(w.size, `w${i}`, 0.2), w.shape)));
    a.setWeights(init);
    b.setWeights(init);
    const { x, y, n } = batch(5, 'g');
    const xt = tf.tensor3d(x, [n, SHAPE.length, SHAPE.width]);
    const yt = tf.tensor2d(y, [n, SHAPE.genres]);
    const loss = (out: tf.Tensor): tf.Scalar => tf.losses.logLoss(yt, out) as tf.Scalar;
    const vars = (model: tf.LayersModel): tf.Variable[] => model.trainableWeights.map((w) => w.read() as tf.Variable);
    const [optA, optB] = [tf.train.sgd(0.5), tf.train.sgd(0.5)];
    const trainer = await OnnxModelTrainer.create(b);
    try {
      for (let s = 0; s < 3; s++) {
        const la = tf.tidy(() => optA.minimize(() => loss(a.apply(xt, { training: true }) as tf.Tensor), true, vars(a))!.dataSync()[0]!);
        const lb = await trainer.trainStep(xt, loss, optB, vars(b));
        assert.ok(Math.abs(la - lb) <= 1e-5 * Math.abs(la), `step ${s}: loss ${lb} (onnx) vs ${la} (tfjs)`);
      }
      const wa = a.getWeights();
      assert.equal(wa.length, 10); // LayerNorm gamma, beta; LSTM 2 x (kernel, recurrent, bias); Dense kernel, bias
      b.getWeights().forEach((w, i) => {
        const name = b.weights[i]!.name;
        const moved = tf.max(tf.abs(tf.sub(w, init[i]!))).dataSync()[0]!;
        // The reference's quirk: at the last step the backward direction has seen one frame,
        // from a zero state, so its recurrent kernel gets no gradient. Every other weight moved.
        if (name.includes('backward/recurrent_kernel')) assert.equal(moved, 0, name);
        else assert.ok(moved > 1e-4, `${name} did not move`);
        // Both paths moved them alike.
        assertClose(w.dataSync() as Float32Array, wa[i]!.dataSync() as Float32Array, 1e-4, name);
      });
    } finally {
      await trainer.release();
      tf.dispose([xt, yt, ...init]);
      a.dispose();
      b.dispose();
    }
  });

  it('reference model: Adam steps through the model API match train.rnn fast', async () => {
    const [fast, onnx] = [await build('reference', 'fast', 1e-3), await build('reference', 'onnx', 1e-3)];
    try {
      // Same seed, same initial weights whichever implementation trains them.
      assert.deepEqual(await weightsOf(onnx), await weightsOf(fast));
      for (let s = 0; s < 4; s++) {
        const b = batch(6, `a${s}`);
        const [lf, lo] = [await fast.trainStep(b), await onnx.trainStep(b)];
        assert.ok(Math.abs(lf - lo) <= 1e-5 * Math.abs(lf), `step ${s}: loss ${lo} (onnx) vs ${lf} (fast)`);
      }
      // Adam normalises each update by the gradient's own size, so a weight whose gradient is
      // ~0 may move by up to lr either way on rounding alone: compare within a small part of lr.
      const [wf, wo] = [await weightsOf(fast), await weightsOf(onnx)];
      wf.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(wo[i]![j]! - v) <= 1e-5 + 1e-4 * Math.abs(v), `weight ${i}[${j}]: ${wo[i]![j]} vs ${v}`)));
      const x = batch(4, 'p').x;
      assertClose(await onnx.predict(x, 4), await fast.predict(x, 4), 1e-4, 'predictions after training');
    } finally {
      await fast.dispose();
      await onnx.dispose();
    }
  });

  it('bilstm_meanmax (a branch beside the LSTM, reading the raw input): Adam steps match train.rnn fast, every weight moves', async () => {
    // The frame LayerNorm (before the LSTM) learns only through the LSTM's input gradient; the
    // mean branch's LayerNorm and Dense learn in the head's pass. Both must get their gradients.
    const [fast, onnx] = [await build('bilstm_meanmax', 'fast', 1e-3), await build('bilstm_meanmax', 'onnx', 1e-3)];
    try {
      const init = await weightsOf(fast);
      assert.deepEqual(await weightsOf(onnx), init);
      for (let s = 0; s < 3; s++) {
        const b = batch(6, `mm${s}`);
        const [lf, lo] = [await fast.trainStep(b), await onnx.trainStep(b)];
        assert.ok(Math.abs(lf - lo) <= 1e-5 * Math.abs(lf), `step ${s}: loss ${lo} (onnx) vs ${lf} (fast)`);
      }
      const names = (await onnx.getState(false)).weights.map((w) => w.name);
      const [wf, wo] = [await weightsOf(fast), await weightsOf(onnx)];
      wo.forEach((w, i) => {
        assert.ok(w.some((v, j) => v !== init[i]![j]), `${names[i]} did not move`);
        w.forEach((v, j) => assert.ok(Math.abs(v - wf[i]![j]!) <= 1e-5 + 1e-4 * Math.abs(wf[i]![j]!), `${names[i]}[${j}]: ${v} (onnx) vs ${wf[i]![j]} (fast)`));
      });
      assert.ok(names.some((n) => n.startsWith('frame_norm/')) && names.some((n) => n.startsWith('mean_norm/')) && names.some((n) => n.startsWith('mean_hidden/')), names.join(' '));
    } finally {
      await fast.dispose();
      await onnx.dispose();
    }
  });

  it('bilstm_maxpool: its LayerNorm run apart (forward once, weight gradient from the input gradient) gives the bits of the whole-pre path', async () => {
    // One model, one initial state, two trainers: the LayerNorm fast path and the generic
    // vector-Jacobian product; SGD steps (the gradients' bits, unscaled) must leave byte-identical weights.
    const states: Float32Array[][] = [];
    for (const wholePre of [false, true]) {
      await lnSgdSteps(
        (model) => OnnxModelTrainer.create(model, { wholePre, foldNorm: false }),
        async (model) => {
          states.push(model.getWeights().map((w) => w.dataSync() as Float32Array));
          assert.ok(model.weights.some((w) => w.name.startsWith('frame_norm')));
        },
      );
    }
    states[0]!.forEach((w, i) => assert.ok(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(states[1]![i]!.buffer, states[1]![i]!.byteOffset, states[1]![i]!.byteLength)), `weight ${i} differs`));
  });

  it('bilstm_maxpool: its LayerNorm folded into the LSTM graphs trains as in tfjs (to rounding), with the same bits sequential or on two threads', async () => {
    // Three trainers from one initial state: the LayerNorm in tfjs (SplitLayer), folded into the
    // whole layer's graphs, folded into the two direction workers' graphs. SGD steps: the
    // gradients, unscaled. Folded, the LayerNorm's weights must move as in tfjs; the two folded
    // paths must agree to the bit (the same nodes on the same data, dgamma/dbeta added in float32).
    const states: Float32Array[][] = [];
    const names: string[] = [];
    for (const v of [{ foldNorm: false }, { foldNorm: true }, { foldNorm: true, parallelDirections: true }]) {
      await lnSgdSteps(
        (model) => OnnxModelTrainer.create(model, v),
        async (model, trainer) => {
          // Validation's forward too: the same probabilities either way (to rounding).
          const { x, n } = batch(3, 'lnv');
          const xt = tf.tensor3d(x, [n, SHAPE.length, SHAPE.width]);
          const p = await trainer.infer(xt, (o) => o);
          states.push([...model.getWeights().map((w) => w.dataSync() as Float32Array), p.dataSync() as Float32Array]);
          tf.dispose([xt, p]);
          if (names.length === 0) names.push(...model.weights.map((w) => w.name), 'validation output');
        },
        async (step) => {
          const before = tf.memory().numTensors;
          await step();
          assert.equal(tf.memory().numTensors, before, 'tensors left behind by a step');
        },
      );
    }
    const [tfjs, folded, parallel] = states as [Float32Array[], Float32Array[], Float32Array[]];
    const gamma = names.findIndex((n) => n.startsWith('frame_norm/gamma'));
    const beta = names.findIndex((n) => n.startsWith('frame_norm/beta'));
    assert.ok(gamma >= 0 && beta >= 0, names.join(' '));
    for (const i of [gamma, beta]) assert.ok(folded[i]!.some((v) => Math.abs(v - (i === gamma ? 1 : 0)) > 1e-6), `${names[i]} did not move`);
    folded.forEach((w, i) => {
      w.forEach((v, j) => assert.ok(Math.abs(v - tfjs[i]![j]!) <= 2e-5 + 1e-4 * Math.abs(tfjs[i]![j]!), `${names[i]}[${j}]: ${v} (folded) vs ${tfjs[i]![j]} (tfjs LayerNorm)`));
      assert.ok(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(parallel[i]!.buffer, parallel[i]!.byteOffset, parallel[i]!.byteLength)), `${names[i]}: the two folded paths differ`);
    });
  });

  it('evaluate (validation) runs the LSTM in ONNX Runtime: the probabilities and loss of the tfjs model, to rounding; no tensor left behind', async () => {
    for (const onnxParallel of [false, true]) {
      const f = await getModelFactory('bilstm_maxpool');
      const m = f.build({ shape: SHAPE, params: PARAMS, loss: { name: 'bce', classWeights: [1, 1, 1] }, lr: 0.01, seed: 4, onnxParallel });
      try {
        for (let s = 0; s < 2; s++) await m.trainStep(batch(4, `ev${s}`));
        const before = tf.memory().numTensors;
        // 3 rows: another batch size than training's.
        const b = batch(3, 'ev');
        const r = await m.evaluate(b);
        assert.equal(tf.memory().numTensors, before);
        assertClose(r.probabilities, await m.predict(b.x, b.n), 1e-5, `probabilities (onnx_parallel ${onnxParallel})`);
        const p = await m.predict(b.x, b.n);
        const bce = -Array.from(p).reduce((acc, q, i) => acc + (b.y[i]! * Math.log(q) + (1 - b.y[i]!) * Math.log(1 - q)), 0) / p.length;
        assert.ok(Math.abs(r.loss - bce) < 1e-4, `loss ${r.loss} against ${bce}`);
      } finally {
        await m.dispose();
      }
    }
  });

  it('bilstm_maxpool on two threads: steps told their next batch (its forward run ahead, LayerNorm weights held by the workers) give the bits of steps that are not, and of the sequential path', async () => {
    // Seven steps; the fifth names a batch that does not come next (that forward is dropped).
    const batches = Array.from({ length: 7 }, (_, s) => batch(4, `ah${s}`));
    const stray = batch(4, 'ah-stray');
    const runs: { weights: Float32Array[]; losses: number[]; val: Float32Array }[] = [];
    for (const v of [{ onnxParallel: false, ahead: false }, { onnxParallel: true, ahead: false }, { onnxParallel: true, ahead: true }]) {
      const f = await getModelFactory('bilstm_maxpool');
      const m = f.build({ shape: SHAPE, params: PARAMS, loss: { name: 'bce_pos_count', classWeights: [3, 1, 2] }, lr: 0.01, seed: 4, onnxParallel: v.onnxParallel });
      try {
        const before = (await m.getState(false)).weights.map((w) => w.data);
        const losses: number[] = [];
        let tensors = -1;
        for (let s = 0; s < batches.length; s++) {
          const next = !v.ahead || s + 1 === batches.length ? undefined : s === 4 ? stray : batches[s + 1];
          losses.push(await m.trainStep(batches[s]!, next));
          if (s === 1) tensors = tf.memory().numTensors;
        }
        assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
        const val = (await m.evaluate(batch(3, 'ah-val'))).probabilities;
        const weights = await weightsOf(m);
        // Every weight moved, the LayerNorm's too (updated by the workers when they hold it).
        weights.forEach((w, i) => assert.ok(w.some((x, j) => x !== before[i]![j]), `weight ${i} did not move`));
        runs.push({ weights, losses, val });
      } finally {
        await m.dispose();
      }
    }
    const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    for (const [i, r] of runs.slice(1).entries()) {
      assert.deepEqual(r.losses, runs[0]!.losses, `run ${i + 1}: losses`);
      r.weights.forEach((w, j) => assert.ok(same(w, runs[0]!.weights[j]!), `run ${i + 1}: weight ${j} differs`));
      assert.ok(same(r.val, runs[0]!.val), `run ${i + 1}: validation probabilities differ`);
    }
  });

  it('leaves no tensors behind, step after step', async () => {
    const m = await build('bilstm_maxpool', 'onnx');
    try {
      await m.trainStep(batch(4, 'm0'));
      const before = tf.memory().numTensors;
      for (let s = 1; s < 4; s++) await m.trainStep(batch(4, `m${s}`));
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await m.dispose();
    }
  });

  describe('trained with fitModel', () => {
    let dir: string;
    let s: Synthetic;
    let data: FitData;
    const options = (over: Partial<FitOptions> = {}): FitOptions => fitOptions('reference', PARAMS, { epochs: 6, batchSize: 8, ...over });
    before(() => {
      dir = temp.dir('train-onnx-');
      s = syntheticMovies({ movies: 60, length: SHAPE.length, width: SHAPE.width, genres: 3, frames: 6, seed: 7, signal: 2 });
      data = fitData(s);
    });

    it('learns, is byte-identical from the same seed, and saves a model that loads and predicts the same', async () => {
      const r1 = await fitModel(data, options(), quietHooks);
      const r2 = await fitModel(data, options(), quietHooks);
      assert.ok(Buffer.from(r1.files['weights.bin']!).equals(Buffer.from(r2.files['weights.bin']!)), 'weights differ between identical runs');
      assert.deepEqual(r1.history.epochs.map((e) => e.train_loss), r2.history.epochs.map((e) => e.train_loss));
      const chance = chanceMap(s, s.split.val);
      const best = Math.max(...r1.history.epochs.map((e) => e.val_map!));
      assert.ok(best > chance + 0.2, `val mAP ${r1.history.epochs.map((e) => e.val_map!.toFixed(3)).join(' ')}, chance ${chance.toFixed(3)}`);
      assert.equal(r1.info.params.rnn, 'onnx');

      const root = join(dir, 'onnx');
      writeModelFiles(join(root, 'model'), r1.files);
      const loaded = await loadGenreModel(resolveInDirectory(root));
      const plain = await tf.loadLayersModel(directoryHandler(join(root, 'model')));
      try {
        // The selected epoch's weights, read back: its validation F1 comes back exactly.
        const p = await loaded.predict(data.val.x, data.val.n);
        const q = (plain.predict(tf.tensor3d(data.val.x, [data.val.n, SHAPE.length, SHAPE.width])) as tf.Tensor).dataSync();
        // model.json holds stock tfjs-layers' LSTM (stock-copy.ts): the same weights and maths, to rounding.
        assert.equal(q.length, p.length);
        p.forEach((v, i) => assert.ok(Math.abs(v - q[i]!) <= 1e-5, `prediction ${i}: ${v} against ${q[i]}`));
        const { multiLabelMetrics } = await import('../stages/report/metrics-math.js');
        const m = multiLabelMetrics({ scores: p, targets: data.val.y, rows: data.val.n, cols: 3 }, 0.5);
        assert.equal(m.weightedF1, r1.history.selected.value);
      } finally {
        loaded.dispose();
        plain.dispose();
      }
    });

    it('train.onnx_parallel (the two directions on two threads) is speed only: byte-identical weights and history', async () => {
      // bilstm_maxpool has a LayerNorm before its LSTM (the input gradient: both directions'
      // terms summed); reference reads the last step. Both are bidirectional.
      for (const model of ['bilstm_maxpool', 'reference']) {
        const [seq, par] = [
          await fitModel(data, fitOptions(model, PARAMS, { epochs: 2, batchSize: 8, onnxParallel: false }), quietHooks),
          await fitModel(data, fitOptions(model, PARAMS, { epochs: 2, batchSize: 8, onnxParallel: true }), quietHooks),
        ];
        assert.ok(Buffer.from(seq.files['weights.bin']!).equals(Buffer.from(par.files['weights.bin']!)), `${model}: weights differ with onnx_parallel`);
        assert.deepEqual(par.history.epochs.map((e) => [e.train_loss, e.val_loss]), seq.history.epochs.map((e) => [e.train_loss, e.val_loss]));
      }
    });

    it('a different seed gives different weights; other thread counts train too', async () => {
      const base = await fitModel(data, options({ epochs: 1 }), quietHooks);
      const seeded = await fitModel(data, options({ epochs: 1, seed: 1 }), quietHooks);
      assert.ok(!Buffer.from(base.files['weights.bin']!).equals(Buffer.from(seeded.files['weights.bin']!)));
      const two = await fitModel(data, options({ epochs: 1, onnxThreads: 2 }), quietHooks);
      assert.ok(Math.abs(two.history.epochs[0]!.train_loss - base.history.epochs[0]!.train_loss) < 1e-4);
    });

    it('trains models it does not cover on FastRecurrent, and says so', async () => {
      const logs: string[] = [];
      const hooks = { ...quietHooks, log: (_: string, m: string): void => void logs.push(m) };
      await fitModel(data, options({ model: 'gru', label: 'gru', epochs: 1 }), hooks);
      await fitModel(data, options({ model: 'bilstm_maxpool', label: 'bilstm_maxpool', epochs: 1, params: { ...PARAMS, layers: 2 } }), hooks);
      await fitModel(data, options({ model: 'mean_mlp', label: 'mean_mlp', epochs: 1 }), hooks);
      assert.deepEqual(logs, [
        'gru: train.rnn onnx runs models with exactly one LSTM layer; gru has a GRU layer and trains with train.rnn fast',
        'bilstm_maxpool: train.rnn onnx runs models with exactly one LSTM layer; bilstm_maxpool has 2 recurrent layers and trains with train.rnn fast',
      ]);
    });
  });

  it('refuses a model with a random layer before its LSTM layer (two passes would draw two masks)', async () => {
    const input = tf.input({ shape: [4, 3] });
    let h = tf.layers.dropout({ rate: 0.5 }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 3 }).apply(h) as tf.SymbolicTensor;
    h = recurrent({ cell: 'lstm', units: 2, bidirectional: false, returnSequences: false }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    await assert.rejects(OnnxModelTrainer.create(model), /random layer \(dropout\w*\) before its LSTM layer/);
    model.dispose();
  });

  it('the train stage fingerprints onnxruntime with train.rnn onnx, and trains with it', async () => {
    const ws = temp.workspace('pipeline-train-onnx-');
    const d = syntheticMovies({ movies: 24, length: 8, width: 12, genres: 3, frames: 5, seed: 2 });
    const inputs = await storeSynthetic(ws, d);
    // The train section of the conf; keys it leaves out take their defaults.
    const params = { rnn: 'onnx', epochs: 2, hidden: 4, batch_size: 8, baseline: false };
    const env = (await train.env!(trainContext(ws, { train: params }, inputs))) as Record<string, string>;
    assert.match(env['onnxruntime'] ?? '', /^\d+\.\d+\.\d+/);
    const fastEnv = (await train.env!(trainContext(ws, { train: { ...params, rnn: 'fast' } }, inputs))) as Record<string, string>;
    assert.equal(fastEnv['onnxruntime'], undefined);
    const out = await train.run(trainContext(ws, { train: params }, inputs));
    assert.equal(out.meta!['epochs_run'], 2);
    const info = await ws.store.readJson<{ params: ModelParams }>(out.tree['model/genre-model.json']!);
    assert.equal(info.params.rnn, 'onnx');
    // Interrupted in epoch 2 and run again: resumes from the checkpoint (Adam's moments
    // included) to the very weights of the uninterrupted run.
    const ctx = trainContext(ws, { train: params }, inputs, abortOnProgress((m) => m.includes('epoch 2/2 batch 2/')));
    await assert.rejects(train.run(ctx), /interrupted at epoch 2/);
    const resumedCtx = trainContext(ws, { train: params }, inputs);
    const resumed = await train.run(resumedCtx);
    assert.ok(logsOf(resumedCtx).some((l) => l.includes('resuming after epoch 1')), logsOf(resumedCtx).join('\n'));
    assert.equal(resumed.tree['model/weights.bin'], out.tree['model/weights.bin']);
    await assert.rejects(train.run(trainContext(ws, { train: { ...params, rnn: 'cuda', onnx_threads: 0 } }, inputs)), (e: unknown) => {
      const m = (e as Error).message;
      return /train\.rnn must be one of fast, stock, onnx/.test(m) && /train\.onnx_threads must be an integer >= 1/.test(m);
    });
  });
});

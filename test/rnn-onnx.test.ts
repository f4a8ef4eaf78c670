// The ONNX Runtime LSTM path against tfjs-layers' LSTM on the cpu backend, against float64
// finite differences, for determinism, and in training with tfjs parts before and after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import { recurrent } from '../stages/nn/recurrent.js';
import { OnnxLstm, onnxTrainStep } from '../stages/nn/rnn/onnx/onnx-lstm.js';
import { assertClose, finiteDifferences, randArray, refForward, type Case } from './helpers/rnn-reference.js';

tf.env().set('PROD', true);

const CASES: Case[] = [false, true].flatMap((bidirectional) =>
  [false, true].map((returnSequences) => ({ cell: 'lstm' as const, bidirectional, returnSequences })),
);
const name = (c: Case): string => `bi=${c.bidirectional} seq=${c.returnSequences}`;

test('forward and gradients equal tfjs-layers LSTM (cpu backend)', async () => {
  await tf.setBackend('cpu');
  const [B, T, F, H] = [3, 6, 5, 4];
  const x = randArray(B * T * F, 'ox');
  for (const c of CASES) {
    const input = tf.input({ shape: [T, F] });
    const stock = tf.model({
      inputs: input,
      outputs: recurrent({ ...c, units: H, impl: 'stock', seed: 4 }).apply(input) as tf.SymbolicTensor,
    });
    stock.setWeights(stock.getWeights().map((w, i) => tf.tensor(randArray(w.size, `ow${i}`, 0.7), w.shape)));
    const rnn = await OnnxLstm.create({ ...c, units: H, features: F, steps: T, inputGradient: true });
    assert.deepEqual(rnn.weightShapes(), stock.getWeights().map((w) => w.shape));
    const weights = stock.getWeights().map((w) => w.dataSync() as Float32Array);
    const fwd = await rnn.forward(x, B, weights);
    const xt = tf.tensor3d(x, [B, T, F]);
    const ref = stock.predict(xt) as tf.Tensor;
    assert.deepEqual(fwd.outputShape, ref.shape);
    assertClose(fwd.output, ref.dataSync() as Float32Array, 1e-4, `${name(c)} output`);
    const r = tf.tensor(randArray(ref.size, 'oR'), ref.shape);
    const loss = (xIn: tf.Tensor): tf.Scalar => tf.sum(tf.mul(stock.apply(xIn) as tf.Tensor, r));
    const vars = stock.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => loss(xt), vars);
    const dx = tf.grad(loss)(xt);
    const back = await rnn.backward(x, B, weights, fwd, r.dataSync() as Float32Array);
    vars.forEach((v, i) => assertClose(back.grads[i]!, grads[v.name]!.dataSync() as Float32Array, 1e-4, `${name(c)} d${v.name}`));
    assertClose(back.dx!, dx.dataSync() as Float32Array, 1e-4, `${name(c)} dx`);
    await rnn.release();
    stock.dispose();
  }
});

test('gradients match float64 central finite differences', async () => {
  const [B, T, F, H] = [2, 4, 3, 3];
  for (const c of CASES) {
    const x = Float64Array.from(randArray(B * T * F, 'fx'));
    const dirs = c.bidirectional ? 2 : 1;
    const shapes = Array.from({ length: dirs }, () => [[F, 4 * H], [H, 4 * H], [4 * H]]).flat();
    const w = shapes.map((s, i) => Float64Array.from(randArray(s.reduce((a, b) => a * b, 1), `fw${i}`, 0.7)));
    const rnn = await OnnxLstm.create({ ...c, units: H, features: F, steps: T, inputGradient: true });
    const fwd = await rnn.forward(Float32Array.from(x), B, w.map((a) => Float32Array.from(a)));
    const r = randArray(fwd.output.length, 'fR');
    const back = await rnn.backward(Float32Array.from(x), B, w.map((a) => Float32Array.from(a)), fwd, r);
    const params = { x, w };
    const loss = (): number => refForward(c, params, [B, T, F], H).reduce((s, v, i) => s + v * r[i]!, 0);
    assertClose(back.dx!, finiteDifferences(x, loss), 1e-4, `${name(c)} dx`);
    w.forEach((arr, i) => assertClose(back.grads[i]!, finiteDifferences(arr, loss), 1e-4, `${name(c)} weight ${i}`));
    await rnn.release();
  }
});

test('two threads give byte-identical results, run after run', async () => {
  const [B, T, F, H] = [8, 10, 64, 32];
  const c = { bidirectional: true, returnSequences: true };
  const x = randArray(B * T * F, 'dx');
  const outs: Buffer[][] = [];
  for (let run = 0; run < 2; run++) {
    const rnn = await OnnxLstm.create({ ...c, units: H, features: F, steps: T, inputGradient: true, threads: 2 });
    const weights = rnn.weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `dw${i}`, 0.3));
    const fwd = await rnn.forward(x, B, weights);
    const back = await rnn.backward(x, B, weights, fwd, randArray(fwd.output.length, 'dR'));
    outs.push([fwd.output, back.dx!, ...back.grads].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    await rnn.release();
  }
  outs[0]!.forEach((b, i) => assert.ok(b.equals(outs[1]![i]!), `result ${i} differs between runs`));
});

test('onnxTrainStep trains pre (tfjs) -> LSTM (ONNX) -> head (tfjs) without diverging, reproducibly', async () => {
  await tf.setBackend('cpu');
  const [N, T, F, H, L] = [32, 8, 6, 10, 3];
  const xs = randArray(N * T * F, 'tx');
  const ys = new Float32Array(N * L);
  for (let i = 0; i < N; i++) for (let l = 0; l < L; l++) ys[i * L + l] = xs[(i * T + 1) * F + l]! + xs[(i * T + 2) * F + l]! > 0 ? 1 : 0;
  const x = tf.tensor3d(xs, [N, T, F]);
  const y = tf.tensor2d(ys, [N, L]);
  const train = async (steps: number): Promise<{ losses: number[]; weights: Buffer[] }> => {
    const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional: true, returnSequences: false, inputGradient: true });
    const pre = tf.layers.dense({ units: F, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) });
    pre.build([null, T, F]);
    const head = tf.layers.dense({ units: L, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) });
    head.build([null, 2 * H]);
    const rnnWeights = rnn.weightShapes().map((s, i) => tf.variable(tf.tensor(randArray(s.reduce((a, b) => a * b, 1), `tw${i}`, 0.3), s)));
    const vars = (l: tf.layers.Layer): tf.Variable[] => l.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      losses.push(
        await onnxTrainStep({
          rnn,
          rnnWeights,
          x,
          pre: { apply: (v) => pre.apply(v) as tf.Tensor, weights: vars(pre) },
          head: { weights: vars(head), loss: (h) => tf.losses.sigmoidCrossEntropy(y, head.apply(h) as tf.Tensor) as tf.Scalar },
          optimizer,
        }),
      );
    }
    const weights = [...rnnWeights, ...vars(pre), ...vars(head)].map((v) => Buffer.from((v.dataSync() as Float32Array).buffer));
    await rnn.release();
    return { losses, weights };
  };
  const a = await train(80);
  assert.ok(a.losses.every(Number.isFinite), `non-finite loss: ${a.losses.join(', ')}`);
  assert.ok(a.losses.at(-1)! < 0.7 * a.losses[0]!, `loss did not decrease enough: ${a.losses[0]} -> ${a.losses.at(-1)}`);
  const b1 = await train(3);
  const b2 = await train(3);
  b1.weights.forEach((w, i) => assert.ok(w.equals(b2.weights[i]!), `weight ${i} differs between identical runs`));
});

test('OnnxModelTrainer steps a whole tfjs model as optimizer.minimize does', async () => {
  const { OnnxModelTrainer } = await import('../stages/nn/rnn/onnx/model-step.js');
  await tf.setBackend('cpu');
  const [N, T, F, H, L] = [6, 5, 4, 3, 2];
  // Like the reference network: a trainable part before the LSTM, every step returned, the
  // last step cut out, a Dense head, sigmoid cross-entropy.
  const build = (): tf.LayersModel => {
    const input = tf.input({ shape: [T, F] });
    let h = tf.layers.dense({ units: F, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
    h = recurrent({ cell: 'lstm', units: H, bidirectional: true, returnSequences: true, seed: 5 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reshape({ targetShape: [T, 2 * H, 1] }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.cropping2D({ cropping: [[T - 1, 0], [0, 0]] }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.dense({ units: L, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }).apply(h) as tf.SymbolicTensor });
  };
  const x = tf.tensor3d(randArray(N * T * F, 'mx'), [N, T, F]);
  const y = tf.tensor2d(Float32Array.from(randArray(N * L, 'my'), (v) => (v > 0 ? 1 : 0)), [N, L]);
  const loss = (out: tf.Tensor): tf.Scalar => tf.losses.sigmoidCrossEntropy(y, out) as tf.Scalar;
  const a = build();
  const b = build();
  b.setWeights(a.getWeights());
  const varsOf = (m: tf.LayersModel): tf.Variable[] => m.trainableWeights.map((w) => w.read() as tf.Variable);
  const optA = tf.train.sgd(0.5);
  const optB = tf.train.sgd(0.5);
  const trainer = await OnnxModelTrainer.create(b);
  for (let s = 0; s < 3; s++) {
    const la = tf.tidy(() => optA.minimize(() => loss(a.apply(x, { training: true }) as tf.Tensor), true, varsOf(a))!.dataSync()[0]!);
    const lb = await trainer.trainStep(x, loss, optB, varsOf(b));
    assert.ok(Math.abs(la - lb) < 1e-5, `step ${s}: loss ${lb} vs ${la}`);
  }
  const wa = a.getWeights();
  b.getWeights().forEach((w, i) => assertClose(w.dataSync() as Float32Array, wa[i]!.dataSync() as Float32Array, 1e-4, `weight ${i} after 3 steps`));
  await trainer.release();
});

test('OnnxModelTrainer with parallel directions and fused Adam: the workers hold and update the LSTM weights, with the bits of the sequential path', async () => {
  const { OnnxModelTrainer } = await import('../stages/nn/rnn/onnx/model-step.js');
  const { fusedAdam } = await import('../stages/nn/fused-adam.js');
  await tf.setBackend('cpu');
  const [N, T, F, H, L] = [5, 4, 6, 3, 2];
  const build = (): tf.LayersModel => {
    const input = tf.input({ shape: [T, F] });
    let h = tf.layers.dense({ units: F, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
    h = recurrent({ cell: 'lstm', units: H, bidirectional: true, returnSequences: false, seed: 5 }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.dense({ units: L, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }).apply(h) as tf.SymbolicTensor });
  };
  const x = tf.tensor3d(randArray(N * T * F, 'hx'), [N, T, F]);
  const y = tf.tensor2d(Float32Array.from(randArray(N * L, 'hy'), (v) => (v > 0 ? 1 : 0)), [N, L]);
  const loss = (out: tf.Tensor): tf.Scalar => tf.losses.sigmoidCrossEntropy(y, out) as tf.Scalar;
  const varsOf = (m: tf.LayersModel): tf.Variable[] => m.trainableWeights.map((w) => w.read() as tf.Variable);
  const bytesOf = (ts: tf.Tensor[]): Buffer => Buffer.concat(ts.map((t) => Buffer.from((t.dataSync() as Float32Array).buffer)));
  const runs: Buffer[] = [];
  for (const parallelDirections of [false, true]) {
    const model = build();
    const opt = fusedAdam(0.05, 0.9, 0.999, 1e-8);
    const trainer = await OnnxModelTrainer.create(model, { parallelDirections });
    const before = bytesOf(model.getWeights());
    for (let s = 0; s < 3; s++) await trainer.trainStep(x, loss, opt, varsOf(model));
    // The workers updated their copies; the tfjs variables lag until sync().
    assert.equal(trainer.weightsInWorkers, parallelDirections);
    await trainer.sync();
    assert.equal(trainer.weightsInWorkers, false);
    assert.ok(!bytesOf(model.getWeights()).equals(before), 'training changed no weight');
    const mid = [bytesOf(model.getWeights()), bytesOf((await opt.getWeights()).map((w) => w.tensor))];
    // Weights written from outside (a checkpoint restored): letGo() makes the next step take them.
    await trainer.letGo();
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 0.5)));
    for (let s = 0; s < 2; s++) await trainer.trainStep(x, loss, opt, varsOf(model));
    await trainer.sync();
    runs.push(Buffer.concat([...mid, bytesOf(model.getWeights()), bytesOf((await opt.getWeights()).map((w) => w.tensor))]));
    await trainer.release();
    model.dispose();
  }
  assert.ok(runs[0]!.equals(runs[1]!), 'weights or Adam moments differ between the sequential path and the workers\' update');
});

test('the graphs do not grow with the sequence length (the recurrence is a Scan, not unrolled)', async () => {
  const { lstmBackwardGraph, lstmForwardGraph } = await import('../stages/nn/rnn/onnx/lstm-graphs.js');
  const o = { units: 8, features: 6, bidirectional: true, returnSequences: true, inputGradient: true };
  for (const graph of [lstmForwardGraph, lstmBackwardGraph]) {
    const [short, long] = [graph({ ...o, steps: 4 }).length, graph({ ...o, steps: 512 }).length];
    assert.ok(long < short + 64, `${graph.name}: ${short} bytes at T=4, ${long} at T=512`);
  }
  // And a long sequence still computes what tfjs-layers does.
  await tf.setBackend('cpu');
  const [B, T, F, H] = [2, 300, 3, 2];
  const input = tf.input({ shape: [T, F] });
  const stock = tf.model({ inputs: input, outputs: recurrent({ cell: 'lstm', units: H, bidirectional: true, returnSequences: false, impl: 'stock', seed: 1 }).apply(input) as tf.SymbolicTensor });
  const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional: true, returnSequences: false, inputGradient: false });
  const x = randArray(B * T * F, 'long');
  const fwd = await rnn.forward(x, B, stock.getWeights().map((w) => w.dataSync() as Float32Array));
  assertClose(fwd.output, (stock.predict(tf.tensor3d(x, [B, T, F])) as tf.Tensor).dataSync() as Float32Array, 1e-4, 'T=300 output');
  await rnn.release();
  stock.dispose();
});

test('OnnxModelTrainer folds a LayerNorm into the LSTM only when the LSTM alone reads it: a head that reads it too gets its real output', async () => {
  const { OnnxModelTrainer } = await import('../stages/nn/rnn/onnx/model-step.js');
  const { LayerNorm } = await import('../stages/models/layers/layer-norm.js');
  await tf.setBackend('cpu');
  const [N, T, F, H, L] = [4, 5, 6, 3, 2];
  const x = tf.tensor3d(randArray(N * T * F, 'lnx'), [N, T, F]);
  const y = tf.tensor2d(Float32Array.from(randArray(N * L, 'lny'), (v) => (v > 0 ? 1 : 0)), [N, L]);
  const loss = (out: tf.Tensor): tf.Scalar => tf.losses.sigmoidCrossEntropy(y, out) as tf.Scalar;
  for (const shared of [false, true]) {
    const input = tf.input({ shape: [T, F] });
    const normed = new LayerNorm({ dims: 1, name: `ln_${shared}` }).apply(input) as tf.SymbolicTensor;
    const h = recurrent({ cell: 'lstm', units: H, bidirectional: true, returnSequences: false, seed: 5 }).apply(normed) as tf.SymbolicTensor;
    // shared: the head also reads the LayerNorm's output (its mean over time), so it cannot be folded away.
    const feats = shared ? (tf.layers.concatenate().apply([h, tf.layers.globalAveragePooling1d().apply(normed) as tf.SymbolicTensor]) as tf.SymbolicTensor) : h;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: L, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }).apply(feats) as tf.SymbolicTensor });
    // Move gamma and beta off 1 and 0, so that a LayerNorm output taken for its input would show.
    model.setWeights(model.getWeights().map((w, i) => (i < 2 ? tf.add(w, tf.mul(0.3, tf.tensor(randArray(w.size, `g${i}`), w.shape))) : w)));
    const expected = tf.tidy(() => loss(model.apply(x, { training: true }) as tf.Tensor).dataSync()[0]!);
    const trainer = await OnnxModelTrainer.create(model, { parallelDirections: true });
    const opt = tf.train.sgd(0.05);
    try {
      const got = await trainer.trainStep(x, loss, opt, model.trainableWeights.map((w) => w.read() as tf.Variable));
      assert.ok(Math.abs(got - expected) <= 1e-5 * Math.abs(expected), `shared ${shared}: loss ${got} through ONNX Runtime against ${expected} in tfjs`);
    } finally {
      await trainer.release();
      opt.dispose();
      model.dispose();
    }
  }
  tf.dispose([x, y]);
});

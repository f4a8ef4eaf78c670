// FastRecurrent against tfjs-layers' own LSTM/GRU (cpu backend), against a float64 reference
// with finite differences, on wasm against cpu, in training, saved and loaded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { recurrent, type RecurrentCell, type RecurrentOptions } from '../stages/nn/recurrent.js';
import { assertClose, finiteDifferences, randArray, refForward, type Case, type Params } from './helpers/rnn-reference.js';

tf.env().set('PROD', true); // silence tfjs' "running in Node" banner checks
const silence = console.warn;

async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  console.warn = () => {};
  try {
    await tf.setBackend(name);
    await tf.ready();
  } finally {
    console.warn = silence;
  }
}



const CASES: Case[] = (['lstm', 'gru'] as const).flatMap((cell) =>
  [false, true].flatMap((bidirectional) => [false, true].map((returnSequences) => ({ cell, bidirectional, returnSequences }))),
);

const name = (c: Case): string => `${c.cell} bi=${c.bidirectional} seq=${c.returnSequences}`;

/** Builds a model around one recurrent layer; weights drawn from a seeded generator. */
function build(opts: RecurrentOptions, [batch, steps, features]: [number, number, number], weightSeed: string): tf.LayersModel {
  const input = tf.input({ shape: [steps, features] });
  const layer = recurrent(opts);
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randArray(w.size, `${weightSeed}-${i}`, 0.7), w.shape)));
  void batch;
  return model;
}

interface Result {
  out: Float32Array;
  grads: Float32Array[]; // d loss / d input, then each weight in getWeights() order
}

/** Output and gradients of loss = sum(out * R) w.r.t. the input and every weight. */
function evaluate(model: tf.LayersModel, x: Float32Array, shape: [number, number, number]): Result {
  return tf.tidy(() => {
    const xt = tf.tensor3d(x, shape);
    const outShape = model.outputs[0]!.shape.map((d, i) => (i === 0 ? shape[0] : d)) as number[];
    const r = tf.tensor(randArray(outShape.reduce((a, b) => a * b, 1), 'R'), outShape);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = (xIn: tf.Tensor): tf.Scalar => tf.sum(tf.mul(model.apply(xIn) as tf.Tensor, r));
    const dx = tf.grad(loss)(xt);
    const { grads } = tf.variableGrads(() => loss(xt), weights);
    return {
      out: (model.apply(xt) as tf.Tensor).dataSync() as Float32Array,
      grads: [dx.dataSync() as Float32Array, ...weights.map((w) => grads[w.name]!.dataSync() as Float32Array)],
    };
  });
}


const SHAPE: [number, number, number] = [3, 6, 5];
const UNITS = 4;

test('forward and gradients equal tfjs-layers LSTM/GRU on the cpu backend', async () => {
  await useBackend('cpu');
  const x = randArray(SHAPE.reduce((a, b) => a * b), 'x');
  for (const c of CASES) {
    const opts = { ...c, units: UNITS };
    const stock = build({ ...opts, impl: 'stock' }, SHAPE, 'w');
    const fast = build({ ...opts, impl: 'fast' }, SHAPE, 'w');
    const shapesStock = stock.getWeights().map((w) => w.shape.join('x'));
    assert.deepEqual(fast.getWeights().map((w) => w.shape.join('x')), shapesStock, `${name(c)}: weight shapes`);
    const a = evaluate(fast, x, SHAPE);
    const b = evaluate(stock, x, SHAPE);
    assertClose(a.out, b.out, 1e-4, `${name(c)} output`);
    const labels = ['dx', ...stock.trainableWeights.map((w) => w.originalName)];
    b.grads.forEach((g, i) => assertClose(a.grads[i]!, g, 1e-4, `${name(c)} ${labels[i]}`));
    stock.dispose();
    fast.dispose();
  }
});

test('gradients match float64 central finite differences', async () => {
  await useBackend('cpu');
  const shape: [number, number, number] = [2, 4, 3];
  const H = 3;
  const x = randArray(shape.reduce((a, b) => a * b), 'fd-x');
  for (const c of CASES) {
    const model = build({ ...c, units: H }, shape, 'fd-w');
    const got = evaluate(model, x, shape);
    const weights = model.getWeights().map((w) => Float64Array.from(w.dataSync()));
    const r = randArray(got.out.length, 'R');
    const params: Params = { x: Float64Array.from(x), w: weights };
    // The float64 forward itself must agree with the float32 layer.
    assertClose(Float32Array.from(refForward(c, params, shape, H)), got.out, 1e-5, `${name(c)} reference forward`);
    const loss = (): number => refForward(c, params, shape, H).reduce((s, v, i) => s + v * r[i]!, 0);
    [params.x, ...params.w].forEach((arr, which) => {
      const numeric = finiteDifferences(arr, loss);
      assertClose(got.grads[which]!, numeric, 1e-4, `${name(c)} finite differences, tensor ${which}`);
    });
    model.dispose();
  }
});

test('wasm backend agrees with cpu backend', async () => {
  const x = randArray(SHAPE.reduce((a, b) => a * b), 'x2');
  const results = new Map<string, Result>();
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    for (const c of CASES) {
      const model = build({ ...c, units: UNITS }, SHAPE, 'w2');
      results.set(`${backend} ${name(c)}`, evaluate(model, x, SHAPE));
      model.dispose();
    }
  }
  for (const c of CASES) {
    const a = results.get(`wasm ${name(c)}`)!;
    const b = results.get(`cpu ${name(c)}`)!;
    assertClose(a.out, b.out, 1e-4, `${name(c)} wasm output`);
    b.grads.forEach((g, i) => assertClose(a.grads[i]!, g, 1e-4, `${name(c)} wasm gradient ${i}`));
  }
});

/** A small genre-like task: sequence -> multi-label targets that depend on the sequence. */
function trainingData(n: number, steps: number, features: number, labels: number): { x: tf.Tensor3D; y: tf.Tensor2D } {
  const x = randArray(n * steps * features, 'train-x');
  const y = new Float32Array(n * labels);
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < labels; l++) {
      // Label l: is the mean of feature l over the first half of the sequence positive?
      let s = 0;
      for (let t = 0; t < steps / 2; t++) s += x[(i * steps + t) * features + l]!;
      y[i * labels + l] = s > 0 ? 1 : 0;
    }
  }
  return { x: tf.tensor3d(x, [n, steps, features]), y: tf.tensor2d(y, [n, labels]) };
}

function classifier(cell: RecurrentCell, steps: number, features: number, labels: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [steps, features] });
  // A Dense before the recurrent layer makes the gradient flow through the layer's input too.
  const pre = tf.layers.dense({ units: features, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }) });
  const rnn = recurrent({ cell, units: 12, bidirectional: true, returnSequences: false, seed });
  const head = tf.layers.dense({ units: labels, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 200 }) });
  const out = head.apply(rnn.apply(pre.apply(input))) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
  return model;
}

test('trains on wasm without diverging; same seed gives byte-identical weights', async () => {
  await useBackend('wasm');
  for (const cell of ['lstm', 'gru'] as const) {
    const { x, y } = trainingData(64, 12, 6, 4);
    const losses: number[] = [];
    const runs: Uint8Array[][] = [];
    for (let run = 0; run < 2; run++) {
      const model = classifier(cell, 12, 6, 4, 7);
      const h = await model.fit(x, y, { epochs: run === 0 ? 25 : 3, batchSize: 16, shuffle: false, verbose: 0 });
      if (run === 0) losses.push(...(h.history['loss'] as number[]));
      if (run === 1) {
        const again = classifier(cell, 12, 6, 4, 7);
        await again.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
        runs.push(model.getWeights().map((w) => new Uint8Array(w.dataSync().buffer.slice(0))));
        runs.push(again.getWeights().map((w) => new Uint8Array(w.dataSync().buffer.slice(0))));
        again.dispose();
      }
      model.dispose();
    }
    assert.ok(losses.every(Number.isFinite), `${cell}: loss went non-finite: ${losses.join(', ')}`);
    assert.ok(losses.at(-1)! < 0.7 * losses[0]!, `${cell}: loss did not decrease enough: ${losses[0]} -> ${losses.at(-1)}`);
    const [a, b] = runs as [Uint8Array[], Uint8Array[]];
    assert.equal(a.length, b.length);
    a.forEach((w, i) => assert.ok(Buffer.from(w).equals(Buffer.from(b[i]!)), `${cell}: weight ${i} differs between identical runs`));
    x.dispose();
    y.dispose();
  }
});

test('a model with the layer saves and loads back with identical predictions', async () => {
  await useBackend('cpu');
  const model = classifier('lstm', 5, 3, 2, 1);
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  assert.ok(saved !== undefined);
  assert.match(JSON.stringify(saved.modelTopology), /FastRecurrent/);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const x = tf.tensor3d(randArray(2 * 5 * 3, 'save-x'), [2, 5, 3]);
  assert.deepEqual(
    Array.from((loaded.predict(x) as tf.Tensor).dataSync()),
    Array.from((model.predict(x) as tf.Tensor).dataSync()),
  );
  // A stock layer's weights load into the fast one (same layout) and give the same outputs.
  const stock = build({ cell: 'gru', units: 3, bidirectional: true, returnSequences: true, impl: 'stock' }, [2, 5, 3], 's');
  const fast = build({ cell: 'gru', units: 3, bidirectional: true, returnSequences: true }, [2, 5, 3], 'other');
  fast.setWeights(stock.getWeights());
  assertClose(
    (fast.predict(x) as tf.Tensor).dataSync() as Float32Array,
    (stock.predict(x) as tf.Tensor).dataSync() as Float32Array,
    1e-5,
    'stock weights in fast layer',
  );
});

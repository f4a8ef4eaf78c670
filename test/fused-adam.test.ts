// The fused Adam update against tfjs' own AdamOptimizer, byte for byte, on the wasm and cpu
// backends: weights, both moments and the accumulated betas after several steps, with a
// learning-rate change and a checkpoint moved between the two; the assembled module up to date.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { FusedAdamOptimizer, fusedAdam, fusedUpdateAvailable } from '../stages/nn/fused-adam.js';
import { randArray } from './helpers/rnn-reference.js';

tf.env().set('PROD', true);

type Grads = Parameters<tf.AdamOptimizer['applyGradients']>[0];

const SHAPES = [[64, 48], [48], [7, 3, 5], [1]];

interface AdamPrivate {
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function bytes(t: tf.Tensor): Buffer {
  return Buffer.from((t.dataSync() as Float32Array).slice().buffer);
}

let made = 0;

/** Runs `steps` updates of fresh variables with `opt`; returns every float the update touched. */
async function train(opt: tf.AdamOptimizer, tag: string, steps: number): Promise<Buffer[]> {
  made++;
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(randArray(s.reduce((a, b) => a * b, 1), `w${i}`, 0.5), s), true, `${tag}${made}-v${i}`));
  for (let k = 0; k < steps; k++) {
    if (k === 3) (opt as unknown as AdamPrivate).learningRate = 0.0004;
    const grads: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => {
      // Gradients over several magnitudes, zeros included.
      const g = randArray(v.size, `g${k}-${i}`, 10 ** ((i % 3) - 2)).map((x, j) => (j % 11 === 0 ? 0 : x));
      grads[v.name] = tf.tensor(g, v.shape);
    });
    opt.applyGradients(grads as Grads);
    tf.dispose(Object.values(grads));
  }
  const slots = await opt.getWeights();
  const internals = opt as unknown as AdamPrivate;
  const out = [...vars.map(bytes), ...slots.slice(1).map((s) => bytes(s.tensor)), bytes(internals.accBeta1), bytes(internals.accBeta2)];
  tf.dispose(vars);
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`fused Adam equals tf.train.adam byte for byte (${backend})`, async () => {
    await tf.setBackend(backend);
    await tf.ready();
    assert.ok(fusedUpdateAvailable(), `the fused update runs on ${backend}`);
    for (const [lr, eps] of [[1e-3, 1e-8], [0.01, undefined]] as const) {
      const stock = tf.train.adam(lr, 0.9, 0.999, eps);
      const fused = fusedAdam(lr, 0.9, 0.999, eps);
      assert.ok(fused instanceof FusedAdamOptimizer && fused instanceof tf.AdamOptimizer);
      const before = tf.memory().numTensors;
      const a = await train(stock, 'a', 6);
      const afterStock = tf.memory().numTensors;
      const b = await train(fused, 'b', 6);
      // The fused update leaves no tensor behind beyond what tfjs' own keeps (the slots).
      assert.equal(tf.memory().numTensors - afterStock, afterStock - before);
      assert.equal(a.length, b.length);
      a.forEach((buf, i) => assert.ok(buf.equals(b[i]!), `lr ${lr}: tensor ${i} differs between tf.train.adam and the fused update`));
      stock.dispose();
      fused.dispose();
    }
  });
}

test('a fused Adam checkpoint resumes in tf.train.adam with the same bits, and back', async () => {
  await tf.setBackend('wasm');
  const run = async (first: tf.AdamOptimizer, second: tf.AdamOptimizer): Promise<Buffer[]> => {
    const v = tf.variable(tf.tensor(randArray(96, 'cw', 0.5), [12, 8]), true, `ck${++made}`);
    const step = (opt: tf.AdamOptimizer, k: number): void => {
      const g = tf.tensor(randArray(96, `cg${k}`, 0.1), [12, 8]);
      opt.applyGradients({ [v.name]: g } as Grads);
      g.dispose();
    };
    for (let k = 0; k < 3; k++) step(first, k);
    await second.setWeights(await first.getWeights());
    (second as unknown as AdamPrivate).accBeta1.assign((first as unknown as AdamPrivate).accBeta1);
    (second as unknown as AdamPrivate).accBeta2.assign((first as unknown as AdamPrivate).accBeta2);
    for (let k = 3; k < 6; k++) step(second, k);
    const out = [bytes(v), ...(await second.getWeights()).slice(1).map((s) => bytes(s.tensor))];
    v.dispose();
    return out;
  };
  const stockOnly = await run(tf.train.adam(1e-3), tf.train.adam(1e-3));
  const fusedThenStock = await run(fusedAdam(1e-3), tf.train.adam(1e-3));
  const stockThenFused = await run(tf.train.adam(1e-3), fusedAdam(1e-3));
  stockOnly.forEach((buf, i) => {
    assert.ok(buf.equals(fusedThenStock[i]!), `fused -> stock: tensor ${i} differs`);
    assert.ok(buf.equals(stockThenFused[i]!), `stock -> fused: tensor ${i} differs`);
  });
});

test('stages/nn/adam-wasm.ts is what scripts/gen-wasm.mjs assembles from adam.wat', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

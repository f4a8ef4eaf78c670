// Training throughput of the recurrent genre model: samples/s of full training steps (forward,
// backward, Adam update) for a BiLSTM (hidden 128) over [T,512] CLIP embeddings, batch 32,
// Dense 21 + sigmoid, binary cross-entropy. Compares, in one run:
//   - tfjs-layers' stock LSTM/GRU on the wasm backend (the baseline) and on the cpu backend,
//   - FastRecurrent (stages/nn/rnn/layer.ts) on wasm,
//   - the ONNX Runtime path (stages/nn/rnn/onnx/): the LSTM layer in ONNX Runtime, head and Adam
//     in tfjs, both as the bare layer step (onnxTrainStep) and as training uses it
//     (OnnxModelTrainer stepping the same tfjs model as the other rows: train.rnn onnx).
// PyTorch's CPU LSTM reaches 1,232 samples/s on the T=32 shape on this kind of machine (2
// cores); the target is half that. Figures are noisy on a shared machine: compare ratios
// within one run.
//
//   node dist/bench/rnn-train.js            all rows
//   node dist/bench/rnn-train.js --quick    fewer steps, skips the slowest stock rows
//   node dist/bench/rnn-train.js --only=fast,onnx   rows whose name contains one of these
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { recurrent, type RecurrentCell } from '../stages/nn/recurrent.js';
import { OnnxModelTrainer } from '../stages/nn/rnn/onnx/model-step.js';
import { OnnxLstm, onnxTrainStep } from '../stages/nn/rnn/onnx/onnx-lstm.js';
import { randomBatch, timeSteps } from './train-steps.js';

const BATCH = 32;
const FEATURES = 512;
const UNITS = 128;
const LABELS = 21;
const PYTORCH_T32 = 1232;

export interface Row {
  name: string;
  cell: RecurrentCell;
  steps: number;
  samplesPerSec: number;
  msPerStep: number;
  measured: number;
}

/** Every row's batch, as tensors: x [BATCH, steps, FEATURES], y [BATCH, LABELS]. */
function batchTensors(steps: number): { xt: tf.Tensor3D; yt: tf.Tensor2D } {
  const { x, y } = randomBatch('bench', BATCH, steps, FEATURES, LABELS);
  return { xt: tf.tensor3d(x, [BATCH, steps, FEATURES]), yt: tf.tensor2d(y, [BATCH, LABELS]) };
}

async function tfjsRow(
  backend: 'wasm' | 'cpu',
  impl: 'stock' | 'fast',
  cell: RecurrentCell,
  steps: number,
  minSteps: number,
  minMs: number,
): Promise<Row> {
  await tf.setBackend(backend);
  await tf.ready();
  const input = tf.input({ shape: [steps, FEATURES] });
  const rnn = recurrent({ cell, units: UNITS, bidirectional: true, returnSequences: false, impl, seed: 1 });
  const out = tf.layers.dense({ units: LABELS, activation: 'sigmoid' }).apply(rnn.apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const { xt, yt } = batchTensors(steps);
  const { ms, n } = await timeSteps(async () => {
    await model.trainOnBatch(xt, yt);
  }, minSteps, minMs);
  model.dispose();
  xt.dispose();
  yt.dispose();
  return { name: `${impl} tfjs-layers ${backend}`.replace('fast tfjs-layers', 'FastRecurrent'), cell, steps, samplesPerSec: (BATCH * 1000) / ms, msPerStep: ms, measured: n };
}

async function onnxRow(steps: number, threads: number, minSteps: number, minMs: number): Promise<Row> {
  await tf.setBackend('wasm');
  await tf.ready();
  const t0 = performance.now();
  const rnn = await OnnxLstm.create({
    units: UNITS, features: FEATURES, steps, bidirectional: true, returnSequences: false, inputGradient: false, threads,
  });
  const buildMs = performance.now() - t0;
  const rnnWeights = rnn.weightShapes().map((s, i) =>
    tf.variable(i % 3 === 2 ? tf.zeros(s) : tf.randomNormal(s, 0, 0.05, 'float32', i + 1)),
  );
  const dense = tf.layers.dense({ units: LABELS, activation: 'sigmoid', inputShape: [2 * UNITS] });
  dense.build([null, 2 * UNITS]);
  const headWeights = dense.trainableWeights.map((w) => w.read() as tf.Variable);
  const { xt, yt } = batchTensors(steps);
  const optimizer = tf.train.adam(1e-3);
  const head = { weights: headWeights, loss: (h: tf.Tensor): tf.Scalar => tf.losses.sigmoidCrossEntropy(yt, dense.apply(h) as tf.Tensor) as tf.Scalar };
  const { ms, n } = await timeSteps(async () => {
    await onnxTrainStep({ rnn, rnnWeights, x: xt, head, optimizer });
  }, minSteps, minMs);
  console.log(`  (ONNX graphs for T=${steps} built and loaded in ${buildMs.toFixed(0)} ms)`);
  await rnn.release();
  tf.dispose([xt, yt, ...rnnWeights]);
  return { name: `ONNX Runtime (${threads} thread${threads > 1 ? 's' : ''}) + tfjs wasm head/Adam`, cell: 'lstm', steps, samplesPerSec: (BATCH * 1000) / ms, msPerStep: ms, measured: n };
}

/** The tfjs model of tfjsRow, with its LSTM's training steps in ONNX Runtime (train.rnn onnx). */
async function onnxModelRow(steps: number, threads: number, minSteps: number, minMs: number): Promise<Row> {
  await tf.setBackend('wasm');
  await tf.ready();
  const input = tf.input({ shape: [steps, FEATURES] });
  const rnn = recurrent({ cell: 'lstm', units: UNITS, bidirectional: true, returnSequences: false, impl: 'onnx', seed: 1 });
  const out = tf.layers.dense({ units: LABELS, activation: 'sigmoid' }).apply(rnn.apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const t0 = performance.now();
  const trainer = await OnnxModelTrainer.create(model, { threads });
  const buildMs = performance.now() - t0;
  const { xt, yt } = batchTensors(steps);
  const optimizer = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = (o: tf.Tensor): tf.Scalar => tf.losses.logLoss(yt, o) as tf.Scalar;
  const { ms, n } = await timeSteps(async () => {
    await trainer.trainStep(xt, loss, optimizer, vars);
  }, minSteps, minMs);
  console.log(`  (OnnxModelTrainer for T=${steps} created in ${buildMs.toFixed(0)} ms)`);
  await trainer.release();
  model.dispose();
  tf.dispose([xt, yt]);
  return { name: `OnnxModelTrainer, ${threads} thread${threads > 1 ? 's' : ''} (train.rnn onnx)`, cell: 'lstm', steps, samplesPerSec: (BATCH * 1000) / ms, msPerStep: ms, measured: n };
}

function printTable(rows: Row[]): void {
  const base = (r: Row): Row | undefined => rows.find((b) => b.name === 'stock tfjs-layers wasm' && b.cell === r.cell && b.steps === r.steps);
  console.log(`\nBi${'LSTM/GRU'} hidden ${UNITS}, ${FEATURES} features, batch ${BATCH}, Dense ${LABELS} + sigmoid BCE, Adam`);
  console.log('| model | T | implementation | samples/s | ms/step | steps timed | vs stock wasm | vs PyTorch (1,232) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const b = base(r);
    const vsBase = b === undefined ? '' : `${(r.samplesPerSec / b.samplesPerSec).toFixed(1)}x`;
    const vsTorch = r.cell === 'lstm' && r.steps === 32 ? `${(r.samplesPerSec / PYTORCH_T32).toFixed(2)}x` : '';
    console.log(
      `| Bi${r.cell.toUpperCase()} | ${r.steps} | ${r.name} | ${r.samplesPerSec.toFixed(1)} | ${r.msPerStep.toFixed(1)} | ${r.measured} | ${vsBase} | ${vsTorch} |`,
    );
  }
}

interface Plan {
  name: string;
  run: () => Promise<Row>;
  slow?: boolean;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  tf.env().set('PROD', true);
  const [minSteps, minMs] = quick ? [2, 1000] : [5, 4000];
  const plans: Plan[] = [];
  for (const [cell, steps] of [['lstm', 32], ['lstm', 256], ['gru', 32]] as const) {
    plans.push({ name: `stock wasm ${cell} ${steps}`, run: () => tfjsRow('wasm', 'stock', cell, steps, steps > 32 ? 1 : 2, 0), slow: steps > 32 });
    if (cell === 'lstm' && steps === 32) {
      plans.push({ name: `stock cpu ${cell} ${steps}`, run: () => tfjsRow('cpu', 'stock', cell, steps, 1, 0), slow: true });
    }
    plans.push({ name: `fast wasm ${cell} ${steps}`, run: () => tfjsRow('wasm', 'fast', cell, steps, minSteps, minMs) });
    if (cell === 'lstm') {
      for (const threads of [1, 2]) {
        plans.push({ name: `onnx ${threads}t ${cell} ${steps}`, run: () => onnxRow(steps, threads, minSteps, minMs) });
        plans.push({ name: `onnx-model ${threads}t ${cell} ${steps}`, run: () => onnxModelRow(steps, threads, minSteps, minMs) });
      }
    }
  }
  const rows: Row[] = [];
  for (const p of plans) {
    if (only !== undefined && !only.some((o) => p.name.includes(o))) continue;
    if (quick && p.slow === true) continue;
    const row = await p.run();
    console.log(`${p.name}: ${row.samplesPerSec.toFixed(1)} samples/s (${row.msPerStep.toFixed(1)} ms/step, ${row.measured} steps)`);
    rows.push(row);
  }
  printTable(rows);
}

await main();

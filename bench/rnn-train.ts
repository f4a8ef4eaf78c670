// Training throughput of the recurrent genre model: samples/s of full training steps (forward,
// backward, Adam update) for a BiLSTM (hidden 128) over [T,512] CLIP embeddings, batch 32 and
// 8, Dense 21 + sigmoid, binary cross-entropy. Compares, in one run:
//   - tfjs-layers' stock LSTM/GRU on the wasm backend (the baseline) and on the cpu backend,
//   - FastRecurrent (stages/nn/rnn/layer.ts) on wasm,
//   (the rows other than the stock ones update with stages/nn/fused-adam.ts, as the train stage
//   does: tfjs' Adam, same bits, one pass per weight)
//   - the ONNX Runtime path (stages/nn/rnn/onnx/): the LSTM layer in ONNX Runtime, head and Adam
//     in tfjs, both as the bare layer step (onnxTrainStep) and as training uses it
//     (OnnxModelTrainer stepping the same tfjs model as the other rows: train.rnn onnx).
//   - PyTorch on the CPU (bench/rnn-train-torch.py: the same step on the same shapes, run here
//     in the same run, with its default threads and with 1), when `python3 -c "import torch"`
//     works (`pip install torch numpy`); otherwise its column says "not measured".
// Figures are noisy on a shared machine: compare ratios within one run.
//
//   node dist/bench/rnn-train.js            all rows
//   node dist/bench/rnn-train.js --quick    fewer steps, skips the slowest stock rows
//   node dist/bench/rnn-train.js --only=fast,onnx   rows whose name contains one of these
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../stages/nn/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { fusedAdam } from '../stages/nn/fused-adam.js';
import { recurrent, type RecurrentCell } from '../stages/nn/recurrent.js';
import { OnnxModelTrainer } from '../stages/nn/rnn/onnx/model-step.js';
import { OnnxLstm, onnxTrainStep } from '../stages/nn/rnn/onnx/onnx-lstm.js';
import { randomBatch, timeSteps } from './train-steps.js';

const FEATURES = 512;
const UNITS = 128;
const LABELS = 21;
const TORCH_SCRIPT = join(resolve(fileURLToPath(import.meta.url), '..', '..', '..'), 'bench', 'rnn-train-torch.py');

export interface Row {
  name: string;
  cell: RecurrentCell;
  steps: number;
  batch: number;
  samplesPerSec: number;
  msPerStep: number;
  measured: number;
}

/** Every row's batch, as tensors: x [batch, steps, FEATURES], y [batch, LABELS]. */
function batchTensors(steps: number, batch: number): { xt: tf.Tensor3D; yt: tf.Tensor2D } {
  const { x, y } = randomBatch('bench', batch, steps, FEATURES, LABELS);
  return { xt: tf.tensor3d(x, [batch, steps, FEATURES]), yt: tf.tensor2d(y, [batch, LABELS]) };
}

/** PyTorch's training step on the same shape, in a python3 child process; null when torch is not installed. */
function torchRow(steps: number, batch: number, threads: number, minSteps: number, minMs: number): Row | null {
  const r = spawnSync('python3', [TORCH_SCRIPT, '--steps', String(steps), '--batch', String(batch), '--threads', String(threads), '--min-steps', String(minSteps), '--min-ms', String(minMs)], {
    encoding: 'utf8',
  });
  if (r.error !== undefined || r.status !== 0) {
    if (/No module named 'torch'|ENOENT/.test(`${r.stderr ?? ''}${r.error?.message ?? ''}`)) return null;
    throw new Error(`bench/rnn-train-torch.py failed (${r.status}): ${r.stderr}`);
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { samples_per_sec: number; ms_per_step: number; measured: number; threads: number; torch: string };
  return {
    name: `PyTorch ${j.torch} CPU (${j.threads} thread${j.threads > 1 ? 's' : ''})`,
    cell: 'lstm', steps, batch, samplesPerSec: j.samples_per_sec, msPerStep: j.ms_per_step, measured: j.measured,
  };
}

async function tfjsRow(
  backend: 'wasm' | 'cpu',
  impl: 'stock' | 'fast',
  cell: RecurrentCell,
  steps: number,
  batch: number,
  minSteps: number,
  minMs: number,
): Promise<Row> {
  await tf.setBackend(backend);
  await tf.ready();
  const input = tf.input({ shape: [steps, FEATURES] });
  const rnn = recurrent({ cell, units: UNITS, bidirectional: true, returnSequences: false, impl, seed: 1 });
  const out = tf.layers.dense({ units: LABELS, activation: 'sigmoid' }).apply(rnn.apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // The stock rows train as tfjs does; the others with the Adam the train stage uses.
  model.compile({ optimizer: impl === 'stock' ? tf.train.adam(1e-3) : fusedAdam(1e-3), loss: 'binaryCrossentropy' });
  const { xt, yt } = batchTensors(steps, batch);
  const { ms, n } = await timeSteps(async () => {
    await model.trainOnBatch(xt, yt);
  }, minSteps, minMs);
  model.dispose();
  xt.dispose();
  yt.dispose();
  return { name: `${impl} tfjs-layers ${backend}`.replace('fast tfjs-layers', 'FastRecurrent'), cell, steps, batch, samplesPerSec: (batch * 1000) / ms, msPerStep: ms, measured: n };
}

async function onnxRow(steps: number, batch: number, threads: number, minSteps: number, minMs: number): Promise<Row> {
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
  const { xt, yt } = batchTensors(steps, batch);
  const optimizer = fusedAdam(1e-3);
  const head = { weights: headWeights, loss: (h: tf.Tensor): tf.Scalar => tf.losses.sigmoidCrossEntropy(yt, dense.apply(h) as tf.Tensor) as tf.Scalar };
  const { ms, n } = await timeSteps(async () => {
    await onnxTrainStep({ rnn, rnnWeights, x: xt, head, optimizer });
  }, minSteps, minMs);
  console.log(`  (ONNX graphs for T=${steps} built and loaded in ${buildMs.toFixed(0)} ms)`);
  await rnn.release();
  tf.dispose([xt, yt, ...rnnWeights]);
  return { name: `ONNX Runtime (${threads} thread${threads > 1 ? 's' : ''}) + tfjs wasm head/Adam`, cell: 'lstm', steps, batch, samplesPerSec: (batch * 1000) / ms, msPerStep: ms, measured: n };
}

/** The tfjs model of tfjsRow, with its LSTM's training steps in ONNX Runtime (train.rnn onnx). */
async function onnxModelRow(steps: number, batch: number, threads: number, minSteps: number, minMs: number, parallelDirections = false): Promise<Row> {
  await tf.setBackend('wasm');
  await tf.ready();
  const input = tf.input({ shape: [steps, FEATURES] });
  const rnn = recurrent({ cell: 'lstm', units: UNITS, bidirectional: true, returnSequences: false, impl: 'onnx', seed: 1 });
  const out = tf.layers.dense({ units: LABELS, activation: 'sigmoid' }).apply(rnn.apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const t0 = performance.now();
  const trainer = await OnnxModelTrainer.create(model, { threads, parallelDirections });
  const buildMs = performance.now() - t0;
  const { xt, yt } = batchTensors(steps, batch);
  const optimizer = fusedAdam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = (o: tf.Tensor): tf.Scalar => tf.losses.logLoss(yt, o) as tf.Scalar;
  const { ms, n } = await timeSteps(async () => {
    await trainer.trainStep(xt, loss, optimizer, vars);
  }, minSteps, minMs);
  console.log(`  (OnnxModelTrainer for T=${steps} created in ${buildMs.toFixed(0)} ms)`);
  await trainer.release();
  model.dispose();
  tf.dispose([xt, yt]);
  const par = parallelDirections ? ', directions in parallel' : '';
  return { name: `OnnxModelTrainer, ${threads} thread${threads > 1 ? 's' : ''}${par} (train.rnn onnx)`, cell: 'lstm', steps, batch, samplesPerSec: (batch * 1000) / ms, msPerStep: ms, measured: n };
}

function printTable(rows: Row[]): void {
  const same = (a: Row, b: Row): boolean => a.cell === b.cell && a.steps === b.steps && a.batch === b.batch;
  const base = (r: Row): Row | undefined => rows.find((b) => b.name === 'stock tfjs-layers wasm' && same(b, r));
  // PyTorch with its default threads (one per core): what a user of PyTorch gets.
  const torch = (r: Row): Row | undefined =>
    rows.filter((b) => b.name.startsWith('PyTorch') && same(b, r)).sort((a, b) => b.samplesPerSec - a.samplesPerSec)[0];
  const torchMissing = !rows.some((r) => r.name.startsWith('PyTorch'));
  console.log(`\nBiLSTM/GRU hidden ${UNITS}, ${FEATURES} features, Dense ${LABELS} + sigmoid BCE, Adam`);
  console.log('| model | T | batch | implementation | samples/s | ms/step | steps timed | vs stock wasm | vs PyTorch CPU (same run) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const b = base(r);
    const vsBase = b === undefined ? '' : `${(r.samplesPerSec / b.samplesPerSec).toFixed(1)}x`;
    const t = torch(r);
    const vsTorch = r.cell !== 'lstm' ? '' : torchMissing ? 'not measured (no torch)' : t === undefined ? '' : `${(r.samplesPerSec / t.samplesPerSec).toFixed(2)}x`;
    console.log(
      `| Bi${r.cell.toUpperCase()} | ${r.steps} | ${r.batch} | ${r.name} | ${r.samplesPerSec.toFixed(1)} | ${r.msPerStep.toFixed(1)} | ${r.measured} | ${vsBase} | ${vsTorch} |`,
    );
  }
  if (torchMissing) console.log('\nPyTorch: not measured (python3 cannot import torch; pip install torch numpy)');
}

interface Plan {
  name: string;
  run: () => Promise<Row | null>;
  slow?: boolean;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  tf.env().set('PROD', true);
  const [minSteps, minMs] = quick ? [2, 1000] : [5, 4000];
  const plans: Plan[] = [];
  for (const [cell, steps, batch] of [['lstm', 32, 32], ['lstm', 32, 8], ['lstm', 256, 32], ['lstm', 256, 8], ['gru', 32, 32]] as const) {
    const tag = `${cell} ${steps}x${batch}`;
    if (batch === 32) {
      plans.push({ name: `stock wasm ${tag}`, run: () => tfjsRow('wasm', 'stock', cell, steps, batch, steps > 32 ? 1 : 2, 0), slow: steps > 32 });
    }
    if (cell === 'lstm' && steps === 32 && batch === 32) {
      plans.push({ name: `stock cpu ${tag}`, run: () => tfjsRow('cpu', 'stock', cell, steps, batch, 1, 0), slow: true });
    }
    plans.push({ name: `fast wasm ${tag}`, run: () => tfjsRow('wasm', 'fast', cell, steps, batch, minSteps, minMs) });
    if (cell === 'lstm') {
      for (const threads of [1, 2]) {
        plans.push({ name: `onnx ${threads}t ${tag}`, run: () => onnxRow(steps, batch, threads, minSteps, minMs) });
        plans.push({ name: `onnx-model ${threads}t ${tag}`, run: () => onnxModelRow(steps, batch, threads, minSteps, minMs) });
      }
      // Both cores with the bits of 1 thread: the two directions at once, 1 intra-op thread each.
      plans.push({ name: `onnx-model 1t+par ${tag}`, run: () => onnxModelRow(steps, batch, 1, minSteps, minMs, true) });
      // PyTorch with its default threads (0: one per core) and with one, same shape, same run.
      for (const threads of [0, 1]) {
        plans.push({ name: `torch ${threads === 0 ? 'default' : `${threads}t`} ${tag}`, run: async () => torchRow(steps, batch, threads, minSteps, minMs) });
      }
    }
  }
  const rows: Row[] = [];
  for (const p of plans) {
    if (only !== undefined && !only.some((o) => p.name.includes(o))) continue;
    if (quick && p.slow === true) continue;
    const row = await p.run();
    if (row === null) {
      console.log(`${p.name}: not measured (python3 cannot import torch)`);
      continue;
    }
    console.log(`${p.name}: ${row.samplesPerSec.toFixed(1)} samples/s (${row.msPerStep.toFixed(1)} ms/step, ${row.measured} steps)`);
    rows.push(row);
  }
  printTable(rows);
}

await main();

// Training and scoring throughput of every genre model (stages/models/), per backend, on the
// demo's shape: [256, 512] features per movie, batch 32, 21 genres, the default conf's
// architecture params (hidden 128, 1 layer, bidirectional, max_pooling 4, dropout 0.2,
// heads 4). A training step is forward + backward + Adam, through the model API the train
// stage uses (TrainableGenreModel.trainStep).
//
// Recurrent models are measured with each `train.rnn`: stock (tfjs-layers), fast
// (FastRecurrent) and, for the one-LSTM-layer models, onnx (the LSTM's training steps in ONNX
// Runtime, 1 thread unless --onnx-threads says otherwise; the first step, which builds the ONNX
// sessions, is the untimed warm-up and its time is printed apart).
//
// The baseline, measured in the same run: the `reference` network with tfjs-layers' stock LSTM
// (train.rnn: stock) on wasm. Ratios are against it. Figures from a shared machine are noisy:
// compare ratios within one run.
//
//   node dist/bench/train-models.js                     all models on wasm, stock rows too
//   node dist/bench/train-models.js --backends=wasm,cpu add the cpu backend (slow)
//   node dist/bench/train-models.js --models=reference,mean_mlp --length=64
//   node dist/bench/train-models.js --models=reference --rnn=stock,onnx --onnx-threads=2
import type { ModelParams, RnnImpl, TrainableGenreModel } from '../stages/models/api.js';
import { getModelFactory } from '../stages/models/registry.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { randomBatch, timeSteps } from './train-steps.js';

interface Row {
  model: string;
  rnn: RnnImpl | '-';
  backend: string;
  trainPerSec: number;
  predictPerSec: number;
  steps: number;
  /** The first (untimed) training step, which builds the ONNX sessions for onnx rows. */
  firstMs: number;
}

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

const BATCH = Number(arg('batch', '32'));
const LENGTH = Number(arg('length', '256'));
const WIDTH = 512;
const GENRES = 21;
const MIN_STEPS = Number(arg('steps', '3'));
const MIN_MS = Number(arg('ms', '4000'));
const MODELS = arg('models', 'reference,bilstm_maxpool,gru,mean_mlp,transformer').split(',');
const BACKENDS = arg('backends', 'wasm').split(',');
const RECURRENT = new Set(['reference', 'bilstm_maxpool', 'gru']);
/** Models with one LSTM layer (at layers 1): the ones train.rnn onnx runs. */
const ONE_LSTM = new Set(['reference', 'bilstm_maxpool']);
const RNNS = arg('rnn', 'stock,fast,onnx').split(',') as RnnImpl[];
const ONNX_THREADS = Number(arg('onnx-threads', '1'));

const PARAMS: ModelParams = { hidden: 128, layers: 1, bidirectional: true, dropout: 0.2, maxPooling: 4, heads: 4, rnn: 'fast' };

async function measure(name: string, rnn: RnnImpl, backend: string, x: Float32Array, y: Float32Array): Promise<Row> {
  await activateBackend(resolveBackend(backend));
  const f = await getModelFactory(name);
  const model: TrainableGenreModel = f.build({
    shape: { length: LENGTH, width: WIDTH, genres: GENRES },
    params: { ...PARAMS, rnn },
    loss: { name: 'bce' },
    lr: 1e-3,
    seed: 0,
    onnxThreads: ONNX_THREADS,
  });
  try {
    const t = await timeSteps(() => model.trainStep({ x, y, n: BATCH }), MIN_STEPS, MIN_MS);
    const p = await timeSteps(() => model.predict(x, BATCH), MIN_STEPS, MIN_MS);
    return {
      model: name,
      rnn: RECURRENT.has(name) ? rnn : '-',
      backend,
      trainPerSec: (BATCH * 1000) / t.ms,
      predictPerSec: (BATCH * 1000) / p.ms,
      steps: t.n,
      firstMs: t.firstMs,
    };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const { x, y } = randomBatch('train-models', BATCH, LENGTH, WIDTH, GENRES);
  console.log(`train-models: batch ${BATCH}, features [${LENGTH},${WIDTH}], ${GENRES} genres, hidden ${PARAMS.hidden}, bidirectional`);
  const rows: Row[] = [];
  const run = async (name: string, rnn: RnnImpl, backend: string): Promise<void> => {
    const r = await measure(name, rnn, backend, x, y);
    console.log(`${name} ${r.rnn} ${backend}: ${r.trainPerSec.toFixed(1)} train samples/s (first step ${r.firstMs.toFixed(0)} ms)`);
    rows.push(r);
  };
  for (const backend of BACKENDS) {
    // The baseline first: the reference network with the stock tfjs-layers LSTM.
    if (MODELS.includes('reference')) await run('reference', 'stock', backend);
    for (const name of MODELS) {
      if (!RECURRENT.has(name)) {
        await run(name, 'fast', backend);
        continue;
      }
      for (const rnn of RNNS) {
        if (name === 'reference' && rnn === 'stock') continue;
        if (rnn === 'onnx' && !ONE_LSTM.has(name)) continue;
        await run(name, rnn, backend);
      }
    }
  }
  const base = rows.find((r) => r.model === 'reference' && r.rnn === 'stock' && r.backend === 'wasm') ?? rows[0]!;
  console.log('');
  console.log(`| model | rnn | backend | train samples/s | x stock reference | predict samples/s | steps timed | first step ms |`);
  console.log('|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.rnn === 'onnx' ? `onnx (${ONNX_THREADS} thread${ONNX_THREADS > 1 ? 's' : ''})` : r.rnn} | ${r.backend} | ${r.trainPerSec.toFixed(1)} | ${(r.trainPerSec / base.trainPerSec).toFixed(2)} | ${r.predictPerSec.toFixed(1)} | ${r.steps} | ${r.firstMs.toFixed(0)} |`,
    );
  }
}

await main();

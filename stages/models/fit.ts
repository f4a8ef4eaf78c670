// The training loop: epochs of shuffled mini-batches, step learning-rate decay, validation
// after every epoch, selection of the epoch with the best weighted F1 on validation, early
// stopping, TensorBoard scalars, checkpoints to resume from, and a clean stop on abort.
//
// It follows the reference project's Trainer.py: Adam, StepLR (lr * decay^floor(epoch/every)),
// threshold 0.5, keep the weights of the best validation weighted F1 (strictly better only),
// stop after `patience` epochs without improvement. Where it differs: the first epoch is
// always a candidate (the reference started from F1 0 and so saved nothing when F1 stayed 0),
// and the validation loss is the mean over movies (the reference averaged batch means).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import type { JsonValue, ProgressUpdate } from '../../src/stage-api.js';
import { type LossSpec, makeLossSpec } from '../nn/losses.js';
import { EventWriter, eventFileName } from '../nn/tensorboard/event-writer.js';
import { multiLabelMetrics } from '../report/metrics-math.js';
import type { Batch, GenreModelInfo, ModelFiles, ModelParams, ModelShape, NamedArray, TrainableGenreModel } from './contract.js';
import { readCheckpoint, removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { getModelFactory } from './registry.js';
import { type RandomState, SeededRandom } from './seeded-random.js';
import { writeModelFiles } from './io.js';

/** Movies of one split: features [n, L, F] and 0/1 labels [n, G], row-major. */
export interface Split {
  ids: string[];
  x: Float32Array;
  y: Float32Array;
  n: number;
}

export interface FitData {
  shape: ModelShape;
  genres: string[];
  train: Split;
  val: Split;
}

/** How a model is trained: loss, schedule, selection, seed (the train.* params of these names). */
export interface TrainingOptions {
  /** A loss name (../nn/losses.ts), with focal loss's gamma and alpha. */
  loss: string;
  focalGamma: number;
  focalAlpha: number;
  epochs: number;
  batchSize: number;
  /** Adam's initial learning rate, times lrDecay every lrDecayEvery epochs. */
  lr: number;
  lrDecayEvery: number;
  lrDecay: number;
  /** Epochs without a better validation weighted F1 before stopping early. */
  patience: number;
  seed: number;
}

export interface FitOptions extends TrainingOptions {
  model: string;
  params: ModelParams;
  /** params.rnn 'onnx': ONNX Runtime's thread count (default 1). */
  onnxThreads?: number;
  /** params.rnn 'onnx': the two directions on two threads (speed only). */
  onnxParallel?: boolean;
  /** Resolved backend name, recorded with the model. */
  backend: string;
  /** Shown in progress messages ("model", "baseline"). */
  label: string;
  /** Resolved config, shown in TensorBoard's text tab. */
  configYaml: string;
  /** Where to keep this training's checkpoint, its live TensorBoard log and, on abort, the best model. */
  scratch?: string;
  /** Identifies the training for its checkpoint (params, inputs, backend, code version). */
  checkpointKey: string;
}

export interface FitHooks {
  signal: AbortSignal;
  progress(u: ProgressUpdate): void;
  log(level: 'info' | 'warn', message: string): void;
}

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  val_loss: number | null;
  val_map: number | null;
  val_weighted_f1: number | null;
  lr: number;
  seconds: number;
}

export type StopReason = 'early_stop' | 'max_epochs' | 'interrupted';

/** history.json (the metrics stage reads it for the training curves). */
export interface History {
  epochs: EpochRecord[];
  selected: { epoch: number; metric: 'val_weighted_f1'; value: number | null };
  stopped: StopReason;
  /** Present when the selection could not use validation (no validation movies). */
  note?: string;
}

export interface FitResult {
  /** model.json, weights.bin, genre-model.json (relative to the model folder). */
  files: ModelFiles;
  info: GenreModelInfo;
  history: History;
  /** The model as ONNX (the train stage writes it as model.onnx beside model/). */
  onnx?: Uint8Array;
  /** TensorBoard event file. */
  events: { name: string; bytes: Buffer };
  /** Whether this run continued from a checkpoint. */
  resumedFrom: number | null;
}

export const SELECTION_METRIC = 'val_weighted_f1';

/**
 * Movies per batch in validation (at least the training batch): each batch costs a round trip
 * to the LSTM's workers and a pass of the tfjs head whatever its size, and a row's scores do
 * not depend on the rows beside it. The demo's 20 validation movies go in one batch, not 3.
 */
const VALIDATION_BATCH = 32;

/** Learning rate of a 1-based epoch: PyTorch StepLR stepped once per epoch. */
export function learningRate(o: Pick<FitOptions, 'lr' | 'lrDecay' | 'lrDecayEvery'>, epoch: number): number {
  return o.lr * o.lrDecay ** Math.floor((epoch - 1) / o.lrDecayEvery);
}

interface LoopState {
  history: EpochRecord[];
  bestEpoch: number;
  bestValue: number | null;
  shuffle: RandomState;
  /** Set once training has finished: a rerun after an abort later in the stage reuses the result. */
  stopped?: StopReason;
}

function gather(split: Split, rows: readonly number[], shape: ModelShape): Batch {
  const step = shape.length * shape.width;
  const g = shape.genres;
  const x = new Float32Array(rows.length * step);
  const y = new Float32Array(rows.length * g);
  rows.forEach((r, j) => {
    x.set(split.x.subarray(r * step, (r + 1) * step), j * step);
    y.set(split.y.subarray(r * g, (r + 1) * g), j * g);
  });
  return { x, y, n: rows.length };
}

async function validate(
  model: TrainableGenreModel,
  val: Split,
  shape: ModelShape,
  batchSize: number,
): Promise<{ loss: number; probs: Float32Array }> {
  const probs = new Float32Array(val.n * shape.genres);
  let lossSum = 0;
  for (let i = 0; i < val.n; i += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, val.n - i) }, (_, k) => i + k);
    const r = await model.evaluate(gather(val, rows, shape));
    lossSum += r.loss * rows.length;
    probs.set(r.probabilities, i * shape.genres);
  }
  return { loss: lossSum / val.n, probs };
}

const fmt = (v: number | null, d = 3): string => (v === null ? 'n/a' : v.toFixed(d));

/**
 * Trains one model on `data.train`, selecting on `data.val`. Throws a UserError when aborted,
 * after saving the best model so far (and the checkpoint a rerun resumes from) to the scratch folder.
 */
export async function fitModel(data: FitData, o: FitOptions, hooks: FitHooks): Promise<FitResult> {
  const { shape, train } = data;
  if (train.n === 0) throw new UserError('the training split has no movies', 'check the labels stage split (labels.* params)');
  const factory = await getModelFactory(o.model);
  factory.validate?.(o.params, shape);
  const loss: LossSpec = makeLossSpec(o.loss, train.y, train.n, shape.genres, { focalGamma: o.focalGamma, focalAlpha: o.focalAlpha });
  const model = factory.build({ shape, params: o.params, loss, lr: o.lr, seed: o.seed, ...(o.onnxThreads === undefined ? {} : { onnxThreads: o.onnxThreads }), ...(o.onnxParallel === undefined ? {} : { onnxParallel: o.onnxParallel }) });
  if (model.trainingNote !== undefined) hooks.log('info', `${o.label}: ${model.trainingNote}`);
  try {
    return await loop(model, data, o, hooks, loss);
  } finally {
    await model.dispose();
  }
}

async function loop(model: TrainableGenreModel, data: FitData, o: FitOptions, hooks: FitHooks, loss: LossSpec): Promise<FitResult> {
  const { shape, train, val, genres } = data;
  const hasVal = val.n > 0;
  if (!hasVal) hooks.log('warn', `${o.label}: the split has no validation movies: no early stopping, the last epoch is kept`);
  const ckptPath = o.scratch === undefined ? undefined : join(o.scratch, 'checkpoint.bin');
  const startWall = Date.now() / 1000;
  const tb = new EventWriter(o.scratch === undefined ? {} : { livePath: join(o.scratch, 'tensorboard', eventFileName(startWall)) });
  tb.text(0, 'config', ['```yaml', o.configYaml.trimEnd(), '```'].join('\n'));

  let shuffle = new SeededRandom(`${o.seed}:shuffle`);
  let state: LoopState = { history: [], bestEpoch: 0, bestValue: null, shuffle: shuffle.state() };
  let best: NamedArray[] | undefined;
  let resumedFrom: number | null = null;

  const resumed = ckptPath === undefined ? undefined : readCheckpoint(ckptPath, o.checkpointKey);
  if (resumed !== undefined) {
    await model.setState(resumed.state);
    state = resumed.extra as unknown as LoopState;
    shuffle = new SeededRandom(`${o.seed}:shuffle`, state.shuffle);
    best = resumed.best;
    resumedFrom = resumed.epoch;
    hooks.log(
      'info',
      state.stopped === undefined
        ? `${o.label}: resuming after epoch ${resumed.epoch} from the checkpoint in ${o.scratch}`
        : `${o.label}: training had finished (${state.stopped}, epoch ${resumed.epoch}); reusing it from ${o.scratch}`,
    );
    // The earlier epochs' scalars go into this run's event file too, so that it is complete.
    for (const e of state.history) scalars(tb, e, null, genres);
  }

  const epochsSinceBest = (): number => (state.history.at(-1)?.epoch ?? 0) - state.bestEpoch;
  let stopped: StopReason = state.stopped ?? 'max_epochs';
  const batches = Math.ceil(train.n / o.batchSize);

  for (let epoch = (resumedFrom ?? 0) + 1; epoch <= o.epochs && state.stopped === undefined; epoch++) {
    const t0 = performance.now();
    const lr = learningRate(o, epoch);
    model.setLearningRate(lr);
    const order = shuffle.permutation(train.n);
    let lossSum = 0;
    const batchAt = (b: number): Batch => gather(train, order.slice(b * o.batchSize, (b + 1) * o.batchSize), shape);
    // Each step is told the next one's batch (the same object is then its batch): a model may start on it early.
    let current = batches > 0 ? batchAt(0) : undefined;
    for (let b = 0; b < batches; b++) {
      // A training step resolves through microtasks only, so without this the event loop would
      // never run during training: no Ctrl-C (signals are macrotasks) and no progress redraw.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (hooks.signal.aborted) {
        await keepBestOnAbort(model, best, state, o, data, loss, epoch, b, batches, hooks);
      }
      const next = b + 1 < batches ? batchAt(b + 1) : undefined;
      const l = await model.trainStep(current!, next);
      current = next;
      if (!Number.isFinite(l)) {
        throw new UserError(
          `${o.label}: training diverged at epoch ${epoch}, batch ${b + 1} (loss ${l})`,
          `lower train.lr (now ${o.lr}) or try another train.loss`,
        );
      }
      lossSum += l;
      hooks.progress({
        done: epoch - 1 + (b + 1) / batches,
        total: o.epochs,
        message: `${o.label} epoch ${epoch}/${o.epochs} batch ${b + 1}/${batches} loss ${l.toFixed(3)}`,
      });
    }
    const rec: EpochRecord = {
      epoch,
      train_loss: lossSum / batches,
      val_loss: null,
      val_map: null,
      val_weighted_f1: null,
      lr,
      seconds: 0,
    };
    let perGenreAp: Array<number | null> | null = null;
    if (hasVal) {
      const v = await validate(model, val, shape, Math.max(o.batchSize, VALIDATION_BATCH));
      const m = multiLabelMetrics({ scores: v.probs, targets: val.y, rows: val.n, cols: shape.genres, rowNames: val.ids, colNames: genres }, 0.5);
      rec.val_loss = v.loss;
      rec.val_map = m.mAP;
      rec.val_weighted_f1 = m.weightedF1;
      perGenreAp = m.perGenre.map((g) => g.ap);
    }
    rec.seconds = (performance.now() - t0) / 1000;
    state.history.push(rec);
    scalars(tb, rec, perGenreAp, genres);

    const value = rec.val_weighted_f1;
    // Without validation every epoch replaces the last; with it, only a strictly better one.
    if (!hasVal || state.bestEpoch === 0 || (value !== null && value > (state.bestValue ?? -Infinity))) {
      state.bestEpoch = epoch;
      state.bestValue = value;
      best = (await model.getState(false)).weights;
    }
    hooks.progress({
      done: epoch,
      total: o.epochs,
      message: `${o.label} epoch ${epoch}/${o.epochs} loss ${rec.train_loss.toFixed(3)} val mAP ${fmt(rec.val_map)} F1 ${fmt(rec.val_weighted_f1)}`,
      point: { series: o.label, step: epoch, values: { train_loss: rec.train_loss, val_map: rec.val_map, val_f1: rec.val_weighted_f1 } },
    });
    if (hasVal && epochsSinceBest() >= o.patience && epoch < o.epochs) {
      stopped = 'early_stop';
      break;
    }
    if (ckptPath !== undefined && epoch < o.epochs) {
      state.shuffle = shuffle.state();
      writeCheckpoint(ckptPath, {
        key: o.checkpointKey,
        epoch,
        extra: state as unknown as JsonValue,
        state: await model.getState(true),
        ...(best === undefined ? {} : { best }),
      });
    }
  }

  if (ckptPath !== undefined && state.stopped === undefined) {
    // The finished training, kept until the whole stage succeeds (finishCheckpoints): an abort
    // later in the stage (the baseline) must not cost this training.
    state.stopped = stopped;
    writeCheckpoint(ckptPath, {
      key: o.checkpointKey,
      epoch: state.history.at(-1)?.epoch ?? 0,
      extra: state as unknown as JsonValue,
      state: { weights: best! },
      best: best!,
    });
  }
  await model.setState({ weights: best! });
  const history = makeHistory(state, stopped, hasVal);
  const info = modelInfo(o, data, loss, history);
  const files = { ...(await model.save()), 'genre-model.json': Buffer.from(`${JSON.stringify(info, null, 2)}\n`) };
  const onnx = model.exportOnnx?.();
  return { files, info, history, ...(onnx === undefined ? {} : { onnx }), events: { name: eventFileName(startWall), bytes: tb.bytes() }, resumedFrom };
}

/** Removes the checkpoints of finished trainings once the stage's outputs are complete. */
export function finishCheckpoints(scratchDirs: readonly string[]): void {
  for (const d of scratchDirs) removeCheckpoint(join(d, 'checkpoint.bin'));
}

function scalars(tb: EventWriter, e: EpochRecord, perGenreAp: Array<number | null> | null, genres: readonly string[]): void {
  const values: Record<string, number | null> = {
    'loss/train': e.train_loss,
    'loss/val': e.val_loss,
    'mAP/val': e.val_map,
    'weighted_f1/val': e.val_weighted_f1,
    lr: e.lr,
  };
  perGenreAp?.forEach((ap, g) => {
    values[`AP/val/${genres[g]}`] = ap;
  });
  tb.scalars(e.epoch, values);
}

function makeHistory(state: LoopState, stopped: StopReason, hasVal: boolean): History {
  return {
    epochs: state.history,
    selected: { epoch: state.bestEpoch, metric: SELECTION_METRIC, value: state.bestValue },
    stopped,
    ...(hasVal ? {} : { note: 'no validation movies: the last epoch is kept' }),
  };
}

function modelInfo(o: FitOptions, data: FitData, loss: LossSpec, h: History): GenreModelInfo {
  return {
    format: 'pipeline-genre-model',
    version: 1,
    model: o.model,
    params: o.params,
    genres: data.genres,
    inputLength: data.shape.length,
    inputWidth: data.shape.width,
    backend: o.backend,
    loss,
    selectedEpoch: h.selected.epoch,
    selectionMetric: SELECTION_METRIC,
    selectionValue: h.selected.value,
  };
}

/** On abort: writes the best model so far next to the checkpoint, then stops with a UserError. */
async function keepBestOnAbort(
  model: TrainableGenreModel,
  best: NamedArray[] | undefined,
  state: LoopState,
  o: FitOptions,
  data: FitData,
  loss: LossSpec,
  epoch: number,
  batch: number,
  batches: number,
  hooks: FitHooks,
): Promise<never> {
  const where = `${o.label} training interrupted at epoch ${epoch}, batch ${batch + 1}/${batches}`;
  if (best === undefined || o.scratch === undefined) {
    throw new UserError(`${where}, before the first epoch finished: nothing to keep`, 'run it again to start over');
  }
  await model.setState({ weights: best });
  const history = makeHistory(state, 'interrupted', data.val.n > 0);
  const info = modelInfo(o, data, loss, history);
  const dir = join(o.scratch, 'best');
  writeModelFiles(join(dir, 'model'), { ...(await model.save()), 'genre-model.json': Buffer.from(`${JSON.stringify(info, null, 2)}\n`) });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.json'), `${JSON.stringify(history, null, 2)}\n`);
  const resumable = epoch > 1 && epoch - 1 < o.epochs;
  hooks.log(
    'warn',
    `${where}; the best model so far (epoch ${state.bestEpoch}, val weighted F1 ${fmt(state.bestValue)}) is in ${dir}`,
  );
  throw new UserError(
    `${where}; best model so far (epoch ${state.bestEpoch}) saved in ${dir}`,
    resumable ? `run again to resume after epoch ${epoch - 1}` : 'run again to start over',
  );
}

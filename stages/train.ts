// The `train` stage kind: fits the genre model chosen by `train.model` on the fixed-length
// features of the training split, selects the epoch with the best weighted F1 on validation,
// and (with `train.baseline`) fits the mean-over-time baseline on the same data.
// A reduce kind over fixlen (per-movie [L,F] float32) and labels (genres, one-hot, split).
//
// Output tree (outputs/train/ on checkout):
//   model/model.json, model/weights.bin   the selected model, tfjs layers format
//   model/genre-model.json                what loadGenreModel needs (name, genres, shape, ...)
//   model/pipeline-model.json, ...        transformer: the project's own format beside the stock copy
//   model.onnx                            the same model as ONNX (models/onnx-export.ts)
//   history.json                          per-epoch losses and validation metrics
//   tensorboard/events.out.tfevents.*     TensorBoard scalars; tensorboard/config.yaml beside it
//   baseline/...                          the same for the mean_mlp baseline
// docs/TRAINING.md describes the models, losses, selection, checkpoints and interruption.
import { ItemError, UserError } from '../src/errors.js';
import { perfKeys } from '../src/param-schema/types.js';
import { readParam, readSection, type ParamReader } from '../src/param-schema/readers.js';
import { FeaturesError, readFeaturesSync } from './data/features.js';
import { readPorts } from './inputs.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';
import type {
  CollectionArtifact,
  JsonObject,
  JsonValue,
  ReduceContext,
  ReduceKind,
  ReduceOutput,
  StageContext,
  Tree,
  TreeArtifact,
} from '../src/stage-api.js';
import { LABEL_FILES, readLabelsFiles } from './data/labels-files.js';
import type { ModelParams, ModelShape } from './models/api.js';
import type { FitData, FitOptions, FitResult, Split, TrainingOptions } from './models/fit.js';
import { backendEnv, onnxRuntimeVersion, resolveBackend } from './nn/backend.js';
import { TRAIN, TRAIN_PARAMS } from './train/params.js';

// 2: recurrent kernels initialised by our own orthogonal initialiser (nn/orthogonal.ts), which
// differs from tfjs' in rounding; train.rnn onnx.
// 3: model/model.json in stock tfjs-layers classes (models/stock-copy.ts); model.onnx beside it.
export const TRAIN_VERSION = 3;

/** Every train.* param: the model's architecture, how it is trained, and the rest. */
export interface TrainParams extends ModelParams, TrainingOptions {
  model: string;
  backend: string;
  onnxThreads: number;
  onnxParallel: boolean;
  baseline: boolean;
  baselineParallel: boolean;
}

/** Reads and checks every train.* param (declared in train/params.ts); all problems are reported at once. */
export function readTrainParams(ctx: ParamReader): TrainParams {
  return readSection(ctx, TRAIN, 'fix the train section of the conf (conf/README.md documents each key)');
}

function modelParams(p: TrainParams): ModelParams {
  return {
    hidden: p.hidden,
    layers: p.layers,
    bidirectional: p.bidirectional,
    dropout: p.dropout,
    maxPooling: p.maxPooling,
    heads: p.heads,
    rnn: p.rnn,
  };
}

/** Reads the features of the train and val movies into memory, checking shapes and labels. */
export async function loadTrainData(
  ctx: Pick<ReduceContext, 'store' | 'itemError' | 'log'>,
  fixlen: CollectionArtifact,
  labelsArt: TreeArtifact,
): Promise<FitData> {
  let labels: Awaited<ReturnType<typeof readLabelsFiles>>;
  try {
    labels = await readLabelsFiles(ctx.store, labelsArt);
  } catch (e) {
    throw new UserError(`cannot read the labels stage's output: ${(e as Error).message}`, 'rerun the labels stage (pipeline run labels --force)');
  }
  const genres = labels.genres;
  let shape: [number, number] | undefined;
  const read = (id: string): { data: Float32Array; y: number[] } | undefined => {
    const item = fixlen.items.get(id);
    if (item === undefined) return undefined;
    let m;
    try {
      m = readFeaturesSync(ctx.store, id, item, 'features', shape);
    } catch (e) {
      if (!(e instanceof FeaturesError)) throw e;
      ctx.itemError(e);
      return undefined;
    }
    const s: [number, number] = [m.rows, m.cols];
    shape ??= s;
    const y = labels.labels[id];
    if (!Array.isArray(y) || y.length !== genres.length) {
      ctx.itemError(new ItemError(id, `labels.json has ${Array.isArray(y) ? y.length : 'no'} genre columns for it, genres.json ${genres.length}`, { file: LABEL_FILES.labels, hint: 'rerun the labels stage' }));
      return undefined;
    }
    return { data: m.data, y };
  };
  const missing: string[] = [];
  const splitOf = (ids: readonly string[]): Split => {
    const got: Array<{ id: string; data: Float32Array; y: number[] }> = [];
    for (const id of ids) {
      const r = read(id);
      if (r === undefined) {
        if (!fixlen.items.has(id)) missing.push(id);
        continue;
      }
      got.push({ id, ...r });
    }
    const [L, F] = shape ?? [0, 0];
    const x = new Float32Array(got.length * L * F);
    const y = new Float32Array(got.length * genres.length);
    got.forEach((g, i) => {
      x.set(g.data, i * L * F);
      y.set(g.y, i * genres.length);
    });
    return { ids: got.map((g) => g.id), x, y, n: got.length };
  };
  const train = splitOf(labels.split.train);
  const val = splitOf(labels.split.val ?? []);
  if (missing.length > 0) {
    ctx.log('warn', `${missing.length} movie(s) of the split have no features (left out upstream): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  }
  if (shape === undefined || train.n === 0) {
    throw new UserError('no training movie has features', 'check that the fixlen and labels stages produced the training split');
  }
  const modelShape: ModelShape = { length: shape[0], width: shape[1], genres: genres.length };
  return { shape: modelShape, genres, train, val };
}

/** Dotted keys -> nested object, for config.yaml. */
function nest(flat: Readonly<Record<string, unknown>>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(flat).sort(([a], [b]) => a.localeCompare(b))) {
    const parts = k.split('.');
    let o = out;
    for (const part of parts.slice(0, -1)) {
      if (typeof o[part] !== 'object' || o[part] === null || Array.isArray(o[part])) o[part] = {};
      o = o[part] as JsonObject;
    }
    o[parts[parts.length - 1]!] = v as JsonValue;
  }
  return out;
}

async function putModel(ctx: ReduceContext, tree: Tree, prefix: string, r: FitResult, configYaml: string): Promise<void> {
  for (const [name, bytes] of Object.entries(r.files)) tree[`${prefix}model/${name}`] = await ctx.store.put(bytes);
  if (r.onnx !== undefined) tree[`${prefix}model.onnx`] = await ctx.store.put(r.onnx);
  tree[`${prefix}history.json`] = await ctx.store.put(`${JSON.stringify(r.history, null, 2)}\n`);
  tree[`${prefix}tensorboard/${r.events.name}`] = await ctx.store.put(r.events.bytes);
  tree[`${prefix}tensorboard/config.yaml`] = await ctx.store.put(configYaml);
}

function summaryMeta(r: FitResult): JsonObject {
  return {
    model: r.info.model,
    selected_epoch: r.history.selected.epoch,
    selection_metric: r.history.selected.metric,
    value: r.history.selected.value,
    epochs_run: r.history.epochs.length,
    stopped: r.history.stopped,
  };
}

const train: ReduceKind = {
  name: 'train',
  type: 'reduce',
  version: TRAIN_VERSION,
  code: import.meta.url,
  ports: KIND_PORTS.train,
  outputContract: KIND_OUTPUTS.train,
  summary: 'fits the genre model (train.model) on fixlen features, selects on validation weighted F1',
  params: TRAIN_PARAMS,
  perfParams: perfKeys(TRAIN_PARAMS),

  env(ctx) {
    const env = backendEnv(resolveBackend(readParam(ctx, 'train.backend', TRAIN.params.backend)));
    // ONNX Runtime computes the LSTM's training steps: its kernels change the last bits.
    if (readParam(ctx, 'train.rnn', TRAIN.params.rnn) === 'onnx') env['onnxruntime'] = onnxRuntimeVersion();
    return env;
  },

  async run(ctx: ReduceContext): Promise<ReduceOutput> {
    const p = readTrainParams(ctx);
    const { activateBackend } = await import('./nn/backend.js');
    const backend = await activateBackend(resolveBackend(p.backend));
    const { finishCheckpoints, fitModel } = await import('./models/fit.js');
    const { basename, join } = await import('node:path');
    const { features: fixlen, labels } = readPorts(ctx, KIND_PORTS.train);
    const data = await loadTrainData(ctx, fixlen, labels);
    ctx.log(
      'info',
      `${data.train.n} training and ${data.val.n} validation movies, features [${data.shape.length},${data.shape.width}], ${data.shape.genres} genres, backend ${backend.name}`,
    );
    const { stringify: yamlStringify } = await import('yaml');
    const configYaml =
      `# Resolved parameters of the train stage (backend resolved to ${backend.name}).\n` + yamlStringify(nest(ctx.params));
    // The engine keys the scratch folder by the stage's fingerprint (its params, inputs, env,
    // version and code): a checkpoint there belongs to this very training, and carries the
    // folder's name as its key, so one copied from elsewhere is not resumed.
    const scratch = await ctx.scratchDir();
    const key = basename(scratch);
    const common: Omit<FitOptions, 'model' | 'label' | 'scratch' | 'checkpointKey'> = {
      params: modelParams(p),
      loss: p.loss,
      focalGamma: p.focalGamma,
      focalAlpha: p.focalAlpha,
      epochs: p.epochs,
      batchSize: p.batchSize,
      lr: p.lr,
      lrDecayEvery: p.lrDecayEvery,
      lrDecay: p.lrDecay,
      patience: p.patience,
      seed: p.seed,
      onnxThreads: p.onnxThreads,
      onnxParallel: p.onnxParallel,
      backend: backend.name,
      configYaml,
    };
    const hooks = { signal: ctx.signal, progress: ctx.progress.bind(ctx), log: ctx.log.bind(ctx) };
    const scratchDirs = { model: join(scratch, 'model'), baseline: join(scratch, 'baseline') };
    const baselineOptions: FitOptions = { ...common, model: 'mean_mlp', label: 'baseline mean_mlp', scratch: scratchDirs.baseline, checkpointKey: `${key}:baseline` };
    const baselineNeeded = p.baseline && p.model !== 'mean_mlp';
    // The baseline on a worker thread while the model trains here (fit-thread.ts: same bits).
    // Not with a native TensorFlow backend: it runs its own thread pool, and its addon is not
    // known to load in a worker thread.
    const onThread = baselineNeeded && p.baselineParallel && (backend.name === 'wasm' || backend.name === 'cpu');
    let baselineRun: Promise<FitResult> | undefined;
    if (onThread) {
      const { fitOnThread } = await import('./models/fit-thread.js');
      baselineRun = fitOnThread({ data, options: baselineOptions, backendChoice: p.backend }, hooks);
      // Awaited below on every path; this keeps an early failure from counting as unhandled.
      baselineRun.catch(() => undefined);
    }
    let main: FitResult;
    try {
      main = await fitModel(data, { ...common, model: p.model, label: p.model, scratch: scratchDirs.model, checkpointKey: `${key}:model` }, hooks);
    } catch (e) {
      // The baseline finishes (or, on abort, stops and keeps what it has) before the stage
      // reports the model's error: its checkpoint then serves the rerun.
      if (baselineRun !== undefined) {
        const other = await baselineRun.then(
          () => undefined,
          (b: unknown) => b as Error,
        );
        if (other !== undefined && other.message !== (e as Error).message) ctx.log('warn', other.message);
      }
      throw e;
    }
    let baseline: FitResult | undefined;
    if (p.baseline) {
      baseline = !baselineNeeded ? main : baselineRun !== undefined ? await baselineRun : await fitModel(data, baselineOptions, hooks);
    }

    const tree: Tree = {};
    await putModel(ctx, tree, '', main, configYaml);
    if (baseline !== undefined) await putModel(ctx, tree, 'baseline/', baseline, configYaml);
    finishCheckpoints([scratchDirs.model, scratchDirs.baseline]);

    const sel = main.history.selected;
    const value = sel.value;
    const meta: JsonObject = {
      ...summaryMeta(main),
      backend: backend.name,
      train_movies: data.train.n,
      val_movies: data.val.n,
      baseline: baseline === undefined ? null : summaryMeta(baseline),
    };
    const line = (r: FitResult): string =>
      `${r.info.model}: epoch ${r.history.selected.epoch}/${r.history.epochs.length} selected (${r.history.stopped.replace('_', ' ')}), ` +
      `val weighted F1 ${r.history.selected.value === null ? 'n/a' : r.history.selected.value.toFixed(3)}`;
    return {
      tree,
      meta,
      ...(value === null ? {} : { headline: { name: 'val weighted F1', value } }),
      summary: [line(main), ...(baseline === undefined || baseline === main ? [] : [`baseline ${line(baseline)}`])],
      // Epoch seconds and TensorBoard wall times differ from run to run; the weights do not.
      volatile: ['history.json', 'tensorboard/', 'baseline/history.json', 'baseline/tensorboard/'],
    };
  },
};

export default train;

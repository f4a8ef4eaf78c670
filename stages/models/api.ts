// The genre-model contract: what the train stage trains, and what everything else (the metrics
// stage, `pipeline evaluate`) loads and scores with. Kept small and framework-free (plain
// Float32Arrays in and out), so that a model can run on tfjs or behind another runtime.
//
// For users of trained models (stable names):
// - `loadGenreModel(resolve, opts?)`: rebuilds a saved model from its files. `resolve` maps a
//   path relative to the model's root (e.g. "model/model.json", "model/weights.bin",
//   "model/genre-model.json") to a readable local file: through the store for a train tree
//   (`resolveInTree`), or in a plain folder for `pipeline evaluate --model DIR`
//   (`resolveInDirectory`). The baseline sits under "baseline/": pass {dir: 'baseline/model'}
//   or a resolver that prefixes it.
// - `predictProbabilities(model, x, n, L, F)`: probabilities [n, G] (row-major) for features
//   [n, L, F], in batches.
//
// For model authors: one file per model in this folder, default-exporting a `ModelFactory`
// (see registry.ts). The factory builds a `TrainableGenreModel`; most models build a tfjs
// network and hand it to `tfGenreModel` (tf-model.ts), which provides the rest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import type { Hash, JsonValue, StoreAccess, Tree } from '../../src/stage-api.js';
import type { LossSpec } from '../nn/losses.js';

/** Input and output sizes of a genre model. */
export interface ModelShape {
  /** Time steps per movie (fixlen.length). */
  length: number;
  /** Features per step (512 for CLIP ViT-B/32). */
  width: number;
  /** Output columns (genres). */
  genres: number;
}

/** Movies of one batch: x float32 [n, length, width] and y float32 0/1 [n, genres], row-major. */
export interface Batch {
  x: Float32Array;
  y: Float32Array;
  n: number;
}

/** A model that scores movies. */
export interface GenreClassifier {
  /** Registered model name (e.g. "reference"). */
  readonly name: string;
  readonly shape: ModelShape;
  /** Probabilities [n, genres] for features [n, length, width]. */
  predict(x: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/** A weight or optimizer slot, copied out of the model. */
export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Everything training needs to continue exactly where it was. */
export interface ModelState {
  weights: NamedArray[];
  /** Optimizer slots (Adam moments, step count); absent for a weights-only snapshot. */
  optimizer?: NamedArray[];
  /** State of the model's own random generator (dropout masks), with the optimizer state. */
  rng?: JsonValue;
}

/** Files of a saved model, relative to its folder ("model.json", "weights.bin"). */
export type ModelFiles = Record<string, Uint8Array>;

export interface TrainableGenreModel extends GenreClassifier {
  /** One optimizer step on a batch; resolves to the batch's training loss. */
  trainStep(batch: Batch): Promise<number>;
  /** Loss and probabilities on a batch, without training (no dropout). */
  evaluate(batch: Batch): Promise<{ loss: number; probabilities: Float32Array }>;
  setLearningRate(lr: number): void;
  /** Copies the weights (and, when asked, the optimizer state) out of the model. */
  getState(withOptimizer: boolean): Promise<ModelState>;
  /** Restores what getState returned (a weights-only state keeps the optimizer as it is). */
  setState(state: ModelState): Promise<void>;
  /**
   * The model in tfjs layers format: {"model.json", "weights.bin"}, with stock tfjs-layers
   * classes wherever the network allows (stock-copy.ts; format 'stock', the default), or with
   * the project's own layers, as trained ('project': what code that needs FastRecurrent loads).
   */
  save(format?: 'stock' | 'project'): Promise<ModelFiles>;
  /** The model as ONNX (onnx-export.ts): input `features` [batch, L, F], output `probabilities`. */
  exportOnnx?(): Uint8Array;
  /**
   * How training steps run, when it is not what `params.rnn` asked for (e.g. `onnx` asked for a
   * model with two LSTM layers, which trains on `fast`): a sentence for the log.
   */
  readonly trainingNote?: string;
  /** Frees the model, and the native resources training used (ONNX Runtime sessions). */
  dispose(): Promise<void>;
}

/** The `train.*` values a model's architecture reads. */
export interface ModelParams {
  /** Hidden size (recurrent units per direction, MLP width, transformer width). */
  hidden: number;
  /** Stacked recurrent layers / transformer blocks. */
  layers: number;
  bidirectional: boolean;
  /** Dropout rate before the output layer (and inside transformer blocks); reference: unused. */
  dropout: number;
  /** reference: MaxPool1d window over the feature axis. */
  maxPooling: number;
  /** transformer: attention heads. */
  heads: number;
  /**
   * Recurrent layer implementation: 'fast' (FastRecurrent: custom gradients), 'stock'
   * (tfjs-layers), or 'onnx' (a FastRecurrent layer whose training steps run in ONNX Runtime;
   * models with one LSTM layer only, others train as 'fast'). The saved model is the same
   * tfjs model for 'fast' and 'onnx'.
   */
  rnn: RnnImpl;
}

/** `train.rnn` choices; here so that reading them costs no tfjs import. */
export const RNN_CHOICES = ['fast', 'stock', 'onnx'] as const;
export type RnnImpl = (typeof RNN_CHOICES)[number];

export interface BuildOptions {
  shape: ModelShape;
  params: ModelParams;
  loss: LossSpec;
  /** Initial learning rate (Adam). */
  lr: number;
  /** Seeds every initialiser, and the dropout masks. */
  seed: number;
  /**
   * `params.rnn` 'onnx': ONNX Runtime's intra-op threads (default 1). Not speed only: thread
   * counts differ in the last bits of results.
   */
  onnxThreads?: number;
}

export interface ModelFactory {
  /** Marks the default export of a model module (the registry looks for it). */
  readonly kind: 'genre-model';
  /** Registered name, the value of `train.model`; its file is the name in kebab-case. */
  readonly name: string;
  /** One line for docs and `--help`. */
  readonly summary: string;
  /** Throws a UserError for params this model cannot use (e.g. hidden not divisible by heads). */
  validate?(params: ModelParams, shape: ModelShape): void;
  build(opts: BuildOptions): TrainableGenreModel;
}

/** model/genre-model.json: what a loader needs besides the tfjs files. */
export interface GenreModelInfo {
  format: 'pipeline-genre-model';
  version: 1;
  /** Registered model name. */
  model: string;
  /** The architecture params it was built with. */
  params: ModelParams;
  /** Genre vocabulary, in output column order. */
  genres: string[];
  inputLength: number;
  inputWidth: number;
  /** Resolved tfjs backend it was trained on. */
  backend: string;
  loss: LossSpec;
  /** The epoch whose weights these are (1-based), and why it was chosen. */
  selectedEpoch: number;
  selectionMetric: string;
  selectionValue: number | null;
}

/** `train.loss` choices (stages/nn/losses.ts implements them); here so that reading them costs no tfjs import. */
export const LOSS_CHOICES = ['bce', 'bce_pos_count', 'bce_inv_freq', 'focal'] as const;
export type LossName = (typeof LOSS_CHOICES)[number];

export const MODEL_DIR = 'model';
export const MODEL_FILES = { topology: 'model.json', weights: 'weights.bin', info: 'genre-model.json' } as const;

/** A resolver over a plain folder (e.g. outputs/train/ or a copied model). */
export function resolveInDirectory(dir: string): (relPath: string) => string {
  return (rel) => join(dir, rel);
}

/** A resolver over a train tree in the store. */
export function resolveInTree(store: Pick<StoreAccess, 'path'>, tree: Tree, prefix = ''): (relPath: string) => string {
  return (rel) => {
    const hash: Hash | undefined = tree[`${prefix}${rel}`];
    if (hash === undefined) throw new UserError(`the trained model has no ${prefix}${rel}`, 'rerun the train stage');
    return store.path(hash);
  };
}

function readInfo(path: string): GenreModelInfo {
  let info: GenreModelInfo;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as GenreModelInfo;
  } catch (e) {
    throw new UserError(`${path}: cannot read the model description: ${(e as Error).message}`, 'point at a model folder written by the train stage');
  }
  if (info?.format !== 'pipeline-genre-model' || typeof info.model !== 'string' || !Array.isArray(info.genres)) {
    throw new UserError(`${path}: not a genre-model.json written by the train stage`, 'point at a model folder written by the train stage');
  }
  return info;
}

/** A trained model loaded back for scoring, with its description. */
export interface LoadedGenreModel extends GenreClassifier {
  readonly info: GenreModelInfo;
  readonly genres: readonly string[];
}

/**
 * Rebuilds a saved model (any registered model) from its files; see the top of this file.
 * @param opts.dir folder of the model files, relative to the resolver's root (default "model")
 * @param opts.backend tfjs backend to score on (default "auto": native TensorFlow when installed, else wasm)
 */
export async function loadGenreModel(
  resolve: (relPath: string) => string,
  opts: { dir?: string; backend?: string } = {},
): Promise<LoadedGenreModel> {
  const dir = opts.dir ?? MODEL_DIR;
  const info = readInfo(resolve(`${dir}/${MODEL_FILES.info}`));
  // Imported here, not at the top: tfjs and the model modules are heavy, and a caller that only
  // reads the types or resolvers should not pay for them.
  const { activateBackend, resolveBackend } = await import('../nn/backend.js');
  await activateBackend(resolveBackend(opts.backend ?? 'auto'));
  const { loadTfGenreModel } = await import('./tf-model.js');
  return loadTfGenreModel(info, (rel) => resolve(`${dir}/${rel}`));
}

/**
 * Probabilities [n, genres] for features x [n, L, F] (row-major float32), scored in batches of
 * `batchSize` movies so that memory stays bounded.
 */
export async function predictProbabilities(
  model: GenreClassifier,
  x: Float32Array,
  n: number,
  L: number,
  F: number,
  batchSize = 32,
): Promise<Float32Array> {
  const { length, width, genres } = model.shape;
  if (L !== length || F !== width) {
    throw new UserError(
      `the ${model.name} model takes [${length},${width}] features per movie, got [${L},${F}]`,
      `use features of the shape it was trained on (fixlen.length ${length}), or retrain it`,
    );
  }
  if (x.length !== n * L * F) throw new RangeError(`predictProbabilities: x holds ${x.length} values, expected ${n}x${L}x${F}`);
  const out = new Float32Array(n * genres);
  const step = L * F;
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    out.set(await model.predict(x.subarray(i * step, (i + m) * step), m), i * genres);
  }
  return out;
}

// The genre-model contract's types (see api.ts, which re-exports them with the loaders). Only
// types and constants, importing no model code: the model modules, tf-model.ts and the training
// loop import them from here, and api.ts imports those modules only when it loads a model, so
// no import leads back to where it started.
import type { JsonValue } from '../../src/stage-api.js';
import type { LossSpec } from '../nn/loss-spec.js';

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
  /**
   * One optimizer step on a batch; resolves to the batch's training loss. `next`: the batch of
   * the step after this one, when known, so that a model can start on it early (the result is
   * the same; the next call must then bring that same Batch object).
   */
  trainStep(batch: Batch, next?: Batch): Promise<number>;
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
  /** `params.rnn` 'onnx', bidirectional: both directions at once on two threads (speed only: same bits). */
  onnxParallel?: boolean;
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

/** A trained model loaded back for scoring, with its description. */
export interface LoadedGenreModel extends GenreClassifier {
  readonly info: GenreModelInfo;
  readonly genres: readonly string[];
}
